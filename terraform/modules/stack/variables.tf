variable "name_prefix" {
  description = "Start of every name in the environment, `{project}-{environment}` such as `batchml-dev`: cluster, task families, roles, state machines, workgroup, Glue databases (`batchml_dev_{layer}`)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,39}$", var.name_prefix))
    error_message = "name_prefix must be 1 to 40 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "account_id" {
  description = "AWS account of the environment, written into ARNs; null looks it up (`sts:GetCallerIdentity`). Giving it lets a plan be made offline."
  type        = string
  default     = null
}

variable "bucket_name_prefix" {
  description = "Start of every bucket name (`{bucket_name_prefix}-{layer}`); bucket names are global, so real accounts add the account id, e.g. `batchml-dev-123456789012`. Null uses `name_prefix`."
  type        = string
  default     = null
}

variable "kms_key_arn" {
  description = "KMS key for the buckets' default encryption (SSE-KMS); null uses SSE-S3."
  type        = string
  default     = null
}

variable "athena_results_expiration_days" {
  description = "Days after which Athena query results expire."
  type        = number
  default     = 7
}

variable "noncurrent_version_expiration_days" {
  description = "Days a superseded (noncurrent) object version is kept before it expires."
  type        = number
  default     = 30
}

variable "athena_bytes_scanned_cutoff_per_query" {
  description = "Bytes one Athena query may scan before it is cancelled."
  type        = number
  default     = 10737418240 # 10 GiB
}

variable "vpc_cidr" {
  description = "IPv4 CIDR block of the VPC."
  type        = string
  default     = "10.0.0.0/16"
}

variable "availability_zones" {
  description = "Availability zones of the private subnets (at least two), e.g. `[\"eu-west-1a\", \"eu-west-1b\"]`."
  type        = list(string)
}

variable "image_tag" {
  description = "Tag of the three images in their ECR repositories (immutable tags: one per build, e.g. the git commit)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag)) && var.image_tag != "latest"
    error_message = "image_tag must be a Docker tag (up to 128 letters, digits, `_`, `.`, `-`, not starting with `.` or `-`) and not `latest`: tags are immutable, one per build."
  }
}

variable "keep_last_images" {
  description = "Tagged images kept per repository; older ones expire."
  type        = number
  default     = 20
}

variable "cpu_architecture" {
  description = "CPU architecture of every task, `X86_64` or `ARM64`; the images must be built for it."
  type        = string
  default     = "X86_64"
}

variable "unit_sizes" {
  description = "Fargate `cpu` units, `memory` MiB and optional `ephemeral_storage_gib` per unit; the batch module checks each pair against Fargate's allowed ones."
  type = map(object({
    cpu                   = number
    memory                = number
    ephemeral_storage_gib = optional(number)
  }))
  default = {
    preprocess = { cpu = 1024, memory = 4096, ephemeral_storage_gib = 30 }
    train      = { cpu = 2048, memory = 8192 }
    infer      = { cpu = 512, memory = 2048 }
  }

  validation {
    condition     = join(",", sort(keys(var.unit_sizes))) == "infer,preprocess,train"
    error_message = "unit_sizes must have exactly the keys preprocess, train and infer."
  }
}

variable "unit_environment" {
  description = "Extra environment variables per unit (docs/cli.md), e.g. `{ train = { TRAIN_WINDOW_DAYS = \"730\" } }`; bucket names are set by the batch module, preprocess gets `ENGINE=athena` with the workgroup and Glue databases, and infer the Glue databases (which these may override)."
  type        = map(map(string))
  default     = {}
}

variable "capacity_provider" {
  description = "Fargate capacity provider the workflow runs tasks on, `FARGATE` or `FARGATE_SPOT`."
  type        = string
  default     = "FARGATE"
}

variable "daily_schedule" {
  description = "EventBridge Scheduler expression of the daily run (preprocess, infer), in `timezone`."
  type        = string
  default     = "cron(0 23 2-31 * ? *)"
}

variable "monthly_schedule" {
  description = "EventBridge Scheduler expression of the monthly run (preprocess, train, infer), in `timezone`."
  type        = string
  default     = "cron(0 23 1 * ? *)"
}

variable "timezone" {
  description = "IANA time zone the schedule expressions are read in."
  type        = string
  default     = "UTC"
}

variable "schedules_enabled" {
  description = "Whether the schedules start runs; false creates them disabled."
  type        = bool
  default     = true
}

variable "backfill_max_concurrency" {
  description = "Dates the backfill state machine runs at once."
  type        = number
  default     = 1
}

variable "log_retention_days" {
  description = "Days the task, workflow and VPC flow logs are kept (a value CloudWatch Logs accepts)."
  type        = number
  default     = 90
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete non-empty buckets, the workgroup's queries and repositories with images. For throwaway environments only."
  type        = bool
  default     = false
}

variable "github_repository" {
  description = "GitHub repository (`owner/name`) whose pull requests may assume a read-only plan role; null creates no OIDC provider or role."
  type        = string
  default     = null
}

variable "github_create_oidc_provider" {
  description = "Create the account's GitHub OIDC provider (false when the account already has one)."
  type        = bool
  default     = true
}

variable "terraform_state_bucket_name" {
  description = "Bucket of the Terraform state, which the plan role may read and lock; required with `github_repository`."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource that takes tags (on top of the provider's default tags)."
  type        = map(string)
  default     = {}
}

variable "name_prefix" {
  description = "Name of the ECS cluster and start of every other name (`{name_prefix}-{unit}` task families and roles, `/ecs/{name_prefix}/{unit}` log groups)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,47}$", var.name_prefix))
    error_message = "name_prefix must be 1 to 48 lowercase letters, digits or hyphens, starting with a letter (IAM role names allow 64 characters and `-preprocess-task` takes 16)."
  }
}

variable "units" {
  description = "The three units (`preprocess`, `train`, `infer`), each with its ECR image URI, Fargate `cpu` units and `memory` MiB, optional extra `environment` (for example `MODEL_NAME`) and optional `ephemeral_storage_gib` (21 to 200)."
  type = map(object({
    image                 = string
    cpu                   = number
    memory                = number
    environment           = optional(map(string), {})
    ephemeral_storage_gib = optional(number)
  }))

  validation {
    condition     = join(",", sort(keys(var.units))) == "infer,preprocess,train"
    error_message = "units must have exactly the keys preprocess, train and infer: each has its own task role, written for what that unit reads and writes."
  }

  # Tasks in private subnets without NAT can only pull from ECR (through the VPC endpoints), and the
  # execution role is scoped to the repositories named in these URIs.
  validation {
    condition = alltrue([
      for unit in values(var.units) :
      can(regex("^[0-9]{12}\\.dkr\\.ecr\\.[a-z0-9-]+\\.amazonaws\\.com(\\.cn)?/[a-z0-9._/-]+(:[A-Za-z0-9_.-]+|@sha256:[a-f0-9]{64})$", unit.image))
    ])
    error_message = "Every units[*].image must be an ECR image URI with a tag or digest, `{account}.dkr.ecr.{region}.amazonaws.com/{repository}:{tag}`."
  }

  validation {
    condition     = alltrue([for unit in values(var.units) : contains([256, 512, 1024, 2048, 4096, 8192, 16384], unit.cpu)])
    error_message = "Every units[*].cpu must be a Fargate task size: 256, 512, 1024, 2048, 4096, 8192 or 16384 CPU units."
  }

  # Fargate's CPU/memory pairs (Linux, platform 1.4.0), from the ECS developer guide. The table is written
  # three times because a validation block can reference nothing but its own variable. A cpu missing from
  # the table is the previous rule's error, so this rule lets it pass.
  validation {
    condition = alltrue([
      for unit in values(var.units) : contains(lookup({
        "256"   = [512, 1024, 2048]
        "512"   = range(1024, 4097, 1024)
        "1024"  = range(2048, 8193, 1024)
        "2048"  = range(4096, 16385, 1024)
        "4096"  = range(8192, 30721, 1024)
        "8192"  = range(16384, 61441, 4096)
        "16384" = range(32768, 122881, 8192)
      }, tostring(unit.cpu), [unit.memory]), unit.memory)
    ])
    error_message = join(" ", [
      for name, unit in var.units :
      format("units.%s: Fargate has no %v MiB of memory for cpu %v; valid memory values (MiB) for cpu %v: %s.",
        name, unit.memory, unit.cpu, unit.cpu, join(", ", [for memory in lookup({
          "256"   = [512, 1024, 2048]
          "512"   = range(1024, 4097, 1024)
          "1024"  = range(2048, 8193, 1024)
          "2048"  = range(4096, 16385, 1024)
          "4096"  = range(8192, 30721, 1024)
          "8192"  = range(16384, 61441, 4096)
          "16384" = range(32768, 122881, 8192)
      }, tostring(unit.cpu), []) : tostring(memory)]))
      if !contains(lookup({
        "256"   = [512, 1024, 2048]
        "512"   = range(1024, 4097, 1024)
        "1024"  = range(2048, 8193, 1024)
        "2048"  = range(4096, 16385, 1024)
        "4096"  = range(8192, 30721, 1024)
        "8192"  = range(16384, 61441, 4096)
        "16384" = range(32768, 122881, 8192)
      }, tostring(unit.cpu), [unit.memory]), unit.memory)
    ])
  }

  validation {
    condition = alltrue([
      for unit in values(var.units) :
      unit.ephemeral_storage_gib == null ? true : (unit.ephemeral_storage_gib >= 21 && unit.ephemeral_storage_gib <= 200 && floor(unit.ephemeral_storage_gib) == unit.ephemeral_storage_gib)
    ])
    error_message = "Every units[*].ephemeral_storage_gib must be null (Fargate's default 20 GiB) or a whole number of GiB from 21 to 200."
  }

  # The bucket names, the region and the log format come from the module; the run date and backfill range
  # come from the workflow's overrides for each run.
  validation {
    condition = alltrue(flatten([
      for unit in values(var.units) : [
        for name in keys(unit.environment) :
        can(regex("^[A-Z][A-Z0-9_]*$", name)) && !contains([
          "LAKE_BUCKET", "WAREHOUSE_BUCKET", "MART_BUCKET", "ARTIFACTS_BUCKET", "LOG_FORMAT", "AWS_REGION",
          "AWS_ENDPOINT_URL", "RUN_DATE", "BACKFILL_START", "BACKFILL_END",
        ], name)
      ]
    ]))
    error_message = "units[*].environment names must be UPPER_SNAKE_CASE and must not set the bucket names, LOG_FORMAT, AWS_REGION, AWS_ENDPOINT_URL (set by the module or the platform) or RUN_DATE/BACKFILL_* (set per run by the workflow)."
  }
}

variable "cpu_architecture" {
  description = "CPU architecture of every task, `X86_64` or `ARM64`; the images must be built for it."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

variable "container_user" {
  description = "Numeric `uid` or `uid:gid` the containers run as; never root."
  type        = string
  default     = "10001"

  validation {
    condition     = can(regex("^[0-9]+(:[0-9]+)?$", var.container_user)) && !can(regex("^0+(:|$)", var.container_user))
    error_message = "container_user must be a numeric uid or uid:gid other than 0 (root)."
  }
}

variable "lake_bucket_name" {
  description = "Bucket of the lake layer (`LAKE_BUCKET`); preprocess reads it."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.lake_bucket_name))
    error_message = "lake_bucket_name must be a valid S3 bucket name: 3 to 63 lowercase letters, digits, dots or hyphens."
  }
}

variable "warehouse_bucket_name" {
  description = "Bucket of the warehouse layer (`WAREHOUSE_BUCKET`); preprocess reads and writes it."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.warehouse_bucket_name))
    error_message = "warehouse_bucket_name must be a valid S3 bucket name: 3 to 63 lowercase letters, digits, dots or hyphens."
  }
}

variable "mart_bucket_name" {
  description = "Bucket of the mart layer (`MART_BUCKET`): preprocess writes `features`, train reads it, infer reads it and writes `predictions`."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.mart_bucket_name))
    error_message = "mart_bucket_name must be a valid S3 bucket name: 3 to 63 lowercase letters, digits, dots or hyphens."
  }
}

variable "artifacts_bucket_name" {
  description = "Bucket of the model artifacts (`ARTIFACTS_BUCKET`): train reads and writes `models/`, infer reads it."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.artifacts_bucket_name))
    error_message = "artifacts_bucket_name must be a valid S3 bucket name: 3 to 63 lowercase letters, digits, dots or hyphens."
  }
}

variable "athena_results_bucket_name" {
  description = "Bucket where the Athena workgroup writes query results; Athena writes there with the preprocess task role."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.athena_results_bucket_name))
    error_message = "athena_results_bucket_name must be a valid S3 bucket name: 3 to 63 lowercase letters, digits, dots or hyphens."
  }
}

variable "glue_database_names" {
  description = "Glue database name per layer (`lake`, `warehouse`, `mart`), as the catalog module outputs them; preprocess reads their tables and registers partitions, infer registers those of the mart's `predictions`."
  type        = map(string)

  validation {
    condition     = join(",", sort(keys(var.glue_database_names))) == "lake,mart,warehouse"
    error_message = "glue_database_names must have exactly the keys lake, warehouse and mart."
  }

  validation {
    condition     = alltrue([for name in values(var.glue_database_names) : can(regex("^[a-z0-9_]{1,255}$", name))])
    error_message = "glue_database_names values must be 1 to 255 lowercase letters, digits or underscores."
  }
}

variable "athena_workgroup_name" {
  description = "Athena workgroup the preprocess unit runs its queries in."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9._-]{1,128}$", var.athena_workgroup_name))
    error_message = "athena_workgroup_name must be 1 to 128 letters, digits, dots, hyphens or underscores."
  }
}

variable "subnet_ids" {
  description = "Private subnets the tasks run in; passed through to the workflow's run-task network configuration."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) > 0 && alltrue([for id in var.subnet_ids : can(regex("^subnet-[0-9a-f]+$", id))])
    error_message = "subnet_ids must be a non-empty list of subnet ids (`subnet-...`)."
  }
}

variable "security_group_ids" {
  description = "Security groups of the tasks; passed through to the workflow's run-task network configuration."
  type        = list(string)

  validation {
    condition     = length(var.security_group_ids) > 0 && length(var.security_group_ids) <= 5 && alltrue([for id in var.security_group_ids : can(regex("^sg-[0-9a-f]+$", id))])
    error_message = "security_group_ids must be 1 to 5 security group ids (`sg-...`)."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch Logs keeps the events of each unit's log group."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of CloudWatch Logs' values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "log_kms_key_arn" {
  description = "KMS key that encrypts the log groups; null keeps CloudWatch Logs' default encryption. Its key policy must let the CloudWatch Logs service use it."
  type        = string
  default     = null

  validation {
    condition     = var.log_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", var.log_kms_key_arn))
    error_message = "log_kms_key_arn must be null or a KMS key ARN (`arn:aws:kms:{region}:{account}:key/{id}`; CloudWatch Logs accepts no alias)."
  }
}

variable "account_id" {
  description = "AWS account the resources live in, as written into ARNs; null looks it up (`sts:GetCallerIdentity`)."
  type        = string
  default     = null

  validation {
    condition     = var.account_id == null || can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be a 12-digit AWS account id, or null to look it up."
  }
}

variable "tags" {
  description = "Tags added to the cluster, log groups, task definitions and roles (each per-unit resource also gets a `unit` tag)."
  type        = map(string)
  default     = {}
}

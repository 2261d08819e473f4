variable "region" {
  description = "AWS region of the environment."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as `us-east-1` or `eu-west-1`."
  }
}

variable "account_id" {
  description = "AWS account the environment lives in; the provider refuses any other, and bucket names carry it."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be a 12-digit AWS account id."
  }
}

variable "image_tag" {
  description = "Tag of the images to run, pushed by `make deploy` (the git commit)."
  type        = string
}

variable "availability_zones" {
  description = "Availability zones of the private subnets; null uses the region's zones `a` and `b`."
  type        = list(string)
  default     = null
}

variable "kms_key_arn" {
  description = "KMS key for the buckets' default encryption (SSE-KMS); null uses SSE-S3."
  type        = string
  default     = null
}

variable "github_repository" {
  description = "GitHub repository (`owner/name`) whose pull requests may assume the read-only plan role; null: no role."
  type        = string
  default     = null
}

variable "terraform_state_bucket_name" {
  description = "Bucket of this environment's Terraform state (as in backend.hcl); the plan role reads it. Required with `github_repository`."
  type        = string
  default     = null
}

variable "offline" {
  description = "Plan without reaching AWS (fake credentials, no account check), for reviewing a plan on a machine without AWS access; `make plan` sets it when there is no backend.hcl. Never for apply."
  type        = bool
  default     = false
}

variable "name_prefix" {
  description = "Start of every bucket name: each bucket is named `{name_prefix}-{layer}`, e.g. `batchml-local-lake`."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", var.name_prefix)) && length(var.name_prefix) <= 48
    error_message = "name_prefix must be 1 to 48 lowercase letters, digits or hyphens, starting and ending with a letter or digit (no dots, no underscores), so that the longest bucket name `{name_prefix}-athena-results` stays within S3's 63 characters."
  }

  validation {
    condition     = !anytrue([for reserved in ["xn--", "sthree-", "amzn-s3-demo-"] : startswith(var.name_prefix, reserved)])
    error_message = "name_prefix must not start with a prefix S3 reserves: `xn--`, `sthree-` or `amzn-s3-demo-`."
  }
}

variable "kms_key_arn" {
  description = "ARN of a KMS key (or alias) for default bucket encryption (SSE-KMS); null uses SSE-S3."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be null or a KMS key or alias ARN, e.g. `arn:aws:kms:us-east-1:123456789012:key/1234abcd-...`."
  }
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete buckets that still hold objects (for throwaway environments only)."
  type        = bool
  default     = false
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which a superseded (noncurrent) object version is deleted."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days
    error_message = "noncurrent_version_expiration_days must be a whole number of days, at least 1."
  }
}

variable "athena_results_expiration_days" {
  description = "Days after which Athena query results are deleted from the athena_results bucket."
  type        = number
  default     = 7

  validation {
    condition     = var.athena_results_expiration_days >= 1 && floor(var.athena_results_expiration_days) == var.athena_results_expiration_days
    error_message = "athena_results_expiration_days must be a whole number of days, at least 1."
  }
}

variable "abort_incomplete_multipart_upload_days" {
  description = "Days after which the parts of an unfinished multipart upload are deleted."
  type        = number
  default     = 7

  validation {
    condition     = var.abort_incomplete_multipart_upload_days >= 1 && floor(var.abort_incomplete_multipart_upload_days) == var.abort_incomplete_multipart_upload_days
    error_message = "abort_incomplete_multipart_upload_days must be a whole number of days, at least 1."
  }
}

variable "tags" {
  description = "Tags added to every bucket (each bucket also gets a `layer` tag)."
  type        = map(string)
  default     = {}
}

variable "region" {
  description = "AWS region of the environment."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as `us-east-1` or `eu-west-1`."
  }
}

variable "kms_key_arn" {
  description = "ARN of a KMS key for default bucket encryption (SSE-KMS); null uses SSE-S3."
  type        = string
  default     = null
}

variable "athena_bytes_scanned_cutoff_per_query" {
  description = "Bytes one Athena query may scan before it is cancelled."
  type        = number
  default     = 10737418240 # 10 GiB
}

variable "name_prefix" {
  description = "Name of the Athena workgroup and start of every Glue database name (`{name_prefix}_{layer}`, hyphens become underscores)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9_-]{0,99}$", var.name_prefix))
    error_message = "name_prefix must be 1 to 100 lowercase letters, digits, hyphens or underscores, starting with a letter (Glue and Athena database names allow no other characters)."
  }
}

variable "lake_bucket_name" {
  description = "Bucket of the lake layer; the raw CSV tables point into it."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.lake_bucket_name))
    error_message = "lake_bucket_name must be a valid S3 bucket name: 3 to 63 lowercase letters, digits, dots or hyphens."
  }
}

variable "warehouse_bucket_name" {
  description = "Bucket of the warehouse layer; the typed warehouse tables point into it."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.warehouse_bucket_name))
    error_message = "warehouse_bucket_name must be a valid S3 bucket name: 3 to 63 lowercase letters, digits, dots or hyphens."
  }
}

variable "mart_bucket_name" {
  description = "Bucket of the mart layer; the features and predictions tables point into it."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.mart_bucket_name))
    error_message = "mart_bucket_name must be a valid S3 bucket name: 3 to 63 lowercase letters, digits, dots or hyphens."
  }
}

variable "athena_results_bucket_name" {
  description = "Bucket where the workgroup writes query results (SSE-S3 encrypted)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.athena_results_bucket_name))
    error_message = "athena_results_bucket_name must be a valid S3 bucket name: 3 to 63 lowercase letters, digits, dots or hyphens."
  }
}

variable "bytes_scanned_cutoff_per_query" {
  description = "Bytes one query in the workgroup may scan before Athena cancels it."
  type        = number
  default     = 10737418240 # 10 GiB

  validation {
    condition     = var.bytes_scanned_cutoff_per_query >= 10485760 && floor(var.bytes_scanned_cutoff_per_query) == var.bytes_scanned_cutoff_per_query
    error_message = "bytes_scanned_cutoff_per_query must be a whole number of bytes, at least 10485760 (10 MB, Athena's minimum)."
  }
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the workgroup even when it holds saved queries."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to the Glue databases and the Athena workgroup."
  type        = map(string)
  default     = {}
}

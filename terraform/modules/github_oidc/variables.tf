variable "name_prefix" {
  description = "Start of the plan role's name, `{name_prefix}-github-plan`."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,39}$", var.name_prefix))
    error_message = "name_prefix must be 1 to 40 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "repository" {
  description = "GitHub repository, `owner/name`, whose pull request workflows may assume the plan role."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$", var.repository))
    error_message = "repository must be owner/name: a GitHub owner (letters, digits, hyphens, at most 39) and a repository name (letters, digits, dots, hyphens, underscores)."
  }
}

variable "create_provider" {
  description = "Create the account's GitHub Actions OIDC provider; false looks up the one that exists (an account has at most one per URL)."
  type        = bool
  default     = true
}

variable "state_bucket_name" {
  description = "S3 bucket of the Terraform state; the role may read and write its objects (state and lock file)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.state_bucket_name))
    error_message = "state_bucket_name must be a valid S3 bucket name: 3 to 63 lowercase letters, digits, dots or hyphens."
  }
}

variable "lock_table_arn" {
  description = "DynamoDB table of the state lock, if the backend uses one (null with S3 lock files)."
  type        = string
  default     = null

  validation {
    condition     = var.lock_table_arn == null || can(regex("^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[A-Za-z0-9_.-]{3,255}$", var.lock_table_arn))
    error_message = "lock_table_arn must be null or a DynamoDB table ARN: arn:aws:dynamodb:REGION:ACCOUNT:table/NAME."
  }
}

variable "state_kms_key_arn" {
  description = "KMS key that encrypts the state bucket, if any; the role may encrypt and decrypt with it."
  type        = string
  default     = null

  validation {
    condition     = var.state_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.state_kms_key_arn))
    error_message = "state_kms_key_arn must be null or a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

variable "max_session_duration" {
  description = "Longest session, in seconds, a workflow gets from the plan role."
  type        = number
  default     = 3600

  validation {
    condition     = var.max_session_duration >= 3600 && var.max_session_duration <= 43200 && floor(var.max_session_duration) == var.max_session_duration
    error_message = "max_session_duration must be a whole number of seconds from 3600 to 43200, the IAM limits."
  }
}

variable "tags" {
  description = "Tags added to the OIDC provider and the role."
  type        = map(string)
  default     = {}
}

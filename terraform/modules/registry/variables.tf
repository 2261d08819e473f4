variable "name_prefix" {
  description = "Start of every repository name: each repository is named `{name_prefix}/{repository}`, e.g. `batchml-dev/train`."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+(?:[._-][a-z0-9]+)*$", var.name_prefix)) && length(var.name_prefix) <= 128
    error_message = "name_prefix must be 1 to 128 lowercase letters or digits, optionally separated by single dots, hyphens or underscores (ECR's repository name rules)."
  }
}

variable "repositories" {
  description = "Names of the repositories to create, one per image."
  type        = set(string)
  default     = ["preprocess", "train", "infer"]

  validation {
    condition     = length(var.repositories) >= 1 && alltrue([for name in var.repositories : can(regex("^[a-z0-9]+(?:[._-][a-z0-9]+)*$", name)) && length(name) <= 120])
    error_message = "repositories must hold at least one name, each 1 to 120 lowercase letters or digits, optionally separated by single dots, hyphens or underscores."
  }
}

variable "kms_key_arn" {
  description = "ARN of a KMS key to encrypt the images with (KMS); null uses AES256 with an AWS-owned key."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be null or a KMS key ARN, e.g. `arn:aws:kms:us-east-1:123456789012:key/1234abcd-...` (ECR takes no alias)."
  }
}

variable "keep_last_images" {
  description = "How many of the most recently pushed images each repository keeps; older ones expire."
  type        = number
  default     = 30

  validation {
    condition     = var.keep_last_images >= 1 && var.keep_last_images <= 1000 && floor(var.keep_last_images) == var.keep_last_images
    error_message = "keep_last_images must be a whole number from 1 to 1000."
  }
}

variable "untagged_expiration_days" {
  description = "Days after which an untagged image (a layer set left behind by a failed or repeated push) expires."
  type        = number
  default     = 3

  validation {
    condition     = var.untagged_expiration_days >= 1 && floor(var.untagged_expiration_days) == var.untagged_expiration_days
    error_message = "untagged_expiration_days must be a whole number of days, at least 1."
  }
}

variable "force_delete" {
  description = "Let `terraform destroy` delete repositories that still hold images (for throwaway environments only)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every repository (each repository also gets an `image` tag)."
  type        = map(string)
  default     = {}
}

terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.60, < 6.0"
    }
  }

  # Partial configuration: the state bucket, key and region come from
  # `terraform init -backend-config=backend.hcl` (see backend.hcl.example).
  backend "s3" {}
}

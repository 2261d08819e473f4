locals {
  project     = "batchml"
  environment = "dev"
}

provider "aws" {
  region = var.region
  # Refuse to touch any other account than the one this environment is for.
  allowed_account_ids = var.offline ? null : [var.account_id]

  # Offline planning (make plan without a backend.hcl): nothing below reaches AWS, so fake credentials do.
  skip_credentials_validation = var.offline
  skip_requesting_account_id  = var.offline
  skip_metadata_api_check     = var.offline

  default_tags {
    tags = {
      project     = local.project
      environment = local.environment
      managed_by  = "terraform"
    }
  }
}

module "stack" {
  source = "../../modules/stack"

  name_prefix        = "${local.project}-${local.environment}"
  account_id         = var.account_id
  bucket_name_prefix = "${local.project}-${local.environment}-${var.account_id}"
  kms_key_arn        = var.kms_key_arn
  availability_zones = coalesce(var.availability_zones, ["${var.region}a", "${var.region}b"])
  image_tag          = var.image_tag

  # dev: interruptible capacity and short retention; the same schedules as prod.
  capacity_provider  = "FARGATE_SPOT"
  log_retention_days = 30

  github_repository           = var.github_repository
  terraform_state_bucket_name = var.terraform_state_bucket_name
}

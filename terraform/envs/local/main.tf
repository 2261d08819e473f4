locals {
  project     = "batchml"
  environment = "local"
  name_prefix = "${local.project}-${local.environment}"
}

# Every call goes to the emulator: fake credentials, and an endpoint for every service the full stack uses,
# not only the ones applied today, because a service missing here would silently reach real AWS.
provider "aws" {
  region     = var.region
  access_key = "test"
  secret_key = "test"

  skip_credentials_validation = true
  skip_metadata_api_check     = true
  # Ask the emulator for the account id; without it ARNs get an empty account and tags never converge.
  skip_requesting_account_id = false
  s3_use_path_style          = true
  max_retries                = 2

  endpoints {
    athena     = var.endpoint
    cloudwatch = var.endpoint
    ec2        = var.endpoint
    ecr        = var.endpoint
    ecs        = var.endpoint
    events     = var.endpoint
    glue       = var.endpoint
    iam        = var.endpoint
    kms        = var.endpoint
    logs       = var.endpoint
    s3         = var.endpoint
    scheduler  = var.endpoint
    sfn        = var.endpoint
    sns        = var.endpoint
    sts        = var.endpoint
  }

  # Tagging everything also spares moto's Athena its ListTagsForResource error on untagged workgroups.
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

  name_prefix        = local.name_prefix
  availability_zones = ["${var.region}a", "${var.region}b"]
  image_tag          = var.image_tag
  force_destroy      = true
  # Nothing runs tasks on the emulator; schedules are created (and checked) but never fire.
  schedules_enabled  = false
  log_retention_days = 7
}

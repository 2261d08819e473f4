locals {
  project     = "batchml"
  environment = "dev"
  name_prefix = "${local.project}-${local.environment}"
  # Bucket names are global, so they carry the account id: `batchml-dev-123456789012-lake`.
  bucket_prefix = "${local.name_prefix}-${data.aws_caller_identity.current.account_id}"
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      project     = local.project
      environment = local.environment
      managed_by  = "terraform"
    }
  }
}

data "aws_caller_identity" "current" {}

module "data_lake" {
  source = "../../modules/data_lake"

  name_prefix = local.bucket_prefix
  kms_key_arn = var.kms_key_arn
}

module "catalog" {
  source = "../../modules/catalog"

  name_prefix                    = local.name_prefix
  lake_bucket_name               = module.data_lake.lake_bucket_name
  warehouse_bucket_name          = module.data_lake.warehouse_bucket_name
  mart_bucket_name               = module.data_lake.mart_bucket_name
  athena_results_bucket_name     = module.data_lake.athena_results_bucket_name
  bytes_scanned_cutoff_per_query = var.athena_bytes_scanned_cutoff_per_query
}

provider "aws" {
  region = "us-east-1"
}

# The buckets themselves come from the data_lake module; the catalog only points at them.
module "catalog" {
  source = "../.."

  name_prefix                    = "example-basic"
  lake_bucket_name               = "example-basic-lake"
  warehouse_bucket_name          = "example-basic-warehouse"
  mart_bucket_name               = "example-basic-mart"
  athena_results_bucket_name     = "example-basic-athena-results"
  bytes_scanned_cutoff_per_query = 1073741824 # 1 GiB
  tags                           = { project = "example" }
}

provider "aws" {
  region = "us-east-1"
}

# The buckets, catalog, network and images come from the data_lake, catalog, network and registry modules;
# here they are plain names and ids.
module "batch" {
  source = "../.."

  name_prefix      = "example-basic"
  cpu_architecture = "ARM64"

  units = {
    preprocess = {
      image                 = "123456789012.dkr.ecr.us-east-1.amazonaws.com/example-basic-preprocess:0.1.0"
      cpu                   = 1024
      memory                = 4096
      ephemeral_storage_gib = 30
    }
    train = {
      image  = "123456789012.dkr.ecr.us-east-1.amazonaws.com/example-basic-train:0.1.0"
      cpu    = 2048
      memory = 8192
    }
    infer = {
      image  = "123456789012.dkr.ecr.us-east-1.amazonaws.com/example-basic-infer:0.1.0"
      cpu    = 512
      memory = 1024
    }
  }

  lake_bucket_name           = "example-basic-lake"
  warehouse_bucket_name      = "example-basic-warehouse"
  mart_bucket_name           = "example-basic-mart"
  artifacts_bucket_name      = "example-basic-artifacts"
  athena_results_bucket_name = "example-basic-athena-results"
  glue_database_names = {
    lake      = "example_basic_lake"
    warehouse = "example_basic_warehouse"
    mart      = "example_basic_mart"
  }
  athena_workgroup_name = "example-basic"

  subnet_ids         = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
  security_group_ids = ["sg-0123456789abcdef0"]

  log_retention_days = 14
  tags               = { project = "example" }
}

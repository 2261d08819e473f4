provider "aws" {
  region = "us-east-1"
}

# The state bucket and lock table are the ones the envs' S3 backend uses (see envs/dev/backend.hcl.example).
module "github_oidc" {
  source = "../.."

  name_prefix       = "example-basic"
  repository        = "example-org/batchml"
  state_bucket_name = "example-basic-tfstate"
  lock_table_arn    = "arn:aws:dynamodb:us-east-1:123456789012:table/example-basic-tflock"
  tags              = { project = "example" }
}

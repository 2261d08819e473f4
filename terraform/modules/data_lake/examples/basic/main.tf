provider "aws" {
  region = "us-east-1"
}

module "data_lake" {
  source = "../.."

  name_prefix = "example-basic"
  tags        = { project = "example" }
}

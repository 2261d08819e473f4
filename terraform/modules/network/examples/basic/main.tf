provider "aws" {
  region = "us-east-1"
}

module "network" {
  source = "../.."

  name_prefix             = "example-basic"
  vpc_cidr                = "10.20.0.0/16"
  availability_zones      = ["us-east-1a", "us-east-1b"]
  flow_log_retention_days = 30
  tags                    = { project = "example" }
}

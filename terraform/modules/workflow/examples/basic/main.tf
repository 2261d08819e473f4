provider "aws" {
  region = "us-east-1"
}

locals {
  account_id = "123456789012"
  units      = ["preprocess", "train", "infer"]
}

# The cluster, task definitions, roles and network come from the batch and network modules; literal ARNs
# keep the example self-contained.
module "workflow" {
  source = "../.."

  name_prefix          = "example-basic"
  cluster_arn          = "arn:aws:ecs:us-east-1:${local.account_id}:cluster/example-basic"
  task_definition_arns = { for unit in local.units : unit => "arn:aws:ecs:us-east-1:${local.account_id}:task-definition/example-basic-${unit}:1" }
  task_role_arns       = { for unit in local.units : unit => "arn:aws:iam::${local.account_id}:role/example-basic-${unit}" }
  execution_role_arn   = "arn:aws:iam::${local.account_id}:role/example-basic-execution"
  subnet_ids           = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]
  security_group_ids   = ["sg-0a1b2c3d4e5f60003"]

  timezone                 = "Europe/Berlin"
  backfill_max_concurrency = 8
  tags                     = { project = "example" }
}

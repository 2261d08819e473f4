output "bucket_names" {
  description = "Bucket name per layer: `lake`, `warehouse`, `mart`, `artifacts`, `athena_results`."
  value = {
    lake           = module.data_lake.lake_bucket_name
    warehouse      = module.data_lake.warehouse_bucket_name
    mart           = module.data_lake.mart_bucket_name
    artifacts      = module.data_lake.artifacts_bucket_name
    athena_results = module.data_lake.athena_results_bucket_name
  }
}

output "glue_database_names" {
  description = "Glue database name per layer (`lake`, `warehouse`, `mart`)."
  value       = module.catalog.database_names
}

output "athena_workgroup_name" {
  description = "Name of the Athena workgroup."
  value       = module.catalog.workgroup_name
}

output "unit_environment" {
  description = "Environment variables of the units that name where things are (docs/cli.md), name to value: what a local run exports (the embedded engine, registering partitions in the Glue databases)."
  value = {
    LAKE_BUCKET          = module.data_lake.lake_bucket_name
    WAREHOUSE_BUCKET     = module.data_lake.warehouse_bucket_name
    MART_BUCKET          = module.data_lake.mart_bucket_name
    ARTIFACTS_BUCKET     = module.data_lake.artifacts_bucket_name
    GLUE_DATABASE_PREFIX = local.glue_database_prefix
  }
}

output "vpc_id" {
  description = "ID of the VPC."
  value       = module.network.vpc_id
}

output "private_subnet_ids" {
  description = "IDs of the private subnets the tasks run in."
  value       = module.network.private_subnet_ids
}

output "repository_urls" {
  description = "ECR repository URL per unit; `make deploy` pushes `{url}:{image_tag}`."
  value       = module.registry.repository_urls
}

output "cluster_name" {
  description = "Name of the ECS cluster."
  value       = module.batch.cluster_name
}

output "task_definition_arns" {
  description = "Task definition ARN per unit."
  value       = module.batch.task_definition_arns
}

output "state_machine_arns" {
  description = "Step Functions state machine ARN per workflow (`daily`, `monthly`, `backfill`)."
  value       = module.workflow.state_machine_arns
}

output "alarm_topic_arn" {
  description = "SNS topic that failed runs are published to; subscribe the on-call address to it."
  value       = module.workflow.sns_topic_arn
}

output "github_plan_role_arn" {
  description = "ARN of the read-only role pull-request workflows assume for `terraform plan`; null without `github_repository`."
  value       = one(module.github_oidc[*].role_arn)
}

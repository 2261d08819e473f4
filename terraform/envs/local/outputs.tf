output "lake_bucket" {
  description = "Name of the lake bucket."
  value       = module.data_lake.lake_bucket_name
}

output "warehouse_bucket" {
  description = "Name of the warehouse bucket."
  value       = module.data_lake.warehouse_bucket_name
}

output "mart_bucket" {
  description = "Name of the mart bucket."
  value       = module.data_lake.mart_bucket_name
}

output "artifacts_bucket" {
  description = "Name of the artifacts bucket."
  value       = module.data_lake.artifacts_bucket_name
}

output "athena_results_bucket" {
  description = "Name of the Athena results bucket."
  value       = module.data_lake.athena_results_bucket_name
}

output "glue_databases" {
  description = "Glue database name per layer."
  value       = module.catalog.database_names
}

output "athena_workgroup" {
  description = "Name of the Athena workgroup."
  value       = module.catalog.workgroup_name
}

output "unit_environment" {
  description = "Environment variables the units read (docs/cli.md), name to value."
  value = {
    LAKE_BUCKET      = module.data_lake.lake_bucket_name
    WAREHOUSE_BUCKET = module.data_lake.warehouse_bucket_name
    MART_BUCKET      = module.data_lake.mart_bucket_name
    ARTIFACTS_BUCKET = module.data_lake.artifacts_bucket_name
  }
}

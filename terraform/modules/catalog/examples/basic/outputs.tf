output "database_names" {
  description = "Glue database name per layer."
  value       = module.catalog.database_names
}

output "workgroup_name" {
  description = "Name of the Athena workgroup."
  value       = module.catalog.workgroup_name
}

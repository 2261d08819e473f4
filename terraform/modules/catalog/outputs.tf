output "database_names" {
  description = "Glue database name per layer (`lake`, `warehouse`, `mart`)."
  value       = { for layer, database in aws_glue_catalog_database.this : layer => database.name }
}

output "tables" {
  description = "Every Glue table, keyed `{layer}.{table}`, with its database, name and S3 location."
  value = {
    for key, table in aws_glue_catalog_table.this : key => {
      database = table.database_name
      name     = table.name
      location = table.storage_descriptor[0].location
    }
  }
}

output "workgroup_name" {
  description = "Name of the Athena workgroup."
  value       = aws_athena_workgroup.this.name
}

output "workgroup_arn" {
  description = "ARN of the Athena workgroup."
  value       = aws_athena_workgroup.this.arn
}

output "private_subnet_ids" {
  description = "IDs of the private subnets."
  value       = module.network.private_subnet_ids
}

output "tasks_security_group_id" {
  description = "Security group for the ECS tasks."
  value       = module.network.tasks_security_group_id
}

output "endpoint_ids" {
  description = "VPC endpoint ID per service."
  value       = module.network.endpoint_ids
}

output "private_route_table_ids" {
  description = "IDs of the private route tables."
  value       = module.network.private_route_table_ids
}

output "cluster_arn" {
  description = "ARN of the ECS cluster."
  value       = module.batch.cluster_arn
}

output "task_definition_arns" {
  description = "Task definition ARN per unit."
  value       = module.batch.task_definition_arns
}

output "task_role_arns" {
  description = "Task role ARN per unit."
  value       = module.batch.task_role_arns
}

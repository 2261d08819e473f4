output "cluster_arn" {
  description = "ARN of the ECS cluster the units run in."
  value       = aws_ecs_cluster.this.arn
}

output "cluster_name" {
  description = "Name of the ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "task_definition_arns" {
  description = "ARN (with revision) of each unit's task definition, by unit."
  value       = { for unit, definition in aws_ecs_task_definition.this : unit => definition.arn }
}

output "task_definition_families" {
  description = "Family of each unit's task definition, by unit (run-task with a family takes its latest revision)."
  value       = { for unit, definition in aws_ecs_task_definition.this : unit => definition.family }
}

output "container_names" {
  description = "Name of the one container in each unit's task definition, by unit (the target of the workflow's environment overrides)."
  value       = { for unit in keys(var.units) : unit => unit }
}

output "task_role_arns" {
  description = "ARN of each unit's task role, by unit (the workflow passes them with iam:PassRole)."
  value       = { for unit, role in aws_iam_role.task : unit => role.arn }
}

output "execution_role_arn" {
  description = "ARN of the execution role shared by the task definitions (the workflow passes it with iam:PassRole)."
  value       = aws_iam_role.execution.arn
}

output "subnet_ids" {
  description = "The tasks' subnets, passed through for the run-task network configuration."
  value       = var.subnet_ids
}

output "security_group_ids" {
  description = "The tasks' security groups, passed through for the run-task network configuration."
  value       = var.security_group_ids
}

output "log_group_names" {
  description = "CloudWatch log group of each unit, by unit."
  value       = { for unit, group in aws_cloudwatch_log_group.this : unit => group.name }
}

output "state_machine_arns" {
  description = "ARN of each state machine."
  value       = module.workflow.state_machine_arns
}

output "sns_topic_arn" {
  description = "ARN of the alert topic."
  value       = module.workflow.sns_topic_arn
}

output "schedule_names" {
  description = "Name of each schedule."
  value       = module.workflow.schedule_names
}

output "state_machine_arns" {
  description = "ARN of each state machine (`daily`, `monthly`, `backfill`)."
  value       = { for name, machine in aws_sfn_state_machine.this : name => machine.arn }
}

output "sns_topic_arn" {
  description = "ARN of the alert topic that failed executions and alarms publish to; subscribe to it."
  value       = aws_sns_topic.this.arn
}

output "schedule_names" {
  description = "Name of each EventBridge Scheduler schedule (`daily`, `monthly`)."
  value       = { for name, schedule in aws_scheduler_schedule.this : name => schedule.name }
}

output "state_machine_role_arn" {
  description = "ARN of the role the state machines run as."
  value       = aws_iam_role.state_machine.arn
}

output "scheduler_role_arn" {
  description = "ARN of the role the schedules start executions with."
  value       = aws_iam_role.scheduler.arn
}

output "log_group_name" {
  description = "CloudWatch log group of the state machines."
  value       = aws_cloudwatch_log_group.this.name
}

output "kms_key_arn" {
  description = "ARN of the KMS key of the alert topic and the log group (created here unless given)."
  value       = local.kms_key_arn
}

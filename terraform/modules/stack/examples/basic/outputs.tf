output "bucket_names" {
  description = "Bucket name per layer."
  value       = module.stack.bucket_names
}

output "state_machine_arns" {
  description = "State machine ARN per workflow."
  value       = module.stack.state_machine_arns
}

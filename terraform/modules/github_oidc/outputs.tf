output "role_arn" {
  description = "ARN of the plan role; give it to `aws-actions/configure-aws-credentials` as `role-to-assume`."
  value       = aws_iam_role.plan.arn
}

output "role_name" {
  description = "Name of the plan role."
  value       = aws_iam_role.plan.name
}

output "provider_arn" {
  description = "ARN of the GitHub Actions OIDC provider, created here or found."
  value       = local.provider_arn
}

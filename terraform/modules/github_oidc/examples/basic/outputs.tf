output "role_arn" {
  description = "ARN of the plan role."
  value       = module.github_oidc.role_arn
}

output "provider_arn" {
  description = "ARN of the GitHub Actions OIDC provider."
  value       = module.github_oidc.provider_arn
}

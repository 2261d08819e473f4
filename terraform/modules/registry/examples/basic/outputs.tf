output "repository_urls" {
  description = "Repository URL per image."
  value       = module.registry.repository_urls
}

output "repository_urls" {
  description = "Repository URL per image (`{account}.dkr.ecr.{region}.amazonaws.com/{name_prefix}/{image}`), what `docker push` and task definitions use."
  value       = { for image, repository in aws_ecr_repository.this : image => repository.repository_url }
}

output "repository_arns" {
  description = "Repository ARN per image, for IAM policies."
  value       = { for image, repository in aws_ecr_repository.this : image => repository.arn }
}

output "repository_names" {
  description = "Repository name per image (`{name_prefix}/{image}`)."
  value       = { for image, repository in aws_ecr_repository.this : image => repository.name }
}

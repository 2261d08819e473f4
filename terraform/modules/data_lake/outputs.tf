output "bucket_names" {
  description = "Bucket name per layer (`lake`, `warehouse`, `mart`, `artifacts`, `athena_results`)."
  value       = { for layer, bucket in aws_s3_bucket.this : layer => bucket.id }
}

output "bucket_arns" {
  description = "Bucket ARN per layer."
  value       = { for layer, bucket in aws_s3_bucket.this : layer => bucket.arn }
}

output "lake_bucket_name" {
  description = "Name of the lake bucket (raw files as received)."
  value       = aws_s3_bucket.this["lake"].id
}

output "warehouse_bucket_name" {
  description = "Name of the warehouse bucket (cleansed, typed tables)."
  value       = aws_s3_bucket.this["warehouse"].id
}

output "mart_bucket_name" {
  description = "Name of the mart bucket (features and predictions)."
  value       = aws_s3_bucket.this["mart"].id
}

output "artifacts_bucket_name" {
  description = "Name of the artifacts bucket (model versions and the champion pointer)."
  value       = aws_s3_bucket.this["artifacts"].id
}

output "athena_results_bucket_name" {
  description = "Name of the bucket that holds Athena query results."
  value       = aws_s3_bucket.this["athena_results"].id
}

output "bucket_names" {
  description = "Bucket name per layer."
  value       = module.data_lake.bucket_names
}

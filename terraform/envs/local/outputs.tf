output "stack" {
  description = "Everything the stack module outputs (buckets, catalog, network, images, tasks, workflows); `terraform output -json stack`."
  value       = module.stack
}

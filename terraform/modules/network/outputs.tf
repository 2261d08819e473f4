output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "IPv4 CIDR block of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "private_subnet_ids" {
  description = "IDs of the private subnets, in the order of `availability_zones`; where the ECS tasks run."
  value       = [for zone in var.availability_zones : aws_subnet.private[zone].id]
}

output "private_route_table_ids" {
  description = "IDs of the private route tables, in the order of `availability_zones`."
  value       = [for zone in var.availability_zones : aws_route_table.private[zone].id]
}

output "tasks_security_group_id" {
  description = "ID of the security group to give the ECS tasks: no ingress, HTTPS out to the endpoints only."
  value       = aws_security_group.tasks.id
}

output "endpoints_security_group_id" {
  description = "ID of the security group of the interface endpoints: HTTPS in from the tasks' security group only."
  value       = aws_security_group.endpoints.id
}

output "endpoint_ids" {
  description = "VPC endpoint ID per service (the keys of `endpoints`, e.g. `s3`, `ecr.dkr`)."
  value       = { for service, endpoint in aws_vpc_endpoint.this : service => endpoint.id }
}

output "flow_log_group_name" {
  description = "Name of the CloudWatch log group that receives the VPC flow logs; null when they are off."
  value       = one(aws_cloudwatch_log_group.flow_log[*].name)
}

# Looked up only when `account_id` is not given, so that a plan can be made without reaching AWS.
data "aws_caller_identity" "current" {
  count = var.account_id == null ? 1 : 0
}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = coalesce(var.account_id, one(data.aws_caller_identity.current[*].account_id))
  region     = data.aws_region.current.name

  # Keyed by zone, so that each subnet's CIDR keeps its place in the VPC block.
  subnet_cidrs = { for index, zone in var.availability_zones : zone => cidrsubnet(var.vpc_cidr, var.subnet_newbits, index) }

  gateway_endpoints = { for service, endpoint in var.endpoints : service => endpoint if endpoint.service_type == "Gateway" }

  # Requests the default endpoint policy must let through although they name no resource of this account:
  # ECR's token call names no resource at all, and image layers live in an S3 bucket that AWS owns (pulled
  # through presigned URLs that AWS signs, hence no principal condition either).
  endpoint_policy_exceptions = {
    "ecr.api" = [{
      sid                          = "AllowTokenForThisAccount"
      actions                      = ["ecr:GetAuthorizationToken"]
      resources                    = ["*"]
      this_account_principals_only = true
    }]
    sts = [{
      sid                          = "AllowCallerIdentityForThisAccount"
      actions                      = ["sts:GetCallerIdentity"]
      resources                    = ["*"]
      this_account_principals_only = true
    }]
    s3 = [{
      sid                          = "AllowEcrImageLayers"
      actions                      = ["s3:GetObject"]
      resources                    = ["arn:${data.aws_partition.current.partition}:s3:::prod-${local.region}-starport-layer-bucket/*"]
      this_account_principals_only = false
    }]
  }
}

################################################################################
# VPC and private subnets (no internet gateway, no NAT gateway)
################################################################################

resource "aws_vpc" "this" {
  cidr_block = var.vpc_cidr
  # Private DNS of the interface endpoints needs both.
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = merge(var.tags, { Name = var.name_prefix })

  lifecycle {
    precondition {
      condition     = pow(2, var.subnet_newbits) >= length(var.availability_zones) && tonumber(split("/", var.vpc_cidr)[1]) + var.subnet_newbits <= 28
      error_message = "vpc_cidr split by subnet_newbits must give one subnet per availability zone, each at least a /28."
    }
  }
}

# The default security group of a VPC allows all traffic between its members; strip every rule from it.
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name_prefix}-default-unused" })
}

resource "aws_subnet" "private" {
  for_each = local.subnet_cidrs

  vpc_id                  = aws_vpc.this.id
  availability_zone       = each.key
  cidr_block              = each.value
  map_public_ip_on_launch = false

  tags = merge(var.tags, { Name = "${var.name_prefix}-private-${each.key}" })
}

# One route table per zone, with only the local route and the gateway endpoints' routes: nothing leaves the
# VPC except through an endpoint.
resource "aws_route_table" "private" {
  for_each = local.subnet_cidrs

  vpc_id = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name_prefix}-private-${each.key}" })
}

resource "aws_route_table_association" "private" {
  for_each = local.subnet_cidrs

  subnet_id      = aws_subnet.private[each.key].id
  route_table_id = aws_route_table.private[each.key].id
}

################################################################################
# Security groups: the tasks reach the endpoints on 443, nothing else
################################################################################

resource "aws_security_group" "tasks" {
  #checkov:skip=CKV2_AWS_5:Attached at run time: the workflow's ecs:RunTask network configuration gives it to every task.
  name        = "${var.name_prefix}-tasks"
  description = "ECS tasks: no ingress; HTTPS out to the VPC endpoints only"
  vpc_id      = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name_prefix}-tasks" })
}

resource "aws_security_group" "endpoints" {
  name        = "${var.name_prefix}-endpoints"
  description = "Interface VPC endpoints: HTTPS in from the tasks only"
  vpc_id      = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name_prefix}-endpoints" })
}

# Separate rule resources: the two groups name each other, which inline rules cannot express without a cycle.
# (The newer aws_vpc_security_group_*_rule resources would do too, but the emulator drops their
# descriptions, so a second plan would never be empty.)
resource "aws_security_group_rule" "endpoints_https_from_tasks" {
  security_group_id        = aws_security_group.endpoints.id
  description              = "HTTPS from the ECS tasks"
  type                     = "ingress"
  protocol                 = "tcp"
  from_port                = 443
  to_port                  = 443
  source_security_group_id = aws_security_group.tasks.id
}

resource "aws_security_group_rule" "tasks_https_to_endpoints" {
  security_group_id        = aws_security_group.tasks.id
  description              = "HTTPS to the interface VPC endpoints"
  type                     = "egress"
  protocol                 = "tcp"
  from_port                = 443
  to_port                  = 443
  source_security_group_id = aws_security_group.endpoints.id
}

# Gateway endpoints have no network interface to point at; their AWS-managed prefix list stands for them.
resource "aws_security_group_rule" "tasks_https_to_gateway_endpoints" {
  for_each = local.gateway_endpoints

  security_group_id = aws_security_group.tasks.id
  description       = "HTTPS to ${each.key} through its gateway endpoint"
  type              = "egress"
  protocol          = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_ids   = [aws_vpc_endpoint.this[each.key].prefix_list_id]
}

################################################################################
# VPC endpoints
################################################################################

# Default endpoint policy: principals of this account, on resources of this account, with the actions of the
# endpoint's own service (the IAM prefix is the first part of the key: `ecr.dkr` -> `ecr:*`); plus the
# exceptions above.
data "aws_iam_policy_document" "endpoint" {
  for_each = var.endpoints

  statement {
    sid       = "AllowThisAccountOnly"
    effect    = "Allow"
    actions   = ["${split(".", each.key)[0]}:*"]
    resources = ["*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:PrincipalAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceAccount"
      values   = [local.account_id]
    }
  }

  dynamic "statement" {
    for_each = lookup(local.endpoint_policy_exceptions, each.key, [])

    content {
      sid       = statement.value.sid
      effect    = "Allow"
      actions   = statement.value.actions
      resources = statement.value.resources

      principals {
        type        = "*"
        identifiers = ["*"]
      }

      dynamic "condition" {
        for_each = statement.value.this_account_principals_only ? [local.account_id] : []

        content {
          test     = "StringEquals"
          variable = "aws:PrincipalAccount"
          values   = [condition.value]
        }
      }
    }
  }
}

resource "aws_vpc_endpoint" "this" {
  for_each = var.endpoints

  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${local.region}.${each.key}"
  vpc_endpoint_type = each.value.service_type
  policy            = coalesce(each.value.policy, data.aws_iam_policy_document.endpoint[each.key].json)

  # Interface endpoints: a network interface in every private subnet, behind the endpoints security group.
  subnet_ids          = each.value.service_type == "Interface" ? [for zone in var.availability_zones : aws_subnet.private[zone].id] : null
  security_group_ids  = each.value.service_type == "Interface" ? [aws_security_group.endpoints.id] : null
  private_dns_enabled = each.value.service_type == "Interface" ? each.value.private_dns_enabled : null

  # Gateway endpoints: a route in every private route table.
  route_table_ids = each.value.service_type == "Gateway" ? [for zone in var.availability_zones : aws_route_table.private[zone].id] : null

  tags = merge(var.tags, { Name = "${var.name_prefix}-${each.key}" })
}

################################################################################
# Flow logs
################################################################################

resource "aws_cloudwatch_log_group" "flow_log" {
  count = var.flow_log_retention_days == null ? 0 : 1

  #checkov:skip=CKV_AWS_158:CloudWatch Logs encrypts by default; a customer key is used whenever flow_log_kms_key_arn is given.
  #checkov:skip=CKV_AWS_338:Retention is the flow_log_retention_days input (default 365); a shorter one is the caller's cost choice.
  name              = "/aws/vpc-flow-log/${var.name_prefix}"
  retention_in_days = var.flow_log_retention_days
  kms_key_id        = var.flow_log_kms_key_arn

  tags = var.tags
}

data "aws_iam_policy_document" "flow_log_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }

    # Only flow logs of this account may use the role (confused-deputy guard).
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

data "aws_iam_policy_document" "flow_log" {
  count = var.flow_log_retention_days == null ? 0 : 1

  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.flow_log[0].arn}:*"]
  }
}

resource "aws_iam_role" "flow_log" {
  count = var.flow_log_retention_days == null ? 0 : 1

  name               = "${var.name_prefix}-vpc-flow-log"
  assume_role_policy = data.aws_iam_policy_document.flow_log_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy" "flow_log" {
  count = var.flow_log_retention_days == null ? 0 : 1

  name   = "write-flow-log"
  role   = aws_iam_role.flow_log[0].id
  policy = data.aws_iam_policy_document.flow_log[0].json
}

resource "aws_flow_log" "this" {
  count = var.flow_log_retention_days == null ? 0 : 1

  vpc_id               = aws_vpc.this.id
  traffic_type         = "ALL"
  log_destination_type = "cloud-watch-logs"
  log_destination      = aws_cloudwatch_log_group.flow_log[0].arn
  iam_role_arn         = aws_iam_role.flow_log[0].arn

  tags = merge(var.tags, { Name = var.name_prefix })
}

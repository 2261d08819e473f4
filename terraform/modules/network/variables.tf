variable "name_prefix" {
  description = "Start of every resource name and `Name` tag, e.g. `batchml-dev` gives `batchml-dev-private-us-east-1a`."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,47}$", var.name_prefix))
    error_message = "name_prefix must be 1 to 48 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "vpc_cidr" {
  description = "IPv4 CIDR block of the VPC; the private subnets are carved out of it with `cidrsubnet`."
  type        = string
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && can(regex("/(1[6-9]|2[0-4])$", var.vpc_cidr))
    error_message = "vpc_cidr must be an IPv4 CIDR block with a prefix length from /16 to /24, e.g. `10.0.0.0/16`."
  }

  validation {
    # Not a CIDR at all is the rule above's to report.
    condition     = try(cidrhost(var.vpc_cidr, 0) == split("/", var.vpc_cidr)[0], true)
    error_message = "vpc_cidr must start at its network address, e.g. `10.0.0.0/16` rather than `10.0.0.1/16`."
  }
}

variable "availability_zones" {
  description = "Availability zones of the private subnets, one subnet each; at least two, so a task still starts when one zone is down."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) >= 2 && length(distinct(var.availability_zones)) == length(var.availability_zones)
    error_message = "availability_zones must list at least two distinct zones, e.g. `[\"us-east-1a\", \"us-east-1b\"]`."
  }

  validation {
    condition     = alltrue([for zone in var.availability_zones : can(regex("^[a-z]{2}(-[a-z]+)+-[0-9][a-z]$", zone))])
    error_message = "availability_zones must hold zone names such as `us-east-1a` (not zone ids such as `use1-az1`)."
  }
}

variable "subnet_newbits" {
  description = "Bits added to the VPC prefix for each private subnet (`cidrsubnet(vpc_cidr, subnet_newbits, index)`); 4 turns a /16 into /20 subnets."
  type        = number
  default     = 4

  validation {
    condition     = var.subnet_newbits >= 1 && var.subnet_newbits <= 12 && floor(var.subnet_newbits) == var.subnet_newbits
    error_message = "subnet_newbits must be a whole number from 1 to 12."
  }
}

variable "endpoints" {
  description = "VPC endpoints by service (`com.amazonaws.{region}.{key}`): `service_type` Interface (default) or Gateway, `private_dns_enabled` for Interface ones, and `policy` (JSON) to replace the default policy that allows only this account's principals on this account's resources."
  type = map(object({
    service_type        = optional(string, "Interface")
    private_dns_enabled = optional(bool, true)
    policy              = optional(string)
  }))
  default = {
    s3        = { service_type = "Gateway" }
    "ecr.api" = {}
    "ecr.dkr" = {}
    logs      = {}
    athena    = {}
    sts       = {}
    glue      = {}
  }

  validation {
    condition     = alltrue([for endpoint in values(var.endpoints) : contains(["Interface", "Gateway"], endpoint.service_type)])
    error_message = "endpoints: each service_type must be `Interface` or `Gateway`."
  }

  validation {
    condition     = alltrue([for service, endpoint in var.endpoints : endpoint.service_type == "Interface" || contains(["s3", "dynamodb"], service)])
    error_message = "endpoints: only `s3` and `dynamodb` can be Gateway endpoints."
  }
}

variable "flow_log_retention_days" {
  description = "Days the VPC flow logs stay in CloudWatch Logs; null turns the flow logs off."
  type        = number
  default     = 365

  validation {
    condition     = var.flow_log_retention_days == null || contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_days)
    error_message = "flow_log_retention_days must be null or one of CloudWatch Logs' retention values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "flow_log_kms_key_arn" {
  description = "ARN of a KMS key to encrypt the flow log group with; null uses CloudWatch Logs' own encryption. The key policy must let the `logs` service use it."
  type        = string
  default     = null

  validation {
    condition     = var.flow_log_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.flow_log_kms_key_arn))
    error_message = "flow_log_kms_key_arn must be null or a KMS key ARN, e.g. `arn:aws:kms:us-east-1:123456789012:key/1234abcd-...`."
  }
}

variable "account_id" {
  description = "AWS account the resources live in, as written into ARNs; null looks it up (`sts:GetCallerIdentity`)."
  type        = string
  default     = null

  validation {
    condition     = var.account_id == null || can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be a 12-digit AWS account id, or null to look it up."
  }
}

variable "tags" {
  description = "Tags added to every resource (each also gets a `Name` tag)."
  type        = map(string)
  default     = {}
}

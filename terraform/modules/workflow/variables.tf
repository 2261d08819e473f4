variable "name_prefix" {
  description = "Start of every name: state machines and schedules `{name_prefix}-daily` (and `-monthly`, `-backfill`), roles, topic, key alias, log group."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,39}$", var.name_prefix))
    error_message = "name_prefix must be 1 to 40 lowercase letters, digits or hyphens, starting with a letter (IAM role names with their suffix stay within 64 characters)."
  }
}

variable "cluster_arn" {
  description = "ARN of the ECS cluster the tasks run on; its region and account are also those of the workflow."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:cluster/[A-Za-z0-9_-]{1,255}$", var.cluster_arn))
    error_message = "cluster_arn must be an ECS cluster ARN: arn:aws:ecs:REGION:ACCOUNT:cluster/NAME."
  }
}

variable "task_definition_arns" {
  description = "Task definition ARN per unit (keys `preprocess`, `train`, `infer`); the state machines may run any revision of these families."
  type        = map(string)

  validation {
    condition     = join(",", sort(keys(var.task_definition_arns))) == "infer,preprocess,train"
    error_message = "task_definition_arns must have exactly the keys preprocess, train and infer."
  }

  validation {
    condition     = alltrue([for arn in values(var.task_definition_arns) : can(regex("^arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:task-definition/[A-Za-z0-9_-]{1,255}:[0-9]+$", arn))])
    error_message = "Every task definition ARN must look like arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION."
  }
}

variable "task_role_arns" {
  description = "Task role ARN per unit (keys `preprocess`, `train`, `infer`); the state machine role may pass exactly these."
  type        = map(string)

  validation {
    condition     = join(",", sort(keys(var.task_role_arns))) == "infer,preprocess,train"
    error_message = "task_role_arns must have exactly the keys preprocess, train and infer."
  }

  validation {
    condition     = alltrue([for arn in values(var.task_role_arns) : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", arn))])
    error_message = "Every task role ARN must be an IAM role ARN: arn:aws:iam::ACCOUNT:role/NAME."
  }
}

variable "execution_role_arn" {
  description = "ARN of the task execution role (image pull, logs) shared by the task definitions; the state machine role may pass it."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.execution_role_arn))
    error_message = "execution_role_arn must be an IAM role ARN: arn:aws:iam::ACCOUNT:role/NAME."
  }
}

variable "container_names" {
  description = "Name of the container to override in each unit's task definition; a unit left out uses its own name."
  type = object({
    preprocess = optional(string, "preprocess")
    train      = optional(string, "train")
    infer      = optional(string, "infer")
  })
  default = {}
}

variable "subnet_ids" {
  description = "Private subnets the tasks run in (no public IP is ever assigned)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 1 && length(var.subnet_ids) <= 16 && alltrue([for id in var.subnet_ids : can(regex("^subnet-[0-9a-f]+$", id))])
    error_message = "subnet_ids must hold 1 to 16 subnet ids (subnet-...), the limit of an ECS awsvpc configuration."
  }
}

variable "security_group_ids" {
  description = "Security groups of the tasks."
  type        = list(string)

  validation {
    condition     = length(var.security_group_ids) >= 1 && length(var.security_group_ids) <= 5 && alltrue([for id in var.security_group_ids : can(regex("^sg-[0-9a-f]+$", id))])
    error_message = "security_group_ids must hold 1 to 5 security group ids (sg-...), the limit of an ECS awsvpc configuration."
  }
}

variable "capacity_provider" {
  description = "Fargate capacity provider the tasks run on (`FARGATE` or `FARGATE_SPOT`); the cluster must have it."
  type        = string
  default     = "FARGATE"

  validation {
    condition     = contains(["FARGATE", "FARGATE_SPOT"], var.capacity_provider)
    error_message = "capacity_provider must be FARGATE or FARGATE_SPOT."
  }
}

variable "daily_schedule" {
  description = "EventBridge Scheduler expression of the daily run (preprocess, infer), in `timezone`; the default skips the 1st, when the monthly run does the same and trains."
  type        = string
  default     = "cron(0 23 2-31 * ? *)"

  validation {
    condition     = can(regex("^(cron|rate)\\(.+\\)$", var.daily_schedule))
    error_message = "daily_schedule must be a cron(...) or rate(...) expression."
  }
}

variable "monthly_schedule" {
  description = "EventBridge Scheduler expression of the monthly run (preprocess, train, infer), in `timezone`."
  type        = string
  default     = "cron(0 23 1 * ? *)"

  validation {
    condition     = can(regex("^(cron|rate)\\(.+\\)$", var.monthly_schedule))
    error_message = "monthly_schedule must be a cron(...) or rate(...) expression."
  }
}

variable "timezone" {
  description = "IANA time zone the schedule expressions are read in."
  type        = string
  default     = "UTC"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$", var.timezone))
    error_message = "timezone must be an IANA time zone name such as UTC or Europe/Berlin."
  }
}

variable "schedules_enabled" {
  description = "Whether the daily and monthly schedules start executions (false keeps them, disabled)."
  type        = bool
  default     = true
}

variable "backfill_max_concurrency" {
  description = "How many dates the backfill state machine preprocesses at the same time."
  type        = number
  default     = 4

  validation {
    condition     = var.backfill_max_concurrency >= 1 && var.backfill_max_concurrency <= 40 && floor(var.backfill_max_concurrency) == var.backfill_max_concurrency
    error_message = "backfill_max_concurrency must be a whole number from 1 to 40."
  }
}

variable "execution_timeout_seconds" {
  description = "Time after which an execution of any of the state machines is stopped and counted as timed out."
  type        = number
  default     = 21600 # 6 hours

  validation {
    condition     = var.execution_timeout_seconds >= 60 && var.execution_timeout_seconds <= 31536000 && floor(var.execution_timeout_seconds) == var.execution_timeout_seconds
    error_message = "execution_timeout_seconds must be a whole number of seconds from 60 to 31536000 (one year, the Standard workflow limit)."
  }
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the alert topic and the log group; null creates one whose policy lets CloudWatch alarms publish (the AWS-managed alias/aws/sns key does not)."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be null or a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

variable "log_level" {
  description = "What the state machines log to their log group: `ERROR` or `ALL` (execution data is never included)."
  type        = string
  default     = "ERROR"

  validation {
    condition     = contains(["ERROR", "ALL"], var.log_level)
    error_message = "log_level must be ERROR or ALL."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch Logs keeps the state machines' log events."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one CloudWatch Logs allows: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "tracing_enabled" {
  description = "Send X-Ray traces of the executions (adds the X-Ray write actions, which take no resource, to the state machine role)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}

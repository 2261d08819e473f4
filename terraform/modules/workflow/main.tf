locals {
  units = ["preprocess", "train", "infer"]

  # Region, account and partition come from the cluster ARN rather than from data sources, so that a plan
  # needs no AWS call (envs/dev plans offline with fake credentials).
  arn_parts    = split(":", var.cluster_arn)
  partition    = local.arn_parts[1]
  region       = local.arn_parts[3]
  account_id   = local.arn_parts[4]
  cluster_name = split("/", var.cluster_arn)[1]

  # Any revision of each unit's family: a new task definition revision must not need a new workflow policy.
  task_definition_families = [for arn in values(var.task_definition_arns) : replace(arn, "/:[0-9]+$/", ":*")]

  kms_key_arn = var.kms_key_arn != null ? var.kms_key_arn : aws_kms_key.this[0].arn

  # Built from its name, so that the state machine definitions are complete in the plan a reviewer reads.
  topic_name = "${var.name_prefix}-workflow-alerts"
  topic_arn  = "arn:${local.partition}:sns:${local.region}:${local.account_id}:${local.topic_name}"
}

################################################################################
# State machine definitions
################################################################################

locals {
  # Every unit runs as one ECS task, waited for by `.sync`. The workflow sets the run date per execution
  # through a container environment override (docs/cli.md: RUN_DATE); everything else the CLIs read is in
  # the task definition. ResultPath null keeps the state's input, so `$.run_date` reaches the next unit.
  unit_task = {
    for unit in local.units : unit => {
      Type     = "Task"
      Resource = "arn:${local.partition}:states:::ecs:runTask.sync"
      Parameters = {
        Cluster                  = var.cluster_arn
        TaskDefinition           = var.task_definition_arns[unit]
        CapacityProviderStrategy = [{ CapacityProvider = var.capacity_provider, Weight = 1 }]
        NetworkConfiguration = {
          AwsvpcConfiguration = {
            Subnets        = var.subnet_ids
            SecurityGroups = var.security_group_ids
            AssignPublicIp = "DISABLED"
          }
        }
        Overrides = {
          ContainerOverrides = [{
            Name        = var.container_names[unit]
            Environment = [{ Name = "RUN_DATE", "Value.$" = "$.run_date" }]
          }]
        }
      }
      ResultPath = null
      Retry = [
        {
          # RunTask refused or could not place the task: no Fargate (Spot) capacity, ENI or rate limits,
          # ECS-side errors. Nothing ran yet, so retrying is always safe; back off up to ~5 minutes.
          ErrorEquals     = ["ECS.AmazonECSException", "ECS.ServerException", "ECS.ThrottlingException"]
          IntervalSeconds = 30
          BackoffRate     = 2
          MaxAttempts     = 5
          MaxDelaySeconds = 300
          JitterStrategy  = "FULL"
        },
        {
          # The task started and failed (non-zero exit, Spot interruption, image pull hiccup). One retry:
          # the units are idempotent by the publish protocol, and a data failure (exit 3 or 4) will fail
          # again and be reported rather than retried on and on. The wait outlasts the 5-minute lease of
          # the run lock a killed task leaves behind (docs/s3-layout.md, "Locks"), so the retry can take it.
          ErrorEquals     = ["States.TaskFailed"]
          IntervalSeconds = 330
          BackoffRate     = 2
          MaxAttempts     = 1
        },
      ]
    }
  }

  # Whatever fails is caught, published to the alert topic, then fails the execution.
  catch_all = [{ ErrorEquals = ["States.ALL"], ResultPath = "$.error", Next = "NotifyFailure" }]

  failure_states = {
    NotifyFailure = {
      Type     = "Task"
      Resource = "arn:${local.partition}:states:::sns:publish"
      Parameters = {
        TopicArn = local.topic_arn
        Subject  = "${var.name_prefix}: workflow execution failed"
        Message = {
          "state_machine.$" = "$$.StateMachine.Name"
          "execution.$"     = "$$.Execution.Id"
          "input.$"         = "$$.Execution.Input"
          "error.$"         = "$.error"
        }
      }
      ResultPath = null
      Catch      = [{ ErrorEquals = ["States.ALL"], ResultPath = null, Next = "Failed" }]
      Next       = "Failed"
    }
    Failed = {
      Type  = "Fail"
      Error = "UnitFailed"
      Cause = "A unit failed after its retries; the alert topic has the details."
    }
  }

  # A schedule passes `<aws.scheduler.scheduled-time>` (`2026-11-29T23:00:00Z`) as run_date; a person may
  # pass `2026-11-29`. Splitting on "T" and keeping the first part gives YYYY-MM-DD in both cases.
  run_date_state = {
    RunDate = {
      Type       = "Pass"
      Parameters = { "run_date.$" = "States.ArrayGetItem(States.StringSplit($.run_date, 'T'), 0)" }
      Next       = "Preprocess"
    }
  }

  # One unit after another: each unit state gets the catch and the name of the next state (or End).
  chains = {
    daily   = ["preprocess", "infer"]
    monthly = ["preprocess", "train", "infer"]
  }

  chain_definitions = {
    for name, chain in local.chains : name => {
      Comment        = "${title(name)} run: ${join(" -> ", chain)} for the run date of the input."
      StartAt        = "RunDate"
      TimeoutSeconds = var.execution_timeout_seconds
      States = merge(
        local.run_date_state,
        local.failure_states,
        {
          for index, unit in chain : title(unit) => merge(
            local.unit_task[unit],
            { Catch = local.catch_all },
            index == length(chain) - 1 ? { End = true } : { Next = title(chain[index + 1]) },
          )
        },
      )
    }
  }

  # Input: {"dates": ["2026-01-01", ...]}; preprocess runs once per date, at most
  # backfill_max_concurrency at a time. Any failed date fails the Map, which is caught and reported.
  backfill_definition = {
    Comment        = "Backfill: preprocess for each date of the input's dates list."
    StartAt        = "Backfill"
    TimeoutSeconds = var.execution_timeout_seconds
    States = merge(local.failure_states, {
      Backfill = {
        Type           = "Map"
        ItemsPath      = "$.dates"
        MaxConcurrency = var.backfill_max_concurrency
        ItemSelector   = { "run_date.$" = "$$.Map.Item.Value" }
        ItemProcessor = {
          ProcessorConfig = { Mode = "INLINE" }
          StartAt         = "Preprocess"
          States          = { Preprocess = merge(local.unit_task["preprocess"], { End = true }) }
        }
        ResultPath = null
        Catch      = local.catch_all
        End        = true
      }
    })
  }

  definitions = merge(local.chain_definitions, { backfill = local.backfill_definition })
}

################################################################################
# State machines
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Retention is the log_retention_days input; state machine error logs need no year by default.
  #checkov:skip=CKV_AWS_158:Encrypted with local.kms_key_arn; a plan scan cannot see the ARN of a key created in the same apply.
  # The /aws/vendedlogs/ prefix keeps the CloudWatch Logs resource policy that log delivery writes small.
  name              = "/aws/vendedlogs/states/${var.name_prefix}-workflow"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms_key_arn

  tags = var.tags
}

resource "aws_sfn_state_machine" "this" {
  #checkov:skip=CKV_AWS_284:X-Ray tracing is opt-in (tracing_enabled): it needs a `*` resource statement on the role.
  #checkov:skip=CKV_AWS_285:Execution data (inputs, outputs, error causes) stays out of logs by design; events are logged at log_level.
  for_each = local.definitions

  name       = "${var.name_prefix}-${each.key}"
  type       = "STANDARD"
  role_arn   = aws_iam_role.state_machine.arn
  definition = jsonencode(each.value)

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.this.arn}:*"
    include_execution_data = false
    level                  = var.log_level
  }

  tracing_configuration {
    enabled = var.tracing_enabled
  }

  tags = var.tags

  # The role's policy must exist before the first execution can run a task or write a log, and the topic
  # (named in the definition, not referenced) before the first failure is reported.
  depends_on = [aws_iam_role_policy.state_machine, aws_sns_topic.this]
}

################################################################################
# State machine role
################################################################################

resource "aws_iam_role" "state_machine" {
  name               = "${var.name_prefix}-workflow"
  description        = "Step Functions: runs the units' ECS tasks and reports failures."
  assume_role_policy = data.aws_iam_policy_document.state_machine_trust.json

  tags = var.tags
}

data "aws_iam_policy_document" "state_machine_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role_policy" "state_machine" {
  name   = "run-units"
  role   = aws_iam_role.state_machine.id
  policy = data.aws_iam_policy_document.state_machine.json
}

data "aws_iam_policy_document" "state_machine" {
  statement {
    sid       = "RunUnitTasks"
    actions   = ["ecs:RunTask"]
    resources = local.task_definition_families

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [var.cluster_arn]
    }
  }

  # `.sync` polls the task it started and stops it when the execution is stopped.
  statement {
    sid       = "WatchUnitTasks"
    actions   = ["ecs:DescribeTasks", "ecs:StopTask"]
    resources = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:task/${local.cluster_name}/*"]
  }

  statement {
    sid       = "PassUnitRoles"
    actions   = ["iam:PassRole"]
    resources = distinct(concat(values(var.task_role_arns), [var.execution_role_arn]))

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  # `.sync` learns that a task stopped through this Step Functions-managed EventBridge rule.
  statement {
    sid       = "SyncEventRule"
    actions   = ["events:PutTargets", "events:PutRule", "events:DescribeRule"]
    resources = ["arn:${local.partition}:events:${local.region}:${local.account_id}:rule/StepFunctionsGetEventsForECSTaskRule"]
  }

  statement {
    sid       = "PublishAlerts"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this.arn]
  }

  # Publishing to an encrypted topic needs the topic's key.
  statement {
    sid       = "EncryptAlerts"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [local.kms_key_arn]
  }

  # CloudWatch Logs log delivery has no resource-level permissions: AWS documents `*` for these actions.
  statement {
    sid = "DeliverLogs"
    actions = [
      "logs:CreateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:DescribeLogGroups",
      "logs:DescribeResourcePolicies",
      "logs:GetLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:UpdateLogDelivery",
    ]
    resources = ["*"]
  }

  # X-Ray's write actions take no resource either; only there when tracing is on.
  dynamic "statement" {
    for_each = var.tracing_enabled ? [1] : []

    content {
      sid       = "WriteTraces"
      actions   = ["xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTelemetryRecords", "xray:PutTraceSegments"]
      resources = ["*"]
    }
  }
}

################################################################################
# Schedules
################################################################################

locals {
  schedules = {
    daily   = var.daily_schedule
    monthly = var.monthly_schedule
  }
}

resource "aws_scheduler_schedule" "this" {
  #checkov:skip=CKV_AWS_297:The target input holds only the scheduled-time placeholder; an AWS-owned key encrypts it.
  for_each = local.schedules

  name        = "${var.name_prefix}-${each.key}"
  description = "Starts the ${each.key} run with the scheduled time as its run date."

  schedule_expression          = each.value
  schedule_expression_timezone = var.timezone
  state                        = var.schedules_enabled ? "ENABLED" : "DISABLED"

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_sfn_state_machine.this[each.key].arn
    role_arn = aws_iam_role.scheduler.arn
    # The scheduled time is UTC (`...Z`); the RunDate state keeps its date part.
    input = jsonencode({ run_date = "<aws.scheduler.scheduled-time>" })

    retry_policy {
      maximum_event_age_in_seconds = 3600
      maximum_retry_attempts       = 3
    }
  }
}

resource "aws_iam_role" "scheduler" {
  name               = "${var.name_prefix}-workflow-scheduler"
  description        = "EventBridge Scheduler: starts the daily and monthly workflow executions."
  assume_role_policy = data.aws_iam_policy_document.scheduler_trust.json

  tags = var.tags
}

data "aws_iam_policy_document" "scheduler_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "start-executions"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "StartScheduledRuns"
    actions   = ["states:StartExecution"]
    resources = [for name in keys(local.schedules) : aws_sfn_state_machine.this[name].arn]
  }
}

################################################################################
# Alerts
################################################################################

resource "aws_kms_key" "this" {
  count = var.kms_key_arn == null ? 1 : 0

  description         = "${var.name_prefix} workflow: alert topic and state machine logs."
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.key[0].json

  tags = var.tags
}

resource "aws_kms_alias" "this" {
  count = var.kms_key_arn == null ? 1 : 0

  name          = "alias/${var.name_prefix}-workflow"
  target_key_id = aws_kms_key.this[0].key_id
}

# The account's IAM policies govern the key (the state machine role's own grant), plus the two services
# that use it without an IAM role of ours: CloudWatch alarms publishing to the topic, and CloudWatch Logs.
data "aws_iam_policy_document" "key" {
  count = var.kms_key_arn == null ? 1 : 0

  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "AlarmsPublish"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "LogsEncrypt"
    actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
    }
  }
}

resource "aws_sns_topic" "this" {
  name = local.topic_name
  # The alias of a created key is known at plan, its ARN is not: plan reviews and scans see the encryption.
  kms_master_key_id = var.kms_key_arn != null ? var.kms_key_arn : aws_kms_alias.this[0].name

  tags = var.tags
}

locals {
  alarms = {
    for pair in setproduct(keys(local.definitions), ["ExecutionsFailed", "ExecutionsTimedOut"]) :
    "${pair[0]}-${pair[1]}" => { state_machine = pair[0], metric = pair[1] }
  }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name        = "${var.name_prefix}-${each.value.state_machine}-${each.value.metric}"
  alarm_description = "An execution of ${aws_sfn_state_machine.this[each.value.state_machine].name} ended as ${each.value.metric}."

  namespace           = "AWS/States"
  metric_name         = each.value.metric
  dimensions          = { StateMachineArn = aws_sfn_state_machine.this[each.value.state_machine].arn }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"

  alarm_actions = [aws_sns_topic.this.arn]

  tags = var.tags
}

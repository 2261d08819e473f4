# Looked up only when `account_id` is not given, so that a plan can be made without reaching AWS.
data "aws_caller_identity" "current" {
  count = var.account_id == null ? 1 : 0
}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = coalesce(var.account_id, one(data.aws_caller_identity.current[*].account_id))
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  # The settings each unit's CLI reads (docs/cli.md) that stay the same from run to run: the required
  # bucket names of the units that use them, JSON logs, and the SDK's region. RUN_DATE and BACKFILL_* are
  # per run (the workflow overrides them); options with defaults come only from `units[*].environment`.
  bucket_environment = {
    preprocess = {
      LAKE_BUCKET      = var.lake_bucket_name
      WAREHOUSE_BUCKET = var.warehouse_bucket_name
      MART_BUCKET      = var.mart_bucket_name
    }
    train = {
      MART_BUCKET      = var.mart_bucket_name
      ARTIFACTS_BUCKET = var.artifacts_bucket_name
    }
    infer = {
      MART_BUCKET      = var.mart_bucket_name
      ARTIFACTS_BUCKET = var.artifacts_bucket_name
    }
  }

  environment = {
    for unit, settings in var.units : unit => merge(
      settings.environment,
      local.bucket_environment[unit],
      { LOG_FORMAT = "json", AWS_REGION = local.region, AWS_DEFAULT_REGION = local.region },
    )
  }

  # `{account}.dkr.ecr.{region}.amazonaws.com/{repository}:{tag}` -> the repository's ARN.
  repository_arns = distinct([
    for settings in values(var.units) : format(
      "arn:%s:ecr:%s:%s:repository/%s", local.partition,
      regex("^[0-9]{12}\\.dkr\\.ecr\\.([a-z0-9-]+)\\.", settings.image)[0],
      regex("^([0-9]{12})\\.", settings.image)[0],
      regex("^[^/]+/([^:@]+)", settings.image)[0],
    )
  ])

  bucket_arns = {
    lake           = "arn:${local.partition}:s3:::${var.lake_bucket_name}"
    warehouse      = "arn:${local.partition}:s3:::${var.warehouse_bucket_name}"
    mart           = "arn:${local.partition}:s3:::${var.mart_bucket_name}"
    artifacts      = "arn:${local.partition}:s3:::${var.artifacts_bucket_name}"
    athena_results = "arn:${local.partition}:s3:::${var.athena_results_bucket_name}"
  }

  # What each unit touches, per docs/s3-layout.md: the object prefixes ("" is the whole bucket) it reads,
  # writes and deletes. Deleting is how writers drop superseded `run=*/` folders after a commit and release
  # their run lock (`_locks/{unit}/`); model versions are immutable, so train deletes only its locks.
  s3_access = {
    preprocess = {
      read   = { lake = [""], warehouse = [""], mart = ["features/"] }
      write  = { warehouse = [""], mart = ["features/"] }
      delete = { warehouse = [""], mart = ["features/"] }
    }
    train = {
      read   = { mart = ["features/"], artifacts = ["models/", "_locks/train/"] }
      write  = { artifacts = ["models/", "_locks/train/"] }
      delete = { artifacts = ["_locks/train/"] }
    }
    infer = {
      read   = { mart = ["features/", "predictions/", "_locks/infer/"], artifacts = ["models/"] }
      write  = { mart = ["predictions/", "_locks/infer/"] }
      delete = { mart = ["predictions/", "_locks/infer/"] }
    }
  }

  glue_database_arns = [
    for name in values(var.glue_database_names) : "arn:${local.partition}:glue:${local.region}:${local.account_id}:database/${name}"
  ]
  glue_table_arns = [
    for name in values(var.glue_database_names) : "arn:${local.partition}:glue:${local.region}:${local.account_id}:table/${name}/*"
  ]
}

################################################################################
# Cluster
################################################################################

resource "aws_ecs_cluster" "this" {
  name = var.name_prefix

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  tags = var.tags
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]

  # Runs use FARGATE unless the caller asks run-task for FARGATE_SPOT.
  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }
}

################################################################################
# Logs
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:CloudWatch Logs encrypts by default; a customer key is used whenever log_kms_key_arn is given.
  #checkov:skip=CKV_AWS_338:Retention is the log_retention_days input; task logs serve debugging runs, keeping a year of them is the user's cost choice.
  for_each = var.units

  name              = "/ecs/${var.name_prefix}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn

  tags = merge(var.tags, { unit = each.key })
}

################################################################################
# Task definitions
################################################################################

resource "aws_ecs_task_definition" "this" {
  for_each = var.units

  family                   = "${var.name_prefix}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(each.value.cpu)
  memory                   = tostring(each.value.memory)
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task[each.key].arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  dynamic "ephemeral_storage" {
    for_each = each.value.ephemeral_storage_gib == null ? [] : [each.value.ephemeral_storage_gib]

    content {
      size_in_gib = ephemeral_storage.value
    }
  }

  # The root filesystem is read-only; /tmp is the one writable place (task storage, gone with the task).
  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([
    {
      name                   = each.key
      image                  = each.value.image
      essential              = true
      user                   = var.container_user
      readonlyRootFilesystem = true
      # Sorted by name, as ECS returns them, so that a re-plan shows no change.
      environment = [for name in sort(keys(local.environment[each.key])) : {
        name  = name
        value = local.environment[each.key][name]
      }]
      mountPoints = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.this[each.key].name
          awslogs-region        = local.region
          awslogs-stream-prefix = each.key
        }
      }
    }
  ])

  tags = merge(var.tags, { unit = each.key })
}

################################################################################
# IAM: trust
################################################################################

# Only ECS tasks of this account may assume the roles (the confused-deputy guard).
data "aws_iam_policy_document" "ecs_tasks_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

################################################################################
# IAM: execution role (ECS agent: pull the image, ship the logs)
################################################################################

data "aws_iam_policy_document" "execution" {
  # GetAuthorizationToken supports no resource-level permission.
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "EcrPull"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = local.repository_arns
  }

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [for group in aws_cloudwatch_log_group.this : "${group.arn}:log-stream:*"]
  }
}

resource "aws_iam_role" "execution" {
  name               = "${var.name_prefix}-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_trust.json

  tags = var.tags
}

resource "aws_iam_role_policy" "execution" {
  name   = "pull-and-log"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

################################################################################
# IAM: task role per unit (what the unit's code may do)
################################################################################

data "aws_iam_policy_document" "task" {
  for_each = var.units

  dynamic "statement" {
    for_each = { for access in ["read", "write", "delete"] : access => local.s3_access[each.key][access] if length(local.s3_access[each.key][access]) > 0 }

    content {
      sid     = { read = "S3Read", write = "S3Write", delete = "S3Delete" }[statement.key]
      actions = [{ read = "s3:GetObject", write = "s3:PutObject", delete = "s3:DeleteObject" }[statement.key]]
      resources = flatten([
        for bucket, prefixes in statement.value : [for prefix in prefixes : "${local.bucket_arns[bucket]}/${prefix}*"]
      ])
    }
  }

  # One listing statement per bucket read. A reader needs s3:ListBucket to get NoSuchKey rather than
  # AccessDenied for a missing manifest (its "input missing" exit), and S3 checks that permission without
  # a prefix; hence `IfExists`: explicit listings stay within the unit's prefixes.
  dynamic "statement" {
    for_each = local.s3_access[each.key].read

    content {
      sid       = "S3List${replace(title(replace(statement.key, "_", " ")), " ", "")}"
      actions   = ["s3:GetBucketLocation", "s3:ListBucket"]
      resources = [local.bucket_arns[statement.key]]

      dynamic "condition" {
        for_each = contains(statement.value, "") ? [] : [statement.value]

        content {
          test     = "StringLikeIfExists"
          variable = "s3:prefix"
          values   = [for prefix in condition.value : "${prefix}*"]
        }
      }
    }
  }

  # Athena runs the preprocess queries with the caller's credentials: it reads the tables' buckets through
  # the statements above, and writes the results here.
  dynamic "statement" {
    for_each = each.key == "preprocess" ? ["athena_results"] : []

    content {
      sid       = "AthenaResultsBucket"
      actions   = ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"]
      resources = [local.bucket_arns.athena_results]
    }
  }

  dynamic "statement" {
    for_each = each.key == "preprocess" ? ["athena_results"] : []

    content {
      sid       = "AthenaResultsObjects"
      actions   = ["s3:AbortMultipartUpload", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject"]
      resources = ["${local.bucket_arns.athena_results}/*"]
    }
  }

  # The Athena engine reads its UNLOAD output back from `unload/` and deletes it (preprocess/athena.py).
  dynamic "statement" {
    for_each = each.key == "preprocess" ? ["athena_results"] : []

    content {
      sid       = "AthenaUnloadCleanup"
      actions   = ["s3:DeleteObject"]
      resources = ["${local.bucket_arns.athena_results}/unload/*"]
    }
  }

  dynamic "statement" {
    for_each = each.key == "preprocess" ? ["athena"] : []

    content {
      sid       = "Athena"
      actions   = ["athena:GetQueryExecution", "athena:GetWorkGroup", "athena:StartQueryExecution", "athena:StopQueryExecution"]
      resources = ["arn:${local.partition}:athena:${local.region}:${local.account_id}:workgroup/${var.athena_workgroup_name}"]
    }
  }

  dynamic "statement" {
    for_each = each.key == "preprocess" ? ["glue"] : []

    content {
      sid = "Glue"
      actions = [
        "glue:BatchCreatePartition", "glue:BatchGetPartition", "glue:BatchUpdatePartition", "glue:GetDatabase",
        "glue:GetDatabases", "glue:GetPartition", "glue:GetPartitions", "glue:GetTable", "glue:GetTables",
      ]
      resources = concat(
        ["arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog"],
        local.glue_database_arns,
        local.glue_table_arns,
      )
    }
  }

  # infer creates or re-points one partition of the mart's `predictions` table after each commit
  # (infer/glue.py): it reads the table's storage descriptor and writes partitions, nothing else.
  dynamic "statement" {
    for_each = each.key == "infer" ? ["glue"] : []

    content {
      sid     = "GluePredictionsPartitions"
      actions = ["glue:CreatePartition", "glue:GetTable", "glue:UpdatePartition"]
      resources = [
        "arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog",
        "arn:${local.partition}:glue:${local.region}:${local.account_id}:database/${var.glue_database_names["mart"]}",
        "arn:${local.partition}:glue:${local.region}:${local.account_id}:table/${var.glue_database_names["mart"]}/predictions",
      ]
    }
  }
}

resource "aws_iam_role" "task" {
  for_each = var.units

  name               = "${var.name_prefix}-${each.key}-task"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_trust.json

  tags = merge(var.tags, { unit = each.key })
}

resource "aws_iam_role_policy" "task" {
  for_each = var.units

  name   = "${each.key}-data"
  role   = aws_iam_role.task[each.key].id
  policy = data.aws_iam_policy_document.task[each.key].json
}

locals {
  issuer_host  = "token.actions.githubusercontent.com"
  provider_arn = var.create_provider ? aws_iam_openid_connect_provider.this[0].arn : data.aws_iam_openid_connect_provider.this[0].arn
  state_bucket = "arn:${data.aws_partition.current.partition}:s3:::${var.state_bucket_name}"
}

# Needs no AWS call, unlike the account id.
data "aws_partition" "current" {}

################################################################################
# OIDC provider
################################################################################

# AWS trusts GitHub's certificate authority for this issuer itself; thumbprints are no longer checked.
resource "aws_iam_openid_connect_provider" "this" {
  count = var.create_provider ? 1 : 0

  url            = "https://${local.issuer_host}"
  client_id_list = ["sts.amazonaws.com"]

  tags = var.tags
}

data "aws_iam_openid_connect_provider" "this" {
  count = var.create_provider ? 0 : 1

  url = "https://${local.issuer_host}"
}

################################################################################
# Plan role
################################################################################

resource "aws_iam_role" "plan" {
  name                 = "${var.name_prefix}-github-plan"
  description          = "GitHub Actions, pull requests of ${var.repository}: terraform plan (read-only)."
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = var.max_session_duration

  tags = var.tags
}

# Only a workflow run for a pull request of this one repository gets in; a push, a tag or another
# repository has another subject.
data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.issuer_host}:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.issuer_host}:sub"
      values   = ["repo:${var.repository}:pull_request"]
    }
  }
}

resource "aws_iam_role_policy_attachment" "read_only" {
  role       = aws_iam_role.plan.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/ReadOnlyAccess"
}

resource "aws_iam_role_policy" "state" {
  name   = "terraform-state"
  role   = aws_iam_role.plan.id
  policy = data.aws_iam_policy_document.state.json
}

data "aws_iam_policy_document" "state" {
  statement {
    sid       = "ListState"
    actions   = ["s3:ListBucket"]
    resources = [local.state_bucket]
  }

  # Write: `plan` takes the lock (an S3 lock file, or an item in the lock table) and releases it.
  statement {
    sid       = "ReadWriteState"
    actions   = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
    resources = ["${local.state_bucket}/*"]
  }

  # ReadOnlyAccess would let pull request code read every object of every bucket, the data lake included;
  # a plan needs no object but the state's.
  statement {
    sid           = "NoDataReads"
    effect        = "Deny"
    actions       = ["s3:GetObject", "s3:GetObjectVersion"]
    not_resources = ["${local.state_bucket}/*"]
  }

  dynamic "statement" {
    for_each = var.lock_table_arn == null ? [] : [var.lock_table_arn]

    content {
      sid       = "LockState"
      actions   = ["dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = var.state_kms_key_arn == null ? [] : [var.state_kms_key_arn]

    content {
      sid       = "StateKey"
      actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }
}

locals {
  # The buckets of docs/s3-layout.md, keyed by layer. Only Athena query results are disposable, so only
  # that bucket expires its current objects.
  buckets = {
    lake           = { expire_current_after_days = null }
    warehouse      = { expire_current_after_days = null }
    mart           = { expire_current_after_days = null }
    artifacts      = { expire_current_after_days = null }
    athena_results = { expire_current_after_days = var.athena_results_expiration_days }
  }
}

################################################################################
# Buckets
################################################################################

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:Object access is audited by CloudTrail S3 data events, an account-wide choice; server access logs would need a bucket outside the contract.
  #checkov:skip=CKV_AWS_144:Cross-region replication is a choice for the user's DR plan (a second region and bucket), not a default; versioning keeps objects recoverable.
  #checkov:skip=CKV_AWS_145:SSE-S3 is the default so readers need no KMS grants; SSE-KMS is used whenever kms_key_arn is given.
  #checkov:skip=CKV2_AWS_62:Nothing reacts to S3 events: the workflow's schedules start runs and readers find data through `_manifest.json`.
  for_each = local.buckets

  # Bucket names allow no underscores: the `athena_results` layer becomes `...-athena-results`.
  bucket        = "${var.name_prefix}-${replace(each.key, "_", "-")}"
  force_destroy = var.force_destroy

  tags = merge(var.tags, { layer = each.key })
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

################################################################################
# Versioning and encryption
################################################################################

# Versioning is what makes the publish protocol safe to clean up after: superseded `run=*/` folders are
# deleted, and their bytes stay recoverable until the noncurrent versions expire.
resource "aws_s3_bucket_versioning" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    # S3 Bucket Keys cut KMS request costs; they mean nothing for SSE-S3.
    bucket_key_enabled = var.kms_key_arn == null ? null : true
  }
}

################################################################################
# TLS-only bucket policy
################################################################################

data "aws_iam_policy_document" "tls_only" {
  for_each = local.buckets

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.this[each.key].arn,
      "${aws_s3_bucket.this[each.key].arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id
  policy = data.aws_iam_policy_document.tls_only[each.key].json

  # S3 rejects a policy while the public access block is still being applied.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

################################################################################
# Lifecycle
################################################################################

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_incomplete_multipart_upload_days
    }
  }

  # Superseded and abandoned runs are deleted by the writers; this rule reclaims their bytes later and
  # then removes the delete markers left behind.
  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }

    expiration {
      expired_object_delete_marker = true
    }
  }

  dynamic "rule" {
    for_each = each.value.expire_current_after_days == null ? [] : [each.value.expire_current_after_days]

    content {
      id     = "expire-current-objects"
      status = "Enabled"

      filter {}

      expiration {
        days = rule.value
      }
    }
  }

  # Lifecycle rules on noncurrent versions need versioning in place first.
  depends_on = [aws_s3_bucket_versioning.this]
}

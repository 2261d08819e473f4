"""What the Terraform tests check the AWS resources against: docs/cli.md (the environment each unit reads)
and docs/s3-layout.md (what each unit reads, writes and deletes). Shared by the batch module's test and the
environment tests."""

import re
from typing import Any

from tests.terraform.helpers import REPO_ROOT, as_list

UNITS = ["preprocess", "train", "infer"]

# What each unit reads, writes and deletes, per docs/s3-layout.md, as (bucket, object prefix) pairs ("" is
# the whole bucket): preprocess reads every raw source and owns the warehouse and `features`; train reads
# `features` and owns `models/`; infer reads `features` and `models/` and owns `predictions`.
CONTRACT_ACCESS = {
    "preprocess": {
        "s3:GetObject": {("lake", ""), ("warehouse", ""), ("mart", "features/")},
        "s3:PutObject": {("warehouse", ""), ("mart", "features/")},
        "s3:DeleteObject": {("warehouse", ""), ("mart", "features/")},
    },
    "train": {
        "s3:GetObject": {("mart", "features/"), ("artifacts", "models/"), ("artifacts", "_locks/train/")},
        "s3:PutObject": {("artifacts", "models/"), ("artifacts", "_locks/train/")},
        "s3:DeleteObject": {("artifacts", "_locks/train/")},
    },
    "infer": {
        "s3:GetObject": {
            ("mart", "features/"),
            ("mart", "predictions/"),
            ("mart", "_locks/infer/"),
            ("artifacts", "models/"),
        },
        "s3:PutObject": {("mart", "predictions/"), ("mart", "_locks/infer/")},
        "s3:DeleteObject": {("mart", "predictions/"), ("mart", "_locks/infer/")},
    },
}
# infer's Glue calls (docs/s3-layout.md, "Publishing" step 3): after each commit it reads the storage
# descriptor of the mart's `predictions` table and creates or re-points that one partition, nothing else.
INFER_GLUE_ACTIONS = {"glue:CreatePartition", "glue:GetTable", "glue:UpdatePartition"}


def infer_glue_resources(account: str, mart_database: str) -> set[str]:
    """The catalog, the mart database and its `predictions` table: all infer's Glue calls touch."""
    arn = f"arn:aws:glue:us-east-1:{account}"
    return {f"{arn}:catalog", f"{arn}:database/{mart_database}", f"{arn}:table/{mart_database}/predictions"}


def glue_access(unit_statements: list[dict[str, Any]]) -> tuple[set[str], set[str]]:
    """(Glue actions, their resources) granted by the statements of a role that grant any Glue action."""
    actions, resources = set(), set()
    for statement in unit_statements:
        glue_actions = {action for action in as_list(statement["Action"]) if action.startswith("glue:")}
        if glue_actions:
            actions |= glue_actions
            resources |= set(as_list(statement["Resource"]))
    return actions, resources


ATHENA_RESULTS_OBJECT_ACTIONS = {
    "s3:AbortMultipartUpload",
    "s3:GetObject",
    "s3:ListMultipartUploadParts",
    "s3:PutObject",
}
# Actions that support no resource-level permission, so a `*` resource is their only form.
STAR_RESOURCE_ACTIONS = {"ecr:GetAuthorizationToken"}
# Step Functions' logging to CloudWatch Logs and X-Ray tracing: AWS documents these with `*` only.
LOG_DELIVERY_ACTIONS = {
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
}
XRAY_ACTIONS = {
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
}


def cli_table() -> list[dict[str, str]]:
    """Rows of the options table of docs/cli.md as {column: cell}."""
    lines = [
        line for line in (REPO_ROOT / "docs" / "cli.md").read_text().splitlines() if line.startswith("|")
    ]
    header_index = next(i for i, line in enumerate(lines) if line.startswith("| env var |"))
    header = [cell.strip() for cell in lines[header_index].strip("|").split("|")]
    rows = []
    for line in lines[header_index + 2 :]:
        cells = [cell.strip() for cell in line.strip("|").split(" | ")]
        if len(cells) != len(header) or not cells[0].startswith("`"):
            break
        rows.append(dict(zip(header, cells, strict=True)))
    return rows


def expected_environment_names(unit: str) -> set[str]:
    names = {"LOG_FORMAT", "AWS_REGION", "AWS_DEFAULT_REGION"}
    for row in cli_table():
        used_by = row["used by"]
        per_run = "(" in used_by  # the row names a subcommand: an argument of one run
        users = UNITS if used_by.split(" (")[0] == "all" else re.findall(r"\w+", used_by.split(" (")[0])
        if row["default"] == "required" and not per_run and unit in users:
            names.add(row["env var"].strip("`"))
    return names


def environment_names_read_by(unit: str) -> set[str]:
    """Every variable of docs/cli.md that `unit` reads, per-run arguments included."""
    names = set()
    for row in cli_table():
        used_by = row["used by"].split(" (")[0]
        if used_by == "all" or unit in re.findall(r"\w+", used_by):
            names.add(row["env var"].strip("`"))
    return names


def object_access(
    unit_statements: list[dict[str, Any]], buckets: dict[str, str]
) -> dict[str, set[tuple[str, str]]]:
    """s3 object action -> {(layer, prefix)} granted on the data buckets (Athena results left aside);
    `buckets` is layer -> bucket name."""
    layer_by_bucket = {bucket: layer for layer, bucket in buckets.items()}
    access: dict[str, set[tuple[str, str]]] = {}
    for statement in unit_statements:
        for resource in as_list(statement["Resource"]):
            match = re.fullmatch(r"arn:aws:s3:::([^/]+)/(.*)\*", resource)
            if not match or match.group(1) == buckets["athena_results"]:
                continue
            for action in as_list(statement["Action"]):
                access.setdefault(action, set()).add((layer_by_bucket[match.group(1)], match.group(2)))
    return access

"""This image's part of the S3 layout contract (docs/s3-layout.md); tests/contract checks it."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, date, datetime

FEATURES = "features"
PREDICTIONS = "predictions"
KEY_COLUMNS = ("store_id", "item_id")  # the key of both features and predictions
LABEL_COLUMN = "units_sold"  # in features, null until that day's sales are known

MANIFEST_FILE = "_manifest.json"
MODEL_FILE = "model.ubj"
FEATURE_SCHEMA_FILE = "feature_schema.json"
VERSION_FILE = "_version.json"  # a model version's commit point

RUN_ID_PATTERN = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{8}")


def _dt_text(dt: date | str) -> str:
    if isinstance(dt, datetime):  # a datetime is a date too, but its isoformat() carries the time
        dt = dt.date()
    if isinstance(dt, date):
        return dt.isoformat()
    if date.fromisoformat(dt).isoformat() != dt:
        raise ValueError(f"partition date '{dt}' is not in the form YYYY-MM-DD")
    return dt


def partition_prefix(table: str, dt: date | str) -> str:
    return f"{table}/dt={_dt_text(dt)}/"


def manifest_key(table: str, dt: date | str) -> str:
    return partition_prefix(table, dt) + MANIFEST_FILE


def run_prefix(table: str, dt: date | str, run_id: str) -> str:
    return partition_prefix(table, dt) + f"run={run_id}/"


def data_key(table: str, dt: date | str, run_id: str, part: int) -> str:
    return run_prefix(table, dt, run_id) + f"part-{part:05d}.zstd.parquet"


def model_version_prefix(model_name: str, version: str) -> str:
    return f"models/{model_name}/versions/{version}/"


def champion_key(model_name: str) -> str:
    return f"models/{model_name}/champion.json"


def new_run_id(now: datetime | None = None) -> str:
    """`{UTC start time}-{8 lowercase hex}`: sortable by time, unique across concurrent runs."""
    started = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{started:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def lock_key(run_date: date) -> str:
    """The lock of the infer runs of one run date (docs/s3-layout.md, "Locks")."""
    return f"_locks/infer/{run_date.isoformat()}.json"

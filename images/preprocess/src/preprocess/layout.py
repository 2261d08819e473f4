"""The S3 layout contract (docs/s3-layout.md), the part preprocess uses: lake and partition keys, run ids."""

import re
import secrets
from datetime import UTC, date, datetime

MANIFEST_NAME = "_manifest.json"
_PARTITION = re.compile(r"^(?P<table>[^/]+)/dt=(?P<dt>\d{4}-\d{2}-\d{2})/")
_RUN = re.compile(r"/run=(?P<run_id>[^/]+)/")


def lake_prefix(source: str, landed_on: date) -> str:
    return f"{source}/dt={landed_on.isoformat()}/"


def partition_prefix(table: str, dt: date) -> str:
    return f"{table}/dt={dt.isoformat()}/"


def manifest_key(table: str, dt: date) -> str:
    return partition_prefix(table, dt) + MANIFEST_NAME


def run_prefix(table: str, dt: date, run_id: str) -> str:
    return f"{partition_prefix(table, dt)}run={run_id}/"


def data_key(table: str, dt: date, run_id: str, part: int) -> str:
    return f"{run_prefix(table, dt, run_id)}part-{part:05d}.zstd.parquet"


def new_run_id(now: datetime | None = None) -> str:
    started = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{started:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


def partition_date(key: str) -> date | None:
    """The `dt` of a lake or partition key (`{table}/dt=YYYY-MM-DD/...`), None for any other key."""
    match = _PARTITION.match(key)
    return date.fromisoformat(match["dt"]) if match else None


def run_id_of(key: str) -> str | None:
    match = _RUN.search(key)
    return match["run_id"] if match else None


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def lock_key(start: date, end: date) -> str:
    """The lock of a run over landing dates [start, end]: `run --date D` and a one-day backfill share it."""
    scope = start.isoformat() if start == end else f"{start.isoformat()}_{end.isoformat()}"
    return f"_locks/preprocess/{scope}.json"

"""The train unit's part of the S3 layout contract (docs/s3-layout.md): keys only, no I/O."""

import re
import secrets
from datetime import UTC, date, datetime

MANIFEST_NAME = "_manifest.json"
VERSION_MARKER = "_version.json"  # written last into a version folder: its commit point

MODEL_FILE = "model.ubj"
FEATURE_SCHEMA_FILE = "feature_schema.json"
PARAMS_FILE = "params.json"
METRICS_FILE = "metrics.json"
LINEAGE_FILE = "lineage.json"
REPORT_FOLDER = "report/"


def _dt(dt: date | str) -> str:
    # Strings are parsed so that a malformed date can never become a key.
    return (dt if isinstance(dt, date) else date.fromisoformat(dt)).isoformat()


def partition_prefix(table: str, dt: date | str) -> str:
    return f"{table}/dt={_dt(dt)}/"


def manifest_key(table: str, dt: date | str) -> str:
    return partition_prefix(table, dt) + MANIFEST_NAME


def model_prefix(model_name: str) -> str:
    return f"models/{model_name}/"


def versions_prefix(model_name: str) -> str:
    return model_prefix(model_name) + "versions/"


def model_version_prefix(model_name: str, version: str) -> str:
    return f"{versions_prefix(model_name)}{version}/"


def champion_key(model_name: str) -> str:
    return model_prefix(model_name) + "champion.json"


def champion_history_prefix(model_name: str) -> str:
    return model_prefix(model_name) + "champion_history/"


def champion_history_key(model_name: str, changed_at: str, version: str) -> str:
    """One pointer change; `changed_at` is a `history_stamp`, so keys sort in the order of the changes."""
    return f"{champion_history_prefix(model_name)}{changed_at}-{version}.json"


def history_stamp(moment: datetime) -> str:
    """`YYYYMMDDTHHMMSS.mmmZ` in UTC: milliseconds keep two changes in one second apart."""
    moment = moment.astimezone(UTC)
    return f"{moment:%Y%m%dT%H%M%S}.{moment.microsecond // 1000:03d}Z"


RUN_ID_PATTERN = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{8}")


def new_run_id(now: datetime | None = None) -> str:
    """`{UTC start time as YYYYMMDDTHHMMSSZ}-{8 lowercase hex}`, e.g. `20260301T020000Z-1a2b3c4d`."""
    started = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{started:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


def lock_key(run_date: date) -> str:
    """The lock of the train runs of one run date (docs/s3-layout.md, "Locks")."""
    return f"_locks/train/{run_date.isoformat()}.json"

"""S3 through boto3: read a committed partition through its manifest, publish one atomically.

The protocol is docs/s3-layout.md's: data files under `run={run_id}/`, `_manifest.json` written last as the
commit point (`commit_partition`), then the run folders the new manifest does not reference are deleted
(`delete_superseded_runs`, which the pipeline calls once Glue points at the new folder). Readers read exactly
the files a manifest lists.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from botocore.config import Config
from botocore.exceptions import ClientError

from infer import UNIT, __version__, aws
from infer.errors import ConfigError, DataCheckError, InputMissingError
from infer.layout import data_key, manifest_key, partition_prefix, run_prefix, s3_uri
from infer.logs import log_event

MANIFEST_VERSION = 1
_ATHENA_TYPES = {
    pa.string(): "string",
    pa.large_string(): "string",
    pa.int64(): "bigint",
    pa.int32(): "int",
    pa.float64(): "double",
    pa.float32(): "float",
    pa.bool_(): "boolean",
    pa.date32(): "date",
}


def s3_client():
    """boto3 finds the region, credentials and AWS_ENDPOINT_URL (the emulator) in the environment itself."""
    return aws.client("s3", Config(retries={"mode": "standard", "max_attempts": 5}))


def athena_type(arrow_type: pa.DataType) -> str:
    """The Athena/Glue name the contract's schemas use for an Arrow type."""
    if pa.types.is_dictionary(arrow_type):  # a Parquet writer's encoding choice, not a different type
        arrow_type = arrow_type.value_type
    return _ATHENA_TYPES.get(arrow_type, str(arrow_type))


def sha256_hex(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


_NO_BUCKET_CODES = ("NoSuchBucket", "404", "NotFound", "403", "AccessDenied", "Forbidden")


def require_bucket(s3, bucket: str, env_var: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "error")
        if code not in _NO_BUCKET_CODES:  # an AWS failure that retries did not cure: not a setting to fix
            raise
        raise ConfigError(
            f"bucket '{bucket}' ({env_var}) does not exist or is not accessible ({code})"
        ) from None


def read_object(s3, bucket: str, key: str) -> bytes | None:
    """The object's bytes, or None when there is no such key."""
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise


@dataclass(frozen=True)
class Partition:
    data: pa.Table
    manifest: dict[str, Any]
    lineage: dict[str, str]  # {"uri": manifest uri, "sha256": of the manifest bytes}, for `inputs`


class ListedFileMissing(InputMissingError):
    """A file the manifest lists is gone: a run replaced the partition after the manifest was read."""


def read_partition(s3, bucket: str, table: str, dt: date) -> Partition:
    """The committed partition `table` dt=`dt`: exactly the files its manifest lists, concatenated."""
    try:
        return _read_committed(s3, bucket, table, dt)
    except ListedFileMissing:
        # The replacing run committed a new manifest before deleting our files: reading again finds it.
        return _read_committed(s3, bucket, table, dt)


def _read_committed(s3, bucket: str, table: str, dt: date) -> Partition:
    key = manifest_key(table, dt)
    uri = s3_uri(bucket, key)
    manifest_bytes = read_object(s3, bucket, key)
    if manifest_bytes is None:
        raise InputMissingError(f"{table} partition dt={dt} is missing: {uri} does not exist")
    try:
        manifest = json.loads(manifest_bytes)
        files = manifest["files"]
        file_keys = [entry["key"] for entry in files]
    except (ValueError, KeyError, TypeError):
        raise DataCheckError(f"{uri} is not a valid manifest (no 'files' list of keys)") from None
    if not files:
        raise DataCheckError(f"{table} partition dt={dt} lists no files ({uri})")

    parts = []
    for entry, file_key in zip(files, file_keys, strict=True):
        body = read_object(s3, bucket, file_key)
        if body is None:
            raise ListedFileMissing(f"{s3_uri(bucket, file_key)}, listed in {uri}, does not exist")
        if "sha256" in entry and sha256_hex(body) != entry["sha256"]:
            raise DataCheckError(f"{s3_uri(bucket, file_key)} does not match the sha256 in {uri}")
        parts.append(pq.read_table(pa.BufferReader(body)).replace_schema_metadata(None))

    for file_key, part in zip(file_keys[1:], parts[1:], strict=True):
        if not part.schema.equals(parts[0].schema):
            raise DataCheckError(
                f"{s3_uri(bucket, file_key)} has schema {_schema_text(part.schema)}, "
                f"unlike {file_keys[0]} ({_schema_text(parts[0].schema)})"
            )
    return Partition(
        data=pa.concat_tables(parts),
        manifest=manifest,
        lineage={"uri": uri, "sha256": sha256_hex(manifest_bytes)},
    )


def _schema_text(schema: pa.Schema) -> str:
    return ", ".join(f"{field.name} {athena_type(field.type)}" for field in schema)


def encode_parquet(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def commit_partition(
    s3,
    bucket: str,
    table_name: str,
    dt: date,
    run_id: str,
    table: pa.Table,
    inputs: list[dict[str, str]],
    checks: list[dict[str, Any]],
) -> dict[str, Any]:
    """Writes `table` as partition `table_name` dt=`dt` and commits it; returns the manifest written. The
    partition's older run folders are left for `delete_superseded_runs`."""
    body = encode_parquet(table)
    file_key = data_key(table_name, dt, run_id, 0)
    s3.put_object(Bucket=bucket, Key=file_key, Body=body)

    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "table": table_name,
        "dt": dt.isoformat(),
        "run_id": run_id,
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "producer": {"unit": UNIT, "version": __version__},
        "files": [{"key": file_key, "rows": table.num_rows, "bytes": len(body), "sha256": sha256_hex(body)}],
        "rows": table.num_rows,
        "schema": [{"name": field.name, "type": athena_type(field.type)} for field in table.schema],
        "inputs": inputs,
        "checks": checks,
    }
    # The commit: one PUT; until it lands, readers still see the previous partition (or none).
    s3.put_object(
        Bucket=bucket,
        Key=manifest_key(table_name, dt),
        Body=json.dumps(manifest, indent=2).encode(),
        ContentType="application/json",
    )
    return manifest


def delete_superseded_runs(s3, bucket: str, table_name: str, dt: date, kept_run_id: str) -> int:
    """Deletes every `run=*/` folder of the partition except the committed one; returns the keys deleted."""
    runs_prefix = partition_prefix(table_name, dt) + "run="
    kept_prefix = run_prefix(table_name, dt, kept_run_id)
    stale = [
        obj["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=runs_prefix)
        for obj in page.get("Contents", [])
        if not obj["Key"].startswith(kept_prefix)
    ]
    for start in range(0, len(stale), 1000):  # DeleteObjects takes at most 1000 keys
        batch = stale[start : start + 1000]
        reply = s3.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True}
        )
        for failure in reply.get("Errors", []):
            # The partition is already committed; a leftover folder is garbage the next run deletes.
            log_event(
                "cleanup_failed",
                f"could not delete superseded {failure.get('Key')}: {failure.get('Code')}",
                level=logging.WARNING,
                table=table_name,
                dt=dt.isoformat(),
            )
    return len(stale)

"""S3 through boto3: listing, objects, manifests, and the contract's publish protocol for one partition."""

import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import metadata

import pyarrow as pa
import pyarrow.parquet as pq
from botocore.config import Config
from botocore.exceptions import ClientError

from preprocess import UNIT, aws, layout
from preprocess.errors import InputMissing
from preprocess.raw import RAW_SUFFIXES, RawFile
from preprocess.tables import Table

MANIFEST_VERSION = 1


def producer_version() -> str:
    try:
        return metadata.version("batchml-preprocess")
    except metadata.PackageNotFoundError:
        return "0+unknown"


@dataclass(frozen=True)
class Manifest:
    """A partition's commit point as read or written: its content and the sha256 of its exact bytes."""

    uri: str
    content: dict
    sha256: str

    def as_input(self) -> dict:
        return {"uri": self.uri, "sha256": self.sha256}


def encode_parquet(rows: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(rows, buffer, compression="zstd")
    return buffer.getvalue()


def decode_parquet(body: bytes, table: Table) -> pa.Table:
    return pq.read_table(pa.BufferReader(body), columns=table.schema.names).cast(table.schema)


def build_manifest(
    table: Table, dt: date, run_id: str, files: list[dict], inputs: list[dict], checks: list[dict]
) -> dict:
    return {
        "manifest_version": MANIFEST_VERSION,
        "table": table.name,
        "dt": dt.isoformat(),
        "run_id": run_id,
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "producer": {"unit": UNIT, "version": producer_version()},
        "files": files,
        "rows": sum(file["rows"] for file in files),
        "schema": table.glue_schema(),
        "inputs": inputs,
        "checks": checks,
    }


_NO_BUCKET_CODES = ("NoSuchBucket", "404", "NotFound", "403", "AccessDenied", "Forbidden")


def _is_missing(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound", "NoSuchBucket")


class Storage:
    def __init__(self, client) -> None:
        self._s3 = client

    @property
    def client(self):  # type: ignore[no-untyped-def]
        """The boto3 S3 client, for the Athena engine's staged results."""
        return self._s3

    @classmethod
    def connect(cls) -> "Storage":
        """A client configured by the standard AWS settings (AWS_REGION, AWS_ENDPOINT_URL, the task role)."""
        config = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=32)
        return cls(aws.client("s3", config))

    # -- objects ---------------------------------------------------------------------------------------------

    def bucket_exists(self, bucket: str) -> bool:
        """False for a missing or forbidden bucket; an AWS failure that retries did not cure raises."""
        try:
            self._s3.head_bucket(Bucket=bucket)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _NO_BUCKET_CODES:
                return False
            raise
        return True

    def list_objects(self, bucket: str, prefix: str, start_after: str = "") -> Iterator[dict]:
        pages = self._s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix, StartAfter=start_after
        )
        for page in pages:
            yield from page.get("Contents", [])

    def get(self, bucket: str, key: str) -> tuple[bytes, str] | None:
        """The object's bytes and ETag, or None if it does not exist."""
        try:
            response = self._s3.get_object(Bucket=bucket, Key=key)
        except ClientError as error:
            if _is_missing(error):
                return None
            raise
        return response["Body"].read(), response["ETag"].strip('"')

    def put(self, bucket: str, key: str, body: bytes, content_type: str) -> None:
        self._s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)

    def delete(self, bucket: str, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            batch = [{"Key": key} for key in keys[start : start + 1000]]
            self._s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})

    # -- the lake --------------------------------------------------------------------------------------------

    def lake_files(self, bucket: str, source: str, first: date, last: date) -> list[RawFile]:
        """Raw files of a source landed in [first, last], in key order (listing starts at `first`)."""
        files = []
        for obj in self.list_objects(
            bucket, f"{source}/dt=", start_after=layout.lake_prefix(source, first)[:-1]
        ):
            landed_on = layout.partition_date(obj["Key"])
            if landed_on is None or landed_on < first:
                continue
            if landed_on > last:
                break
            if obj["Key"].endswith(RAW_SUFFIXES):
                files.append(RawFile(bucket, obj["Key"], landed_on))
        return files

    # -- partitions ------------------------------------------------------------------------------------------

    def partition_dates(self, bucket: str, table: str, first: date | None = None, last: date | None = None):
        """The `dt` of every committed partition (one with a manifest) of a table in [first, last]."""
        start_after = layout.partition_prefix(table, first)[:-1] if first else ""
        dates = []
        for obj in self.list_objects(bucket, f"{table}/dt=", start_after=start_after):
            dt = layout.partition_date(obj["Key"])
            if dt is None:
                continue
            if last and dt > last:
                break
            if obj["Key"] == layout.manifest_key(table, dt):
                dates.append(dt)
        return dates

    def read_manifest(self, bucket: str, table: str, dt: date) -> Manifest | None:
        key = layout.manifest_key(table, dt)
        found = self.get(bucket, key)
        if found is None:
            return None
        body, _ = found
        return Manifest(layout.s3_uri(bucket, key), json.loads(body), hashlib.sha256(body).hexdigest())

    def read_partition(self, bucket: str, table: Table, dt: date) -> tuple[pa.Table, Manifest] | None:
        """The rows of a committed partition (exactly the files its manifest lists), None if uncommitted."""
        for _ in range(2):  # a run that replaced the partition meanwhile deletes the old files: re-read once
            manifest = self.read_manifest(bucket, table.name, dt)
            if manifest is None:
                return None
            bodies = [self.get(bucket, file["key"]) for file in manifest.content["files"]]
            if all(body is not None for body in bodies):
                parts = [decode_parquet(body, table) for body, _ in bodies]
                return pa.concat_tables([table.schema.empty_table(), *parts]), manifest
        raise InputMissing(f"{manifest.uri} lists files that do not exist")

    def partition_objects(self, bucket: str, table: str, first: date, last: date) -> dict[date, list[str]]:
        """Every object in the partitions of a table in [first, last], by `dt`: one paginated listing."""
        objects: dict[date, list[str]] = {}
        for obj in self.list_objects(
            bucket, f"{table}/dt=", start_after=layout.partition_prefix(table, first)[:-1]
        ):
            dt = layout.partition_date(obj["Key"])
            if dt is None:
                continue
            if dt > last:
                break
            objects.setdefault(dt, []).append(obj["Key"])
        return objects

    def publish_partition(
        self, bucket: str, table: Table, dt: date, run_id: str, rows: pa.Table, inputs: list, checks: list
    ) -> Manifest:
        """Steps 1 and 2 of the contract's publish: the data file, then the manifest, whose PUT is the commit.
        Step 3, removing the run folders the manifest does not reference, is `delete` once a table is done."""
        key = layout.data_key(table.name, dt, run_id, 0)
        body = encode_parquet(rows)
        self.put(bucket, key, body, "application/vnd.apache.parquet")
        file = {
            "key": key,
            "rows": rows.num_rows,
            "bytes": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
        }
        manifest = build_manifest(table, dt, run_id, [file], inputs, checks)
        manifest_body = json.dumps(manifest, indent=2).encode()
        manifest_key = layout.manifest_key(table.name, dt)
        self.put(bucket, manifest_key, manifest_body, "application/json")
        return Manifest(
            layout.s3_uri(bucket, manifest_key), manifest, hashlib.sha256(manifest_body).hexdigest()
        )

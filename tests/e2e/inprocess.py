"""Helpers of the in-process end-to-end tests: a simulated lake on moto S3 and preprocess run as its CLI."""

import json
from contextlib import contextmanager
from datetime import date

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from moto import mock_aws
from preprocess import cli

from scripts.simulate import Simulation, land

LAKE, WAREHOUSE, MART = "e2e-lake", "e2e-warehouse", "e2e-mart"


@contextmanager
def simulated_lake(simulation: Simulation):
    """A moto S3 with the three buckets and every file of the simulation landed; yields the client."""
    with pytest.MonkeyPatch.context() as monkeypatch, mock_aws():
        for name, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test")):
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "LOG_LEVEL", "LATE_WINDOW_DAYS"):
            monkeypatch.delenv(name, raising=False)
        s3 = boto3.client("s3", region_name="us-east-1")
        for bucket in (LAKE, WAREHOUSE, MART):
            s3.create_bucket(Bucket=bucket)
        land(simulation, s3, LAKE)
        yield s3


def preprocess(*args: str, warehouse: str = WAREHOUSE, mart: str = MART) -> None:
    buckets = ["--lake-bucket", LAKE, "--warehouse-bucket", warehouse, "--mart-bucket", mart]
    with pytest.raises(SystemExit) as exited:
        cli.main([*args, *buckets])
    assert exited.value.code == 0


class Bucket:
    """A warehouse or mart read the contract's way: manifests first, then the files they list."""

    def __init__(self, s3, name: str):
        self.s3, self.name = s3, name

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix)
        return [obj["Key"] for page in pages for obj in page.get("Contents", [])]

    def manifests(self, table: str) -> list[dict]:
        keys = sorted(key for key in self.keys(f"{table}/") if key.endswith("/_manifest.json"))
        return [json.loads(self.s3.get_object(Bucket=self.name, Key=key)["Body"].read()) for key in keys]

    def rows(self, table: str) -> list[dict]:
        """Every committed row of a table, with its partition as `dt`."""
        rows = []
        for manifest in self.manifests(table):
            for file in manifest["files"]:
                body = self.s3.get_object(Bucket=self.name, Key=file["key"])["Body"].read()
                part = pq.read_table(pa.BufferReader(body)).to_pylist()
                rows += [{**row, "dt": date.fromisoformat(manifest["dt"])} for row in part]
        return rows

    def data_files(self) -> dict[str, list[str]]:
        """`table/dt` -> the sha256 of each data file of every committed partition."""
        tables = sorted({key.split("/")[0] for key in self.keys()})
        return {
            f"{table}/{manifest['dt']}": [file["sha256"] for file in manifest["files"]]
            for table in tables
            for manifest in self.manifests(table)
        }

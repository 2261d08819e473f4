"""S3 is moto's `mock_aws`, in process. Fixtures hand out small helpers: land raw CSV text in the lake, run
the CLI as the container would (exit code, stdout, stderr), and read committed partitions by manifest."""

import json
from contextlib import contextmanager
from dataclasses import dataclass

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from moto import mock_aws
from preprocess import cli

LAKE, WAREHOUSE, MART = "test-lake", "test-warehouse", "test-mart"


@contextmanager
def mocked_s3():
    """An S3 client on moto with the three buckets, and an environment that cannot reach anything real."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            monkeypatch.setenv(name, "test")
        for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
            monkeypatch.setenv(name, "us-east-1")
        for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "LOG_LEVEL", "LOG_FORMAT", "LATE_WINDOW_DAYS"):
            monkeypatch.delenv(name, raising=False)
        with mock_aws():
            client = boto3.client("s3")
            for bucket in (LAKE, WAREHOUSE, MART):
                client.create_bucket(Bucket=bucket)
            yield client


@pytest.fixture
def s3():
    with mocked_s3() as client:
        yield client


@pytest.fixture(scope="module")
def module_s3():
    """One S3 for a whole test module that only reads what its module-scoped fixture built."""
    with mocked_s3() as client:
        yield client


@dataclass
class Lake:
    s3: object
    bucket: str = LAKE

    def land(self, source: str, landed_on: str, name: str, text: str) -> str:
        """Lands one raw file; `text` is the CSV body (header included), leading indentation stripped."""
        key = f"{source}/dt={landed_on}/{name}"
        body = "\n".join(line.strip() for line in text.strip().splitlines()) + "\n"
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body.encode())
        return key


@pytest.fixture
def lake(s3):
    return Lake(s3)


@pytest.fixture(scope="module")
def module_lake(module_s3):
    return Lake(module_s3)


@pytest.fixture(scope="module")
def module_mart(module_s3):
    return Bucket(module_s3, MART)


@dataclass
class Outcome:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(s3, capsys):
    def run(*args: str, lake: str = LAKE, warehouse: str = WAREHOUSE, mart: str = MART) -> Outcome:
        buckets = ["--lake-bucket", lake, "--warehouse-bucket", warehouse, "--mart-bucket", mart]
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            cli.main([*args, *buckets])
        out = capsys.readouterr()
        return Outcome(exited.value.code, out.out, out.err)

    return run


@dataclass
class Bucket:
    """Reads a bucket the way the contract's readers do: manifest first, then exactly the files it lists."""

    s3: object
    name: str

    def manifest(self, table: str, dt: str) -> dict | None:
        try:
            body = self.s3.get_object(Bucket=self.name, Key=f"{table}/dt={dt}/_manifest.json")["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None
        return json.loads(body)

    def partitions(self, table: str) -> list[str]:
        keys = self.keys(f"{table}/")
        return sorted(
            key.split("/")[1].removeprefix("dt=") for key in keys if key.endswith("/_manifest.json")
        )

    def rows(self, table: str, dt: str) -> list[dict]:
        manifest = self.manifest(table, dt)
        assert manifest is not None, f"{table} dt={dt} is not committed in {self.name}"
        parts = [self.parquet(file["key"]) for file in manifest["files"]]
        return pa.concat_tables(parts).to_pylist()

    def parquet(self, key: str) -> pa.Table:
        return pq.read_table(pa.BufferReader(self.s3.get_object(Bucket=self.name, Key=key)["Body"].read()))

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix)
        return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))

    def data_files(self) -> dict[str, str]:
        """Every committed partition's data files and their sha256, as `table/dt` -> concatenated hashes."""
        tables = {key.split("/")[0] for key in self.keys()}
        return {
            f"{table}/{dt}": ",".join(file["sha256"] for file in self.manifest(table, dt)["files"])
            for table in sorted(tables)
            for dt in self.partitions(table)
        }


@pytest.fixture
def warehouse(s3):
    return Bucket(s3, WAREHOUSE)


@pytest.fixture
def mart(s3):
    return Bucket(s3, MART)


@pytest.fixture
def make_bucket(s3):
    """Creates another bucket (e.g. a second warehouse to compare run orders) and returns its reader."""

    def make(name: str) -> Bucket:
        s3.create_bucket(Bucket=name)
        return Bucket(s3, name)

    return make


MASTERS = {
    "stores": "store_id,store_name,city,store_type\nS01,A,X,urban",
    "items": "item_id,item_name,category,base_price\nI001,Tea,d,2",
    "holidays": "holiday_date,holiday_name\n2026-03-09,Spring Day",
}


@pytest.fixture
def day_one(lake):
    for source, text in MASTERS.items():
        lake.land(source, "2026-03-01", f"{source}.csv", text)
    lake.land(
        "sales", "2026-03-01", "sales.csv", "sale_date,store_id,item_id,units_sold\n2026-03-01,S01,I001,3"
    )
    lake.land(
        "prices",
        "2026-03-01",
        "prices.csv",
        "valid_on,store_id,item_id,unit_price,on_promotion\n2026-03-02,S01,I001,2,0",
    )
    return lake

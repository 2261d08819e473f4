"""A small simulated world on moto, shared by a test module: the lake landed, one fault-free run of each unit
(preprocess backfill, train, infer) as the reference, and the Glue tables preprocess registers partitions in.
The three units run in process through their own `main`, as their containers would."""

import json
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta

import boto3
import pytest
from infer import cli as infer_cli
from moto import mock_aws
from preprocess import cli as preprocess_cli
from train import cli as train_cli

from scripts.simulate import REALISTIC_DEFECTS, SimulationConfig, land, simulate
from tests.e2e.inprocess import Bucket

START, DAYS = date(2026, 2, 2), 21
LAST = START + timedelta(days=DAYS - 1)  # the run date of train and infer
SIMULATION = SimulationConfig(start=START, days=DAYS, stores=3, items=8, defects=REALISTIC_DEFECTS)
LAKE, WAREHOUSE, MART, ARTIFACTS = "rel-lake", "rel-warehouse", "rel-mart", "rel-artifacts"
GLUE_PREFIX = "rel"
GLUE_TABLES = {
    "lake": ("sales", "prices", "stores", "items", "holidays"),
    "warehouse": ("sales", "prices", "stores", "items", "holidays", "quarantine"),
    "mart": ("features", "predictions"),
}
TRAIN_WINDOW = ["--window-days", "14", "--validation-days", "5"]
ENV = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}
CLEARED = ("AWS_ENDPOINT_URL", "AWS_PROFILE", "LOG_LEVEL", "LATE_WINDOW_DAYS", "GLUE_DATABASE_PREFIX",
           "ENGINE", "ATHENA_WORKGROUP", "MODEL_VERSION", "RUN_DATE")  # fmt: skip


@dataclass
class Outcome:
    exit_code: int
    stderr: str

    @property
    def error_line(self) -> str:
        """The one `{unit}: error:` line; asserts there is exactly one."""
        [line] = [line for line in self.stderr.splitlines() if ": error: " in line]
        return line


def exit_code(unit: str, args: list[str]) -> int:
    """`preprocess|train|infer ARGS` in process, with JSON logs; its exit code."""
    main = {"preprocess": preprocess_cli.main, "train": train_cli.main, "infer": infer_cli.main}[unit]
    try:
        return main([*args, "--log-format", "json"])
    except SystemExit as exited:  # preprocess exits, train and infer return their code
        return exited.code


def run_unit(capsys, unit: str, args: list[str]) -> Outcome:
    capsys.readouterr()
    code = exit_code(unit, args)
    return Outcome(code, capsys.readouterr().err)


def preprocess_args(*args: str, warehouse: str = WAREHOUSE, mart: str = MART) -> list[str]:
    return [*args, "--lake-bucket", LAKE, "--warehouse-bucket", warehouse, "--mart-bucket", mart]


def backfill_args(warehouse: str = WAREHOUSE, mart: str = MART) -> list[str]:
    dates = ["--start", START.isoformat(), "--end", LAST.isoformat()]
    return preprocess_args("backfill", *dates, warehouse=warehouse, mart=mart)


def train_args(mart: str = MART, artifacts: str = ARTIFACTS) -> list[str]:
    dates = ["run", "--date", LAST.isoformat(), *TRAIN_WINDOW]
    return [*dates, "--mart-bucket", mart, "--artifacts-bucket", artifacts]


def infer_args(mart: str = MART, artifacts: str = ARTIFACTS) -> list[str]:
    return ["run", "--date", LAST.isoformat(), "--mart-bucket", mart, "--artifacts-bucket", artifacts]


def objects(s3, bucket: str) -> dict[str, bytes]:
    """Every object of a bucket and its bytes."""
    return {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in Bucket(s3, bucket).keys("")}


def committed(s3, *buckets: str) -> dict[str, list[str]]:
    """`table/dt` -> the sha256 of each data file of every committed partition of the buckets."""
    files = {}
    for bucket in buckets:
        files |= Bucket(s3, bucket).data_files()
    return files


def manifests(s3, bucket: str) -> dict[str, bytes]:
    return {key: body for key, body in objects(s3, bucket).items() if key.endswith("/_manifest.json")}


def glue_catalog(glue, buckets: dict[str, str], prefix: str = GLUE_PREFIX) -> None:
    """The databases and tables terraform/modules/catalog makes, as far as partition registration needs."""
    for layer, tables in GLUE_TABLES.items():
        glue.create_database(DatabaseInput={"Name": f"{prefix}_{layer}"})
        for table in tables:
            location = f"s3://{buckets[layer]}/{table}/"
            glue.create_table(
                DatabaseName=f"{prefix}_{layer}",
                TableInput={
                    "Name": table,
                    "PartitionKeys": [{"Name": "dt", "Type": "date"}],
                    "StorageDescriptor": {"Location": location, "Columns": []},
                },
            )


def glue_locations(glue, layer: str, table: str, prefix: str = GLUE_PREFIX) -> dict[str, str]:
    pages = glue.get_paginator("get_partitions").paginate(DatabaseName=f"{prefix}_{layer}", TableName=table)
    return {p["Values"][0]: p["StorageDescriptor"]["Location"] for page in pages for p in page["Partitions"]}


@contextmanager
def aws_world(units=("preprocess", "train", "infer")):
    """moto with the lake landed and the reference buckets made by one fault-free run of each of the units."""
    with pytest.MonkeyPatch.context() as monkeypatch, mock_aws():
        for name, value in ENV.items():
            monkeypatch.setenv(name, value)
        for name in CLEARED:
            monkeypatch.delenv(name, raising=False)
        s3 = boto3.client("s3")
        for bucket in (LAKE, WAREHOUSE, MART, ARTIFACTS):
            s3.create_bucket(Bucket=bucket)
        land(simulate(SIMULATION), s3, LAKE)
        runs = {"preprocess": backfill_args(), "train": train_args(), "infer": infer_args()}
        for unit in units:
            assert exit_code(unit, runs[unit]) == 0, f"the reference {unit} run failed"
        yield s3


@pytest.fixture(scope="module")
def world():
    with aws_world() as s3:
        yield s3


@pytest.fixture(scope="module")
def data_world():
    """The world with the reference run of preprocess only."""
    with aws_world(units=("preprocess",)) as s3:
        yield s3


def champion(s3, artifacts: str = ARTIFACTS) -> dict:
    return json.loads(s3.get_object(Bucket=artifacts, Key="models/demand/champion.json")["Body"].read())

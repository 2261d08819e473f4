"""Support of the kill tests: the simulated world on moto's server (the units reach it over HTTP, as their
containers would), a unit killed as a subprocess at a chosen AWS call, and what a reader of the contract sees
afterwards.

A run is killed by `killer/sitecustomize.py`, which the subprocess imports at start-up: it SIGKILLs the
process just before its N-th AWS call. Kill points are call numbers drawn with a seed from the calls of an
uninterrupted run of the same command, traced in this process (the same code makes the same calls).
"""

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from scripts.emulator import Emulator, aws_environment
from scripts.simulate import land, simulate
from tests.e2e.inprocess import Bucket
from tests.reliability.conftest import ARTIFACTS, CLEARED, LAKE, MART, SIMULATION, WAREHOUSE, glue_catalog

KILLER = Path(__file__).with_name("killer")  # holds the sitecustomize.py that kills at KILL_AT_CALL
COMMIT_OBJECTS = ("_manifest.json", "_version.json", "champion.json")
LOCKS = "_locks/"
EXPIRED = "2000-01-01T00:00:00Z"

Snapshot = dict[str, dict[str, bytes]]  # bucket -> key -> bytes


@dataclass(frozen=True)
class Emulated:
    endpoint: str
    s3: object
    glue: object


@contextmanager
def emulated_world() -> Iterator[Emulated]:
    """moto's server with the four buckets, the Glue tables and the simulated lake; this process's boto3
    (and so the units run in it) points at the server too."""
    with mock_aws():
        pass  # moto's backends live as long as the process: start empty, whatever earlier test modules left
    with Emulator() as emulator, pytest.MonkeyPatch.context() as monkeypatch:
        for name in CLEARED:
            monkeypatch.delenv(name, raising=False)
        for name, value in aws_environment(emulator.endpoint).items():
            monkeypatch.setenv(name, value)
        s3, glue = boto3.client("s3"), boto3.client("glue")
        for bucket in (LAKE, WAREHOUSE, MART, ARTIFACTS):
            s3.create_bucket(Bucket=bucket)
        glue_catalog(glue, {"lake": LAKE, "warehouse": WAREHOUSE, "mart": MART})
        land(simulate(SIMULATION), s3, LAKE)
        yield Emulated(emulator.endpoint, s3, glue)


# -- calls and kill points -----------------------------------------------------------------------------------


@contextmanager
def traced_calls() -> Iterator[list[tuple[str, str]]]:
    """Every AWS call made meanwhile by the clients boto3.client() creates: (`service.Operation`, key)."""
    calls: list[tuple[str, str]] = []
    recording = threading.Lock()

    def record(params, model, **_):  # type: ignore[no-untyped-def]
        with recording:
            calls.append((f"{model.service_model.service_name}.{model.name}", params.get("Key", "")))

    events = boto3._get_default_session().events
    events.register("before-parameter-build", record)
    try:
        yield calls
    finally:
        events.unregister("before-parameter-build", record)


def phases(calls: list[tuple[str, str]]) -> dict[str, list[int]]:
    """Call numbers (from 1) by phase: `read` before the first output file is written, `write` up to the
    first commit object (a manifest, a version marker, the champion pointer), `publish` from there on
    (commits, catalog, clean-up, the lock's release)."""
    puts = [(number, key) for number, (call, key) in enumerate(calls, 1) if call == "s3.PutObject"]
    first_write = next(number for number, key in puts if not key.startswith(LOCKS))
    first_commit = next(number for number, key in puts if key.endswith(COMMIT_OBJECTS))
    numbers = range(1, len(calls) + 1)
    return {
        "read": [n for n in numbers if n < first_write],
        "write": [n for n in numbers if first_write <= n < first_commit],
        "publish": [n for n in numbers if n >= first_commit],
    }


def kill_points(
    calls: list[tuple[str, str]], count: int, seed: int, drawn_from=("read", "write", "publish")
) -> list[int]:
    """`count` call numbers drawn with `seed`: an equal share from each phase `drawn_from` (all of a shorter
    phase), the rest from the whole run."""
    rng = random.Random(seed)
    points: set[int] = set()
    for phase, numbers in phases(calls).items():
        if phase in drawn_from:
            points.update(rng.sample(numbers, min(len(numbers), count // len(drawn_from))))
    rest = sorted(set(range(1, len(calls) + 1)) - points)
    points.update(rng.sample(rest, min(len(rest), count - len(points))))
    return sorted(points)


def run_killed(endpoint: str, unit: str, args: list[str], kill_at: int) -> None:
    """`unit ARGS` as a subprocess (its console script) that SIGKILLs itself before its `kill_at`-th call."""
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        **aws_environment(endpoint),
        "PYTHONPATH": str(KILLER),
        "KILL_AT_CALL": str(kill_at),
        "LOG_FORMAT": "json",
    }
    script = Path(sys.executable).with_name(unit)
    done = subprocess.run([str(script), *args], env=environment, capture_output=True, text=True, timeout=600)
    tail = "\n".join(done.stderr.strip().splitlines()[-3:])
    assert done.returncode == -signal.SIGKILL, (
        f"{unit} was not killed at call {kill_at}: {done.returncode} {tail}"
    )


# -- state: snapshots and what readers see -------------------------------------------------------------------


def snapshot(s3, *buckets: str) -> Snapshot:
    return {
        bucket: {
            key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in Bucket(s3, bucket).keys("")
        }
        for bucket in buckets
    }


def restore(s3, state: Snapshot) -> None:
    """Puts the buckets back as they were: extra objects deleted, changed or missing ones written again."""
    for bucket, wanted in state.items():
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        etags = {obj["Key"]: obj["ETag"].strip('"') for page in pages for obj in page.get("Contents", [])}
        for key in set(etags) - set(wanted):
            s3.delete_object(Bucket=bucket, Key=key)
        for key, body in wanted.items():
            if etags.get(key) != hashlib.md5(body).hexdigest():
                s3.put_object(Bucket=bucket, Key=key, Body=body)


def glue_snapshot(glue, tables: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, str]]:
    """(database, table) -> partition value -> location."""
    state = {}
    for database, table in tables:
        pages = glue.get_paginator("get_partitions").paginate(DatabaseName=database, TableName=table)
        state[database, table] = {
            p["Values"][0]: p["StorageDescriptor"]["Location"] for page in pages for p in page["Partitions"]
        }
    return state


def glue_restore(glue, state: dict[tuple[str, str], dict[str, str]]) -> None:
    for (database, table), wanted in state.items():
        now = glue_snapshot(glue, [(database, table)])[database, table]
        descriptor = glue.get_table(DatabaseName=database, Name=table)["Table"]["StorageDescriptor"]
        for value in set(now) - set(wanted):
            glue.delete_partition(DatabaseName=database, TableName=table, PartitionValues=[value])
        for value, location in wanted.items():
            partition = {"Values": [value], "StorageDescriptor": {**descriptor, "Location": location}}
            if value not in now:
                glue.create_partition(DatabaseName=database, TableName=table, PartitionInput=partition)
            elif now[value] != location:
                glue.update_partition(
                    DatabaseName=database,
                    TableName=table,
                    PartitionValueList=[value],
                    PartitionInput=partition,
                )


def committed(s3, bucket: str, prefix: str = "") -> dict[str, dict]:
    """`table/dt` -> manifest of every committed partition, read the contract's way; fails if a manifest
    lists a file that is missing or whose bytes are not the ones it names (a partial partition)."""
    partitions = {}
    for key in Bucket(s3, bucket).keys(prefix):
        if not key.endswith("/_manifest.json") or key.startswith(LOCKS):
            continue
        manifest = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        for file in manifest["files"]:
            body = read(s3, bucket, file["key"])
            assert body is not None, f"{key} lists {file['key']}, which does not exist"
            assert hashlib.sha256(body).hexdigest() == file["sha256"], (
                f"{file['key']} is not what {key} names"
            )
        partitions[key.removesuffix("/_manifest.json")] = manifest
    return partitions


def data_of(partitions: dict[str, dict]) -> dict[str, list[str]]:
    """`table/dt` -> the sha256 of each data file: what the partition holds, whichever run wrote it."""
    return {name: [file["sha256"] for file in manifest["files"]] for name, manifest in partitions.items()}


def run_folder(bucket: str, manifest: dict) -> str:
    """The `s3://` folder of the run a manifest commits (where Glue must point)."""
    key = manifest["files"][0]["key"]
    return f"s3://{bucket}/{key[: key.rindex('/') + 1]}"


def orphans(s3, bucket: str, partitions: dict[str, dict], prefix: str = "") -> list[str]:
    """Objects in run folders that no committed manifest lists."""
    listed = {file["key"] for manifest in partitions.values() for file in manifest["files"]}
    return [key for key in Bucket(s3, bucket).keys(prefix) if "/run=" in key and key not in listed]


def rows_without_run_id(s3, bucket: str, manifest: dict) -> list[dict]:
    """A partition's rows without the `run_id` column, the one thing two runs of infer write differently."""
    parts = [pq.read_table(pa.BufferReader(read(s3, bucket, file["key"]))) for file in manifest["files"]]
    return pa.concat_tables(parts).drop_columns(["run_id"]).to_pylist()


def read(s3, bucket: str, key: str) -> bytes | None:
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
            return None
        raise


def expire_lock(s3, bucket: str, key: str) -> dict | None:
    """The lock a killed run left behind, with its lease moved into the past, as if the time a crashed
    holder's lease takes to expire had passed; None if the run died before taking it."""
    body = read(s3, bucket, key)
    if body is None:
        return None
    lock = json.loads(body)
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps({**lock, "expires_at": EXPIRED}).encode())
    return lock

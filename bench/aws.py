"""The units in this process against moto's `mock_aws`, with every S3 byte they read counted."""

import collections
import contextlib
import io
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from moto import mock_aws

FAKE_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


@dataclass
class S3Counter:
    """Counts S3 requests, the bytes of every GetObject body and the time spent in S3 calls (moto's, here),
    for every client of the default session. Calls made in parallel threads add up their times."""

    requests: int = 0
    bytes_read: int = 0
    seconds_by_operation: dict[str, float] = field(default_factory=lambda: collections.defaultdict(float))

    def __post_init__(self) -> None:
        self._call_started = threading.local()

    def reset(self) -> None:
        self.requests = 0
        self.bytes_read = 0
        self.seconds_by_operation.clear()

    @property
    def seconds_in_calls(self) -> float:
        return sum(self.seconds_by_operation.values())

    def before_call(self, **_) -> None:  # type: ignore[no-untyped-def]
        self._call_started.at = time.perf_counter()

    def after_call(self, parsed: dict, model, **_) -> None:  # type: ignore[no-untyped-def]
        self.requests += 1
        started = getattr(self._call_started, "at", time.perf_counter())
        self.seconds_by_operation[model.name] += time.perf_counter() - started
        if model.name == "GetObject":
            self.bytes_read += int(parsed.get("ContentLength") or 0)


@contextlib.contextmanager
def mocked_aws() -> Iterator[S3Counter]:
    """moto in process, an environment that reaches nothing real, and a counter on every S3 client.

    The units create their clients with `boto3.client`, i.e. from boto3's default session, so a handler
    registered on that session sees each of their calls without touching their code.
    """
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "LOG_LEVEL", "LOG_FORMAT"):
        os.environ.pop(name, None)
    os.environ.update(FAKE_ENVIRONMENT)
    counter = S3Counter()
    with mock_aws():  # moto replaces boto3's default session while it runs: register on that one
        boto3.setup_default_session()
        boto3.DEFAULT_SESSION.events.register("before-call.s3", counter.before_call)
        boto3.DEFAULT_SESSION.events.register("after-call.s3", counter.after_call)
        yield counter


def create_buckets(*names: str) -> None:
    s3 = boto3.client("s3")
    for name in names:
        s3.create_bucket(Bucket=name)


def run_unit(main: Callable[[list[str]], int | None], argv: list[str]) -> None:
    """Runs a unit's console-script `main` in this process; its output is kept and shown only on failure."""
    log = io.StringIO()
    try:
        with contextlib.redirect_stderr(log), contextlib.redirect_stdout(log):
            exit_code = main([*argv, "--log-format", "json"])
    except SystemExit as done:  # preprocess's main ends in sys.exit
        exit_code = done.code
    if exit_code not in (0, None):
        tail = "\n".join(log.getvalue().strip().splitlines()[-5:])
        raise RuntimeError(f"{' '.join(argv[:2])} exited {exit_code}:\n{tail}")


def upload_folder(folder: Path, bucket: str) -> None:
    """Every file under `folder` as an object of `bucket`, keyed by its path relative to the folder."""
    s3 = boto3.client("s3")
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            s3.put_object(Bucket=bucket, Key=path.relative_to(folder).as_posix(), Body=path.read_bytes())


def download_bucket(bucket: str, folder: Path) -> None:
    """Every object of `bucket` as a file under `folder`: what one process made, for the next to read."""
    s3 = boto3.client("s3")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for entry in page.get("Contents", []):
            path = folder / entry["Key"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read())

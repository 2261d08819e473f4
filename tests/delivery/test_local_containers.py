"""`make local-up` / `make local-run` / `make local-down`, run as written but with a fake `docker compose`.

This machine has no Docker daemon, so COMPOSE is a recording fake: `build`, `up` and `down` only record,
and `run --rm SERVICE ARGS` runs the unit's console script (each image's ENTRYPOINT) on this machine with
exactly the environment Compose resolves for that service from compose.yaml, its endpoint pointed at moto's
server in this process instead of the `aws` alias. So the Makefile's commands, their order, the set-up
script and the containers' configuration are all exercised; what is left to Docker is listed in
docs/local-containers.md.
"""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import boto3
import pytest

from scripts.emulator import Emulator
from scripts.local_setup import unit_buckets
from tests.delivery.compose_file import COMPOSE_BINARY, REPO_ROOT

START = date(2026, 1, 1)
DAYS = 70
LAST_DAY = START + timedelta(days=DAYS - 1)
ONE_DAY = timedelta(days=1)

FAKE_COMPOSE = """
import json, os, subprocess, sys
from pathlib import Path

arguments = sys.argv[1:]
with open(os.environ["FAKE_COMPOSE_LOG"], "a") as log:
    log.write(json.dumps(arguments) + "\\n")
while arguments[:1] == ["--profile"]:
    arguments = arguments[2:]
if arguments[0] != "run":
    sys.exit(0)
assert arguments[1] == "--rm", arguments
service, unit_arguments = arguments[2], arguments[3:]
command = [{binary!r}, "--profile", "units", "config", "--format", "json"]
config = subprocess.run(command, capture_output=True, text=True, check=True)
environment = json.loads(config.stdout)["services"][service]["environment"]
environment["AWS_ENDPOINT_URL"] = os.environ["FAKE_COMPOSE_ENDPOINT"]
environment["PATH"] = os.environ["PATH"]
unit = Path(sys.executable).with_name(service)
sys.exit(subprocess.run([str(unit), *unit_arguments], env=environment).returncode)
"""


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator() as running:
        yield running


@pytest.fixture
def fake_compose(tmp_path: Path, emulator: Emulator) -> dict[str, str]:
    """Make variables and environment that route `docker compose` to the fake; its log is `calls`."""
    script = tmp_path / "fake_compose.py"
    script.write_text(FAKE_COMPOSE.format(binary=str(COMPOSE_BINARY)))
    return {
        "COMPOSE": f"{sys.executable} {script}",
        "LOCAL_ENDPOINT": emulator.endpoint,
        "FAKE_COMPOSE_LOG": str(tmp_path / "compose-calls.jsonl"),
        "FAKE_COMPOSE_ENDPOINT": emulator.endpoint,
    }


def make(target: str, settings: dict[str, str], *variables: str) -> subprocess.CompletedProcess[str]:
    environment = {name: value for name, value in os.environ.items() if name != "LOCALSTACK_AUTH_TOKEN"}
    environment.update(settings)
    command = ["make", "--no-print-directory", target, f"COMPOSE={settings['COMPOSE']}"]
    command += [f"LOCAL_ENDPOINT={settings['LOCAL_ENDPOINT']}", *variables]
    return subprocess.run(command, cwd=REPO_ROOT, env=environment, capture_output=True, text=True)


def local_setup(*arguments: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "scripts.local_setup", *arguments]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)


def calls(settings: dict[str, str]) -> list[list[str]]:
    log = Path(settings["FAKE_COMPOSE_LOG"])
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def emulator_s3(emulator: Emulator):
    return boto3.client(
        "s3",
        endpoint_url=emulator.endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def test_local_up_then_local_run_forecasts_the_next_day(
    fake_compose: dict[str, str], emulator: Emulator
) -> None:
    up = make("local-up", fake_compose, f"LOCAL_START={START}", f"LOCAL_DAYS={DAYS}")
    assert up.returncode == 0, up.stdout + up.stderr
    assert f"make local-run DATE={LAST_DAY}" in up.stdout

    run = make("local-run", fake_compose, f"DATE={LAST_DAY}")
    assert run.returncode == 0, run.stdout + run.stderr

    assert calls(fake_compose) == [
        ["--profile", "units", "build"],
        ["--profile", "moto", "up", "--detach", "--wait"],
        ["run", "--rm", "preprocess", "backfill", "--start", str(START), "--end", str(LAST_DAY - ONE_DAY)],
        ["run", "--rm", "preprocess", "run", "--date", str(LAST_DAY)],
        ["run", "--rm", "train", "run", "--date", str(LAST_DAY)],
        ["run", "--rm", "infer", "run", "--date", str(LAST_DAY)],
    ]
    buckets = unit_buckets()
    s3 = emulator_s3(emulator)
    target_day = LAST_DAY + ONE_DAY
    manifest = json.loads(
        s3.get_object(Bucket=buckets["MART_BUCKET"], Key=f"predictions/dt={target_day}/_manifest.json")[
            "Body"
        ].read()
    )
    assert manifest["rows"] > 0
    champion = s3.get_object(Bucket=buckets["ARTIFACTS_BUCKET"], Key="models/demand/champion.json")
    assert json.loads(champion["Body"].read())["version"]


def test_local_setup_creates_every_bucket_the_units_name(emulator: Emulator) -> None:
    result = local_setup(
        "--endpoint",
        emulator.endpoint,
        "--start",
        "2026-05-01",
        "--days",
        "2",
        "--stores",
        "2",
        "--items",
        "3",
    )

    assert result.returncode == 0, result.stderr
    existing = {bucket["Name"] for bucket in emulator_s3(emulator).list_buckets()["Buckets"]}
    assert set(unit_buckets().values()) <= existing
    assert set(unit_buckets().values()) == {
        "batchml-local-lake", "batchml-local-warehouse", "batchml-local-mart", "batchml-local-artifacts",
    }  # fmt: skip
    landed = emulator_s3(emulator).list_objects_v2(Bucket="batchml-local-lake", Prefix="sales/dt=2026-05-02/")
    assert landed["KeyCount"] > 0


def test_local_setup_fails_in_one_line_when_the_emulator_is_down() -> None:
    result = local_setup("--endpoint", "http://127.0.0.1:9", "--start", "2026-05-01")

    assert result.returncode == 1
    assert result.stderr.startswith("local_setup: error: S3 at http://127.0.0.1:9 failed")
    assert len(result.stderr.strip().splitlines()) == 1


def test_localstack_without_a_token_stops_before_docker(fake_compose: dict[str, str]) -> None:
    result = make("local-up", fake_compose, "LOCAL_EMULATOR=localstack")

    assert result.returncode != 0
    assert "local-up: error: LOCAL_EMULATOR=localstack needs LOCALSTACK_AUTH_TOKEN" in result.stderr
    assert calls(fake_compose) == []


def test_local_run_needs_a_date(fake_compose: dict[str, str]) -> None:
    result = make("local-run", fake_compose)

    assert result.returncode != 0
    assert "local-run: error: set DATE=YYYY-MM-DD" in result.stderr
    assert calls(fake_compose) == []


def test_local_down_removes_every_profile(fake_compose: dict[str, str]) -> None:
    result = make("local-down", fake_compose)

    assert result.returncode == 0, result.stderr
    (call,) = calls(fake_compose)
    profiles = {call[i + 1] for i, argument in enumerate(call) if argument == "--profile"}
    assert profiles == {"moto", "localstack", "units"}
    assert call[len(profiles) * 2 :][0] == "down"

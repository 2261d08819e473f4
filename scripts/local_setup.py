"""`make local-up`'s set-up step: the buckets the containers of compose.yaml name, and the simulated lake.

The units need only S3, so the local containers need no Terraform: this creates every bucket that the unit
services of compose.yaml name in their environment (so the two cannot disagree) on the emulator at
`--endpoint`, and lands `--days` days of the simulated source (scripts/simulate.py) in the lake bucket.
Running it again is harmless: existing buckets are kept and the same seed lands the same files.

    python -m scripts.local_setup --endpoint http://127.0.0.1:4566 --start 2026-01-01 --days 100
"""

import argparse
import sys
from datetime import date
from pathlib import Path

import boto3
import yaml
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from scripts.simulate import SimulationConfig, SimulatorError, land, simulate

REPO_ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = REPO_ROOT / "compose.yaml"
UNIT_PROFILE = "units"
LAKE_VARIABLE = "LAKE_BUCKET"
# The emulators accept any credentials; the region is the one compose.yaml gives the units.
EMULATOR_CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}


class SetupError(Exception):
    """A failure worth one line and exit 1: the emulator is unreachable, the compose file names no lake."""


def unit_buckets(compose_file: Path = COMPOSE_FILE) -> dict[str, str]:
    """Every `*_BUCKET` variable the unit services set -> its bucket name (the same name in every unit)."""
    services = yaml.safe_load(compose_file.read_text())["services"]
    buckets: dict[str, str] = {}
    for name, service in services.items():
        if UNIT_PROFILE not in service.get("profiles", []):
            continue
        for variable, value in (service.get("environment") or {}).items():
            if not variable.endswith("_BUCKET"):
                continue
            if buckets.setdefault(variable, value) != value:
                raise SetupError(
                    f"{compose_file.name}: {name} sets {variable}={value}, another unit {buckets[variable]}"
                )
    if LAKE_VARIABLE not in buckets:
        raise SetupError(f"{compose_file.name}: no unit service sets {LAKE_VARIABLE}")
    return buckets


def create_buckets(s3, names: list[str]) -> list[str]:
    """Create the buckets that do not exist yet; returns those it created."""
    existing = {bucket["Name"] for bucket in s3.list_buckets().get("Buckets", [])}
    created = []
    for name in sorted(set(names) - existing):
        s3.create_bucket(Bucket=name)
        created.append(name)
    return created


def land_history(s3, lake_bucket: str, world: SimulationConfig) -> int:
    """Land the simulated source's raw files (every landing day of `world`); returns the file count."""
    simulation = simulate(world)
    return len(land(simulation, s3, lake_bucket))


def setup(endpoint: str, world: SimulationConfig, compose_file: Path = COMPOSE_FILE) -> None:
    buckets = unit_buckets(compose_file)
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        config=Config(retries={"mode": "standard", "max_attempts": 3}),
        **EMULATOR_CREDENTIALS,
    )
    try:
        created = create_buckets(s3, list(buckets.values()))
        print(f"local_setup: buckets: {', '.join(sorted(buckets.values()))} ({len(created)} created)")
        files = land_history(s3, buckets[LAKE_VARIABLE], world)
    except (BotoCoreError, ClientError) as error:
        raise SetupError(f"S3 at {endpoint} failed: {error}") from error
    print(
        f"local_setup: landed {files} raw files in s3://{buckets[LAKE_VARIABLE]} "
        f"(landing days {world.start} .. {world.last_landing_day})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.local_setup", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--endpoint", required=True, help="the emulator's URL as seen from this machine")
    parser.add_argument(
        "--start", required=True, type=date.fromisoformat, help="first landing day YYYY-MM-DD"
    )
    parser.add_argument("--days", type=int, default=100, help="number of landing days to simulate")
    parser.add_argument("--stores", type=int, default=10, help="number of simulated stores")
    parser.add_argument("--items", type=int, default=50, help="number of simulated items")
    arguments = parser.parse_args(argv)
    try:
        world = SimulationConfig(
            start=arguments.start, days=arguments.days, stores=arguments.stores, items=arguments.items
        )
        setup(arguments.endpoint, world)
    except SimulatorError as error:
        print(f"local_setup: error: {error}", file=sys.stderr)
        return error.exit_code
    except SetupError as error:
        print(f"local_setup: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

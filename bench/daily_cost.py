"""Scenario 1: the daily preprocess run costs the same after 100 days of history as after 1000.

Two lakes of one simulated source, one with a short and one with a long history up to the same day, live
side by side in one moto; each history is backfilled, then the daily run of the same next landing day is
timed on both, alternately, and the bytes it reads from S3 are counted. Ratios long/short: the run reads
its window, so neither should grow with the history.
"""

import time
from dataclasses import dataclass, replace
from datetime import date, timedelta

import boto3
from preprocess import cli as preprocess_cli

from bench.aws import S3Counter, create_buckets, mocked_aws, run_unit
from bench.results import Figure, at_most
from scripts.simulate import Simulation, SimulationConfig, land, landing_date_of, simulate

START = date(2024, 1, 1)
MASTERS = ("stores", "items", "holidays")  # sent once, on the first landing day
TIME_GOAL = 1.15
BYTES_GOAL = 1.05


@dataclass(frozen=True)
class Lake:
    history_days: int

    def bucket(self, layer: str) -> str:
        return f"bench-{self.history_days}d-{layer}"

    def bucket_options(self) -> list[str]:
        return [
            *("--lake-bucket", self.bucket("lake")),
            *("--warehouse-bucket", self.bucket("warehouse")),
            *("--mart-bucket", self.bucket("mart")),
        ]


def since(simulation: Simulation, first: date) -> Simulation:
    """The same source with only the files that landed from `first` on, and the masters of its first day."""
    files = {
        key: body
        for key, body in simulation.raw_files.items()
        if key.split("/")[0] in MASTERS or landing_date_of(key) >= first
    }
    return replace(simulation, raw_files=files)


def build(lake: Lake, simulation: Simulation) -> str:
    """Lands the last history + 1 days and backfills the history; returns the day left for the daily run."""
    create_buckets(*(lake.bucket(layer) for layer in ("lake", "warehouse", "mart")))
    run_day = simulation.config.last_landing_day
    first = run_day - timedelta(days=lake.history_days)
    land(since(simulation, first), boto3.client("s3"), lake.bucket("lake"))
    # From the masters' landing day: the days between it and `first` have nothing landed and cost nothing.
    start, history_end = simulation.config.start.isoformat(), (run_day - timedelta(days=1)).isoformat()
    run_unit(
        preprocess_cli.main, ["backfill", "--start", start, "--end", history_end, *lake.bucket_options()]
    )
    return run_day.isoformat()


def daily_run(lake: Lake, run_day: str, counter: S3Counter) -> dict:
    """Seconds, bytes read, S3 requests and seconds in S3 calls of one `preprocess run --date run_day`."""
    counter.reset()
    started = time.perf_counter()
    run_unit(preprocess_cli.main, ["run", "--date", run_day, *lake.bucket_options()])
    return {
        "seconds": round(time.perf_counter() - started, 4),
        "bytes_read": counter.bytes_read,
        "requests": counter.requests,
        "seconds_in_s3_calls": round(counter.seconds_in_calls, 4),
        "seconds_by_s3_operation": {name: round(t, 4) for name, t in counter.seconds_by_operation.items()},
    }


def measure(short_days: int, long_days: int, stores: int, items: int, repeats: int) -> tuple[list, dict]:
    lakes = (Lake(short_days), Lake(long_days))
    measured: dict[int, list[dict]] = {lake.history_days: [] for lake in lakes}
    simulation = simulate(SimulationConfig(start=START, days=long_days + 1, stores=stores, items=items))
    with mocked_aws() as counter:
        run_days = {}
        for lake in lakes:
            started = time.perf_counter()
            run_days[lake.history_days] = build(lake, simulation)
            print(f"  lake with {lake.history_days} days of history built in "
                  f"{time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
        # Alternate the two, so that a slow spell of the machine hits both; keep each one's fastest.
        for _ in range(repeats):
            for lake in lakes:
                measured[lake.history_days].append(daily_run(lake, run_days[lake.history_days], counter))
    short, long = (min(measured[days], key=lambda run: run["seconds"]) for days in (short_days, long_days))
    time_ratio = long["seconds"] / short["seconds"]
    bytes_ratio = long["bytes_read"] / short["bytes_read"]
    # moto walks a bucket's every key to list a prefix (S3 uses an index): the time without the listing
    # calls is the part whose growth would be the pipeline's.
    unlisted = [
        run["seconds"] - run["seconds_by_s3_operation"].get("ListObjectsV2", 0.0) for run in (short, long)
    ]
    ours = unlisted[1] / unlisted[0]
    figures = [
        at_most(f"daily run time, {long_days} / {short_days} days of history", time_ratio, TIME_GOAL),
        at_most(f"daily run bytes read, {long_days} / {short_days} days", bytes_ratio, BYTES_GOAL),
        Figure(f"daily run time less moto's listing, {long_days} / {short_days} days", ours, "x"),
        Figure(f"daily run time, {long_days} days of history", long["seconds"], "s"),
        Figure(f"daily run bytes read, {long_days} days of history", long["bytes_read"], "bytes"),
    ]
    details = {
        "history_days": [short_days, long_days],
        "stores": stores,
        "items": items,
        "repeats": repeats,
        "runs": {str(days): runs for days, runs in measured.items()},
        "daily_run_seconds": long["seconds"],
        "daily_run_bytes_read": long["bytes_read"],
    }
    return figures, details

"""Scenario 6: WAPE of the model, the seasonal-naive baseline and the oracle on a held-out month.

The simulated history is backfilled, the daily run made, and `train run` holds out the last `holdout_days`
of its window: the model and the baselines are scored there by train itself (its metrics.json); the oracle
is the simulator's true expected demand over the same days, scored as `make demo` scores it. Train and
infer are timed and their S3 bytes counted on the way, for the cost model (scenario 5).
"""

import time
from datetime import date, timedelta

import boto3
from infer import cli as infer_cli
from preprocess import cli as preprocess_cli
from train import cli as train_cli

from bench.aws import S3Counter, create_buckets, mocked_aws, run_unit
from bench.results import Figure, at_most
from scripts.demo import oracle_wape, read_json
from scripts.simulate import SimulationConfig, land, simulate

START = date(2025, 1, 1)
ORACLE_GOAL = 1.10
NAIVE_GOAL = 0.80
BUCKETS = {layer: f"bench-quality-{layer}" for layer in ("lake", "warehouse", "mart", "artifacts")}


def timed(counter: S3Counter, main, argv: list[str]) -> dict:  # type: ignore[no-untyped-def]
    counter.reset()
    started = time.perf_counter()
    run_unit(main, argv)
    return {"seconds": round(time.perf_counter() - started, 3), "bytes_read": counter.bytes_read}


def metrics_of_the_only_version(s3) -> dict:  # type: ignore[no-untyped-def]
    prefix = "models/demand/versions/"
    keys = [
        obj["Key"]
        for obj in s3.list_objects_v2(Bucket=BUCKETS["artifacts"], Prefix=prefix)["Contents"]
        if obj["Key"].endswith("/metrics.json")
    ]
    if len(keys) != 1:
        raise RuntimeError(f"expected one trained model version, found {len(keys)}")
    return read_json(s3, BUCKETS["artifacts"], keys[0])


def measure(days: int, stores: int, items: int, window_days: int, holdout_days: int) -> tuple[list, dict]:
    simulation = simulate(SimulationConfig(start=START, days=days, stores=stores, items=items))
    run_day = simulation.config.last_landing_day
    lake_options = [f"--{layer}-bucket={BUCKETS[layer]}" for layer in ("lake", "warehouse", "mart")]
    model_options = [f"--mart-bucket={BUCKETS['mart']}", f"--artifacts-bucket={BUCKETS['artifacts']}"]
    with mocked_aws() as counter:
        create_buckets(*BUCKETS.values())
        s3 = boto3.client("s3")
        land(simulation, s3, BUCKETS["lake"])
        history_end = (run_day - timedelta(days=1)).isoformat()
        run_unit(preprocess_cli.main, ["backfill", "--start", START.isoformat(), "--end", history_end,
                                       *lake_options])  # fmt: skip
        run_unit(preprocess_cli.main, ["run", "--date", run_day.isoformat(), *lake_options])
        train = timed(counter, train_cli.main, ["run", "--date", run_day.isoformat(), *model_options,
                                                f"--window-days={window_days}",
                                                f"--validation-days={holdout_days}"])  # fmt: skip
        infer = timed(counter, infer_cli.main, ["run", "--date", run_day.isoformat(), *model_options])
        metrics = metrics_of_the_only_version(s3)
    validation = metrics["validation"]
    first, last = date.fromisoformat(validation["first_date"]), date.fromisoformat(validation["last_date"])
    wape = {name: metrics["overall"][name]["wape"] for name in ("model", "seasonal_naive")}
    wape["oracle"] = oracle_wape(simulation.truth, first, last)
    figures = [
        at_most("model WAPE / oracle WAPE", wape["model"] / wape["oracle"], ORACLE_GOAL),
        at_most("model WAPE / seasonal-naive WAPE", wape["model"] / wape["seasonal_naive"], NAIVE_GOAL),
        *(Figure(f"WAPE {name}, held out {first} .. {last}", value) for name, value in wape.items()),
    ]
    details = {
        "days": days,
        "stores": stores,
        "items": items,
        "window_days": window_days,
        "holdout": {"first_date": first, "last_date": last, "rows": validation.get("rows")},
        "wape": wape,
        "train": train,
        "infer": infer,
    }
    return figures, details

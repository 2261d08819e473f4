"""Scenario 3: the whole train task against bare `xgboost.train` on the same matrix, params and rounds.

Both run on the mart scenario 2 made at its largest size, each in a process of its own (bench/child.py):
- task: `train run` against moto's `mock_aws` holding that mart (read the window, fit with early stopping on
  the validation days, baselines, champion gate, report, publish the version);
- bare: the task's training rows as the same float32 matrix, built before the clock starts, then
  `xgboost.train` with the params of the task's params.json for as many rounds as the task trained.
Memory: what the task added to its process (peak RSS less the RSS before it started: interpreter,
libraries and the emulator's copy of the mart are not the task's) against the bytes of that matrix.
"""

import json
import shutil
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow.compute as pc

from bench import child
from bench.aws import create_buckets, download_bucket, mocked_aws, run_unit, upload_folder
from bench.results import Figure, at_most
from bench.throughput import read_features

TIME_GOAL = 1.2
MEMORY_GOAL = 3.0  # peak RSS added by the task / the training matrix's bytes
BUCKETS = {"mart": "bench-train-mart", "artifacts": "bench-train-artifacts"}
FEATURES = ("day_of_week", "day_of_month", "month", "is_holiday", "unit_price", "on_promotion", "price_ratio",
            "lag_1", "lag_7", "lag_14", "lag_28", "mean_7", "std_7", "mean_28", "std_28")  # fmt: skip


def task(mart: Path, out: Path, run_date: str, window_days: str, validation_days: str) -> dict:
    from train import cli  # imported here, so that the bare case's process does not hold it

    with mocked_aws():
        create_buckets(*BUCKETS.values())
        upload_folder(mart, BUCKETS["mart"])
        rss_before = child.rss_bytes()
        started = time.perf_counter()
        run_unit(cli.main, ["run", "--date", run_date, f"--window-days={window_days}",
                            f"--validation-days={validation_days}", f"--mart-bucket={BUCKETS['mart']}",
                            f"--artifacts-bucket={BUCKETS['artifacts']}"])  # fmt: skip
        seconds = time.perf_counter() - started
        download_bucket(BUCKETS["artifacts"], out / "artifacts")
    return {"seconds": seconds, "rss_before_bytes": rss_before}


def training_matrix(mart: Path, params: dict) -> tuple[np.ndarray, np.ndarray]:
    """The labelled rows of the task's training dates, as train lays them out: float32, nulls NaN."""
    dates = params["training_dates"]
    first, last = date.fromisoformat(dates["first_date"]), date.fromisoformat(dates["last_date"])
    table = read_features(mart)
    in_training = pc.and_(pc.greater_equal(table["dt"], first), pc.less_equal(table["dt"], last))
    table = table.filter(pc.and_(in_training, pc.is_valid(table["units_sold"])))
    table = table.sort_by([("dt", "ascending"), ("store_id", "ascending"), ("item_id", "ascending")])
    columns = [pc.cast(table[name], "float32").to_numpy(zero_copy_only=False) for name in FEATURES]
    return np.column_stack(columns), pc.cast(table["units_sold"], "float64").to_numpy()


def bare(mart: Path, params_path: Path) -> dict:
    import xgboost as xgb

    params = json.loads(params_path.read_text())
    matrix, label = training_matrix(mart, params)
    rss_before = child.rss_bytes()
    started = time.perf_counter()
    threads = params["xgboost"]["nthread"]
    training = xgb.QuantileDMatrix(matrix, label, feature_names=list(FEATURES), nthread=threads)
    xgb.train(params["xgboost"], training, num_boost_round=params["rounds_trained"])
    return {"seconds": time.perf_counter() - started, "rss_before_bytes": rss_before,
            "matrix_bytes": matrix.nbytes, "rows": len(matrix)}  # fmt: skip


def only_params_file(artifacts: Path) -> Path:
    found = sorted(artifacts.glob("models/*/versions/*/params.json"))
    if len(found) != 1:
        raise RuntimeError(f"expected one trained model version in {artifacts}, found {len(found)}")
    return found[0]


def measure(
    mart: Path, run_date: date, window_days: int, validation_days: int, repeats: int, out: Path
) -> tuple[list, dict]:
    """Task and bare case alternately `repeats` times, the fastest of each counting: XGBoost's threads slow
    down sharply when other processes want the same cores, so one run of each could catch a busy spell in
    only one of them."""
    runs: dict[str, list[dict]] = {"task": [], "bare": []}
    for _ in range(repeats):
        shutil.rmtree(out, ignore_errors=True)  # the model version of the run before
        arguments = [str(mart), str(out), run_date.isoformat(), str(window_days), str(validation_days)]
        runs["task"].append(child.run("bench.train_overhead", "task", *arguments))
        params_path = only_params_file(out / "artifacts")
        runs["bare"].append(child.run("bench.train_overhead", "bare", str(mart), str(params_path)))
    task_run, bare_run = (min(runs[case], key=lambda run: run["seconds"]) for case in ("task", "bare"))
    params = json.loads(params_path.read_text())
    matrix_bytes = bare_run["matrix_bytes"]
    task_added = task_run["peak_rss_bytes"] - task_run["rss_before_bytes"]
    for name, run in (("task", task_run), ("bare xgboost.train", bare_run)):
        print(
            f"  {name}: {run['seconds']:.1f} s, peak RSS {run['peak_rss_bytes'] / 2**20:,.0f} MiB", flush=True
        )
    figures = [
        at_most("train time, task / bare xgboost.train", task_run["seconds"] / bare_run["seconds"],
                TIME_GOAL),
        at_most("train peak RSS added by the task / training matrix bytes", task_added / matrix_bytes,
                MEMORY_GOAL),
        Figure("train peak RSS of the task's whole process / training matrix bytes",
               task_run["peak_rss_bytes"] / matrix_bytes, "x"),
        Figure("training matrix", matrix_bytes, "bytes"),
    ]  # fmt: skip
    details = {
        "mart": str(mart),
        "run_date": run_date,
        "window_days": window_days,
        "validation_days": validation_days,
        "rounds": params["rounds_trained"],
        "training_rows": bare_run["rows"],
        "repeats": repeats,
        "runs": runs,
        "task": task_run,
        "bare": bare_run,
        "artifacts": str(out / "artifacts"),
    }
    return figures, details


if __name__ == "__main__":
    if sys.argv[1] == "task":
        child.report(task(Path(sys.argv[2]), Path(sys.argv[3]), *sys.argv[4:7]))
    else:
        child.report(bare(Path(sys.argv[2]), Path(sys.argv[3])))

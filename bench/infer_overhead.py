"""Scenario 4: the whole infer task against a bare read + predict + write of the same rows.

On the mart of scenario 2's largest size and the model version scenario 3 trained, both in one moto
(`mock_aws` in this process), run alternately `repeats` times, the fastest of each counting:
- task: `infer run` (champion pointer, model and its schema, the features partition through its manifest
  with checksums, predictions partition with its manifest, old runs cleaned up);
- bare: GET the model and the partition's Parquet file, predict, PUT the predictions as one Parquet file.
"""

import io
import time
from datetime import date, timedelta
from pathlib import Path

import boto3
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import xgboost as xgb
from infer import cli as infer_cli

from bench.aws import S3Counter, create_buckets, mocked_aws, run_unit, upload_folder
from bench.results import Figure, at_most
from bench.train_overhead import FEATURES

TIME_GOAL = 1.5
BUCKETS = {"mart": "bench-infer-mart", "artifacts": "bench-infer-artifacts"}


def bare(s3, model_key: str, target: date) -> int:
    """Reads the model and the target day's features, predicts, writes the predictions; returns the rows."""
    booster = xgb.Booster()
    booster.load_model(bytearray(s3.get_object(Bucket=BUCKETS["artifacts"], Key=model_key)["Body"].read()))
    listing = s3.list_objects_v2(Bucket=BUCKETS["mart"], Prefix=f"features/dt={target}/run=")
    data_key = next(entry["Key"] for entry in listing["Contents"] if entry["Key"].endswith(".parquet"))
    body = s3.get_object(Bucket=BUCKETS["mart"], Key=data_key)["Body"].read()
    features = pq.read_table(pa.BufferReader(body))
    matrix = np.column_stack(
        [pc.cast(features[name], pa.float32()).to_numpy(zero_copy_only=False) for name in FEATURES]
    )
    predictions = booster.inplace_predict(matrix)
    table = features.select(["store_id", "item_id"]).append_column("prediction", pa.array(predictions))
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    s3.put_object(Bucket=BUCKETS["mart"], Key=f"bare-predictions/dt={target}/part-00000.zstd.parquet",
                  Body=buffer.getvalue())  # fmt: skip
    return table.num_rows


def timed(counter: S3Counter, action) -> dict:  # type: ignore[no-untyped-def]
    counter.reset()
    started = time.perf_counter()
    action()
    return {"seconds": time.perf_counter() - started, "s3_requests": counter.requests,
            "seconds_in_s3_calls": counter.seconds_in_calls}  # fmt: skip


def measure(mart: Path, artifacts: Path, run_date: date, repeats: int) -> tuple[list, dict]:
    target = run_date + timedelta(days=1)
    model_key = next(
        path.relative_to(artifacts).as_posix() for path in artifacts.glob("models/*/versions/*/model.ubj")
    )
    options = ["run", "--date", run_date.isoformat(), f"--mart-bucket={BUCKETS['mart']}",
               f"--artifacts-bucket={BUCKETS['artifacts']}"]  # fmt: skip
    runs: dict[str, list[dict]] = {"task": [], "bare": []}
    with mocked_aws() as counter:
        create_buckets(*BUCKETS.values())
        upload_folder(mart, BUCKETS["mart"])
        upload_folder(artifacts, BUCKETS["artifacts"])
        s3 = boto3.client("s3")
        rows = bare(s3, model_key, target)  # once before timing: the first calls pay for imports and caches
        run_unit(infer_cli.main, options)
        for _ in range(repeats):
            runs["task"].append(timed(counter, lambda: run_unit(infer_cli.main, options)))
            runs["bare"].append(timed(counter, lambda: bare(s3, model_key, target)))
    task, plain = (min(runs[case], key=lambda run: run["seconds"]) for case in ("task", "bare"))
    print(f"  task {task['seconds']:.3f} s, bare {plain['seconds']:.3f} s, {rows} rows", flush=True)
    figures = [
        at_most(
            "infer time, task / bare read + predict + write", task["seconds"] / plain["seconds"], TIME_GOAL
        ),
        Figure(f"infer time, task, {rows} rows", task["seconds"], "s"),
    ]
    details = {
        "target_date": target,
        "rows": rows,
        "repeats": repeats,
        "runs": runs,
        "task": task,
        "bare": plain,
    }
    return figures, details

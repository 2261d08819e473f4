"""The embedded end-to-end run behind `make demo`.

Starts the local AWS emulator, applies `terraform/envs/local` to it, lands simulated raw data, runs the three
units as the containers would (one process each, configured by environment variables), prints a summary and
copies what a person wants to open into an output folder. Everything it starts is stopped on success,
failure or Ctrl-C: the emulator lives in this process and every unit is a child process that
`subprocess.run` waits for.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import boto3
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import typer

from scripts.emulator import Emulator, aws_environment, terraform_env
from scripts.simulate import SimulationConfig, land, simulate, write_truth

UNIT_BIN = Path(sys.executable).parent


class StepFailed(Exception):
    """A unit exited non-zero; carries its exit code and the one line it printed."""

    def __init__(self, step: str, exit_code: int, error_line: str, log_path: Path):
        super().__init__(f"step '{step}' failed with exit code {exit_code}: {error_line} (log: {log_path})")
        self.exit_code = exit_code


@dataclass(frozen=True)
class DemoConfig:
    start: date
    days: int
    stores: int
    items: int
    seed: int
    out_dir: Path
    work_dir: Path

    @property
    def run_date(self) -> date:
        return self.start + timedelta(days=self.days - 1)

    @property
    def target_date(self) -> date:
        return self.run_date + timedelta(days=1)


@dataclass
class DemoResult:
    run_date: date
    target_date: date
    pipeline_seconds: float
    rows: dict[str, dict[str, int]] = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    oracle_wape: float = float("nan")
    promoted: bool = False
    model_version: str = ""
    predictions_csv: Path | None = None
    report_html: Path | None = None


def say(message: str) -> None:
    print(message, flush=True)


def run_unit(step: str, argv: list[str], env: dict[str, str], log_dir: Path) -> float:
    """Runs one unit's console script; its JSON log goes to a file, its failure becomes StepFailed."""
    log_path = log_dir / f"{step.replace(' ', '-')}.log"
    started = time.monotonic()
    with log_path.open("w") as log:
        completed = subprocess.run(
            [str(UNIT_BIN / argv[0]), *argv[1:]], env=env, stdout=log, stderr=subprocess.STDOUT, check=False
        )
    seconds = time.monotonic() - started
    if completed.returncode != 0:
        lines = log_path.read_text().strip().splitlines()
        errors = [line for line in lines if line.startswith(f"{argv[0]}: error:")]
        raise StepFailed(step, completed.returncode, (errors or lines or ["(no output)"])[-1], log_path)
    say(f"  {step:<36} done in {seconds:5.1f} s")
    return seconds


def read_json(s3, bucket: str, key: str) -> dict:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def read_manifests(s3, bucket: str) -> dict[str, list[dict]]:
    """Every committed partition of a bucket, grouped by table: the manifests are the contract's index."""
    tables: dict[str, list[dict]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            if obj["Key"].endswith("/_manifest.json"):
                manifest = read_json(s3, bucket, obj["Key"])
                tables.setdefault(manifest["table"], []).append(manifest)
    return tables


def read_partition(s3, bucket: str, manifest: dict) -> pa.Table:
    parts = [
        pq.read_table(pa.BufferReader(s3.get_object(Bucket=bucket, Key=f["key"])["Body"].read()))
        for f in manifest["files"]
    ]
    return pa.concat_tables(parts)


def wape(actual: pa.Array, predicted: pa.Array) -> float:
    actual_np = actual.to_numpy(zero_copy_only=False).astype(float)
    predicted_np = predicted.to_numpy(zero_copy_only=False).astype(float)
    return float(abs(actual_np - predicted_np).sum() / abs(actual_np).sum())


def oracle_wape(truth: pa.Table, first: date, last: date) -> float:
    """WAPE of the true expected demand against what was sold: the error the noise alone leaves."""
    in_window = pc.and_(pc.greater_equal(truth["date"], first), pc.less_equal(truth["date"], last))
    window = truth.filter(in_window)
    return wape(window["units_sold"], window["expected_units"])


def run_pipeline(config: DemoConfig, emulator: Emulator) -> DemoResult:
    config.work_dir.mkdir(parents=True, exist_ok=True)
    log_dir = config.work_dir / "logs"
    log_dir.mkdir(exist_ok=True)
    aws_env = aws_environment(emulator.endpoint)
    os.environ.update(aws_env)  # the Terraform and boto3 calls made from this process

    say("Applying terraform/envs/local to the emulator (about a minute: S3 lifecycle rules settle slowly)")
    started = time.monotonic()
    outputs = terraform_env(emulator.endpoint, config.work_dir / "terraform")
    say(f"  terraform apply                      done in {time.monotonic() - started:5.1f} s")
    unit_env = {**os.environ, **aws_env, **outputs["unit_environment"], "LOG_FORMAT": "json"}
    s3 = boto3.client("s3", endpoint_url=emulator.endpoint)

    simulation = simulate(
        SimulationConfig(
            start=config.start, days=config.days, stores=config.stores, items=config.items, seed=config.seed
        )
    )
    land(simulation, s3, outputs["bucket_names"]["lake"])
    write_truth(simulation, config.work_dir / "truth.parquet")
    say(f"Landed {len(simulation.raw_files)} raw files for {config.start} .. {config.run_date}")

    run_date, day_before = config.run_date.isoformat(), (config.run_date - timedelta(days=1)).isoformat()
    say(f"Running the pipeline for run date {run_date} (forecasting {config.target_date})")
    started = time.monotonic()
    steps = [
        ("preprocess backfill (history)", ["preprocess", "backfill", "--start", config.start.isoformat(),
                                           "--end", day_before]),
        ("preprocess run", ["preprocess", "run", "--date", run_date]),
        ("train run", ["train", "run", "--date", run_date]),
        ("infer run", ["infer", "run", "--date", run_date]),
    ]  # fmt: skip
    for step, argv in steps:
        run_unit(step, argv, unit_env, log_dir)
    result = DemoResult(config.run_date, config.target_date, time.monotonic() - started)

    collect_results(config, result, s3, outputs, simulation.truth)
    return result


def registered_at_committed_run(glue, database: str, bucket: str, manifests: list[dict]) -> int:
    """How many of the committed partitions Glue (what Athena reads) points at their manifest's run folder."""
    committed = {m["dt"]: f"s3://{bucket}/{m['table']}/dt={m['dt']}/run={m['run_id']}/" for m in manifests}
    table = manifests[0]["table"]
    pages = glue.get_paginator("get_partitions").paginate(DatabaseName=database, TableName=table)
    located = {
        partition["Values"][0]: partition["StorageDescriptor"]["Location"]
        for page in pages
        for partition in page["Partitions"]
    }
    return sum(located.get(dt) == location for dt, location in committed.items())


def collect_results(config: DemoConfig, result: DemoResult, s3, outputs: dict, truth: pa.Table) -> None:
    glue = boto3.client("glue")
    for layer in ("warehouse", "mart"):
        bucket = outputs["bucket_names"][layer]
        database = outputs["glue_database_names"][layer]
        for table, manifests in sorted(read_manifests(s3, bucket).items()):
            result.rows[f"{layer}.{table}"] = {
                "partitions": len(manifests),
                "rows": sum(m["rows"] for m in manifests),
                "registered": registered_at_committed_run(glue, database, bucket, manifests),
            }

    artifacts = outputs["bucket_names"]["artifacts"]
    champion = read_json(s3, artifacts, "models/demand/champion.json")
    result.model_version = champion["version"]
    version_prefix = f"models/demand/versions/{champion['version']}/"
    result.metrics = read_json(s3, artifacts, version_prefix + "metrics.json")
    version = read_json(s3, artifacts, version_prefix + "_version.json")
    result.promoted = bool(version["promoted"])
    validation = result.metrics["validation"]
    result.oracle_wape = oracle_wape(
        truth, date.fromisoformat(validation["first_date"]), date.fromisoformat(validation["last_date"])
    )

    if config.out_dir.exists():
        shutil.rmtree(config.out_dir)
    config.out_dir.mkdir(parents=True)
    mart = outputs["bucket_names"]["mart"]
    target = config.target_date.isoformat()
    manifest = read_json(s3, mart, f"predictions/dt={target}/_manifest.json")
    predictions = read_partition(s3, mart, manifest)
    result.predictions_csv = config.out_dir / f"predictions_{target}.csv"
    write_predictions_csv(predictions, truth, config.target_date, result.predictions_csv)

    report_dir = config.out_dir / "model-report"
    report_dir.mkdir()
    listing = s3.list_objects_v2(Bucket=artifacts, Prefix=version_prefix + "report/")
    for obj in listing.get("Contents", []):
        destination = report_dir / obj["Key"].removeprefix(version_prefix + "report/")
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(s3.get_object(Bucket=artifacts, Key=obj["Key"])["Body"].read())
    result.report_html = report_dir / "index.html"
    (config.out_dir / "summary.json").write_text(json.dumps(summary_record(result), indent=2, default=str))


def summary_record(result: DemoResult) -> dict:
    return {
        "run_date": result.run_date,
        "target_date": result.target_date,
        "pipeline_seconds": round(result.pipeline_seconds, 1),
        "rows": result.rows,
        "model_version": result.model_version,
        "promoted": result.promoted,
        "wape": {
            **{name: result.metrics["overall"][name]["wape"] for name in ("model", "seasonal_naive",
                                                                          "moving_average")},
            "oracle": result.oracle_wape,
        },
    }  # fmt: skip


def write_predictions_csv(predictions: pa.Table, truth: pa.Table, target: date, path: Path) -> None:
    """Predictions beside what the simulator knows happened, for a person to open in a spreadsheet."""
    truth_of_day = truth.filter(pc.equal(truth["date"], target))
    actual = {
        (s, i): (u, e)
        for s, i, u, e in zip(
            truth_of_day["store_id"].to_pylist(),
            truth_of_day["item_id"].to_pylist(),
            truth_of_day["units_sold"].to_pylist(),
            truth_of_day["expected_units"].to_pylist(),
            strict=True,
        )
    }
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["target_date", "store_id", "item_id", "prediction", "units_sold", "expected_units",
                     "model_version"])  # fmt: skip
    for row in predictions.to_pylist():
        units_sold, expected = actual.get((row["store_id"], row["item_id"]), (None, None))
        expected_text = f"{expected:.3f}" if expected is not None else ""
        writer.writerow([target, row["store_id"], row["item_id"], f"{row['prediction']:.3f}", units_sold,
                         expected_text, row["model_version"]])  # fmt: skip
    path.write_text(buffer.getvalue())


def print_summary(result: DemoResult, out_dir: Path) -> None:
    say("")
    say(f"Pipeline finished in {result.pipeline_seconds:.1f} s")
    say("Rows per layer (committed partitions):")
    for table, counts in result.rows.items():
        say(f"  {table:<22} {counts['partitions']:>4} partitions  {counts['rows']:>9,} rows")
    overall = result.metrics["overall"]
    validation = result.metrics["validation"]
    say(f"Model {result.model_version} ({'promoted to champion' if result.promoted else 'not promoted'}), "
        f"validation {validation['first_date']} .. {validation['last_date']}:")  # fmt: skip
    say(f"  {'':<18} {'WAPE':>7} {'MAE':>8} {'RMSE':>8}")
    for name in ("model", "seasonal_naive", "moving_average"):
        m = overall[name]
        say(f"  {name:<18} {m['wape']:7.3f} {m['mae']:8.3f} {m['rmse']:8.3f}")
    say(f"  {'oracle (truth)':<18} {result.oracle_wape:7.3f}")
    predictions = result.rows["mart.predictions"]
    registered = ", registered in Glue for Athena" if predictions["registered"] else ""
    say(f"Predictions for {result.target_date}: {predictions['rows']:,} rows{registered}")
    say(f"Results in {out_dir}/:")
    say(f"  {result.predictions_csv.relative_to(out_dir.parent) if result.predictions_csv else '-'}")
    say(f"  {result.report_html.relative_to(out_dir.parent) if result.report_html else '-'}")


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command()
def main(
    days: Annotated[int, typer.Option(help="Landing days of simulated history.", min=1)] = 100,
    stores: Annotated[int, typer.Option(help="Simulated stores.", min=1)] = 10,
    items: Annotated[int, typer.Option(help="Simulated items per store.", min=1)] = 50,
    seed: Annotated[int, typer.Option(help="Simulator seed.")] = 7,
    start: Annotated[str, typer.Option(help="First landing date, YYYY-MM-DD.")] = "2026-05-01",
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the results to open.")] = Path(
        "demo-output"
    ),
    work_dir: Annotated[Path, typer.Option(help="Scratch folder: Terraform state, logs.")] = Path(
        "build/demo"
    ),
) -> None:
    """Run preprocess -> train -> infer on a fresh local stack and print what happened."""
    config = DemoConfig(
        start=date.fromisoformat(start),
        days=days,
        stores=stores,
        items=items,
        seed=seed,
        out_dir=out_dir.resolve(),
        work_dir=work_dir.resolve(),
    )
    if config.work_dir.exists():
        shutil.rmtree(config.work_dir)
    try:
        with Emulator() as emulator:
            say(f"Local AWS emulator (moto) listening on {emulator.endpoint}")
            result = run_pipeline(config, emulator)
        print_summary(result, config.out_dir)
    except StepFailed as failure:
        print(f"demo: error: {failure}", file=sys.stderr)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        print("demo: interrupted; everything it started has been stopped", file=sys.stderr)
        raise typer.Exit(130) from None


if __name__ == "__main__":
    app()

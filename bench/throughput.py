"""Scenario 2: lake -> mart at three sizes, against a pandas script and against one DuckDB pass.

For each size the simulated source's raw files are written to a folder once; three cases then each run in
a process of their own (bench/child.py), timed and with their peak memory:
- ours: `preprocess backfill` over every landing day, against moto's `mock_aws` in that process (the lake
  uploaded from the folder before the clock starts), the real data unit with its checks and manifests;
- pandas: bench/pandas_baseline.py over the folder;
- one pass: DuckDB reads every raw file of the folder once and writes each source as one Parquet file, the
  least any engine must do with these bytes.
Ours keeps the mart it made (`{out}/mart/`), which scenarios 3 and 4 train and predict on.
"""

import contextlib
import cProfile
import pstats
import shutil
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from bench import child, pandas_baseline
from bench.aws import create_buckets, download_bucket, mocked_aws, run_unit, upload_folder
from bench.results import Figure, at_most
from scripts.simulate import SimulationConfig, simulate

START = date(2025, 1, 1)
PANDAS_GOAL = 0.2  # ours / pandas: at least 5 times faster
ONE_PASS_GOAL = 3.0
MEMORY_GOAL_BYTES = 16 * 2**30  # a Fargate task of 4 vCPU / 16 GB
BUCKETS = {layer: f"bench-throughput-{layer}" for layer in ("lake", "warehouse", "mart")}
CASES = ("ours", "pandas", "one-pass")
PROFILE_ENTRIES = 12
# The raw columns typed as the warehouse types them; the one pass reads, casts and writes nothing else.
ONE_PASS_COLUMNS = {
    "sales": "CAST(sale_date AS DATE) AS sale_date, store_id, item_id, "
    "CAST(units_sold AS BIGINT) AS units_sold",
    "prices": "CAST(valid_on AS DATE) AS valid_on, store_id, item_id, "
    "CAST(unit_price AS DOUBLE) AS unit_price, on_promotion = '1' AS on_promotion",
    "stores": "*",
    "items": "item_id, item_name, category, CAST(base_price AS DOUBLE) AS base_price",
    "holidays": "CAST(holiday_date AS DATE) AS holiday_date, holiday_name",
}


def write_lake(config: SimulationConfig, lake: Path) -> int:
    """The simulated source's raw files under `lake/{lake key}`; returns their data rows."""
    simulation = simulate(config)
    for key, body in simulation.raw_files.items():
        path = lake / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    return sum(simulation.row_counts.values())


def lake_files(lake: Path, source: str) -> list[Path]:
    return sorted(lake.glob(f"{source}/dt=*/*.csv*"))


def read_features(mart: Path) -> pa.Table:
    """The `features` partitions a backfill left in a mart folder, with `dt` from their keys."""
    dataset = ds.dataset(mart / "features", format="parquet", partitioning="hive", exclude_invalid_files=True)
    table = dataset.to_table().drop_columns(["run"])
    return table.set_column(table.schema.get_field_index("dt"), "dt", pc.cast(table["dt"], pa.date32()))


# -- the three cases, each run in its own process ------------------------------------------------------------


def ours(
    lake: Path, out: Path, first_day: str, last_day: str, profiler: cProfile.Profile | None = None
) -> dict:
    from preprocess import cli  # imported here, so the memory of the other cases does not count it

    options = [f"--{layer}-bucket={bucket}" for layer, bucket in BUCKETS.items()]
    with mocked_aws() as counter:
        create_buckets(*BUCKETS.values())
        upload_folder(lake, BUCKETS["lake"])
        rss_before = child.rss_bytes()
        counter.reset()
        started = time.perf_counter()
        with profiler or contextlib.nullcontext():
            run_unit(cli.main, ["backfill", "--start", first_day, "--end", last_day, *options])
        seconds = time.perf_counter() - started
        s3 = {"s3_requests": counter.requests, "seconds_in_s3_calls": counter.seconds_in_calls}
        download_bucket(BUCKETS["mart"], out / "mart")
    rows = read_features(out / "mart").num_rows
    return {"seconds": seconds, "rss_before_bytes": rss_before, "rows": rows, **s3}


def pandas(lake: Path, out: Path, last_day: str) -> dict:
    rss_before = child.rss_bytes()
    started = time.perf_counter()
    rows = pandas_baseline.run(lake, out / "pandas", last_day)
    return {"seconds": time.perf_counter() - started, "rss_before_bytes": rss_before, "rows": rows}


def one_pass(lake: Path, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    rss_before = child.rss_bytes()
    started = time.perf_counter()
    rows = 0
    with duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    ) as con:
        for source, columns in ONE_PASS_COLUMNS.items():
            files = ", ".join(f"'{path}'" for path in lake_files(lake, source))
            written = con.execute(
                f"COPY (SELECT {columns} FROM read_csv([{files}], header = true, all_varchar = true)) "
                f"TO '{out / source}.parquet' (FORMAT parquet, COMPRESSION zstd)"
            ).fetchone()
            rows += written[0]
    return {"seconds": time.perf_counter() - started, "rss_before_bytes": rss_before, "rows": rows}


def profiled(lake: Path, out: Path, first_day: str, last_day: str) -> dict:
    """Ours under cProfile (its main thread only: the publishing threads show as waits on a lock): the
    functions with the most time of their own, and preprocess's own functions with the most time in them."""
    profiler = cProfile.Profile()
    measured = ours(lake, out, first_day, last_day, profiler)
    entries = [
        {"function": f"{Path(file).name}:{line}({name})", "own_seconds": own, "seconds": total, "file": file}
        for (file, line, name), (_, _, own, total, _) in pstats.Stats(profiler).stats.items()  # type: ignore[attr-defined]
    ]
    ours_files = [
        entry for entry in entries if "/preprocess/" in entry["file"] and "cli.py" not in entry["file"]
    ]
    return {
        "seconds": measured["seconds"],
        "by_own_time": sorted(entries, key=lambda entry: -entry["own_seconds"])[:PROFILE_ENTRIES],
        "preprocess_by_time": sorted(ours_files, key=lambda entry: -entry["seconds"])[:PROFILE_ENTRIES],
    }


def run_case(case: str, lake: Path, out: Path, first_day: str, last_day: str) -> None:
    """The child's side: one case, its figures as the last line of stdout."""
    if case == "ours":
        child.report(ours(lake, out, first_day, last_day))
    elif case == "ours-profiled":
        child.report(profiled(lake, out / "profiled", first_day, last_day))
    elif case == "pandas":
        child.report(pandas(lake, out, last_day))
    else:
        child.report(one_pass(lake, out / "one-pass"))


# -- the parent ----------------------------------------------------------------------------------------------


def size_name(raw_rows: int) -> str:
    return f"{raw_rows / 1e6:.3g}M" if raw_rows >= 1e6 else f"{raw_rows / 1e3:.3g}k"


def measure(worlds: list[tuple[int, int, int]], workdir: Path, profile: bool) -> tuple[list, dict]:
    """`worlds`: (stores, items, days) of each size, smallest first; `profile`: also profile ours at the
    smallest size, in a run of its own (cProfile slows what it watches)."""
    runs = []
    for stores, items, days in worlds:
        config = SimulationConfig(start=START, days=days, stores=stores, items=items)
        folder = workdir / f"throughput-{stores}x{items}x{days}"
        shutil.rmtree(folder, ignore_errors=True)  # a mart of an earlier run would add its own partitions
        lake = folder / "lake"
        raw_rows = write_lake(config, lake)
        raw_bytes = sum(path.stat().st_size for path in lake_files(lake, "*"))
        first_day, last_day = START.isoformat(), config.last_landing_day.isoformat()
        measured = {}
        for case in CASES:
            measured[case] = child.run("bench.throughput", case, str(lake), str(folder), first_day, last_day)
            print(f"  {size_name(raw_rows)} raw rows, {case}: {measured[case]['seconds']:.1f} s, peak RSS "
                  f"{measured[case]['peak_rss_bytes'] / 2**20:,.0f} MiB", flush=True)  # fmt: skip
        runs.append(
            {"stores": stores, "items": items, "days": days, "raw_rows": raw_rows, "raw_bytes": raw_bytes,
             "mart": str(folder / "mart"), "last_day": last_day, "cases": measured}
        )  # fmt: skip
    details = {"runs": runs, "start": START}
    if profile:
        smallest = runs[0]
        folder = Path(smallest["mart"]).parent
        profiled_run = child.run("bench.throughput", "ours-profiled", str(folder / "lake"), str(folder),
                                 START.isoformat(), smallest["last_day"])  # fmt: skip
        details["profile"] = {"raw_rows": smallest["raw_rows"], **profiled_run}
    figures = []
    for run in runs:
        name, cases = size_name(run["raw_rows"]), run["cases"]
        figures += [
            at_most(f"lake -> mart time, ours / pandas, {name} raw rows",
                    cases["ours"]["seconds"] / cases["pandas"]["seconds"], PANDAS_GOAL),
            at_most(f"lake -> mart time, ours / one pass, {name} raw rows",
                    cases["ours"]["seconds"] / cases["one-pass"]["seconds"], ONE_PASS_GOAL),
        ]  # fmt: skip
    largest = runs[-1]
    peak = largest["cases"]["ours"]["peak_rss_bytes"]
    figures += [
        Figure(f"lake -> mart time, ours, {size_name(largest['raw_rows'])} raw rows",
               largest["cases"]["ours"]["seconds"], "s"),
        Figure(f"peak RSS, ours, {size_name(largest['raw_rows'])} raw rows", peak, "bytes", "<= 16 GiB",
               peak <= MEMORY_GOAL_BYTES),
    ]  # fmt: skip
    return figures, details


if __name__ == "__main__":
    run_case(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4], sys.argv[5])

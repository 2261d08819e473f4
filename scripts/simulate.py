"""The simulated source system: a retail chain that sends its daily raw files to the lake.

It draws sales per store x item x day from a known demand model (weekly and yearly seasonality, holidays,
prices, promotions), lands them as the lake contract says (docs/s3-layout.md, some sales rows days late),
and keeps the true expected demand, so that a forecast can be judged against the best possible one.

    python -m scripts.simulate --start 2026-01-01 --days 100 --lake-bucket batchml-local-lake \\
        --truth-out build/truth.parquet

With `--defects` the source misbehaves as real ones do (duplicates, malformed lines, absurd values, odd file
formats; scripts/simulation/defects.py lists them), and the ledger of every defect, with the quarantine
rule it should get, is written next to the truth (`build/truth.defects.parquet`).
"""

import io
import os
import sys
import traceback
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import typer
from botocore.exceptions import ClientError

from scripts.simulation.config import REALISTIC_DEFECTS, DefectRates, SimulationConfig, SimulatorError
from scripts.simulation.defects import lake_files
from scripts.simulation.demand import draw_demand, truth_table
from scripts.simulation.landing import landed_files
from scripts.simulation.world import build_world

__all__ = [
    "REALISTIC_DEFECTS",
    "DefectRates",
    "Simulation",
    "SimulationConfig",
    "SimulatorError",
    "defects_path",
    "land",
    "main",
    "simulate",
    "write_defects",
    "write_truth",
]

UNIT = "simulate"
# typer 0.29 vendors click: its usage errors (bad option, malformed date) derive from this class, not click's.
UsageError = next(cls for cls in typer.BadParameter.__mro__ if cls.__name__ == "UsageError")


@dataclass(frozen=True)
class Simulation:
    config: SimulationConfig
    raw_files: dict[str, bytes]  # lake key -> file bytes, in landing order
    row_counts: dict[str, int]  # lake key -> data rows in that file
    truth: pa.Table  # date, store_id, item_id, expected_units, units_sold, unit_price, on_promotion
    defects: pa.Table  # the defect ledger (scripts/simulation/defects.py), empty without defects


def simulate(config: SimulationConfig) -> Simulation:
    """Everything the source sends over `config.days` landing days, and the truth it was drawn from."""
    world = build_world(config)
    demand = draw_demand(config, world)
    files, ledger = lake_files(config, landed_files(config, world, demand))
    return Simulation(
        config=config,
        raw_files={file.key: file.body for file in files},
        row_counts={file.key: file.rows for file in files},
        truth=truth_table(world, demand),
        defects=ledger,
    )


def landing_date_of(key: str) -> date:
    """The `dt=` of a lake key: `sales/dt=2026-03-01/sales_2026-03-01.csv` -> 2026-03-01."""
    return date.fromisoformat(key.split("/")[1].removeprefix("dt="))


def land(simulation: Simulation, s3_client, lake_bucket: str, *, through: date | None = None) -> list[str]:
    """Upload the raw files in landing order (only those landed by `through`, if given); return their keys."""
    try:
        s3_client.head_bucket(Bucket=lake_bucket)
    except ClientError as error:
        raise SimulatorError(
            f"lake bucket {lake_bucket!r} is missing or not accessible (--lake-bucket / LAKE_BUCKET)",
            exit_code=2,
        ) from error
    landed = []
    for key, body in simulation.raw_files.items():
        if through is not None and landing_date_of(key) > through:
            continue
        s3_client.put_object(Bucket=lake_bucket, Key=key, Body=body, ContentType="text/csv; charset=utf-8")
        landed.append(key)
    return landed


def write_truth(simulation: Simulation, path: Path | str) -> None:
    """The truth as one zstd Parquet file, rows sorted by date, store_id, item_id."""
    buffer = io.BytesIO()
    pq.write_table(simulation.truth, buffer, compression="zstd")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())


def defects_path(truth_path: Path | str) -> Path:
    """The defect ledger next to the truth: `build/truth.parquet` -> `build/truth.defects.parquet`."""
    truth_path = Path(truth_path)
    return truth_path.with_name(f"{truth_path.stem}.defects.parquet")


def write_defects(simulation: Simulation, path: Path | str) -> None:
    """The defect ledger as one zstd Parquet file, in landing order, each file's lines in file order."""
    buffer = io.BytesIO()
    pq.write_table(simulation.defects, buffer, compression="zstd")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())


# ---- command line -----------------------------------------------------------------------------------------

app = typer.Typer(add_completion=False, help=__doc__.split("\n\n")[0])


@app.command()
def run(
    start: Annotated[
        datetime,
        typer.Option(formats=["%Y-%m-%d"], help="First landing day, YYYY-MM-DD.", envvar="SIM_START"),
    ],
    lake_bucket: Annotated[
        str, typer.Option(help="Lake bucket the raw files land in.", envvar="LAKE_BUCKET")
    ],
    days: Annotated[int, typer.Option(help="Number of landing days.", envvar="SIM_DAYS")] = 100,
    truth_out: Annotated[
        Path | None,
        typer.Option(
            help="Where to write the truth as Parquet (not written if absent).", envvar="SIM_TRUTH_OUT"
        ),
    ] = None,
    stores: Annotated[int, typer.Option(help="Number of stores (1..99).", envvar="SIM_STORES")] = 10,
    items: Annotated[int, typer.Option(help="Number of items (1..999).", envvar="SIM_ITEMS")] = 50,
    seed: Annotated[
        int, typer.Option(help="Random seed; the same seed gives the same files.", envvar="SIM_SEED")
    ] = 7,
    late_rate: Annotated[
        float, typer.Option(help="Share of sales rows that land late.", envvar="SIM_LATE_RATE")
    ] = 0.02,
    late_max_days: Annotated[
        int,
        typer.Option(
            help="Most days a late sales row lands after its sale date.", envvar="SIM_LATE_MAX_DAYS"
        ),
    ] = 3,
    defects: Annotated[
        bool,
        typer.Option(
            "--defects",
            help="Send realistic defects (REALISTIC_DEFECTS: below 1% quarantined rows per table and day) "
            "and write their ledger next to the truth.",
            envvar="SIM_DEFECTS",
        ),
    ] = False,
    through: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="Land only the files landed up to this day, YYYY-MM-DD.",
            envvar="SIM_THROUGH",
        ),
    ] = None,
) -> None:
    """Simulate the source and land its raw files in the lake bucket."""
    config = SimulationConfig(
        start=start.date(),
        days=days,
        stores=stores,
        items=items,
        seed=seed,
        late_rate=late_rate,
        late_max_days=late_max_days,
        defects=REALISTIC_DEFECTS if defects else DefectRates(),
    )
    simulation = simulate(config)
    landed = land(simulation, boto3.client("s3"), lake_bucket, through=through.date() if through else None)
    if truth_out is not None:
        write_truth(simulation, truth_out)
        if defects:
            write_defects(simulation, defects_path(truth_out))
    rows = sum(simulation.row_counts[key] for key in landed)
    size = sum(len(simulation.raw_files[key]) for key in landed)
    truth_note = f"; truth ({simulation.truth.num_rows} rows) in {truth_out}" if truth_out else ""
    if defects:
        where = f" (ledger in {defects_path(truth_out)})" if truth_out else ""
        truth_note += f"; {simulation.defects.num_rows} defects{where}"
    typer.echo(
        f"{UNIT}: landed {len(landed)} files, {rows} rows, {size} bytes in s3://{lake_bucket} "
        f"(landing days {config.start} .. {config.last_landing_day}){truth_note}"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the command line; every failure ends as one line on stderr and an exit code."""
    command = typer.main.get_command(app)
    try:
        return command.main(args=argv, prog_name=UNIT, standalone_mode=False) or 0
    except UsageError as error:
        return _fail(error.format_message(), 2)
    except (typer.Abort, KeyboardInterrupt):
        return _fail("interrupted", 130)
    except SimulatorError as error:
        return _fail(str(error), error.exit_code)
    except Exception as error:
        if os.environ.get("LOG_LEVEL", "").upper() == "DEBUG":
            traceback.print_exc()
        return _fail(f"unexpected {type(error).__name__}: {error}", 1)


def _fail(message: str, exit_code: int) -> int:
    print(f"{UNIT}: error: {' '.join(message.split())}", file=sys.stderr)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())

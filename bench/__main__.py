"""`python -m bench [all|daily-cost|throughput|train|infer|quality|cost-model|report]`: run scenarios, then
write docs/benchmarks.md and its plots.

Each scenario prints its figures against their goals and records them in build/bench/results.json; `report`
turns that file into docs/benchmarks.md. `--scale small` (BENCH_SCALE=small) is a quick run on a smaller
simulated world, for trying the benchmark out; the published figures come from the default scale.
"""

import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from bench import cost_model, daily_cost, quality, report, results

WORK_FOLDER = Path("build/bench/work")  # raw lakes, marts and model versions the scenarios hand on

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, help=__doc__)


class Scale(StrEnum):
    default = "default"
    small = "small"


@dataclass(frozen=True)
class Sizes:
    history_days: tuple[int, int]  # scenario 1: short and long history
    stores: int
    items: int
    repeats: int  # scenario 1: daily runs timed per lake; the fastest counts
    quality_days: int  # scenario 6: simulated landing days
    window_days: int  # scenario 6: train window, ending with the held-out days
    holdout_days: int
    throughput_worlds: tuple[tuple[int, int, int], ...]  # scenario 2: (stores, items, days), smallest first
    throughput_profile: bool  # scenario 2: profile ours at the smallest size, in a run of its own
    train_window: tuple[int, int]  # scenario 3: window and validation days, ending on the last landing day
    train_repeats: int  # scenario 3: runs of each case; the fastest counts
    infer_repeats: int  # scenario 4: runs of each case; the fastest counts


SIZES = {
    # Scenario 2 at 100k, 300k and 1M raw rows (docs/benchmarks.md says why not 5M and 20M).
    Scale.default: Sizes(
        history_days=(100, 1000),
        stores=10,
        items=50,
        repeats=5,
        quality_days=150,
        window_days=112,
        holdout_days=28,
        throughput_worlds=((10, 50, 100), (15, 100, 100), (25, 200, 100)),
        throughput_profile=True,
        train_window=(28, 7),
        train_repeats=3,
        infer_repeats=5,
    ),
    # The short history still covers the daily run's widest window (28-day lags plus the late window).
    # Scenario 2's one small world is long enough for every look-back (28 days), which tests/bench compares.
    Scale.small: Sizes(
        history_days=(60, 180),
        stores=5,
        items=20,
        repeats=3,
        quality_days=100,
        window_days=84,
        holdout_days=28,
        throughput_worlds=((2, 5, 30),),
        throughput_profile=False,
        train_window=(14, 7),
        train_repeats=1,
        infer_repeats=2,
    ),
}

ScaleOption = Annotated[
    Scale, typer.Option(envvar="BENCH_SCALE", help="default: the published sizes; small: a quick trial run.")
]


def record(scenario: str, title: str, measured: tuple[list, dict], scale: Scale) -> None:
    figures, details = measured
    results.show(title, figures)
    results.save(scenario, figures, {**details, "scale": scale.value})


@app.command("daily-cost")
def daily_cost_command(scale: ScaleOption = Scale.default) -> None:
    """Scenario 1: the daily preprocess run after a short and after a long history."""
    sizes = SIZES[scale]
    print(f"Scenario 1: daily run after {sizes.history_days[0]} and {sizes.history_days[1]} days of history")
    measured = daily_cost.measure(*sizes.history_days, sizes.stores, sizes.items, sizes.repeats)
    record("daily_cost", "Scenario 1: daily cost vs history length", measured, scale)


@app.command("throughput")
def throughput_command(scale: ScaleOption = Scale.default) -> None:
    """Scenario 2: lake -> mart at three sizes, against pandas and against one DuckDB pass."""
    from bench import throughput  # pandas is a dev tool the other scenarios do not need

    worlds = SIZES[scale].throughput_worlds
    print(f"Scenario 2: lake -> mart, {len(worlds)} sizes")
    record(
        "throughput",
        "Scenario 2: throughput of lake -> mart",
        throughput.measure(list(worlds), WORK_FOLDER, SIZES[scale].throughput_profile),
        scale,
    )


def largest_mart() -> tuple[Path, date]:
    """Scenario 2's mart at its largest size and that world's last landing day, for scenarios 3 and 4."""
    run = results.load().get("throughput", {}).get("details", {}).get("runs", [None])[-1]
    if run is None or not Path(run["mart"]).is_dir():
        raise RuntimeError(
            "scenarios 3 and 4 use the mart of scenario 2: run `python -m bench throughput` first"
        )
    start = date.fromisoformat(results.load()["throughput"]["details"]["start"])
    return Path(run["mart"]), start + timedelta(days=run["days"] - 1)


@app.command("train")
def train_command(scale: ScaleOption = Scale.default) -> None:
    """Scenario 3: the train task vs bare xgboost.train on the same matrix, params and rounds."""
    from bench import train_overhead

    mart, run_date = largest_mart()
    window, validation = SIZES[scale].train_window
    print(f"Scenario 3: train on {window} days ending {run_date}, the last {validation} for validation")
    repeats = SIZES[scale].train_repeats
    measured = train_overhead.measure(mart, run_date, window, validation, repeats, WORK_FOLDER / "train")
    record("train", "Scenario 3: train task vs bare xgboost.train", measured, scale)


@app.command("infer")
def infer_command(scale: ScaleOption = Scale.default) -> None:
    """Scenario 4: the infer task vs a bare read + predict + write of the same rows."""
    from bench import infer_overhead

    mart, run_date = largest_mart()
    trained = results.load().get("train", {}).get("details", {}).get("artifacts")
    if trained is None or not Path(trained).is_dir():
        raise RuntimeError("scenario 4 uses the model of scenario 3: run `python -m bench train` first")
    print(f"Scenario 4: infer for {run_date}, {SIZES[scale].infer_repeats} runs of each case")
    measured = infer_overhead.measure(mart, Path(trained), run_date, SIZES[scale].infer_repeats)
    record("infer", "Scenario 4: infer task vs bare read + predict + write", measured, scale)


@app.command("quality")
def quality_command(scale: ScaleOption = Scale.default) -> None:
    """Scenario 6: WAPE of the model, seasonal naive and the oracle on a held-out month."""
    sizes = SIZES[scale]
    print(f"Scenario 6: train on {sizes.window_days} days, the last {sizes.holdout_days} held out")
    measured = quality.measure(
        sizes.quality_days, sizes.stores, sizes.items, sizes.window_days, sizes.holdout_days
    )
    record("quality", "Scenario 6: model quality", measured, scale)


@app.command("cost-model")
def cost_model_command(scale: ScaleOption = Scale.default) -> None:
    """Scenario 5: the monthly bill from scenarios 1 and 6's measured times and bytes."""
    figures, details = cost_model.measure(results.load())
    print(cost_model.table(details["lines"]))
    record("cost_model", "Scenario 5: cost model", (figures, details), scale)


@app.command("report")
def report_command() -> None:
    """Write docs/benchmarks.md from build/bench/results.json."""
    path = report.write(results.load())
    print(f"wrote {path}")


@app.command("all")
def all_command(scale: ScaleOption = Scale.default) -> None:
    """Every scenario of this package, then the report."""
    started = time.perf_counter()
    daily_cost_command(scale)
    throughput_command(scale)
    train_command(scale)
    infer_command(scale)
    quality_command(scale)
    cost_model_command(scale)
    report_command()
    print(f"bench: done in {time.perf_counter() - started:.0f} s")


def main(argv: list[str] | None = None) -> int:
    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="bench", standalone_mode=False)
    except typer.Exit as done:  # --help
        return done.exit_code
    except typer.TyperException as usage:  # typer's own click: unknown option or value
        print(f"bench: error: {usage.format_message()}", file=sys.stderr)
        return 2
    except RuntimeError as failure:
        print(f"bench: error: {' '.join(str(failure).split())}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

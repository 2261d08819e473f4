"""`python -m bench [all|daily-cost|quality|cost-model|report]`: run scenarios, then write docs/benchmarks.md.

Each scenario prints its figures against their goals and records them in build/bench/results.json; `report`
turns that file into docs/benchmarks.md. `--scale small` (BENCH_SCALE=small) is a quick run on a smaller
simulated world, for trying the benchmark out; the published figures come from the default scale.
"""

import sys
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

import typer

from bench import cost_model, daily_cost, quality, report, results

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


SIZES = {
    Scale.default: Sizes((100, 1000), 10, 50, 5, 150, 112, 28),
    # The short history still covers the daily run's widest window (28-day lags plus the late window).
    Scale.small: Sizes((60, 180), 5, 20, 3, 100, 84, 28),
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

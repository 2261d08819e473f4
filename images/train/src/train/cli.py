"""`train run --date D`: the unit's command line, a thin shell over `pipeline.run_training`.

Options become one frozen TrainConfig; failures become an exit code (docs/cli.md) and one line on stderr.
"""

import os
import sys
from enum import StrEnum
from typing import Annotated

import typer

from train import config as defaults
from train import logs
from train.config import TrainConfig, parse_run_date
from train.errors import ConfigError, TrainError
from train.pipeline import run_training
from train.storage import Storage

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


class LogFormat(StrEnum):
    auto = "auto"
    json = "json"
    text = "text"


@app.callback()
def _root() -> None:  # a callback keeps `run` a subcommand: `train run`, not `train`
    """Train the demand model on the mart's labelled features and publish a model version."""


@app.command()
def run(
    run_date: Annotated[
        str,
        typer.Option("--date", envvar="RUN_DATE", help="Run date YYYY-MM-DD: the last day of the window."),
    ],
    mart_bucket: Annotated[str, typer.Option(envvar="MART_BUCKET", help="Mart bucket holding `features`.")],
    artifacts_bucket: Annotated[
        str,
        typer.Option(envvar="ARTIFACTS_BUCKET", help="Artifacts bucket for model versions and the champion."),
    ],
    model_name: Annotated[
        str, typer.Option(envvar="MODEL_NAME", help="Model name in the artifacts layout.")
    ] = defaults.DEFAULT_MODEL_NAME,
    window_days: Annotated[
        int,
        typer.Option(envvar="TRAIN_WINDOW_DAYS", help="Labelled feature days used, ending at the run date."),
    ] = defaults.DEFAULT_WINDOW_DAYS,
    validation_days: Annotated[
        int, typer.Option(envvar="VALIDATION_DAYS", help="Last days of the window held out for validation.")
    ] = defaults.DEFAULT_VALIDATION_DAYS,
    seed: Annotated[int, typer.Option(envvar="SEED", help="Random seed.")] = defaults.DEFAULT_SEED,
    promotion_margin: Annotated[
        float,
        typer.Option(
            envvar="PROMOTION_MARGIN",
            help="Relative WAPE improvement needed over the champion and the best baseline to be promoted.",
        ),
    ] = defaults.DEFAULT_PROMOTION_MARGIN,
    log_format: Annotated[
        LogFormat, typer.Option(envvar="LOG_FORMAT", help="auto (JSON unless on a terminal), json or text.")
    ] = LogFormat.auto,
) -> None:
    """Train on the labelled features of the window ending at the run date; promote if the gate passes."""
    logs.configure(log_format.value, _log_level())
    config = TrainConfig(
        run_date=parse_run_date(run_date),
        mart_bucket=mart_bucket,
        artifacts_bucket=artifacts_bucket,
        model_name=model_name,
        window_days=window_days,
        validation_days=validation_days,
        seed=seed,
        promotion_margin=promotion_margin,
    )
    storage = Storage()
    for bucket, env_var in (
        (config.mart_bucket, "MART_BUCKET"),
        (config.artifacts_bucket, "ARTIFACTS_BUCKET"),
    ):
        if not storage.bucket_exists(bucket):
            raise ConfigError(f"bucket '{bucket}' ({env_var}) does not exist or is not reachable")
    result = run_training(config, storage)
    print(result.summary)


def _log_level() -> str:
    # Not an option: docs/cli.md names LOG_LEVEL only as the switch that makes failures log a traceback.
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    if level not in logs.LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(logs.LOG_LEVELS)}, got {level!r}")
    return level


def _fail(exit_code: int, message: str) -> int:
    print(f"{logs.UNIT}: error: {' '.join(message.split())}", file=sys.stderr)
    return exit_code


def main(argv: list[str] | None = None) -> int:
    """The console script: runs the typer app and turns every outcome into an exit code."""
    command = typer.main.get_command(app)
    try:
        outcome = command.main(args=argv, prog_name=logs.UNIT, standalone_mode=False)
    except typer.Exit as done:  # --help
        return done.exit_code
    except typer.Abort:
        return _fail(130, "interrupted")
    except typer.TyperException as usage:  # typer's own click: unknown option, bad or missing value
        return _fail(usage.exit_code, usage.format_message())
    except TrainError as failure:
        logs.debug("failed", str(failure), exc_info=True)
        return _fail(failure.exit_code, str(failure))
    except Exception as failure:  # a bug or an AWS failure that retries did not cure
        logs.debug("crashed", repr(failure), exc_info=True)
        return _fail(1, f"unexpected {type(failure).__name__}: {failure}")
    return outcome if isinstance(outcome, int) else 0


if __name__ == "__main__":
    sys.exit(main())

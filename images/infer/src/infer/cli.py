"""`infer run --date D`: predicts features dt=D+1 into predictions dt=D+1 (docs/cli.md).

A thin shell: options (or their environment variables) become one InferConfig; the outcome becomes an exit
code and, on failure, one line on stderr.
"""

from __future__ import annotations

import os
import sys
from datetime import date
from enum import StrEnum
from typing import Annotated

import typer
from botocore.exceptions import BotoCoreError, ClientError

from infer import UNIT, aws, layout, lock, pipeline, storage
from infer.config import DEFAULT_MODEL_NAME, InferConfig, parse_date
from infer.errors import InferError
from infer.glue import glue_client
from infer.layout import new_run_id
from infer.logs import configure, log_event, logger

# Recent typer vendors click (typer._click) instead of importing it; its usage errors (unknown option,
# malformed or missing value, missing command) share this base with typer.BadParameter either way.
UsageError = next(cls for cls in typer.BadParameter.__mro__ if cls.__name__ == "UsageError")


class LogFormat(StrEnum):
    auto = "auto"
    json = "json"
    text = "text"


def _date_option(text: str) -> date:
    try:
        return parse_date(text)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


app = typer.Typer(
    add_completion=False,
    rich_markup_mode=None,  # plain help and errors: main() prints errors as one line
    pretty_exceptions_enable=False,
)


@app.callback()
def unit() -> None:
    """Predict one day of demand with the champion model and publish it to the mart.

    Exit codes: 0 done, 1 unexpected error, 2 bad usage or configuration, 3 data failed its checks
    (nothing published), 4 a required input is missing (features partition, champion, model version).
    """


@app.command()
def run(
    run_date: Annotated[
        date,
        typer.Option(
            "--date",
            parser=_date_option,
            metavar="YYYY-MM-DD",
            envvar="RUN_DATE",
            help="Run date D; predicts the features partition of D + 1 into predictions dt=D + 1.",
        ),
    ],
    mart_bucket: Annotated[
        str, typer.Option(envvar="MART_BUCKET", help="Mart bucket: reads features, writes predictions.")
    ],
    artifacts_bucket: Annotated[
        str, typer.Option(envvar="ARTIFACTS_BUCKET", help="Artifacts bucket holding model versions.")
    ],
    model_name: Annotated[
        str, typer.Option(envvar="MODEL_NAME", help="Model name in the artifacts layout.")
    ] = DEFAULT_MODEL_NAME,
    model_version: Annotated[
        str | None,
        typer.Option(envvar="MODEL_VERSION", help="Pin this model version instead of the champion."),
    ] = None,
    glue_database_prefix: Annotated[
        str | None,
        typer.Option(
            envvar="GLUE_DATABASE_PREFIX",
            help="When set, the predictions partition is registered in the Glue table "
            "{prefix}_mart.predictions after the commit (Athena's view of it).",
        ),
    ] = None,
    log_format: Annotated[
        LogFormat,
        typer.Option(envvar="LOG_FORMAT", help="auto (JSON unless stderr is a terminal), json or text."),
    ] = LogFormat.auto,
) -> None:
    """Predict the features partition of the day after the run date with the champion (or pinned) model."""
    # LOG_LEVEL is not an option (docs/cli.md lists the options); DEBUG adds tracebacks to the log.
    configure(log_format.value, os.environ.get("LOG_LEVEL", "INFO"))
    config = InferConfig(
        run_date=run_date,
        mart_bucket=mart_bucket,
        artifacts_bucket=artifacts_bucket,
        model_name=model_name,
        model_version=model_version or None,  # an empty MODEL_VERSION means "not pinned"
        glue_database_prefix=glue_database_prefix or None,  # empty: no registration
    )
    s3 = storage.s3_client()
    storage.require_bucket(s3, config.mart_bucket, "MART_BUCKET")
    storage.require_bucket(s3, config.artifacts_bucket, "ARTIFACTS_BUCKET")

    run_id = new_run_id()
    log_event(
        "run_started",
        f"predicting {config.target_date} for run date {config.run_date}",
        run_id=run_id,
        run_date=config.run_date.isoformat(),
        dt=config.target_date.isoformat(),
        model_name=config.model_name,
        model_version=config.model_version or "champion",
    )
    glue = glue_client() if config.glue_database_prefix else None
    with lock.held(s3, config.mart_bucket, layout.lock_key(config.run_date), run_id):
        summary = pipeline.run(config, s3, run_id, glue)
    log_event(
        "predictions_published",
        f"wrote {summary.rows} predictions for {summary.target_date} with model "
        f"{summary.model_name} {summary.model_version} to {summary.manifest_uri}",
        run_id=run_id,
        run_date=config.run_date.isoformat(),
        table="predictions",
        dt=summary.target_date.isoformat(),
        rows=summary.rows,
        model_name=summary.model_name,
        model_version=summary.model_version,
    )


def _fail(exit_code: int, message: str) -> int:
    one_line = " ".join(message.split())
    print(f"{UNIT}: error: {one_line}", file=sys.stderr)
    return exit_code


def main(argv: list[str] | None = None) -> int:
    """Console script entry point; returns the exit code (the generated script passes it to sys.exit)."""
    command = typer.main.get_command(app)
    try:
        # standalone_mode=False: click raises usage errors instead of printing its multi-line usage block.
        result = command.main(args=argv, prog_name=UNIT, standalone_mode=False)
    except UsageError as error:
        return _fail(2, error.format_message())
    except InferError as error:
        logger.debug("failed", exc_info=True, extra={"event": "failed", "context": {}})
        return _fail(error.exit_code, str(error))
    except (ClientError, BotoCoreError) as error:  # an AWS failure the SDK's retries did not cure
        logger.debug("aws call failed", exc_info=True, extra={"event": "aws_call_failed", "context": {}})
        return _fail(1, aws.describe(error))
    except (KeyboardInterrupt, typer.Abort):
        return _fail(130, "interrupted")
    except Exception as error:
        logger.debug("unexpected error", exc_info=True, extra={"event": "unexpected_error", "context": {}})
        return _fail(1, f"unexpected {type(error).__name__}: {error}")
    return result if isinstance(result, int) else 0

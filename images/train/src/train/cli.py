"""`train run --date D` and the model registry commands (`versions`, `promote`, `rollback`): the unit's
command line, a thin shell over `pipeline.run_training` and `registry`.

Options become one frozen config; failures become an exit code (docs/cli.md) and one line on stderr.
"""

import json
import os
import sys
from dataclasses import asdict
from enum import StrEnum
from typing import Annotated

import typer
from botocore.exceptions import BotoCoreError, ClientError

from train import aws, layout, lock, logs, memory, registry
from train import config as defaults
from train.config import RegistryConfig, TrainConfig, parse_run_date, parse_version
from train.errors import ConfigError, NotPromotedError, TrainError
from train.pipeline import run_training
from train.storage import Storage

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


class LogFormat(StrEnum):
    auto = "auto"
    json = "json"
    text = "text"


class MemoryMode(StrEnum):
    auto = memory.AUTO
    in_memory = memory.IN_MEMORY
    external = memory.EXTERNAL


# Options every command takes.
ArtifactsBucket = Annotated[
    str, typer.Option(envvar="ARTIFACTS_BUCKET", help="Artifacts bucket for model versions and the champion.")
]
ModelName = Annotated[str, typer.Option(envvar="MODEL_NAME", help="Model name in the artifacts layout.")]
LogFormatOption = Annotated[
    LogFormat, typer.Option(envvar="LOG_FORMAT", help="auto (JSON unless on a terminal), json or text.")
]


@app.callback()
def _root() -> None:  # a callback keeps `run` a subcommand: `train run`, not `train`
    """Train the demand model on the mart's labelled features and publish a model version; list, promote
    and roll back its versions."""


@app.command()
def run(
    run_date: Annotated[
        str,
        typer.Option("--date", envvar="RUN_DATE", help="Run date YYYY-MM-DD: the last day of the window."),
    ],
    mart_bucket: Annotated[str, typer.Option(envvar="MART_BUCKET", help="Mart bucket holding `features`.")],
    artifacts_bucket: ArtifactsBucket,
    model_name: ModelName = defaults.DEFAULT_MODEL_NAME,
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
    memory_mode: Annotated[
        MemoryMode,
        typer.Option(
            envvar="TRAIN_MEMORY_MODE",
            help="in-memory, external (stream batches through a disk cache) or auto (chosen from the "
            "window's rows and the memory limit).",
        ),
    ] = MemoryMode.auto,
    memory_limit_mib: Annotated[
        int | None,
        typer.Option(
            envvar="TRAIN_MEMORY_LIMIT_MIB",
            help="Memory the task may use, in MiB, for the auto mode. [default: the cgroup limit, else the "
            "machine's memory]",
        ),
    ] = None,
    cache_dir: Annotated[
        str | None,
        typer.Option(
            envvar="TRAIN_CACHE_DIR",
            help="Folder for the external-memory cache (removed after the fit). [default: the temp folder]",
        ),
    ] = None,
    fail_if_not_promoted: Annotated[
        bool,
        typer.Option(
            envvar="FAIL_IF_NOT_PROMOTED",
            help="Exit 5 when the new version is published but not promoted (instead of 0).",
        ),
    ] = False,
    mlflow_tracking_uri: Annotated[
        str | None,
        typer.Option(
            envvar="MLFLOW_TRACKING_URI",
            help="Also log the run to this MLflow tracking server. [default: no MLflow tracking]",
        ),
    ] = None,
    mlflow_experiment_name: Annotated[
        str | None,
        typer.Option(envvar="MLFLOW_EXPERIMENT_NAME", help="MLflow experiment. [default: the model name]"),
    ] = None,
    log_format: LogFormatOption = LogFormat.auto,
) -> None:
    """Train on the labelled features of the window ending at the run date; promote if the gate passes."""
    logs.configure(log_format.value, _log_level())
    if memory_limit_mib is None:
        memory_limit_bytes, limit_source = memory.detect_memory_limit()
    else:
        memory_limit_bytes, limit_source = memory_limit_mib * memory.MIB, "TRAIN_MEMORY_LIMIT_MIB"
    if cache_dir is not None and not (os.path.isdir(cache_dir) and os.access(cache_dir, os.W_OK)):
        raise ConfigError(f"cache folder '{cache_dir}' (TRAIN_CACHE_DIR) is not a writable folder")
    config = TrainConfig(
        run_date=parse_run_date(run_date),
        mart_bucket=mart_bucket,
        artifacts_bucket=artifacts_bucket,
        model_name=model_name,
        window_days=window_days,
        validation_days=validation_days,
        seed=seed,
        promotion_margin=promotion_margin,
        memory_mode=memory_mode.value,
        memory_limit_bytes=memory_limit_bytes,
        cache_dir=cache_dir,
        fail_if_not_promoted=fail_if_not_promoted,
        mlflow_tracking_uri=mlflow_tracking_uri or None,
        mlflow_experiment_name=mlflow_experiment_name or None,
    )
    storage = Storage()
    _require_buckets(
        storage, {"MART_BUCKET": config.mart_bucket, "ARTIFACTS_BUCKET": config.artifacts_bucket}
    )
    logs.info(
        "memory_limit_read",
        f"memory limit {memory_limit_bytes // memory.MIB} MiB ({limit_source})",
        memory_limit_mib=memory_limit_bytes // memory.MIB,
        source=limit_source,
    )
    lock_key = layout.lock_key(config.run_date)
    with lock.held(storage.client, config.artifacts_bucket, lock_key, config.run_id):
        result = run_training(config, storage)
    print(result.summary)
    if config.fail_if_not_promoted and not result.promoted:
        raise NotPromotedError(
            f"version {result.version} was published but not promoted and FAIL_IF_NOT_PROMOTED is set "
            f"({result.reason})"
        )


@app.command()
def versions(
    artifacts_bucket: ArtifactsBucket,
    model_name: ModelName = defaults.DEFAULT_MODEL_NAME,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list instead of a table.")] = False,
    log_format: LogFormatOption = LogFormat.auto,
) -> None:
    """List the model's committed versions, newest first: the gate's verdict, WAPE and the champion."""
    config, storage = _registry_setup(artifacts_bucket, model_name, log_format)
    summaries = registry.list_versions(storage, config.artifacts_bucket, config.model_name)
    if as_json:
        print(json.dumps([asdict(summary) for summary in summaries], indent=2))
    else:
        print(registry.versions_table(summaries))


@app.command()
def promote(
    version: Annotated[
        str, typer.Option("--version", envvar="MODEL_VERSION", help="The committed version to make champion.")
    ],
    artifacts_bucket: ArtifactsBucket,
    model_name: ModelName = defaults.DEFAULT_MODEL_NAME,
    log_format: LogFormatOption = LogFormat.auto,
) -> None:
    """Make a committed version champion, whatever the gate said of it."""
    config, storage = _registry_setup(artifacts_bucket, model_name, log_format)
    change = registry.promote(
        storage, config.artifacts_bucket, config.model_name, parse_version(version), registry.PROMOTED_BY_HAND
    )
    _report_change(change)


@app.command()
def rollback(
    artifacts_bucket: ArtifactsBucket,
    model_name: ModelName = defaults.DEFAULT_MODEL_NAME,
    log_format: LogFormatOption = LogFormat.auto,
) -> None:
    """Make the champion before the current one champion again."""
    config, storage = _registry_setup(artifacts_bucket, model_name, log_format)
    _report_change(registry.rollback(storage, config.artifacts_bucket, config.model_name))


def _require_buckets(storage: Storage, buckets: dict[str, str]) -> None:
    for env_var, bucket in buckets.items():
        if not storage.bucket_exists(bucket):
            raise ConfigError(f"bucket '{bucket}' ({env_var}) does not exist or is not reachable")


def _registry_setup(
    artifacts_bucket: str, model_name: str, log_format: LogFormat
) -> tuple[RegistryConfig, Storage]:
    logs.configure(log_format.value, _log_level())
    config = RegistryConfig(artifacts_bucket=artifacts_bucket, model_name=model_name)
    storage = Storage()
    _require_buckets(storage, {"ARTIFACTS_BUCKET": config.artifacts_bucket})
    return config, storage


def _report_change(change: registry.PointerChange) -> None:
    if change.changed:
        logs.info("champion_changed", change.summary, version=change.version, replaced=change.replaced)
    print(change.summary)


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
    except (ClientError, BotoCoreError) as failure:  # an AWS failure the SDK's retries did not cure
        logs.debug("aws_call_failed", repr(failure), exc_info=True)
        return _fail(1, aws.describe(failure))
    except Exception as failure:  # a bug
        logs.debug("crashed", repr(failure), exc_info=True)
        return _fail(1, f"unexpected {type(failure).__name__}: {failure}")
    return outcome if isinstance(outcome, int) else 0


if __name__ == "__main__":
    sys.exit(main())

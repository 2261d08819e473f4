"""`preprocess run` / `preprocess backfill`: options -> one RunConfig -> the pipeline -> an exit code.

Every failure ends as one line on stderr, `preprocess: error: <message>`, and the exit code of docs/cli.md.
"""

import os
import re
import sys
import time
from datetime import date
from enum import StrEnum
from typing import Annotated

import typer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from typer.exceptions import TyperException

from preprocess import UNIT, aws, layout, lock, logs, pipeline
from preprocess.athena import AthenaEngine, PartitionRegistry, glue_databases, staging_uri_of_workgroup
from preprocess.catalog import Catalog
from preprocess.config import DEFAULT_LATE_WINDOW_DAYS, Buckets, RunConfig
from preprocess.engine import EmbeddedEngine, Engine
from preprocess.errors import ConfigError, PreprocessError
from preprocess.storage import Storage

app = typer.Typer(
    name=UNIT,
    help="Make the data: raw CSV in the lake -> typed Parquet in the warehouse -> features in the mart.",
    add_completion=False,
    pretty_exceptions_enable=False,
)


class EngineKind(StrEnum):
    embedded = "embedded"
    athena = "athena"


class LogFormat(StrEnum):
    auto = "auto"
    json = "json"
    text = "text"


def parse_date(text: str) -> date:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise typer.BadParameter(f"{text!r} is not a date YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a calendar date") from None


def _date_option(flag: str, envvar: str, help_text: str):
    return typer.Option(flag, envvar=envvar, help=help_text, parser=parse_date, metavar="YYYY-MM-DD")


LakeBucket = Annotated[str, typer.Option(envvar="LAKE_BUCKET", help="Lake bucket: raw files as received.")]
WarehouseBucket = Annotated[
    str, typer.Option(envvar="WAREHOUSE_BUCKET", help="Warehouse bucket: typed, deduplicated tables.")
]
MartBucket = Annotated[str, typer.Option(envvar="MART_BUCKET", help="Mart bucket: the features table.")]
LateWindowDays = Annotated[
    int,
    typer.Option(
        envvar="LATE_WINDOW_DAYS", min=0, help="How many days after its business date a raw row may land."
    ),
]
LogFormatOption = Annotated[
    LogFormat,
    typer.Option(envvar="LOG_FORMAT", help="auto: JSON lines unless stderr is a terminal; json; text."),
]
EngineOption = Annotated[
    EngineKind,
    typer.Option(
        envvar="ENGINE",
        help="Where the SQL runs: embedded (DuckDB in this process) or athena (the workgroup).",
    ),
]
AthenaWorkgroup = Annotated[
    str | None, typer.Option(envvar="ATHENA_WORKGROUP", help="Athena workgroup of the athena engine.")
]
GlueDatabasePrefix = Annotated[
    str | None,
    typer.Option(
        envvar="GLUE_DATABASE_PREFIX",
        help="Glue databases are {prefix}_lake, _warehouse, _mart; when set, published partitions are "
        "registered in them (required by the athena engine).",
    ),
]
DryRun = Annotated[
    bool,
    typer.Option("--dry-run", help="Print the SQL the run would execute (Athena's dialect); write nothing."),
]


@app.command()
def run(
    run_date: Annotated[
        date, _date_option("--date", "RUN_DATE", "Run date: process what landed on this day.")
    ],
    lake_bucket: LakeBucket,
    warehouse_bucket: WarehouseBucket,
    mart_bucket: MartBucket,
    late_window_days: LateWindowDays = DEFAULT_LATE_WINDOW_DAYS,
    log_format: LogFormatOption = LogFormat.auto,
    dry_run: DryRun = False,
    engine: EngineOption = EngineKind.embedded,
    athena_workgroup: AthenaWorkgroup = None,
    glue_database_prefix: GlueDatabasePrefix = None,
) -> None:
    """Process what landed on one day: the same as a backfill from that day to that day."""
    buckets = Buckets(lake_bucket, warehouse_bucket, mart_bucket)
    config = RunConfig(
        run_date,
        run_date,
        buckets,
        late_window_days,
        dry_run,
        engine.value,
        athena_workgroup,
        glue_database_prefix,
    )
    execute(config, log_format)


@app.command()
def backfill(
    start: Annotated[date, _date_option("--start", "BACKFILL_START", "First landing date of the backfill.")],
    end: Annotated[date, _date_option("--end", "BACKFILL_END", "Last landing date of the backfill.")],
    lake_bucket: LakeBucket,
    warehouse_bucket: WarehouseBucket,
    mart_bucket: MartBucket,
    late_window_days: LateWindowDays = DEFAULT_LATE_WINDOW_DAYS,
    log_format: LogFormatOption = LogFormat.auto,
    dry_run: DryRun = False,
    engine: EngineOption = EngineKind.embedded,
    athena_workgroup: AthenaWorkgroup = None,
    glue_database_prefix: GlueDatabasePrefix = None,
) -> None:
    """Process everything that landed from --start to --end in one pass."""
    buckets = Buckets(lake_bucket, warehouse_bucket, mart_bucket)
    config = RunConfig(
        start, end, buckets, late_window_days, dry_run, engine.value, athena_workgroup, glue_database_prefix
    )
    execute(config, log_format)


BUCKET_ENV_VARS = (("lake", "LAKE_BUCKET"), ("warehouse", "WAREHOUSE_BUCKET"), ("mart", "MART_BUCKET"))


def check_buckets(storage: Storage, buckets: Buckets) -> None:
    for layer, env_var in BUCKET_ENV_VARS:
        if not storage.bucket_exists(buckets.of(layer)):
            raise ConfigError(
                f"{layer} bucket {buckets.of(layer)!r} does not exist or is not reachable ({env_var})"
            )


def execute(config: RunConfig, log_format: LogFormat) -> None:
    logs.configure(log_format.value, debug=os.environ.get("LOG_LEVEL", "").upper() == "DEBUG")
    started = time.monotonic()
    storage = Storage.connect()
    check_buckets(storage, config.buckets)
    catalog = Catalog(storage, config)
    plan = pipeline.make_plan(config, storage, catalog)
    if config.dry_run:
        for sql_name, sql in pipeline.rendered_sql(plan):
            print(f"-- {sql_name}.sql\n{sql.rstrip()};\n")
        return
    if not plan.queries:
        logs.warning(
            "nothing_landed", f"no raw files landed from {config.start} to {config.end}; nothing to do"
        )
        return
    registry = None
    if config.glue_database_prefix:
        registry = PartitionRegistry(
            aws.client("glue", AWS_RETRIES), glue_databases(config.glue_database_prefix)
        )
    engine = make_engine(config, storage, catalog)
    run_id = layout.new_run_id()
    lock_key = layout.lock_key(config.start, config.end)
    with lock.held(storage.client, config.buckets.warehouse, lock_key, run_id):
        published = pipeline.run(config, storage, catalog, engine, plan, registry, run_id)
    summary = ", ".join(f"{table} {count}" for table, count in published.items())
    logs.info(
        "run_finished",
        f"published partitions: {summary} in {time.monotonic() - started:.1f} s",
        partitions=published,
        seconds=round(time.monotonic() - started, 2),
    )


# Athena throttles frequent polling and Glue batch calls; the SDK's standard retries absorb that.
AWS_RETRIES = Config(retries={"mode": "standard", "max_attempts": 10})


def make_engine(config: RunConfig, storage: Storage, catalog: Catalog) -> Engine:
    if config.engine == EngineKind.embedded:
        return EmbeddedEngine(catalog)
    athena = aws.client("athena", AWS_RETRIES)
    staging = staging_uri_of_workgroup(athena, config.athena_workgroup)
    return AthenaEngine(
        athena, storage.client, config.athena_workgroup, staging, glue_databases(config.glue_database_prefix)
    )


def _fail(exit_code: int, message: str) -> None:
    print(f"{UNIT}: error: {' '.join(message.split())}", file=sys.stderr)
    sys.exit(exit_code)


def main(argv: list[str] | None = None) -> None:
    command = typer.main.get_command(app)
    try:
        exit_code = command.main(args=argv, prog_name=UNIT, standalone_mode=False)
    except TyperException as error:  # typer's (vendored click's) usage errors carry exit code 2
        _fail(error.exit_code, error.format_message())
    except (typer.Abort, KeyboardInterrupt):
        _fail(130, "interrupted")
    except PreprocessError as error:
        _fail(error.exit_code, str(error))
    except (ClientError, BotoCoreError) as error:  # an AWS failure the SDK's retries did not cure
        logs.debug_traceback("aws_call_failed", str(error))
        _fail(1, aws.describe(error))
    except Exception as error:
        logs.debug_traceback("unexpected_error", str(error))
        _fail(1, f"unexpected {type(error).__name__}: {error}")
    sys.exit(exit_code if isinstance(exit_code, int) else 0)

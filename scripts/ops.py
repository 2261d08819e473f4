"""The operator CLI: what ran, what failed and why, and re-running or backfilling dates.

    python -m scripts.ops [--env dev] status
    python -m scripts.ops run --date 2026-03-01 [--monthly]
    python -m scripts.ops backfill --start 2026-02-01 --end 2026-02-28
    python -m scripts.ops logs --execution <execution ARN>

Where things are (buckets, state machines, the cluster) comes from `terraform output -json stack` of the env
(`--env`), or from a file holding that JSON (`--stack-outputs`, e.g. saved by CI). AWS credentials and region
are the standard SDK settings (`AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL` for the emulator).
"""

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import boto3
import typer
from botocore.exceptions import BotoCoreError, ClientError

REPO_ROOT = Path(__file__).resolve().parents[1]
EMULATOR_DIR = REPO_ROOT / "build" / "emulator"  # scripts/emulator.py's default work dir
ENVS = ("local", "dev", "prod")
UNITS = ("preprocess", "train", "infer")
WORKFLOWS = ("daily", "monthly", "backfill")
# Every table past the raw lake, by bucket (docs/s3-layout.md, "Tables").
TABLES = {
    "warehouse": ("sales", "prices", "stores", "items", "holidays", "quarantine"),
    "mart": ("features", "predictions"),
}
MANIFEST = "_manifest.json"
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_MISSING = 4


class OpsError(Exception):
    """Carries the exit code and the one line to print."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class OpsSettings:
    """Names of the deployed stack the commands need."""

    buckets: dict[str, str]
    state_machine_arns: dict[str, str]
    cluster_name: str
    model_name: str
    region: str | None

    @property
    def log_groups(self) -> dict[str, str]:
        # The batch module names the log groups `/ecs/{name_prefix}/{unit}` and the cluster `name_prefix`.
        return {unit: f"/ecs/{self.cluster_name}/{unit}" for unit in UNITS}


def settings_from_outputs(outputs: dict[str, Any], model_name: str, region: str | None) -> OpsSettings:
    try:
        return OpsSettings(
            buckets=dict(outputs["bucket_names"]),
            state_machine_arns=dict(outputs["state_machine_arns"]),
            cluster_name=outputs["cluster_name"],
            model_name=model_name,
            region=region,
        )
    except (KeyError, TypeError) as error:
        raise OpsError(
            f"the stack outputs lack {error}: not `terraform output -json stack`?", EXIT_CONFIG
        ) from None


def stack_outputs_of_env(env: str, emulator_dir: Path = EMULATOR_DIR) -> dict[str, Any]:
    """`terraform output -json stack` of terraform/envs/{env}; for local, of the state `make emulator` keeps
    in `emulator_dir` (its `.terraform` names that state)."""
    environment = dict(os.environ)
    if env == "local":
        environment["TF_DATA_DIR"] = str(emulator_dir / ".terraform")
    env_dir = REPO_ROOT / "terraform" / "envs" / env
    command = ["terraform", f"-chdir={env_dir}", "output", "-no-color", "-json", "stack"]
    try:
        result = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise OpsError("terraform is not on PATH (or pass --stack-outputs)", EXIT_CONFIG) from None
    if result.returncode != 0:
        errors = [line for line in result.stderr.splitlines() if line.lstrip("│ ").startswith("Error:")]
        reason = errors[0].lstrip("│ ") if errors else f"exit code {result.returncode}"
        raise OpsError(
            f"`terraform output` of envs/{env} failed: {reason} (deployed? initialised?)", EXIT_CONFIG
        )
    return json.loads(result.stdout)


def stack_outputs_of_file(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise OpsError(f"cannot read the stack outputs {path}: {error}", EXIT_CONFIG) from None
    # Accept both `terraform output -json stack` and `terraform output -json` (which wraps it).
    return document["stack"]["value"] if "stack" in document else document


################################################################################
# status
################################################################################


@dataclass(frozen=True)
class PartitionStatus:
    table: str
    dt: str | None
    rows: int | None
    run_id: str | None
    checks_failed: list[str]
    checks_passed: int


def latest_partition(s3: Any, bucket: str, layer: str, table: str) -> PartitionStatus:
    """The latest committed partition of a table: the greatest `dt=` folder that has a manifest."""
    paginator = s3.get_paginator("list_objects_v2")
    folders = [
        prefix["Prefix"]
        for page in paginator.paginate(Bucket=bucket, Prefix=f"{table}/dt=", Delimiter="/")
        for prefix in page.get("CommonPrefixes", [])
    ]
    for folder in sorted(folders, reverse=True):
        try:
            body = s3.get_object(Bucket=bucket, Key=f"{folder}{MANIFEST}")["Body"].read()
        except ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
                continue  # a run that never committed
            raise
        manifest = json.loads(body)
        checks = manifest.get("checks", [])
        return PartitionStatus(
            table=f"{layer}.{table}",
            dt=manifest.get("dt"),
            rows=manifest.get("rows"),
            run_id=manifest.get("run_id"),
            checks_failed=[str(check.get("rule")) for check in checks if check.get("passed") is False],
            checks_passed=sum(check.get("passed") is True for check in checks),
        )
    return PartitionStatus(f"{layer}.{table}", None, None, None, [], 0)


def describe_partition(status: PartitionStatus) -> str:
    if status.dt is None:
        return f"{status.table:<22} no committed partition"
    checks = f"{status.checks_passed} checks passed"
    if status.checks_failed:
        checks += f", FAILED: {', '.join(status.checks_failed)}"
    elif status.checks_passed == 0:
        checks = "no checks recorded"
    return f"{status.table:<22} dt={status.dt}  rows={status.rows}  run={status.run_id}  {checks}"


def read_json(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except ClientError as error:
        if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
            return None
        raise


def model_lines(s3: Any, bucket: str, model_name: str) -> list[str]:
    """The champion and its metrics, and the latest committed version with its gate decision."""
    lines = []
    champion = read_json(s3, bucket, f"models/{model_name}/champion.json")
    if champion is None:
        lines.append(f"champion {model_name}: none yet")
    else:
        lines.append(
            f"champion {model_name}: version {champion.get('version')} promoted {champion.get('promoted_at')}"
        )
        lines.extend(f"  {line}" for line in metric_lines(champion.get("metrics", {})))
    versions_prefix = f"models/{model_name}/versions/"
    paginator = s3.get_paginator("list_objects_v2")
    versions = [
        prefix["Prefix"]
        for page in paginator.paginate(Bucket=bucket, Prefix=versions_prefix, Delimiter="/")
        for prefix in page.get("CommonPrefixes", [])
    ]
    for folder in sorted(versions, reverse=True):
        committed = read_json(s3, bucket, f"{folder}_version.json")
        if committed is None:
            continue  # an abandoned train run
        decision = "promoted" if committed.get("promoted") else "NOT promoted"
        lines.append(
            f"latest version: {committed.get('version')} (run date {committed.get('run_date')}): "
            f"{decision}: {committed.get('reason')}"
        )
        break
    return lines


def metric_lines(metrics: dict[str, Any], prefix: str = "") -> list[str]:
    """Nested metrics flattened to `name: value` lines, numbers rounded for reading."""
    lines = []
    for name, value in sorted(metrics.items()):
        if isinstance(value, dict):
            lines.extend(metric_lines(value, f"{prefix}{name}."))
        elif isinstance(value, float):
            lines.append(f"{prefix}{name}: {value:.4g}")
        else:
            lines.append(f"{prefix}{name}: {value}")
    return lines


def execution_lines(sfn: Any, state_machine_arns: dict[str, str], count: int) -> list[str]:
    lines = []
    for workflow in WORKFLOWS:
        arn = state_machine_arns.get(workflow)
        if arn is None:
            continue
        executions = sfn.list_executions(stateMachineArn=arn, maxResults=count)["executions"]
        if not executions:
            lines.append(f"{workflow:<9} no executions")
        for execution in executions:
            stopped = execution.get("stopDate")
            lines.append(
                f"{workflow:<9} {execution['status']:<10} started {_utc(execution['startDate'])}"
                f"{f'  stopped {_utc(stopped)}' if stopped else ''}  {execution['executionArn']}"
            )
    return lines


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def status(settings: OpsSettings, session: boto3.Session, executions: int) -> list[str]:
    s3 = session.client("s3")
    lines = ["Tables (latest committed partition and its data-quality checks):"]
    for layer, tables in TABLES.items():
        lines.extend(
            f"  {describe_partition(latest_partition(s3, settings.buckets[layer], layer, t))}" for t in tables
        )
    lines.append("Model:")
    lines.extend(f"  {line}" for line in model_lines(s3, settings.buckets["artifacts"], settings.model_name))
    lines.append(f"Executions (last {executions} per workflow):")
    sfn = session.client("stepfunctions")
    lines.extend(f"  {line}" for line in execution_lines(sfn, settings.state_machine_arns, executions))
    return lines


################################################################################
# run, backfill
################################################################################


def parse_date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise OpsError(f"{option} must be a date YYYY-MM-DD, got {value!r}", EXIT_CONFIG) from None


def backfill_dates(start: date, end: date) -> list[str]:
    if end < start:
        raise OpsError(f"--end {end} is before --start {start}", EXIT_CONFIG)
    return [(start + timedelta(days=offset)).isoformat() for offset in range((end - start).days + 1)]


def execution_name(kind: str, label: str, now: datetime) -> str:
    # Names are unique per state machine for 90 days: the time of the request keeps a re-run distinct.
    return f"{kind}-{label}-{now.strftime('%Y%m%dT%H%M%SZ')}"


def start(session: boto3.Session, state_machine_arn: str, name: str, payload: dict[str, Any]) -> str:
    sfn = session.client("stepfunctions")
    return sfn.start_execution(stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload))[
        "executionArn"
    ]


################################################################################
# logs
################################################################################


def task_ids_by_unit(history_events: list[dict[str, Any]], cluster_name: str) -> dict[str, list[str]]:
    """ECS task ids of an execution, by unit, from the outputs (`TaskArn`, `TaskDefinitionArn`) that
    `ecs:runTask.sync` states record in the execution history."""
    found: dict[str, list[str]] = {}
    for event in history_events:
        for details in event.values():
            if not isinstance(details, dict) or "output" not in details:
                continue
            try:
                task = json.loads(details["output"])
            except (TypeError, json.JSONDecodeError):
                continue
            if not isinstance(task, dict) or "TaskArn" not in task:
                continue
            family = task.get("TaskDefinitionArn", "").rsplit("/", 1)[-1].split(":")[0]
            unit = family.removeprefix(f"{cluster_name}-")
            task_id = task["TaskArn"].rsplit("/", 1)[-1]
            if unit in UNITS and task_id not in found.get(unit, []):
                found.setdefault(unit, []).append(task_id)
    return found


def execution_logs(settings: OpsSettings, session: boto3.Session, execution_arn: str) -> list[str]:
    """The units' log events of one execution, oldest first, as `[unit] message` lines.

    The tasks' own streams (`{unit}/{unit}/{task id}`, the awslogs driver's names) when the execution
    history names the tasks; otherwise every event of the units' log groups during the execution."""
    sfn = session.client("stepfunctions")
    try:
        execution = sfn.describe_execution(executionArn=execution_arn)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code in ("ExecutionDoesNotExist", "InvalidArn"):
            raise OpsError(f"no execution {execution_arn}", EXIT_MISSING) from None
        raise
    history = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        history.extend(page["events"])
    tasks = task_ids_by_unit(history, settings.cluster_name)
    started = execution["startDate"]
    stopped = execution.get("stopDate") or datetime.now(UTC)
    window = {
        "startTime": int(started.timestamp() * 1000),
        "endTime": int(stopped.timestamp() * 1000) + 1,
    }
    logs = session.client("logs")
    events: list[tuple[int, str, str]] = []
    for unit, group in settings.log_groups.items():
        if tasks and unit not in tasks:
            continue  # the unit did not run in this execution
        streams = {"logStreamNames": [f"{unit}/{unit}/{task}" for task in tasks[unit]]} if tasks else {}
        try:
            for page in logs.get_paginator("filter_log_events").paginate(
                logGroupName=group, **window, **streams
            ):
                events.extend((event["timestamp"], unit, event["message"]) for event in page["events"])
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
    scope = "the tasks' streams" if tasks else "every event of the units' log groups during the execution"
    header = f"# {execution['name']} {execution['status']} ({scope})"
    return [header, *(f"[{unit}] {message}" for _, unit, message in sorted(events))]


################################################################################
# CLI
################################################################################

app = typer.Typer(add_completion=False, help="Operate a deployed environment: status, runs, backfills, logs.")


@dataclass(frozen=True)
class Options:
    env: str
    stack_outputs: Path | None
    model_name: str


@dataclass(frozen=True)
class Connection:
    settings: OpsSettings
    session: boto3.Session


@app.callback()
def configure(
    ctx: typer.Context,
    env: Annotated[
        str,
        typer.Option(
            help="environment whose `terraform output` to use: local, dev or prod", envvar="OPS_ENV"
        ),
    ] = "dev",
    stack_outputs: Annotated[
        Path | None,
        typer.Option(
            help="a file with `terraform output -json stack` (instead of running terraform)",
            envvar="STACK_OUTPUTS",
        ),
    ] = None,
    model_name: Annotated[
        str, typer.Option(help="model name in the artifacts layout", envvar="MODEL_NAME")
    ] = "demand",
) -> None:
    """Where the stack is, for every command (read when a command runs, so `--help` needs no terraform)."""
    ctx.obj = Options(env, stack_outputs, model_name)


def connect(options: Options) -> Connection:
    if options.stack_outputs is not None:
        outputs = stack_outputs_of_file(options.stack_outputs)
    elif options.env in ENVS:
        outputs = stack_outputs_of_env(options.env)
    else:
        raise OpsError(f"--env must be one of {', '.join(ENVS)}, got {options.env!r}", EXIT_CONFIG)
    region = boto3.Session().region_name or outputs_region(outputs)
    settings = settings_from_outputs(outputs, options.model_name, region)
    return Connection(settings, boto3.Session(region_name=region))


def outputs_region(outputs: dict[str, Any]) -> str | None:
    """The region from a state machine ARN (`arn:aws:states:{region}:...`), when the SDK has none."""
    arns = list(outputs.get("state_machine_arns", {}).values())
    return arns[0].split(":")[3] if arns else None


@app.command("status")
def status_command(
    ctx: typer.Context,
    executions: Annotated[
        int, typer.Option(help="how many recent executions to show per workflow", envvar="OPS_EXECUTIONS")
    ] = 3,
) -> None:
    """Latest partition and its checks per table, champion model and metrics, recent executions."""
    connection = connect(ctx.obj)
    print("\n".join(status(connection.settings, connection.session, executions)))


@app.command("run")
def run_command(
    ctx: typer.Context,
    run_date: Annotated[str, typer.Option("--date", help="run date YYYY-MM-DD", envvar="RUN_DATE")],
    monthly: Annotated[
        bool,
        typer.Option("--monthly", help="the monthly workflow (preprocess, train, infer)", envvar="MONTHLY"),
    ] = False,
) -> None:
    """Start the daily (or monthly) workflow for one run date."""
    day = parse_date(run_date, "--date")
    connection = connect(ctx.obj)
    workflow = "monthly" if monthly else "daily"
    name = execution_name(workflow, day.isoformat(), datetime.now(UTC))
    state_machine = connection.settings.state_machine_arns[workflow]
    arn = start(connection.session, state_machine, name, {"run_date": day.isoformat()})
    print(arn)


@app.command("backfill")
def backfill_command(
    ctx: typer.Context,
    start_date: Annotated[
        str, typer.Option("--start", help="first landing date YYYY-MM-DD", envvar="BACKFILL_START")
    ],
    end_date: Annotated[
        str, typer.Option("--end", help="last landing date YYYY-MM-DD", envvar="BACKFILL_END")
    ],
) -> None:
    """Start the backfill workflow: preprocess for every date from --start to --end (inclusive)."""
    dates = backfill_dates(parse_date(start_date, "--start"), parse_date(end_date, "--end"))
    connection = connect(ctx.obj)
    name = execution_name("backfill", f"{dates[0]}-{dates[-1]}", datetime.now(UTC))
    arn = start(
        connection.session, connection.settings.state_machine_arns["backfill"], name, {"dates": dates}
    )
    print(arn)


@app.command("logs")
def logs_command(
    ctx: typer.Context,
    execution: Annotated[
        str, typer.Option(help="execution ARN (from `status` or `run`)", envvar="EXECUTION_ARN")
    ],
) -> None:
    """The units' CloudWatch log events of one workflow execution, oldest first."""
    connection = connect(ctx.obj)
    print("\n".join(execution_logs(connection.settings, connection.session, execution)))


def main(argv: list[str] | None = None) -> int:
    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="python -m scripts.ops", standalone_mode=False)
    except OpsError as error:
        print(f"ops: error: {error}", file=sys.stderr)
        return error.exit_code
    except typer.Exit as done:  # --help
        return done.exit_code
    except typer.TyperException as error:  # typer's click: unknown option, bad or missing value
        print(f"ops: error: {error.format_message()}", file=sys.stderr)
        return EXIT_CONFIG
    except (BotoCoreError, ClientError) as error:
        print(f"ops: error: AWS call failed: {error}", file=sys.stderr)
        return EXIT_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main())

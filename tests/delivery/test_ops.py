"""`scripts/ops.py` against envs/local applied to the emulator (one apply shared with test_local_env.py, see
tests/conftest.py), with manifests, model versions and log events put where the units would put them."""

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scripts import ops
from scripts.emulator import aws_environment
from tests.terraform.helpers import AppliedEnv, emulator_client

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_ID = "20260302T230000Z-1a2b3c4d"


@dataclass(frozen=True)
class Stack:
    endpoint: str
    work_dir: Path
    outputs: dict[str, Any]
    outputs_file: Path

    def client(self, service: str) -> Any:
        return emulator_client(self.endpoint, service)

    def bucket(self, layer: str) -> str:
        return self.outputs["bucket_names"][layer]


@pytest.fixture(scope="module")
def stack(local_stack: AppliedEnv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    outputs_file = tmp_path_factory.mktemp("ops") / "stack.json"
    outputs_file.write_text(json.dumps(local_stack.outputs))
    stack = Stack(local_stack.endpoint, local_stack.work_dir, local_stack.outputs, outputs_file)
    seed(stack)
    yield stack
    # The stack is shared with tests/terraform/test_local_env.py, which runs next: leave the buckets empty
    # (they are versioned: every version goes, so no delete marker is left either).
    s3 = stack.client("s3")
    for bucket in stack.outputs["bucket_names"].values():
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            for found in page.get("Versions", []) + page.get("DeleteMarkers", []):
                s3.delete_object(Bucket=bucket, Key=found["Key"], VersionId=found["VersionId"])


@pytest.fixture(autouse=True)
def aws_settings(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in aws_environment(stack.endpoint).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("OPS_ENV", "STACK_OUTPUTS", "MODEL_NAME", "RUN_DATE", "BACKFILL_START", "BACKFILL_END"):
        monkeypatch.delenv(name, raising=False)


def manifest(table: str, dt: str, rows: int, checks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"manifest_version": 1, "table": table, "dt": dt, "run_id": RUN_ID, "rows": rows, "files": [],
            "checks": checks}  # fmt: skip


def put_json(stack: Stack, layer: str, key: str, document: dict[str, Any]) -> None:
    stack.client("s3").put_object(Bucket=stack.bucket(layer), Key=key, Body=json.dumps(document).encode())


def seed(stack: Stack) -> None:
    passed = [{"rule": "reject_ratio", "passed": True}, {"rule": "row_volume", "passed": True}]
    put_json(
        stack, "warehouse", "sales/dt=2026-03-01/_manifest.json", manifest("sales", "2026-03-01", 500, passed)
    )
    breached = [{"rule": "reject_ratio", "passed": True}, {"rule": "row_volume", "passed": False}]
    put_json(
        stack,
        "warehouse",
        "sales/dt=2026-03-02/_manifest.json",
        manifest("sales", "2026-03-02", 90, breached),
    )
    # A run that wrote data and never committed: not the latest partition.
    stack.client("s3").put_object(
        Bucket=stack.bucket("warehouse"),
        Key=f"sales/dt=2026-03-03/run={RUN_ID}/part-00000.zstd.parquet",
        Body=b"x",
    )
    put_json(
        stack, "mart", "features/dt=2026-03-03/_manifest.json", manifest("features", "2026-03-03", 1200, [])
    )
    models = "models/demand"
    champion_metrics = {"model": {"wape": 0.2134567}, "baselines": {"seasonal_naive": {"wape": 0.31}}}
    champion = {
        "model_name": "demand",
        "version": "20260201T230000Z-00000001",
        "promoted_at": "2026-02-01T23:10:00Z",
        "metrics": champion_metrics,
    }
    put_json(stack, "artifacts", f"{models}/champion.json", champion)
    put_json(stack, "artifacts", f"{models}/versions/20260201T230000Z-00000001/_version.json",
             {"version": "20260201T230000Z-00000001", "run_date": "2026-02-01", "promoted": True,
              "reason": "no champion yet"})  # fmt: skip
    put_json(stack, "artifacts", f"{models}/versions/20260301T230000Z-00000002/_version.json",
             {"version": "20260301T230000Z-00000002", "run_date": "2026-03-01", "promoted": False,
              "reason": "WAPE 0.25 is not better than the champion's 0.2135"})  # fmt: skip
    # An abandoned train run (no _version.json): ignored.
    put_json(stack, "artifacts", f"{models}/versions/20260302T230000Z-00000003/params.json", {})


def run_ops(capsys: pytest.CaptureFixture[str], stack: Stack, *args: str) -> tuple[int, str, str]:
    exit_code = ops.main(["--stack-outputs", str(stack.outputs_file), *args])
    captured = capsys.readouterr()
    return exit_code, captured.out, captured.err


def test_run_starts_the_daily_workflow_with_the_run_date(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    exit_code, out, err = run_ops(capsys, stack, "run", "--date", "2026-03-01")

    assert (exit_code, err) == (0, "")
    execution = stack.client("stepfunctions").describe_execution(executionArn=out.strip())
    assert execution["stateMachineArn"] == stack.outputs["state_machine_arns"]["daily"]
    assert json.loads(execution["input"]) == {"run_date": "2026-03-01"}


def test_run_monthly_starts_the_monthly_workflow(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    exit_code, out, _ = run_ops(capsys, stack, "run", "--date", "2026-03-01", "--monthly")

    assert exit_code == 0
    execution = stack.client("stepfunctions").describe_execution(executionArn=out.strip())
    assert execution["stateMachineArn"] == stack.outputs["state_machine_arns"]["monthly"]


def test_backfill_starts_one_execution_with_every_date_of_the_range(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    exit_code, out, _ = run_ops(capsys, stack, "backfill", "--start", "2026-02-27", "--end", "2026-03-02")

    assert exit_code == 0
    execution = stack.client("stepfunctions").describe_execution(executionArn=out.strip())
    assert execution["stateMachineArn"] == stack.outputs["state_machine_arns"]["backfill"]
    assert json.loads(execution["input"]) == {
        "dates": ["2026-02-27", "2026-02-28", "2026-03-01", "2026-03-02"]
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--date", "2026-02-30"], "ops: error: --date must be a date YYYY-MM-DD, got '2026-02-30'"),
        (["backfill", "--start", "2026-03-02", "--end", "2026-03-01"],
         "ops: error: --end 2026-03-01 is before --start 2026-03-02"),
        (["run", "--date", "2026-03-01", "--weekly"], "ops: error: No such option: --weekly"),
    ],
)  # fmt: skip
def test_bad_usage_is_one_line_and_exit_2_and_starts_nothing(
    stack: Stack, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    sfn = stack.client("stepfunctions")
    before = {arn: len(sfn.list_executions(stateMachineArn=arn)["executions"])
              for arn in stack.outputs["state_machine_arns"].values()}  # fmt: skip

    exit_code, out, err = run_ops(capsys, stack, *args)

    assert (exit_code, out, err) == (2, "", message + "\n")
    after = {arn: len(sfn.list_executions(stateMachineArn=arn)["executions"]) for arn in before}
    assert after == before


def test_status_shows_partitions_checks_model_and_executions(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    _, started, _ = run_ops(capsys, stack, "run", "--date", "2026-03-02")

    exit_code, out, err = run_ops(capsys, stack, "status", "--executions", "5")

    assert (exit_code, err) == (0, "")
    lines = out.splitlines()
    sales = next(line for line in lines if "warehouse.sales" in line)
    assert "dt=2026-03-02" in sales and "rows=90" in sales
    assert "1 checks passed, FAILED: row_volume" in sales
    assert "no committed partition" in next(line for line in lines if "warehouse.prices" in line)
    features = next(line for line in lines if "mart.features" in line)
    assert "dt=2026-03-03" in features and "no checks recorded" in features
    assert "champion demand: version 20260201T230000Z-00000001 promoted 2026-02-01T23:10:00Z" in out
    assert "    model.wape: 0.2135" in lines
    assert "    baselines.seasonal_naive.wape: 0.31" in lines
    assert (
        "  latest version: 20260301T230000Z-00000002 (run date 2026-03-01): NOT promoted: "
        "WAPE 0.25 is not better than the champion's 0.2135"
    ) in lines
    daily = [line for line in lines if line.strip().startswith("daily")]
    assert any(started.strip() in line and "RUNNING" in line for line in daily)


def test_logs_shows_the_units_events_during_the_execution_in_time_order(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    logs = stack.client("logs")
    cluster = stack.outputs["cluster_name"]
    before_start = int(time.time() * 1000) - 3_600_000
    logs.create_log_stream(
        logGroupName=f"/ecs/{cluster}/preprocess", logStreamName="preprocess/preprocess/old"
    )
    logs.put_log_events(
        logGroupName=f"/ecs/{cluster}/preprocess",
        logStreamName="preprocess/preprocess/old",
        logEvents=[{"timestamp": before_start, "message": '{"event": "yesterday"}'}],
    )
    _, execution_arn, _ = run_ops(capsys, stack, "run", "--date", "2026-03-03")
    now = int(time.time() * 1000)
    for unit, offset, event in [("infer", 2, "predictions_published"), ("preprocess", 1, "run_started")]:
        group, stream = f"/ecs/{cluster}/{unit}", f"{unit}/{unit}/task{offset}"
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        message = json.dumps({"level": "info", "unit": unit, "event": event, "run_date": "2026-03-03"})
        logs.put_log_events(logGroupName=group, logStreamName=stream,
                            logEvents=[{"timestamp": now + offset, "message": message}])  # fmt: skip

    exit_code, out, err = run_ops(capsys, stack, "logs", "--execution", execution_arn.strip())

    assert (exit_code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("# daily-2026-03-03-") and "RUNNING" in lines[0]
    assert [line.split()[0] for line in lines[1:]] == ["[preprocess]", "[infer]"]
    assert '"event": "run_started"' in lines[1]
    assert "yesterday" not in out


def test_logs_of_an_unknown_execution_is_exit_4(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    daily = stack.outputs["state_machine_arns"]["daily"]
    missing = daily.replace(":stateMachine:", ":execution:") + ":no-such-run"

    exit_code, out, err = run_ops(capsys, stack, "logs", "--execution", missing)

    assert (exit_code, out) == (4, "")
    assert err == f"ops: error: no execution {missing}\n"


def test_task_ids_come_from_the_run_task_outputs_in_the_history() -> None:
    task = {
        "TaskArn": "arn:aws:ecs:us-east-1:123456789012:task/batchml-dev/0f1e2d3c",
        "TaskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/batchml-dev-train:7",
    }
    history = [
        {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "Train", "input": "{}"}},
        {"type": "TaskSucceeded", "taskSucceededEventDetails": {"output": json.dumps(task)}},
        {
            "type": "TaskStateExited",
            "stateExitedEventDetails": {"output": json.dumps({"run_date": "2026-03-01"})},
        },
    ]

    assert ops.task_ids_by_unit(history, "batchml-dev") == {"train": ["0f1e2d3c"]}


def test_missing_stack_outputs_file_is_a_configuration_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exit_code = ops.main(["--stack-outputs", str(tmp_path / "none.json"), "status"])

    assert exit_code == 2
    assert capsys.readouterr().err.startswith(
        f"ops: error: cannot read the stack outputs {tmp_path / 'none.json'}"
    )


def test_the_local_env_outputs_come_from_the_emulators_terraform_state(stack: Stack) -> None:
    assert ops.stack_outputs_of_env("local", emulator_dir=stack.work_dir) == stack.outputs


def test_an_env_without_terraform_state_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ops.OpsError) as raised:
        ops.stack_outputs_of_env("local", emulator_dir=tmp_path)

    assert raised.value.exit_code == 2
    assert str(raised.value).startswith(
        "`terraform output` of envs/local failed: Error: Backend initialization"
    )

"""terraform/modules/workflow: its example planned against the emulator, the plan JSON checked, then applied.

The plan tests share one plan. The IAM policies name the KMS key the module creates, so they are known only
after apply: the policy tests read them from the state of one apply of the same copy, and the last test
re-plans it (no changes) and destroys. Tests run in file order.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scripts.emulator import Emulator
from tests.terraform.contract import LOG_DELIVERY_ACTIONS
from tests.terraform.helpers import (
    as_list,
    assert_invalid_inputs_fail,
    copy_module,
    emulator_provider,
    module_resources,
    run,
    terraform,
)

MODULE = "workflow"
UNITS = ["preprocess", "train", "infer"]
SERVICES = ["cloudwatch", "iam", "kms", "logs", "scheduler", "sfn", "sns", "sts"]
SYNC_EVENT_RULE = "arn:aws:events:us-east-1:123456789012:rule/StepFunctionsGetEventsForECSTaskRule"


@dataclass(frozen=True)
class Resources:
    example: Path
    resources: dict[str, dict[str, Any]]  # address -> planned or applied values

    def instances(self, resource_type: str) -> dict[str, dict[str, Any]]:
        prefix = f"module.{MODULE}.{resource_type}."
        return {address: values for address, values in self.resources.items() if address.startswith(prefix)}

    def definition(self, machine: str) -> dict[str, Any]:
        return json.loads(
            self.resources[f'module.{MODULE}.aws_sfn_state_machine.this["{machine}"]']["definition"]
        )

    def policy(self, address: str) -> list[dict[str, Any]]:
        return json.loads(self.resources[f"module.{MODULE}.{address}"]["policy"])["Statement"]


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Resources]:
    example = copy_module(MODULE, tmp_path_factory.mktemp(MODULE))
    with Emulator() as emulator:
        (example / "override.tf").write_text(emulator_provider(emulator.endpoint, SERVICES))
        run(example, "init", "-input=false")
        run(example, "plan", "-input=false", "-out=tfplan")
        plan = json.loads(run(example, "show", "-json", "tfplan"))
        yield Resources(example, module_resources(plan["planned_values"]["root_module"]))


@pytest.fixture(scope="module")
def applied(planned: Resources) -> Resources:
    run(planned.example, "apply", "-input=false", "-auto-approve", "tfplan")
    state = json.loads(run(planned.example, "show", "-json"))
    return Resources(planned.example, module_resources(state["values"]["root_module"]))


def unit_tasks(states: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: state for name, state in states.items() if "ecs:runTask" in state.get("Resource", "")}


def chain(definition: dict[str, Any]) -> list[str]:
    """State names from StartAt, following Next, until End."""
    names, name = [], definition["StartAt"]
    while name:
        names.append(name)
        state = definition["States"][name]
        name = None if state.get("End") else state["Next"]
    return names


@pytest.mark.parametrize(
    ("machine", "expected"),
    [("daily", ["RunDate", "Preprocess", "Infer"]), ("monthly", ["RunDate", "Preprocess", "Train", "Infer"])],
)
def test_chains_run_the_units_in_order(planned: Resources, machine: str, expected: list[str]):
    definition = planned.definition(machine)
    assert chain(definition) == expected
    for name in expected[1:]:
        unit = name.lower()
        task_definition = unit_tasks(definition["States"])[name]["Parameters"]["TaskDefinition"]
        assert task_definition.endswith(f"task-definition/example-basic-{unit}:1")


def test_run_date_is_the_date_part_of_the_input(planned: Resources):
    state = planned.definition("daily")["States"]["RunDate"]
    assert state["Type"] == "Pass"
    assert state["Parameters"] == {
        "run_date.$": "States.ArrayGetItem(States.StringSplit($.run_date, 'T'), 0)"
    }


def test_backfill_maps_preprocess_over_the_dates(planned: Resources):
    definition = planned.definition("backfill")
    backfill = definition["States"][definition["StartAt"]]
    assert backfill["Type"] == "Map"
    assert backfill["ItemsPath"] == "$.dates"
    assert backfill["MaxConcurrency"] == 8
    assert backfill["ItemSelector"] == {"run_date.$": "$$.Map.Item.Value"}
    inner = backfill["ItemProcessor"]
    assert chain(inner) == ["Preprocess"]
    assert inner["States"]["Preprocess"]["Parameters"]["TaskDefinition"].endswith(
        "example-basic-preprocess:1"
    )


def every_unit_task(planned: Resources) -> list[dict[str, Any]]:
    tasks = []
    for machine in ["daily", "monthly", "backfill"]:
        states = planned.definition(machine)["States"]
        tasks += unit_tasks(states).values()
        for state in states.values():
            if state["Type"] == "Map":
                tasks += unit_tasks(state["ItemProcessor"]["States"]).values()
    return tasks


def test_every_unit_task_runs_on_fargate_in_private_subnets_with_the_run_date(planned: Resources):
    tasks = every_unit_task(planned)
    assert len(tasks) == 2 + 3 + 1
    for task in tasks:
        parameters = task["Parameters"]
        assert task["Resource"] == "arn:aws:states:::ecs:runTask.sync"
        assert parameters["CapacityProviderStrategy"] == [{"CapacityProvider": "FARGATE", "Weight": 1}]
        assert parameters["NetworkConfiguration"]["AwsvpcConfiguration"] == {
            "Subnets": ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"],
            "SecurityGroups": ["sg-0a1b2c3d4e5f60003"],
            "AssignPublicIp": "DISABLED",
        }
        unit = parameters["TaskDefinition"].split("example-basic-")[1].split(":")[0]
        assert parameters["Overrides"]["ContainerOverrides"] == [
            {"Name": unit, "Environment": [{"Name": "RUN_DATE", "Value.$": "$.run_date"}]}
        ]


def test_every_unit_task_retries_capacity_errors_with_backoff_and_failures_once(planned: Resources):
    for task in every_unit_task(planned):
        capacity, failed = task["Retry"]
        assert {"ECS.AmazonECSException", "ECS.ServerException"} <= set(capacity["ErrorEquals"])
        assert capacity["BackoffRate"] > 1 and capacity["MaxAttempts"] >= 3
        assert failed["ErrorEquals"] == ["States.TaskFailed"] and failed["MaxAttempts"] == 1


@pytest.mark.parametrize("machine", ["daily", "monthly", "backfill"])
def test_failures_are_published_then_fail_the_execution(planned: Resources, machine: str):
    states = planned.definition(machine)["States"]
    catching = [
        state for state in states.values() if state["Type"] in ("Task", "Map") and "ecs" in str(state)
    ]
    assert catching and all(state["Catch"][0]["Next"] == "NotifyFailure" for state in catching)
    notify = states["NotifyFailure"]
    assert notify["Resource"] == "arn:aws:states:::sns:publish"
    assert (
        notify["Parameters"]["TopicArn"] == "arn:aws:sns:us-east-1:123456789012:example-basic-workflow-alerts"
    )
    assert states[notify["Next"]]["Type"] == "Fail"


def statements_by_sid(statements: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {statement["Sid"]: statement for statement in statements}


def test_state_machine_role_grants_exactly_what_the_workflow_needs(applied: Resources):
    statements = statements_by_sid(applied.policy("aws_iam_role_policy.state_machine"))
    assert set(statements) == {
        "RunUnitTasks",
        "WatchUnitTasks",
        "PassUnitRoles",
        "SyncEventRule",
        "PublishAlerts",
        "EncryptAlerts",
        "DeliverLogs",
    }
    families = [f"arn:aws:ecs:us-east-1:123456789012:task-definition/example-basic-{u}:*" for u in UNITS]
    assert as_list(statements["RunUnitTasks"]["Action"]) == ["ecs:RunTask"]
    assert as_list(statements["RunUnitTasks"]["Resource"]) == sorted(families)
    assert as_list(statements["WatchUnitTasks"]["Action"]) == ["ecs:DescribeTasks", "ecs:StopTask"]
    assert as_list(statements["WatchUnitTasks"]["Resource"]) == [
        "arn:aws:ecs:us-east-1:123456789012:task/example-basic/*"
    ]
    passed = [f"arn:aws:iam::123456789012:role/example-basic-{name}" for name in [*UNITS, "execution"]]
    assert as_list(statements["PassUnitRoles"]["Action"]) == ["iam:PassRole"]
    assert as_list(statements["PassUnitRoles"]["Resource"]) == sorted(passed)
    assert statements["PassUnitRoles"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    }
    assert as_list(statements["SyncEventRule"]["Action"]) == [
        "events:DescribeRule",
        "events:PutRule",
        "events:PutTargets",
    ]
    assert as_list(statements["SyncEventRule"]["Resource"]) == [SYNC_EVENT_RULE]
    assert as_list(statements["PublishAlerts"]["Action"]) == ["sns:Publish"]
    assert set(as_list(statements["DeliverLogs"]["Action"])) == LOG_DELIVERY_ACTIONS


def test_no_wildcard_action_and_wildcard_resource_only_for_log_delivery(applied: Resources):
    policies = [
        applied.policy("aws_iam_role_policy.state_machine"),
        applied.policy("aws_iam_role_policy.scheduler"),
    ]
    for statement in [statement for statement in policies[0] + policies[1]]:
        assert statement["Effect"] == "Allow"
        assert all("*" not in action for action in as_list(statement["Action"])), statement
        if "*" in as_list(statement["Resource"]):
            assert set(as_list(statement["Action"])) <= LOG_DELIVERY_ACTIONS, statement


def test_scheduler_role_only_starts_the_scheduled_state_machines(applied: Resources):
    (statement,) = applied.policy("aws_iam_role_policy.scheduler")
    assert as_list(statement["Action"]) == ["states:StartExecution"]
    assert as_list(statement["Resource"]) == [
        f"arn:aws:states:us-east-1:123456789012:stateMachine:example-basic-{machine}"
        for machine in ["daily", "monthly"]
    ]


def test_schedules_carry_the_timezone_and_pass_the_scheduled_time(planned: Resources):
    schedules = planned.instances("aws_scheduler_schedule")
    assert sorted(values["name"] for values in schedules.values()) == [
        "example-basic-daily",
        "example-basic-monthly",
    ]
    for values in schedules.values():
        assert values["schedule_expression_timezone"] == "Europe/Berlin"
        assert values["schedule_expression"].startswith("cron(")
        (target,) = values["target"]
        assert json.loads(target["input"]) == {"run_date": "<aws.scheduler.scheduled-time>"}


def test_alarms_watch_failed_and_timed_out_executions_of_every_state_machine(planned: Resources):
    alarms = planned.instances("aws_cloudwatch_metric_alarm")
    found = {(values["alarm_name"], values["metric_name"], values["namespace"]) for values in alarms.values()}
    assert found == {
        (f"example-basic-{machine}-{metric}", metric, "AWS/States")
        for machine in ["daily", "monthly", "backfill"]
        for metric in ["ExecutionsFailed", "ExecutionsTimedOut"]
    }


def test_logging_and_topic_encryption(planned: Resources):
    for name in ["daily", "monthly", "backfill"]:
        machine = planned.resources[f'module.{MODULE}.aws_sfn_state_machine.this["{name}"]']
        (logging,) = machine["logging_configuration"]
        assert logging["level"] == "ERROR" and logging["include_execution_data"] is False
    assert planned.resources[f"module.{MODULE}.aws_kms_key.this[0]"]["enable_key_rotation"] is True
    topic = planned.resources[f"module.{MODULE}.aws_sns_topic.this"]
    assert topic["kms_master_key_id"] == "alias/example-basic-workflow"


def test_applied_example_replans_clean_and_destroys(applied: Resources):
    assert applied.resources[f"module.{MODULE}.aws_sns_topic.this"]["arn"].endswith(
        ":example-basic-workflow-alerts"
    )
    replan = terraform(applied.example, "plan", "-input=false", "-detailed-exitcode")
    assert replan.returncode == 0, replan.stdout + replan.stderr
    run(applied.example, "destroy", "-input=false", "-auto-approve")


ARN = "arn:aws:{}:us-east-1:123456789012:{}"
VALID_INPUTS = {
    "name_prefix": '"example-basic"',
    "cluster_arn": f'"{ARN.format("ecs", "cluster/example-basic")}"',
    "task_definition_arns": "{ "
    + ", ".join(
        f'{unit} = "{ARN.format("ecs", f"task-definition/example-basic-{unit}:1")}"' for unit in UNITS
    )
    + " }",
    "task_role_arns": "{ "
    + ", ".join(f'{unit} = "arn:aws:iam::123456789012:role/example-basic-{unit}"' for unit in UNITS)
    + " }",
    "execution_role_arn": '"arn:aws:iam::123456789012:role/example-basic-execution"',
    "subnet_ids": '["subnet-0a1b2c3d4e5f60001"]',
    "security_group_ids": '["sg-0a1b2c3d4e5f60003"]',
}
INVALID_INPUTS = {
    "concurrency_above_40": (
        "backfill_max_concurrency",
        "41",
        "backfill_max_concurrency must be a whole number",
    ),
    "concurrency_zero": ("backfill_max_concurrency", "0", "backfill_max_concurrency must be a whole number"),
    "unit_missing": (
        "task_definition_arns",
        f'{{ preprocess = "{ARN.format("ecs", "task-definition/p:1")}" }}',
        "task_definition_arns must have exactly the keys",
    ),
    "capacity_provider_ec2": (
        "capacity_provider",
        '"EC2"',
        "capacity_provider must be FARGATE or FARGATE_SPOT",
    ),
}


def test_invalid_inputs_fail_validate_with_their_message(tmp_path: Path):
    assert_invalid_inputs_fail(tmp_path, MODULE, VALID_INPUTS, INVALID_INPUTS)

"""terraform/modules/batch: its example planned against the emulator, checked against docs/cli.md and
docs/s3-layout.md, then applied, re-planned and destroyed.

The expected environment of each unit follows one rule read from the table in docs/cli.md: the task
definition sets every variable whose default is `required` and whose row names no subcommand (rows such as
"all (`run`)" or "preprocess (`backfill`)" are per-run arguments the workflow overrides), for the units in
its "used by" column; plus LOG_FORMAT (pinned to `json`: the logs go to CloudWatch) and the SDK's
AWS_REGION and AWS_DEFAULT_REGION. Options with defaults stay unset unless `units[*].environment` sets them
(the example sets none).
"""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scripts.emulator import Emulator
from tests.terraform.contract import (
    ATHENA_RESULTS_OBJECT_ACTIONS,
    CONTRACT_ACCESS,
    INFER_GLUE_ACTIONS,
    STAR_RESOURCE_ACTIONS,
    UNITS,
    expected_environment_names,
    glue_access,
    infer_glue_resources,
    object_access,
)
from tests.terraform.helpers import (
    REPO_ROOT,
    as_list,
    assert_invalid_inputs_fail,
    copy_module,
    emulator_client,
    emulator_provider,
    run,
    terraform,
)

ACCOUNT = "123456789012"  # moto's account id
BUCKETS = {
    "lake": "example-basic-lake",
    "warehouse": "example-basic-warehouse",
    "mart": "example-basic-mart",
    "artifacts": "example-basic-artifacts",
    "athena_results": "example-basic-athena-results",
}


@dataclass(frozen=True)
class PlannedExample:
    endpoint: str
    directory: Path
    plan: dict[str, Any]

    def resources(self, address_prefix: str) -> dict[str, dict[str, Any]]:
        """`change.after` of each planned resource whose address starts with `address_prefix`, by index."""
        found = {}
        for change in self.plan["resource_changes"]:
            if change["address"].startswith(f"module.batch.{address_prefix}"):
                found[change.get("index", "")] = change["change"]["after"]
        return found


# The services terraform/envs/local sends to the emulator: every one, so none reaches real AWS.
SERVICES = ["athena", "cloudwatch", "ec2", "ecr", "ecs", "events", "glue", "iam", "kms", "logs", "s3"]
SERVICES += ["scheduler", "sfn", "sns", "sts"]


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator() as running:
        yield running


@pytest.fixture(scope="module")
def planned(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> PlannedExample:
    directory = copy_module("batch", tmp_path_factory.mktemp("batch"))
    (directory / "override.tf").write_text(emulator_provider(emulator.endpoint, SERVICES))
    run(directory, "init", "-input=false")
    run(directory, "plan", "-input=false", "-out=example.tfplan")
    plan = json.loads(run(directory, "show", "-json", "example.tfplan"))
    return PlannedExample(emulator.endpoint, directory, plan)


def statements(planned: PlannedExample, unit: str) -> list[dict[str, Any]]:
    policy = json.loads(planned.resources("aws_iam_role_policy.task")[unit]["policy"])
    return policy["Statement"]


def test_cli_table_parses_into_the_rule_of_this_file():
    # Guards the parser: a reworded table must not silently make every expectation empty.
    assert expected_environment_names("preprocess") == {
        "LAKE_BUCKET",
        "WAREHOUSE_BUCKET",
        "MART_BUCKET",
        "LOG_FORMAT",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    }
    assert expected_environment_names("train") == expected_environment_names("infer")


def test_invalid_cpu_memory_pairs_fail_validate_listing_the_valid_memory(tmp_path: Path):
    directory = copy_module("batch", tmp_path)
    example = (directory / "main.tf").read_text()
    example = example.replace("cpu    = 2048\n      memory = 8192", "cpu    = 2048\n      memory = 3072")
    example = example.replace("cpu    = 512\n      memory = 1024", "cpu    = 16384\n      memory = 16384")
    (directory / "main.tf").write_text(example)
    run(directory, "init", "-backend=false", "-input=false")

    result = terraform(directory, "validate")

    assert result.returncode == 1
    message = " ".join(result.stderr.split())
    assert (
        "units.train: Fargate has no 3072 MiB of memory for cpu 2048; "
        + "valid memory values (MiB) for cpu 2048: "
        + ", ".join(str(memory) for memory in range(4096, 16385, 1024))
    ) in message
    assert (
        "units.infer: Fargate has no 16384 MiB of memory for cpu 16384; valid memory values (MiB) for cpu "
        + "16384: "
        + ", ".join(str(memory) for memory in range(32768, 122881, 8192))
    ) in message
    assert "units.preprocess" not in message


def unit_inputs(**train: str) -> str:
    """HCL of a valid `units` map, with `train`'s attributes replaced or added."""
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/batchml-{}:0.1.0"
    units = {unit: {"image": f'"{image.format(unit)}"', "cpu": "256", "memory": "512"} for unit in UNITS}
    units["train"].update(train)
    body = "\n".join(
        f"    {unit} = {{ {', '.join(f'{key} = {value}' for key, value in attributes.items())} }}"
        for unit, attributes in units.items()
    )
    return "{\n" + body + "\n  }"


VALID_INPUTS = {
    "name_prefix": '"batchml"',
    "units": unit_inputs(),
    "lake_bucket_name": '"batchml-lake"',
    "warehouse_bucket_name": '"batchml-warehouse"',
    "mart_bucket_name": '"batchml-mart"',
    "artifacts_bucket_name": '"batchml-artifacts"',
    "athena_results_bucket_name": '"batchml-athena-results"',
    "glue_database_names": '{ lake = "batchml_l", warehouse = "batchml_w", mart = "batchml_m" }',
    "athena_workgroup_name": '"batchml"',
    "subnet_ids": '["subnet-0123456789abcdef0"]',
    "security_group_ids": '["sg-0123456789abcdef0"]',
}
# Each case replaces one valid input with an invalid one; `validate` must reject each with its message.
INVALID_INPUTS = {
    "unit_missing": (
        "units",
        '{ preprocess = { image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/p:1", cpu = 256, '
        + "memory = 512 } }",
        "units must have exactly the keys preprocess, train and infer",
    ),
    "image_not_ecr": (
        "units",
        unit_inputs(image='"docker.io/library/python:3.11"'),
        "must be an ECR image URI",
    ),
    "cpu_not_fargate": ("units", unit_inputs(cpu="3072", memory="8192"), "must be a Fargate task size"),
    "storage_too_small": (
        "units",
        unit_inputs(ephemeral_storage_gib="20"),
        "whole number of GiB from 21 to 200",
    ),
    "environment_sets_run_date": (
        "units",
        unit_inputs(environment='{ RUN_DATE = "2026-03-01" }'),
        "must not set the bucket names",
    ),
    "architecture": ("cpu_architecture", '"AMD64"', "cpu_architecture must be X86_64 or ARM64"),
    "root_user": ("container_user", '"0:0"', "other than 0 (root)"),
    "retention": ("log_retention_days", "10", "log_retention_days must be one of CloudWatch Logs' values"),
    "kms_alias": (
        "log_kms_key_arn",
        '"arn:aws:kms:us-east-1:123456789012:alias/logs"',
        "CloudWatch Logs accepts no alias",
    ),
    "glue_layer_missing": (
        "glue_database_names",
        '{ lake = "batchml_lake" }',
        "exactly the keys lake, warehouse",
    ),
    "public_subnet_list_empty": ("subnet_ids", "[]", "subnet_ids must be a non-empty list"),
}


def test_invalid_inputs_fail_validate_with_their_message(tmp_path: Path):
    assert_invalid_inputs_fail(tmp_path, "batch", VALID_INPUTS, INVALID_INPUTS)


def test_cluster_has_container_insights_and_both_fargate_capacity_providers(planned: PlannedExample):
    [cluster] = planned.resources("aws_ecs_cluster.this").values()
    [providers] = planned.resources("aws_ecs_cluster_capacity_providers.this").values()

    assert cluster["setting"] == [{"name": "containerInsights", "value": "enabled"}]
    assert sorted(providers["capacity_providers"]) == ["FARGATE", "FARGATE_SPOT"]


@pytest.mark.parametrize("unit", UNITS)
def test_task_definition_is_fargate_read_only_and_not_root(planned: PlannedExample, unit: str):
    definition = planned.resources("aws_ecs_task_definition.this")[unit]
    [container] = json.loads(definition["container_definitions"])

    assert definition["requires_compatibilities"] == ["FARGATE"]
    assert definition["network_mode"] == "awsvpc"
    assert definition["runtime_platform"] == [
        {"cpu_architecture": "ARM64", "operating_system_family": "LINUX"}
    ]
    assert container["readonlyRootFilesystem"] is True
    assert re.fullmatch(r"[1-9][0-9]*(:[0-9]+)?", container["user"])
    assert container["mountPoints"] == [{"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}]
    assert [volume["name"] for volume in definition["volume"]] == ["tmp"]
    assert "secrets" not in container
    log_options = container["logConfiguration"]["options"]
    assert container["logConfiguration"]["logDriver"] == "awslogs"
    assert log_options["awslogs-group"] == f"/ecs/example-basic/{unit}"


@pytest.mark.parametrize("unit", UNITS)
def test_task_environment_is_what_the_cli_reads(planned: PlannedExample, unit: str):
    definition = planned.resources("aws_ecs_task_definition.this")[unit]
    [container] = json.loads(definition["container_definitions"])
    environment = {variable["name"]: variable["value"] for variable in container["environment"]}

    assert set(environment) == expected_environment_names(unit)
    assert environment["LOG_FORMAT"] == "json"
    assert environment["AWS_REGION"] == environment["AWS_DEFAULT_REGION"] == "us-east-1"
    for name, value in environment.items():
        if name.endswith("_BUCKET"):
            assert value == BUCKETS[name.removesuffix("_BUCKET").lower()]


def test_cpu_memory_and_storage_are_the_example_sizes(planned: PlannedExample):
    definitions = planned.resources("aws_ecs_task_definition.this")
    sizes = {unit: (definition["cpu"], definition["memory"]) for unit, definition in definitions.items()}

    assert sizes == {"preprocess": ("1024", "4096"), "train": ("2048", "8192"), "infer": ("512", "1024")}
    assert definitions["preprocess"]["ephemeral_storage"] == [{"size_in_gib": 30}]
    assert definitions["train"]["ephemeral_storage"] == []


@pytest.mark.parametrize("unit", UNITS)
def test_task_role_objects_are_exactly_the_contract_prefixes(planned: PlannedExample, unit: str):
    assert object_access(statements(planned, unit), BUCKETS) == CONTRACT_ACCESS[unit]


def test_task_roles_write_the_buckets_the_contract_says_each_unit_writes():
    # The bucket table of docs/s3-layout.md names writers and readers; CONTRACT_ACCESS must agree with it.
    text = (REPO_ROOT / "docs" / "s3-layout.md").read_text()
    buckets_section = re.search(r"^## Buckets\n(.*?)(?=^## )", text, re.MULTILINE | re.DOTALL).group(1)
    rows = re.findall(r"^\| (\w+) \| `\w+` \| [^|]+ \| ([^|]+) \| ([^|]+) \|", buckets_section, re.MULTILINE)
    assert sorted(layer for layer, _, _ in rows) == ["artifacts", "lake", "mart", "warehouse"]
    for layer, written_by, read_by in rows:
        writers = {unit for unit in UNITS if unit in written_by}
        readers = {unit for unit in UNITS if unit in read_by}
        granted = {
            (unit, action)
            for unit, actions in CONTRACT_ACCESS.items()
            for action, places in actions.items()
            if any(bucket == layer for bucket, _ in places)
        }
        assert {unit for unit, action in granted if action == "s3:PutObject"} == writers, layer
        assert readers <= {unit for unit, action in granted if action == "s3:GetObject"}, layer


@pytest.mark.parametrize("unit", UNITS)
def test_task_role_lists_only_the_buckets_and_prefixes_it_reads(planned: PlannedExample, unit: str):
    listed = {}
    for statement in statements(planned, unit):
        if "s3:ListBucket" in as_list(statement["Action"]):
            for resource in as_list(statement["Resource"]):
                prefixes = (
                    statement.get("Condition", {}).get("StringLikeIfExists", {}).get("s3:prefix", ["*"])
                )
                listed[resource.removeprefix("arn:aws:s3:::")] = sorted(as_list(prefixes))
    expected: dict[str, list[str]] = {}
    for layer, prefix in CONTRACT_ACCESS[unit]["s3:GetObject"]:
        expected.setdefault(BUCKETS[layer], []).append(f"{prefix}*")
    if unit == "preprocess":
        expected[BUCKETS["athena_results"]] = ["*"]

    assert listed == {bucket: sorted(prefixes) for bucket, prefixes in expected.items()}


def test_athena_glue_and_the_results_bucket_go_only_to_the_units_that_call_them(planned: PlannedExample):
    services_of = {"preprocess": {"s3", "athena", "glue"}, "train": {"s3"}, "infer": {"s3", "glue"}}
    for unit in UNITS:
        unit_statements = statements(planned, unit)
        actions = {action for statement in unit_statements for action in as_list(statement["Action"])}
        services = {action.split(":")[0] for action in actions}
        results_objects = {
            action
            for statement in unit_statements
            if f"arn:aws:s3:::{BUCKETS['athena_results']}/*" in as_list(statement["Resource"])
            for action in as_list(statement["Action"])
        }
        assert services == services_of[unit], unit
        assert results_objects == (ATHENA_RESULTS_OBJECT_ACTIONS if unit == "preprocess" else set()), unit

    by_sid = {statement["Sid"]: statement for statement in statements(planned, "preprocess")}
    assert sorted(as_list(by_sid["Athena"]["Action"])) == [
        "athena:GetQueryExecution",
        "athena:GetWorkGroup",
        "athena:StartQueryExecution",
        "athena:StopQueryExecution",
    ]
    assert by_sid["Athena"]["Resource"] == f"arn:aws:athena:us-east-1:{ACCOUNT}:workgroup/example-basic"
    glue_resources = set(as_list(by_sid["Glue"]["Resource"]))
    databases = ["example_basic_lake", "example_basic_warehouse", "example_basic_mart"]
    assert glue_resources == {
        f"arn:aws:glue:us-east-1:{ACCOUNT}:catalog",
        *(f"arn:aws:glue:us-east-1:{ACCOUNT}:database/{name}" for name in databases),
        *(f"arn:aws:glue:us-east-1:{ACCOUNT}:table/{name}/*" for name in databases),
    }
    # Partitions are created and re-pointed in batches, never deleted; the engine's UNLOAD output is deleted.
    glue_actions = set(as_list(by_sid["Glue"]["Action"]))
    assert {"glue:BatchCreatePartition", "glue:BatchUpdatePartition"} <= glue_actions
    assert not any("Delete" in action for action in glue_actions)
    assert by_sid["AthenaUnloadCleanup"]["Action"] == "s3:DeleteObject"
    assert by_sid["AthenaUnloadCleanup"]["Resource"] == f"arn:aws:s3:::{BUCKETS['athena_results']}/unload/*"
    # infer registers the partition of `predictions` it commits: that table of the mart database only.
    assert glue_access(statements(planned, "infer")) == (
        INFER_GLUE_ACTIONS,
        infer_glue_resources(ACCOUNT, "example_basic_mart"),
    )


@pytest.mark.parametrize("unit", UNITS)
def test_no_statement_grants_star_action_or_star_resource(planned: PlannedExample, unit: str):
    for statement in statements(planned, unit):
        actions = as_list(statement["Action"])
        assert statement["Effect"] == "Allow"
        assert not any("*" in action for action in actions), statement
        assert "*" not in as_list(statement["Resource"]), statement
        assert "NotAction" not in statement and "NotResource" not in statement


@pytest.mark.slow  # in `make test`, test_local_env.py applies, re-plans and destroys the whole stack
def test_example_applies_replans_clean_and_destroys(planned: PlannedExample):
    directory, ecs = planned.directory, emulator_client(planned.endpoint, "ecs")
    run(directory, "apply", "-input=false", "-auto-approve")
    try:
        outputs = json.loads(run(directory, "output", "-json"))
        arns = outputs["task_definition_arns"]["value"]
        assert sorted(arns) == sorted(UNITS)
        for unit, arn in arns.items():
            definition = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
            assert definition["family"] == f"example-basic-{unit}"
            assert definition["containerDefinitions"][0]["readonlyRootFilesystem"] is True

        # The execution role's policy is known only after apply (log group ARNs): check it here.
        iam = emulator_client(planned.endpoint, "iam")
        policy = iam.get_role_policy(RoleName="example-basic-execution", PolicyName="pull-and-log")
        document = policy["PolicyDocument"]
        document = json.loads(document) if isinstance(document, str) else document
        for statement in document["Statement"]:
            if "*" in as_list(statement["Resource"]):
                assert set(as_list(statement["Action"])) <= STAR_RESOURCE_ACTIONS, statement
            assert not any("*" in action for action in as_list(statement["Action"])), statement

        replan = terraform(directory, "plan", "-input=false", "-detailed-exitcode")
        assert replan.returncode == 0, replan.stdout + replan.stderr
    finally:
        run(directory, "destroy", "-input=false", "-auto-approve")
    roles = emulator_client(planned.endpoint, "iam").list_roles()["Roles"]
    assert [role["RoleName"] for role in roles if role["RoleName"].startswith("example-basic-")] == []
    assert (
        ecs.list_task_definitions(familyPrefix="example-basic-", status="ACTIVE")["taskDefinitionArns"] == []
    )

"""terraform/envs/dev and envs/prod planned offline with fake credentials (tftest), as `make plan` does, and
checked on the plan JSON: nothing public, no way to or from the internet, the full endpoint set, no `*`
action on a `*` resource, valid Fargate sizes; and an invalid size fails the plan with its message.

Policies that name resources created in the same plan are unknown until apply; their statements are read
from the `aws_iam_policy_document` data sources the plan defers, where actions are known and a resource is
either a literal (known) or an ARN of a resource to be created (unknown, so never `*`).
"""

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tftest

import scripts.plan
from scripts.plan import OFFLINE_ENVIRONMENT, offline_copy, offline_variables
from tests.terraform.contract import UNITS
from tests.terraform.helpers import REPO_ROOT, as_list

ENVS = ["dev", "prod"]
IMAGE_TAG = "0123456789ab"
# Fargate's Linux task sizes (ECS developer guide, "Task CPU and memory"): cpu -> allowed memory (MiB).
FARGATE_MEMORY = {
    256: {512, 1024, 2048},
    512: set(range(1024, 4096 + 1, 1024)),
    1024: set(range(2048, 8192 + 1, 1024)),
    2048: set(range(4096, 16384 + 1, 1024)),
    4096: set(range(8192, 30720 + 1, 1024)),
    8192: set(range(16384, 61440 + 1, 4096)),
    16384: set(range(32768, 122880 + 1, 8192)),
}
# The interface endpoints tasks in subnets without NAT need: image pulls (ecr.api, ecr.dkr, and S3 for the
# layers), logs, and the APIs preprocess and infer call (athena, glue, sts for the SDK's credential chain).
INTERFACE_ENDPOINTS = {"ecr.api", "ecr.dkr", "logs", "athena", "glue", "sts"}
INTERNET_RESOURCE_TYPES = {
    "aws_internet_gateway",
    "aws_egress_only_internet_gateway",
    "aws_nat_gateway",
    "aws_eip",
    "aws_route",
}
OPEN_CIDRS = {"0.0.0.0/0", "::/0"}


class Plan:
    """The plan JSON of one env, by address, with the deferred policy documents' statements."""

    def __init__(self, output: tftest.TerraformPlanOutput) -> None:
        self.changes: dict[str, dict[str, Any]] = output.resource_changes

    def of_type(self, resource_type: str, mode: str = "managed") -> dict[str, dict[str, Any]]:
        """address -> planned values (`change.after`) of every resource of `resource_type`."""
        return {
            address: change["change"]["after"]
            for address, change in self.changes.items()
            if change["type"] == resource_type and change["mode"] == mode
        }

    def policy_statements(self) -> dict[str, list[dict[str, Any]]]:
        """address -> statements, as [{"effect", "actions", "resources", "not", "resource_policy"}], of every
        IAM policy document
        and every known IAM `policy` attribute (VPC endpoint policies have their own test). A statement with a
        principal belongs to a resource policy (trust, key, bucket), where `*` means the resource itself."""
        found: dict[str, list[dict[str, Any]]] = {}
        for address, document in self.of_type("aws_iam_policy_document", mode="data").items():
            found[address] = [
                {
                    "effect": statement.get("effect") or "Allow",
                    "actions": statement.get("actions") or [],
                    "resources": [resource for resource in statement.get("resources") or [] if resource],
                    "not": bool(statement.get("not_actions") or statement.get("not_resources")),
                    "resource_policy": bool(statement.get("principals") or statement.get("not_principals")),
                }
                for statement in document["statement"]
            ]
        for address, change in self.changes.items():
            policy = (change["change"]["after"] or {}).get("policy")
            if change["type"].startswith("aws_iam_") and isinstance(policy, str) and policy:
                found[address] = [
                    {
                        "effect": statement["Effect"],
                        "actions": as_list(statement.get("Action", [])),
                        "resources": as_list(statement.get("Resource", [])),
                        "not": "NotAction" in statement or "NotResource" in statement,
                        "resource_policy": "Principal" in statement or "NotPrincipal" in statement,
                    }
                    for statement in json.loads(policy)["Statement"]
                ]
        return found


def plan_env(env: str, work_root: Path, **tf_vars: str) -> tftest.TerraformPlanOutput:
    env_dir = offline_copy(env, work_root)
    test = tftest.TerraformTest(str(env_dir), env=OFFLINE_ENVIRONMENT)
    test.setup(cleanup_on_exit=False)
    return test.plan(output=True, tf_vars={**offline_variables(IMAGE_TAG), **tf_vars})


@pytest.fixture(scope="module", params=ENVS)
def plan(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plan]:
    yield Plan(plan_env(request.param, tmp_path_factory.mktemp(request.param)))


def test_plan_creates_the_whole_stack(plan: Plan):
    counts = {
        resource_type: len(plan.of_type(resource_type))
        for resource_type in [
            "aws_s3_bucket",
            "aws_glue_catalog_database",
            "aws_athena_workgroup",
            "aws_vpc",
            "aws_subnet",
            "aws_ecr_repository",
            "aws_ecs_cluster",
            "aws_ecs_task_definition",
            "aws_sfn_state_machine",
            "aws_scheduler_schedule",
        ]
    }
    assert counts == {
        "aws_s3_bucket": 5,
        "aws_glue_catalog_database": 3,
        "aws_athena_workgroup": 1,
        "aws_vpc": 1,
        "aws_subnet": 2,
        "aws_ecr_repository": 3,
        "aws_ecs_cluster": 1,
        "aws_ecs_task_definition": 3,
        "aws_sfn_state_machine": 3,
        "aws_scheduler_schedule": 2,
    }
    assert all(change["change"]["actions"] in (["create"], ["read"]) for change in plan.changes.values())


def test_every_bucket_blocks_public_access_and_has_no_acl_or_public_policy(plan: Plan):
    buckets = plan.of_type("aws_s3_bucket")
    blocks = plan.of_type("aws_s3_bucket_public_access_block")

    assert len(blocks) == len(buckets)
    settings = ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"]
    assert all(block[setting] is True for block in blocks.values() for setting in settings)
    assert plan.of_type("aws_s3_bucket_acl") == {}
    ownership = plan.of_type("aws_s3_bucket_ownership_controls").values()
    assert [control["rule"][0]["object_ownership"] for control in ownership] == ["BucketOwnerEnforced"] * 5
    # The only statements of the bucket policies deny (requests without TLS); none allows anyone anything.
    for address, statements in plan.policy_statements().items():
        if ".tls_only[" in address:
            assert [statement["effect"] for statement in statements] == ["Deny"], address


def test_nothing_reaches_or_is_reachable_from_the_internet(plan: Plan):
    assert {change["type"] for change in plan.changes.values()} & INTERNET_RESOURCE_TYPES == set()
    assert all(subnet["map_public_ip_on_launch"] is False for subnet in plan.of_type("aws_subnet").values())
    for table in plan.of_type("aws_route_table").values():
        # No inline route (then the attribute is left to AWS, unknown in the plan): only the S3 gateway
        # endpoint adds its prefix-list route.
        assert not table.get("route"), table
    for rule in plan.of_type("aws_security_group_rule").values():
        if rule["type"] == "ingress":
            assert not set(rule["cidr_blocks"] or []) & OPEN_CIDRS, rule
            assert not set(rule["ipv6_cidr_blocks"] or []) & OPEN_CIDRS, rule
    for group in plan.of_type("aws_security_group").values():
        for rule in group.get("ingress") or []:
            assert not set(rule["cidr_blocks"] or []) & OPEN_CIDRS, group
    assert plan.of_type("aws_vpc_security_group_ingress_rule") == {}


def test_vpc_has_the_full_endpoint_set_with_private_dns(plan: Plan):
    endpoints = {
        values["service_name"].removeprefix("com.amazonaws.us-east-1."): values
        for values in plan.of_type("aws_vpc_endpoint").values()
    }

    assert set(endpoints) == INTERFACE_ENDPOINTS | {"s3"}
    assert endpoints["s3"]["vpc_endpoint_type"] == "Gateway"
    for service in INTERFACE_ENDPOINTS:
        assert endpoints[service]["vpc_endpoint_type"] == "Interface", service
        assert endpoints[service]["private_dns_enabled"] is True, service
    # An endpoint policy is a boundary: whatever it allows is limited to this account's principals and
    # resources (the S3 one also lets ECR's layer bucket be read, which is AWS's).
    for service, endpoint in endpoints.items():
        for statement in json.loads(endpoint["policy"])["Statement"]:
            condition = statement.get("Condition", {}).get("StringEquals", {})
            if "*" in statement["Action"]:
                assert condition == {
                    "aws:PrincipalAccount": "123456789012",
                    "aws:ResourceAccount": "123456789012",
                }, service


def test_no_policy_allows_a_star_action_on_a_star_resource(plan: Plan):
    statements = plan.policy_statements()

    task_roles = [f'module.stack.module.batch.data.aws_iam_policy_document.task["{unit}"]' for unit in UNITS]
    assert set(task_roles) <= set(statements)  # the task roles' documents are among those checked
    for address, document in statements.items():
        for statement in document:
            assert not (statement["effect"] == "Allow" and statement["not"]), f"{address}: Allow with Not*"
            if (
                statement["effect"] != "Allow"
                or statement["resource_policy"]
                or "*" not in statement["resources"]
            ):
                continue
            wildcards = [action for action in statement["actions"] if "*" in action]
            assert wildcards == [], f"{address}: {wildcards} on resource *"


def test_every_task_size_is_a_valid_fargate_pair(plan: Plan):
    definitions = plan.of_type("aws_ecs_task_definition")

    assert len(definitions) == 3
    for address, definition in definitions.items():
        cpu, memory = int(definition["cpu"]), int(definition["memory"])
        assert memory in FARGATE_MEMORY[cpu], f"{address}: cpu {cpu} with {memory} MiB"
        assert definition["requires_compatibilities"] == ["FARGATE"]


def test_an_invalid_task_size_fails_the_plan_listing_the_valid_memory(tmp_path: Path):
    env_dir = offline_copy("dev", tmp_path)
    # An override file changes one argument of the env's module call, as a user editing the env would.
    (env_dir / "sizes_override.tf").write_text(
        'module "stack" {\n  unit_sizes = {\n'
        "    preprocess = { cpu = 1024, memory = 4096 }\n"
        "    train      = { cpu = 4096, memory = 4096 }\n"
        "    infer      = { cpu = 512, memory = 2048 }\n  }\n}\n"
    )
    test = tftest.TerraformTest(str(env_dir), env=OFFLINE_ENVIRONMENT)
    test.setup(cleanup_on_exit=False)

    with pytest.raises(tftest.TerraformTestError) as failure:
        test.plan(tf_vars=offline_variables(IMAGE_TAG))

    message = " ".join(failure.value.args[-1].split())  # terraform's stderr
    expected = ", ".join(str(memory) for memory in sorted(FARGATE_MEMORY[4096]))
    assert "units.train: Fargate has no 4096 MiB of memory for cpu 4096" in message
    assert f"valid memory values (MiB) for cpu 4096: {expected}" in message


def test_make_plan_prints_the_full_plan_offline(tmp_path: Path, capfd: pytest.CaptureFixture[str]):
    # What `make plan ENV=dev` runs, with the copy in a scratch folder (the env has no backend.hcl here).
    assert not (REPO_ROOT / "terraform" / "envs" / "dev" / "backend.hcl").exists()

    scripts.plan.plan("dev", IMAGE_TAG, tmp_path)

    out, err = capfd.readouterr()
    assert "plan: dev: offline" in err
    assert re.search(r"Plan: (\d+) to add, 0 to change, 0 to destroy", out)
    assert int(re.search(r"Plan: (\d+) to add", out)[1]) > 80
    assert 'module.stack.module.batch.aws_ecs_task_definition.this["preprocess"] will be created' in out

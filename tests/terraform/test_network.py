"""terraform/modules/network: its example planned, applied, re-planned and destroyed against the emulator.

The tests share one run of the example and go in file order: plan first, then apply, then destroy.
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.terraform.helpers import (
    TERRAFORM_DIR,
    Example,
    emulator_provider,
    planned_example,
    terraform,
    validation_errors,
)

MODULE_DIR = TERRAFORM_DIR / "modules" / "network"
INTERFACE_SERVICES = ["athena", "ecr.api", "ecr.dkr", "glue", "logs", "sts"]
ZONES = ["us-east-1a", "us-east-1b"]
ACCOUNT_ID = "123456789012"  # moto's default account

SERVICES = ["ec2", "iam", "logs", "sts"]  # the ones the example calls, all sent to the emulator


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Example]:
    yield from planned_example("network", SERVICES, tmp_path_factory)


def planned(plan: dict[str, Any], resource_type: str) -> dict[Any, dict[str, Any]]:
    """Planned values of every resource of `resource_type`, by instance key (or name when none)."""
    return {
        change.get("index", change["name"]): change["change"]["after"]
        for change in plan["resource_changes"]
        if change["type"] == resource_type
    }


def test_plan_has_no_internet_or_nat_gateway_and_no_public_subnet(example: Example):
    types = {change["type"] for change in example.plan["resource_changes"]}

    assert types.isdisjoint(
        {"aws_internet_gateway", "aws_egress_only_internet_gateway", "aws_nat_gateway", "aws_eip"}
    )
    assert {"aws_route"}.isdisjoint(types)
    for route_table in planned(example.plan, "aws_route_table").values():
        assert route_table.get("route", []) == []
    subnets = planned(example.plan, "aws_subnet")
    assert sorted(subnets) == ZONES
    assert sorted(subnet["cidr_block"] for subnet in subnets.values()) == ["10.20.0.0/20", "10.20.16.0/20"]
    assert all(subnet["map_public_ip_on_launch"] is False for subnet in subnets.values())


def test_plan_vpc_resolves_private_dns(example: Example):
    [vpc] = planned(example.plan, "aws_vpc").values()
    assert (vpc["enable_dns_support"], vpc["enable_dns_hostnames"]) == (True, True)


def test_plan_has_the_full_endpoint_set_with_private_dns(example: Example):
    endpoints = planned(example.plan, "aws_vpc_endpoint")

    assert sorted(endpoints) == sorted([*INTERFACE_SERVICES, "s3"])
    for service, endpoint in endpoints.items():
        assert endpoint["service_name"] == f"com.amazonaws.us-east-1.{service}"
        if service == "s3":
            assert endpoint["vpc_endpoint_type"] == "Gateway"
            assert endpoint.get("private_dns_enabled") is not True  # unknown until apply: AWS says false
        else:
            assert endpoint["vpc_endpoint_type"] == "Interface"
            assert endpoint["private_dns_enabled"] is True


def test_plan_endpoint_policies_allow_only_this_account(example: Example):
    for service, endpoint in planned(example.plan, "aws_vpc_endpoint").items():
        statements = {
            statement["Sid"]: statement for statement in json.loads(endpoint["policy"])["Statement"]
        }
        main = statements.pop("AllowThisAccountOnly")
        assert main["Action"] == f"{service.split('.')[0]}:*", service
        assert main["Condition"] == {
            "StringEquals": {"aws:PrincipalAccount": ACCOUNT_ID, "aws:ResourceAccount": ACCOUNT_ID}
        }
        # Each exception is one read-only action, tied to this account or to ECR's layer bucket.
        for statement in statements.values():
            assert isinstance(statement["Action"], str), service
            if statement["Resource"] == "*":
                assert statement["Condition"] == {"StringEquals": {"aws:PrincipalAccount": ACCOUNT_ID}}
            else:
                assert statement["Resource"] == "arn:aws:s3:::prod-us-east-1-starport-layer-bucket/*"
        assert sorted(statements) == {
            "ecr.api": ["AllowTokenForThisAccount"],
            "sts": ["AllowCallerIdentityForThisAccount"],
            "s3": ["AllowEcrImageLayers"],
        }.get(service, []), service


def test_plan_security_group_rules_are_https_only_between_tasks_and_endpoints(example: Example):
    rules = planned(example.plan, "aws_security_group_rule").values()

    assert sorted(rule["type"] for rule in rules) == ["egress", "egress", "ingress"]
    for rule in rules:
        assert (rule["protocol"], rule["from_port"], rule["to_port"]) == ("tcp", 443, 443)
        assert rule.get("cidr_blocks") is None and rule.get("ipv6_cidr_blocks") is None
    # The groups' inline rules are computed, so they do not show here; the applied groups are checked below.
    types = {change["type"] for change in example.plan["resource_changes"]}
    assert types.isdisjoint({"aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule"})


def test_plan_sends_flow_logs_to_a_log_group_with_retention(example: Example):
    [flow_log] = planned(example.plan, "aws_flow_log").values()
    [log_group] = planned(example.plan, "aws_cloudwatch_log_group").values()

    assert (flow_log["traffic_type"], flow_log["log_destination_type"]) == ("ALL", "cloud-watch-logs")
    assert log_group["name"] == "/aws/vpc-flow-log/example-basic"
    assert log_group["retention_in_days"] == 30


@pytest.mark.slow  # in `make test`, test_local_env.py applies, re-plans and destroys the whole stack
def test_apply_builds_a_private_vpc_reachable_only_through_endpoints(example: Example):
    example.run("apply", "-input=false", "-auto-approve", "tfplan")
    outputs = {name: output["value"] for name, output in json.loads(example.run("output", "-json")).items()}
    ec2 = example.client("ec2")
    subnets = ec2.describe_subnets(SubnetIds=outputs["private_subnet_ids"])["Subnets"]
    vpc_id = subnets[0]["VpcId"]
    in_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
    attached = [{"Name": "attachment.vpc-id", "Values": [vpc_id]}]

    assert sorted(subnet["AvailabilityZone"] for subnet in subnets) == ZONES
    assert ec2.describe_internet_gateways(Filters=attached)["InternetGateways"] == []
    assert ec2.describe_nat_gateways(Filters=in_vpc)["NatGateways"] == []
    endpoints = ec2.describe_vpc_endpoints(Filters=in_vpc)["VpcEndpoints"]
    by_service = {
        endpoint["ServiceName"].removeprefix("com.amazonaws.us-east-1."): endpoint for endpoint in endpoints
    }
    assert sorted(by_service) == sorted([*INTERFACE_SERVICES, "s3"])
    assert {service: endpoint["VpcEndpointId"] for service, endpoint in by_service.items()} == outputs[
        "endpoint_ids"
    ]
    assert all(by_service[service]["PrivateDnsEnabled"] for service in INTERFACE_SERVICES)
    assert sorted(by_service["s3"]["RouteTableIds"]) == sorted(outputs["private_route_table_ids"])
    assert all(
        sorted(by_service[service]["SubnetIds"]) == sorted(outputs["private_subnet_ids"])
        for service in INTERFACE_SERVICES
    )
    assert security_group_rules(ec2, vpc_id) == {
        "default": {"ingress": [], "egress": []},
        "example-basic-tasks": {
            "ingress": [],
            "egress": [("tcp", 443, "example-basic-endpoints"), ("tcp", 443, "prefix-list")],
        },
        "example-basic-endpoints": {"ingress": [("tcp", 443, "example-basic-tasks")], "egress": []},
    }


def security_group_rules(ec2, vpc_id: str) -> dict[str, dict[str, list[tuple[str, int, str]]]]:  # type: ignore[no-untyped-def]
    """(protocol, port, peer) of every rule of every group in the VPC; a CIDR peer fails the comparison."""
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]
    names = {group["GroupId"]: group["GroupName"] for group in groups}

    def peers(permission: dict[str, Any]) -> list[str]:
        return [
            *(names[pair["GroupId"]] for pair in permission["UserIdGroupPairs"]),
            *("prefix-list" for _ in permission.get("PrefixListIds", [])),
            *(cidr["CidrIp"] for cidr in permission["IpRanges"]),
            *(cidr["CidrIpv6"] for cidr in permission["Ipv6Ranges"]),
        ]

    def rules(permissions: list[dict[str, Any]]) -> list[tuple[str, int, str]]:
        return sorted(
            (permission["IpProtocol"], permission.get("FromPort", -1), peer)
            for permission in permissions
            if permission.get("ToPort", -1) == permission.get("FromPort", -1)
            for peer in peers(permission)
        )

    return {
        group["GroupName"]: {
            "ingress": rules(group["IpPermissions"]),
            "egress": rules(group["IpPermissionsEgress"]),
        }
        for group in groups
    }


@pytest.mark.slow  # in `make test`, test_local_env.py applies, re-plans and destroys the whole stack
def test_second_plan_shows_no_changes(example: Example):
    result = terraform(example.directory, "plan", "-input=false", "-detailed-exitcode")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow  # in `make test`, test_local_env.py applies, re-plans and destroys the whole stack
def test_destroy_removes_the_vpc(example: Example):
    # Last in this module: the tests above read what this one removes.
    example.run("destroy", "-input=false", "-auto-approve")

    vpcs = example.client("ec2").describe_vpcs(Filters=[{"Name": "cidr", "Values": ["10.20.0.0/16"]}])["Vpcs"]
    assert vpcs == []


# Each case calls the module with exactly one invalid input; `terraform validate` must reject each with the
# message written for it.
VALID_INPUTS = {"name_prefix": '"batchml"', "availability_zones": '["us-east-1a", "us-east-1b"]'}
INVALID_INPUTS = {
    "one_zone": (
        {"availability_zones": '["us-east-1a"]'},
        "availability_zones must list at least two distinct",
    ),
    "same_zone_twice": (
        {"availability_zones": '["us-east-1a", "us-east-1a"]'},
        "availability_zones must list at least two distinct",
    ),
    "zone_ids": (
        {"availability_zones": '["use1-az1", "use1-az2"]'},
        "availability_zones must hold zone names",
    ),
    "cidr_too_large": ({"vpc_cidr": '"10.0.0.0/8"'}, "prefix length from /16 to /24"),
    "cidr_not_a_cidr": ({"vpc_cidr": '"10.0.0.0"'}, "prefix length from /16 to /24"),
    "cidr_host_address": ({"vpc_cidr": '"10.0.0.1/16"'}, "vpc_cidr must start at its network address"),
    "no_newbits": ({"subnet_newbits": "0"}, "subnet_newbits must be a whole number from 1 to 12"),
    "gateway_for_ecr": (
        {"endpoints": '{ "ecr.api" = { service_type = "Gateway" } }'},
        "only `s3` and `dynamodb` can be Gateway endpoints",
    ),
    "unknown_endpoint_type": (
        {"endpoints": '{ s3 = { service_type = "GatewayLoadBalancer" } }'},
        "each service_type must be `Interface` or `Gateway`",
    ),
    "retention_not_offered": ({"flow_log_retention_days": "2"}, "one of CloudWatch Logs' retention values"),
    "kms_alias": (
        {"flow_log_kms_key_arn": '"arn:aws:kms:us-east-1:123456789012:alias/logs"'},
        "flow_log_kms_key_arn must be null or a KMS key ARN",
    ),
}


def test_invalid_inputs_fail_with_their_message(tmp_path: Path):
    source = MODULE_DIR.as_posix()
    calls = {case: (source, {**VALID_INPUTS, **inputs}) for case, (inputs, _) in INVALID_INPUTS.items()}

    errors = validation_errors(tmp_path, calls)

    assert sorted(errors) == sorted(INVALID_INPUTS)
    for case, (_inputs, message) in INVALID_INPUTS.items():
        assert message in errors[case], case


def test_subnets_smaller_than_a_slash_28_fail_at_plan(example: Example, tmp_path: Path):
    # 10.0.0.0/24 split by 5 more bits gives /29 subnets, below the smallest subnet AWS allows.
    call = f'module "network" {{\n  source = "{MODULE_DIR.as_posix()}"\n' + "\n".join(
        f"  {name} = {value}"
        for name, value in {**VALID_INPUTS, "vpc_cidr": '"10.0.0.0/24"', "subnet_newbits": "5"}.items()
    )
    (tmp_path / "main.tf").write_text(call + "\n}\n" + emulator_provider(example.endpoint, SERVICES))
    init = terraform(tmp_path, "init", "-input=false")
    assert init.returncode == 0, init.stdout + init.stderr

    result = terraform(tmp_path, "plan", "-input=false")

    assert result.returncode == 1
    assert "each at least a /28" in " ".join(result.stderr.split())

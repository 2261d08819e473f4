"""terraform/modules/github_oidc: its example planned and applied against the emulator.

The trust policy names the provider's ARN, which a plan knows only when the provider already exists: the
plan test reuses one made through the API (`create_provider = false`); the apply test lets the module
create it, then re-plans (no changes) and destroys.
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts.emulator import Emulator
from tests.terraform.helpers import (
    as_list,
    copy_module,
    emulator_client,
    emulator_provider,
    module_resources,
    run,
    terraform,
)

MODULE = "github_oidc"
SERVICES = ["iam", "sts"]
REUSE_PROVIDER = """
module "github_oidc" {
  create_provider = false
}
"""
ISSUER = "token.actions.githubusercontent.com"
STATE_BUCKET = "arn:aws:s3:::example-basic-tfstate"
LOCK_TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/example-basic-tflock"


def example_copy(tmp_path_factory: pytest.TempPathFactory, endpoint: str, *overrides: str) -> Path:
    example = copy_module(MODULE, tmp_path_factory.mktemp(MODULE))
    (example / "override.tf").write_text("\n".join([emulator_provider(endpoint, SERVICES), *overrides]))
    run(example, "init", "-input=false")
    return example


def assert_trusts_only_pull_requests_of_the_repository(trust: dict[str, Any], provider_arn: str) -> None:
    (statement,) = trust["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"] == {"Federated": provider_arn}
    assert statement["Condition"] == {
        "StringEquals": {
            f"{ISSUER}:aud": "sts.amazonaws.com",
            f"{ISSUER}:sub": "repo:example-org/batchml:pull_request",
        }
    }


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with Emulator() as emulator:
        yield emulator.endpoint


@pytest.fixture
def existing_provider(endpoint: str) -> Iterator[str]:
    iam = emulator_client(endpoint, "iam")
    arn = iam.create_open_id_connect_provider(Url=f"https://{ISSUER}", ClientIDList=["sts.amazonaws.com"])[
        "OpenIDConnectProviderArn"
    ]
    yield arn
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)


def test_plan_with_an_existing_provider_grants_read_only_and_the_state(
    tmp_path_factory: pytest.TempPathFactory, endpoint: str, existing_provider: str
):
    example = example_copy(tmp_path_factory, endpoint, REUSE_PROVIDER)
    run(example, "plan", "-input=false", "-out=tfplan")
    plan = json.loads(run(example, "show", "-json", "tfplan"))
    resources = module_resources(plan["planned_values"]["root_module"], f"module.{MODULE}.")

    assert "aws_iam_openid_connect_provider.this[0]" not in resources
    role = resources["aws_iam_role.plan"]
    assert role["name"] == "example-basic-github-plan"
    assert_trusts_only_pull_requests_of_the_repository(
        json.loads(role["assume_role_policy"]), existing_provider
    )
    assert resources["aws_iam_role_policy_attachment.read_only"]["policy_arn"] == (
        "arn:aws:iam::aws:policy/ReadOnlyAccess"
    )

    statements = {
        s["Sid"]: s for s in json.loads(resources["aws_iam_role_policy.state"]["policy"])["Statement"]
    }
    assert set(statements) == {"ListState", "ReadWriteState", "NoDataReads", "LockState"}
    assert (as_list(statements["ListState"]["Action"]), statements["ListState"]["Resource"]) == (
        ["s3:ListBucket"],
        STATE_BUCKET,
    )
    assert as_list(statements["ReadWriteState"]["Action"]) == [
        "s3:DeleteObject",
        "s3:GetObject",
        "s3:PutObject",
    ]
    assert statements["ReadWriteState"]["Resource"] == f"{STATE_BUCKET}/*"
    assert statements["NoDataReads"]["Effect"] == "Deny"
    assert statements["NoDataReads"]["NotResource"] == f"{STATE_BUCKET}/*"
    assert statements["LockState"]["Resource"] == LOCK_TABLE
    for statement in statements.values():
        assert all("*" not in action for action in as_list(statement["Action"])), statement
        if statement["Effect"] == "Allow":
            assert "*" not in as_list(statement["Resource"]), statement


def test_example_creates_the_provider_applies_replans_clean_and_destroys(
    tmp_path_factory: pytest.TempPathFactory, endpoint: str
):
    example = example_copy(tmp_path_factory, endpoint)
    run(example, "apply", "-input=false", "-auto-approve")
    resources = module_resources(
        json.loads(run(example, "show", "-json"))["values"]["root_module"], f"module.{MODULE}."
    )
    provider = resources["aws_iam_openid_connect_provider.this[0]"]
    assert provider["url"] == ISSUER and provider["client_id_list"] == ["sts.amazonaws.com"]
    trust = json.loads(resources["aws_iam_role.plan"]["assume_role_policy"])
    assert_trusts_only_pull_requests_of_the_repository(trust, provider["arn"])

    replan = terraform(example, "plan", "-input=false", "-detailed-exitcode")
    assert replan.returncode == 0, replan.stdout + replan.stderr
    run(example, "destroy", "-input=false", "-auto-approve")
    assert (
        emulator_client(endpoint, "iam").list_open_id_connect_providers()["OpenIDConnectProviderList"] == []
    )


def test_repository_must_be_owner_slash_name(tmp_path_factory: pytest.TempPathFactory, endpoint: str):
    example = example_copy(
        tmp_path_factory, endpoint, 'module "github_oidc" {\n  repository = "batchml"\n}\n'
    )
    result = terraform(example, "plan", "-input=false")
    assert result.returncode != 0
    assert "repository must be owner/name" in " ".join(result.stderr.split())

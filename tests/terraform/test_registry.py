"""terraform/modules/registry: its example planned, applied, re-planned and destroyed against the emulator.

The tests share one run of the example and go in file order: plan first, then apply, then destroy.
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.terraform.helpers import TERRAFORM_DIR, Example, planned_example, terraform, validation_errors

MODULE_DIR = TERRAFORM_DIR / "modules" / "registry"
IMAGES = ["infer", "preprocess", "train"]
REPOSITORIES = {image: f"example-basic/{image}" for image in IMAGES}

SERVICES = ["ecr", "iam", "sts"]  # the ones the example calls, all sent to the emulator


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Example]:
    yield from planned_example("registry", SERVICES, tmp_path_factory)


def planned(plan: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """Planned values of every resource of `resource_type`, by the key of its instance."""
    return {
        change["index"]: change["change"]["after"]
        for change in plan["resource_changes"]
        if change["type"] == resource_type
    }


def test_plan_creates_one_immutable_scanned_encrypted_repository_per_image(example: Example):
    repositories = planned(example.plan, "aws_ecr_repository")

    assert sorted(repositories) == IMAGES
    for image, repository in repositories.items():
        assert repository["name"] == REPOSITORIES[image]
        assert repository["image_tag_mutability"] == "IMMUTABLE"
        assert repository["image_scanning_configuration"] == [{"scan_on_push": True}]
        # kms_key stays unknown until apply: AWS fills it in only for KMS encryption.
        assert [block["encryption_type"] for block in repository["encryption_configuration"]] == ["AES256"]
        assert repository["force_delete"] is True
        assert repository["tags"] == {"project": "example", "image": image}


def test_plan_lifecycle_expires_untagged_first_then_keeps_the_last_images(example: Example):
    policies = planned(example.plan, "aws_ecr_lifecycle_policy")

    assert sorted(policies) == IMAGES
    for image, policy in policies.items():
        assert policy["repository"] == REPOSITORIES[image]
        untagged, any_tag = json.loads(policy["policy"])["rules"]
        assert (untagged["rulePriority"], any_tag["rulePriority"]) == (1, 2)
        assert untagged["selection"] == {
            "tagStatus": "untagged",
            "countType": "sinceImagePushed",
            "countUnit": "days",
            "countNumber": 3,
        }
        assert any_tag["selection"] == {
            "tagStatus": "any",
            "countType": "imageCountMoreThan",
            "countNumber": 10,
        }
        assert untagged["action"] == any_tag["action"] == {"type": "expire"}


@pytest.mark.slow  # in `make test`, test_local_env.py applies, re-plans and destroys the whole stack
def test_apply_creates_the_repositories_as_planned(example: Example):
    example.run("apply", "-input=false", "-auto-approve", "tfplan")
    ecr = example.client("ecr")

    found = ecr.describe_repositories(repositoryNames=list(REPOSITORIES.values()))["repositories"]

    assert sorted(repository["repositoryName"] for repository in found) == sorted(REPOSITORIES.values())
    for repository in found:
        assert repository["imageTagMutability"] == "IMMUTABLE"
        assert repository["imageScanningConfiguration"] == {"scanOnPush": True}
        assert repository["encryptionConfiguration"] == {"encryptionType": "AES256"}
        lifecycle = ecr.get_lifecycle_policy(repositoryName=repository["repositoryName"])
        counts = [
            rule["selection"]["countNumber"] for rule in json.loads(lifecycle["lifecyclePolicyText"])["rules"]
        ]
        assert counts == [3, 10]
    outputs = json.loads(example.run("output", "-json"))
    urls = outputs["repository_urls"]["value"]
    assert sorted(urls) == IMAGES
    assert all(urls[image].endswith(f".amazonaws.com/{REPOSITORIES[image]}") for image in IMAGES)


@pytest.mark.slow  # in `make test`, test_local_env.py applies, re-plans and destroys the whole stack
def test_second_plan_shows_no_changes(example: Example):
    result = terraform(example.directory, "plan", "-input=false", "-detailed-exitcode")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow  # in `make test`, test_local_env.py applies, re-plans and destroys the whole stack
def test_destroy_removes_every_repository(example: Example):
    # Last in this module: the tests above read what this one removes.
    example.run("destroy", "-input=false", "-auto-approve")

    names = {
        repository["repositoryName"]
        for repository in example.client("ecr").describe_repositories()["repositories"]
    }
    assert names.isdisjoint(REPOSITORIES.values())


# Each case calls the module with exactly one invalid input; `terraform validate` must reject each with the
# message written for it.
INVALID_INPUTS = {
    "uppercase_prefix": ({"name_prefix": '"Batchml"'}, "name_prefix must be 1 to 128 lowercase letters"),
    "double_hyphen_prefix": (
        {"name_prefix": '"batch--ml"'},
        "name_prefix must be 1 to 128 lowercase letters",
    ),
    "no_repository": ({"repositories": "[]"}, "repositories must hold at least one name"),
    "uppercase_repository": ({"repositories": '["Train"]'}, "repositories must hold at least one name"),
    "keep_none": ({"keep_last_images": "0"}, "keep_last_images must be a whole number from 1 to 1000"),
    "keep_too_many": ({"keep_last_images": "1001"}, "keep_last_images must be a whole number from 1 to 1000"),
    "keep_fraction": ({"keep_last_images": "2.5"}, "keep_last_images must be a whole number from 1 to 1000"),
    "untagged_zero_days": (
        {"untagged_expiration_days": "0"},
        "untagged_expiration_days must be a whole number",
    ),
    "kms_alias": (
        {"kms_key_arn": '"arn:aws:kms:us-east-1:123456789012:alias/ecr"'},
        "kms_key_arn must be null or a KMS key ARN",
    ),
}


def test_invalid_inputs_fail_with_their_message(tmp_path: Path):
    valid = {"name_prefix": '"batchml"'}
    calls = {
        case: (MODULE_DIR.as_posix(), {**valid, **inputs}) for case, (inputs, _) in INVALID_INPUTS.items()
    }

    errors = validation_errors(tmp_path, calls)

    assert sorted(errors) == sorted(INVALID_INPUTS)
    for case, (_inputs, message) in INVALID_INPUTS.items():
        assert message in errors[case], case

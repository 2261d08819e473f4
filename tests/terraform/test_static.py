"""Offline checks of terraform/: formatting, validation, module layout, and the input validations."""

from pathlib import Path

import pytest

from tests.terraform.helpers import ENVS, MODULES, TERRAFORM_DIR, terraform, validation_errors

MODULE_FILES = ["main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md", "examples/basic/main.tf"]
ROOTS = [
    *(f"modules/{module}" for module in MODULES),
    *(f"modules/{module}/examples/basic" for module in MODULES),
    *(f"envs/{env}" for env in ENVS),
]


def test_terraform_is_formatted(terraform_copy: Path):
    result = terraform(terraform_copy, "fmt", "-check", "-recursive", "-diff")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_folder_with_terraform_code_is_validated():
    sources = [path for path in TERRAFORM_DIR.rglob("*.tf") if ".terraform" not in path.parts]
    assert {path.parent.relative_to(TERRAFORM_DIR).as_posix() for path in sources} == set(ROOTS)


# A plan validates first, so most roots are validated by the tests that plan them: the modules as children of
# envs/dev (planned by test_envs.py and test_checkov.py), the envs (local is applied by test_local_env.py),
# and the examples of batch, github_oidc, network, registry and workflow by their module's tests. These
# examples are planned nowhere else. `make lint` validates every root.
VALIDATED_HERE = [f"modules/{module}/examples/basic" for module in ("catalog", "data_lake", "stack")]


@pytest.mark.parametrize("root", VALIDATED_HERE)
def test_terraform_validate(terraform_copy: Path, root: str):
    directory = terraform_copy / root
    init = terraform(directory, "init", "-backend=false", "-input=false")
    assert init.returncode == 0, init.stdout + init.stderr
    validate = terraform(directory, "validate")
    assert validate.returncode == 0, validate.stdout + validate.stderr


@pytest.mark.parametrize("module", MODULES)
def test_module_has_the_standard_files(module: str):
    missing = [name for name in MODULE_FILES if not (TERRAFORM_DIR / "modules" / module / name).is_file()]
    assert missing == []


@pytest.mark.parametrize("module", MODULES)
def test_module_supports_the_provider_versions_of_the_project(module: str):
    versions = (TERRAFORM_DIR / "modules" / module / "versions.tf").read_text()
    assert 'required_version = ">= 1.5"' in versions
    assert 'version = ">= 5.60, < 6.0"' in versions


# Each case calls one module with exactly one invalid input; `terraform validate` must reject each with the
# message written for it.
INVALID_INPUTS = {
    "uppercase_prefix": ("data_lake", {"name_prefix": '"Batchml_Local"'}, "name_prefix must be 1 to 48"),
    "long_prefix": ("data_lake", {"name_prefix": f'"{"a" * 49}"'}, "name_prefix must be 1 to 48"),
    "reserved_prefix": (
        "data_lake",
        {"name_prefix": '"xn--batchml"'},
        "must not start with a prefix S3 reserves",
    ),
    "kms_key_id_not_arn": (
        "data_lake",
        {"name_prefix": '"batchml"', "kms_key_arn": '"1234abcd-12ab-34cd-56ef-1234567890ab"'},
        "kms_key_arn must be null or a KMS key or alias ARN",
    ),
    "zero_noncurrent_days": (
        "data_lake",
        {"name_prefix": '"batchml"', "noncurrent_version_expiration_days": "0"},
        "noncurrent_version_expiration_days must be a whole number of days",
    ),
    "fractional_results_days": (
        "data_lake",
        {"name_prefix": '"batchml"', "athena_results_expiration_days": "1.5"},
        "athena_results_expiration_days must be a whole number of days",
    ),
    "catalog_prefix_starts_with_digit": (
        "catalog",
        {"name_prefix": '"1batchml"'},
        "name_prefix must be 1 to 100 lowercase letters",
    ),
    "bucket_name_with_underscore": (
        "catalog",
        {"lake_bucket_name": '"batchml_lake"'},
        "lake_bucket_name must be a valid S3 bucket name",
    ),
    "cutoff_below_athena_minimum": (
        "catalog",
        {"bytes_scanned_cutoff_per_query": "10485759"},
        "bytes_scanned_cutoff_per_query must be a whole number of bytes, at least 10485760",
    ),
}
VALID_CATALOG_INPUTS = {
    "name_prefix": '"batchml"',
    "lake_bucket_name": '"batchml-lake"',
    "warehouse_bucket_name": '"batchml-warehouse"',
    "mart_bucket_name": '"batchml-mart"',
    "athena_results_bucket_name": '"batchml-athena-results"',
}


def test_invalid_inputs_fail_with_their_message(terraform_copy: Path, tmp_path: Path):
    calls = {
        case: (
            (terraform_copy / "modules" / module).as_posix(),
            {**VALID_CATALOG_INPUTS, **inputs} if module == "catalog" else inputs,
        )
        for case, (module, inputs, _message) in INVALID_INPUTS.items()
    }

    errors = validation_errors(tmp_path, calls)

    assert sorted(errors) == sorted(INVALID_INPUTS)
    for case, (_module, _inputs, message) in INVALID_INPUTS.items():
        assert message in errors[case], case

"""Small helpers of the Terraform tests."""

import json
import re
import shutil
import signal
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from scripts.emulator import Emulator

REPO_ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPO_ROOT / "terraform"
MODULES = sorted(path.name for path in (TERRAFORM_DIR / "modules").iterdir() if path.is_dir())
ENVS = sorted(path.name for path in (TERRAFORM_DIR / "envs").iterdir() if path.is_dir())


def terraform(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run one terraform command in `directory` and return it, whatever its exit code."""
    command, *options = args
    return subprocess.run(
        ["terraform", f"-chdir={directory}", command, "-no-color", *options],
        capture_output=True,
        text=True,
        check=False,
    )


def run(directory: Path, *args: str) -> str:
    """Run one terraform command in `directory`, assert that it succeeded and return its stdout."""
    result = terraform(directory, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def validation_errors(directory: Path, calls: dict[str, tuple[str, dict[str, str]]]) -> dict[str, str]:
    """Write one `module "<name>"` call per entry (module source, HCL arguments) into `directory`, run
    `init` and `validate`, and return each call's "Invalid value for variable" error, white space folded.
    Asserts that validate fails and that no call raises more than one such error."""
    blocks = []
    for name, (source, arguments) in calls.items():
        lines = "\n".join(f"  {argument} = {value}" for argument, value in arguments.items())
        blocks.append(f'module "{name}" {{\n  source = "{source}"\n{lines}\n}}\n')
    (directory / "main.tf").write_text("\n".join(blocks))
    run(directory, "init", "-backend=false", "-input=false")

    result = terraform(directory, "validate")

    assert result.returncode == 1, result.stdout + result.stderr
    errors = result.stderr.split("Error: Invalid value for variable")[1:]
    errors_by_call = {
        re.search(r'in module "(\w+)"', error).group(1): " ".join(error.split()) for error in errors
    }
    assert len(errors) == len(errors_by_call), "a call raised more than one error"
    return errors_by_call


def assert_invalid_inputs_fail(
    directory: Path,
    module: str,
    valid_inputs: dict[str, str],
    invalid_inputs: dict[str, tuple[str, str, str]],
) -> None:
    """Calls `module` once per case of `invalid_inputs` ({case: (argument, HCL value, message)}), the other
    arguments valid, and once with `valid_inputs` alone, all in one `validate`: each case must fail with its
    message, the valid call with nothing."""
    source = copy_module(module, directory).parents[1].as_posix()
    calls = {
        case: (source, {**valid_inputs, name: value}) for case, (name, value, _) in invalid_inputs.items()
    }
    calls["valid"] = (source, valid_inputs)

    errors = validation_errors(directory, calls)

    assert sorted(errors) == sorted(invalid_inputs)  # the valid call raises nothing
    for case, (_name, _value, message) in invalid_inputs.items():
        assert message in errors[case], case


def emulator_client(endpoint: str, service: str):  # type: ignore[no-untyped-def]
    """A boto3 client for `service` on the emulator at `endpoint`."""
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def emulator_provider(endpoint: str, services: Iterable[str]) -> str:
    """An AWS provider block sending every call of `services` to the emulator, with fake credentials."""
    endpoints = "\n".join(f'    {service} = "{endpoint}"' for service in services)
    return f"""
provider "aws" {{
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = false

  endpoints {{
{endpoints}
  }}
}}
"""


def copy_module(module: str, destination: Path) -> Path:
    """terraform/modules/`module` copied into `destination` without local state; returns its example."""
    copy = destination / module
    shutil.copytree(
        TERRAFORM_DIR / "modules" / module,
        copy,
        ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*", "*.tfplan"),
    )
    return copy / "examples" / "basic"


def as_list(value: str | list[str]) -> list[str]:
    """An IAM policy's Action or Resource as a sorted list, whether it holds one string or several."""
    return [value] if isinstance(value, str) else sorted(value)


def module_resources(module: dict[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    """Address (without `prefix`) -> values of the child modules' resources in `show -json` output."""
    return {
        resource["address"].removeprefix(prefix): resource["values"]
        for child in module["child_modules"]
        for resource in child["resources"]
    }


@dataclass(frozen=True)
class Example:
    """A module's example, copied and planned against a running emulator."""

    endpoint: str
    directory: Path
    plan: dict[str, Any]

    def run(self, *args: str) -> str:
        return run(self.directory, *args)

    def client(self, service: str):  # type: ignore[no-untyped-def]
        return emulator_client(self.endpoint, service)


def planned_example(
    module: str, services: Iterable[str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Example]:
    """Body of a module-scoped fixture: the module's example initialised and planned against an emulator."""
    directory = copy_module(module, tmp_path_factory.mktemp(module))
    with Emulator() as emulator:
        (directory / "override.tf").write_text(emulator_provider(emulator.endpoint, services))
        run(directory, "init", "-input=false")
        run(directory, "plan", "-input=false", "-out=tfplan")
        yield Example(emulator.endpoint, directory, json.loads(run(directory, "show", "-json", "tfplan")))


@dataclass(frozen=True)
class AppliedEnv:
    """terraform/envs/local applied to an emulator: its endpoint, Terraform work dir and outputs."""

    endpoint: str
    work_dir: Path
    outputs: dict[str, Any]

    def client(self, service: str):  # type: ignore[no-untyped-def]
        return emulator_client(self.endpoint, service)


def ctrl_c_enabled() -> None:
    """In the child before exec: SIGINT back to its default. A test run started in the background has SIGINT
    ignored, and an ignored signal stays ignored across exec, where a terminal's Ctrl-C would reach it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)

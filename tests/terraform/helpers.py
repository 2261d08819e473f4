"""Small helpers of the Terraform tests."""

import subprocess
from pathlib import Path

import boto3

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


def emulator_client(endpoint: str, service: str):  # type: ignore[no-untyped-def]
    """A boto3 client for `service` on the emulator at `endpoint`."""
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )

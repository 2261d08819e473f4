"""Shared setup of the Terraform tests: the offline provider mirror and a scratch copy of terraform/."""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.terraform.helpers import REPO_ROOT, TERRAFORM_DIR

TERRAFORMRC = REPO_ROOT / "build" / "terraformrc"


@pytest.fixture(scope="session", autouse=True)
def terraform_cli_config() -> Iterator[None]:
    """Use the offline provider mirror the Makefile writes, unless the caller chose an existing CLI config."""
    chosen = os.environ.get("TF_CLI_CONFIG_FILE")
    with pytest.MonkeyPatch.context() as patch:
        if (not chosen or not Path(chosen).is_file()) and TERRAFORMRC.is_file():
            patch.setenv("TF_CLI_CONFIG_FILE", str(TERRAFORMRC))
        yield


@pytest.fixture(scope="session")
def terraform_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """terraform/ copied without local state, so that `init` leaves nothing behind in the working tree."""
    copy = tmp_path_factory.mktemp("terraform") / "terraform"
    shutil.copytree(
        TERRAFORM_DIR, copy, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", "*.tfplan")
    )
    return copy

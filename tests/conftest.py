"""The local stack shared by the tests that need `terraform/envs/local` applied.

An apply of the whole stack costs over a minute (most of it the provider waiting for the S3 lifecycle
configurations to read back the same ten times), so tests/delivery/test_ops.py and
tests/terraform/test_local_env.py share one. The root conftest.py sends both files to the same worker, one
after the other: the ops tests first (they put objects in the buckets and remove them when they end), then
the stack's own checks, the last of which destroys it.
"""

import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.emulator import Emulator, terraform_env
from tests.terraform.helpers import REPO_ROOT, AppliedEnv


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppliedEnv]:
    """envs/local applied to an emulator in this worker, once."""
    work_dir = tmp_path_factory.mktemp("envs-local")
    terraformrc = REPO_ROOT / "build" / "terraformrc"
    with pytest.MonkeyPatch.context() as patch, Emulator() as emulator:
        # The offline provider mirror the Makefile writes, unless the caller chose a CLI config.
        if not Path(os.environ.get("TF_CLI_CONFIG_FILE", "")).is_file() and terraformrc.is_file():
            patch.setenv("TF_CLI_CONFIG_FILE", str(terraformrc))
        # moto's backends are per process: start from an empty account whatever ran before in this worker.
        urllib.request.urlopen(urllib.request.Request(f"{emulator.endpoint}/moto-api/reset", method="POST"))
        yield AppliedEnv(emulator.endpoint, work_dir, terraform_env(emulator.endpoint, work_dir))

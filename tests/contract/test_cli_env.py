"""docs/cli.md names the environment variables each CLI reads (the ones ECS task definitions and workflow
overrides set); this checks each image's typer app reads exactly those."""

import importlib
from pathlib import Path

import pytest
import typer

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
IMAGES = ("preprocess", "train", "infer")


def documented_env_vars() -> dict[str, set[str]]:
    table = DOC.read_text().split("## Options and environment variables", 1)[1].split("##", 1)[0]
    by_image: dict[str, set[str]] = {image: set() for image in IMAGES}
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        env_var, used_by = cells[0].strip("`"), cells[2]
        images = IMAGES if used_by.startswith("all") else [i for i in IMAGES if i in used_by]
        for image in images:
            by_image[image].add(env_var)
    return by_image


def cli_env_vars(image: str) -> dict[str, set[str]]:
    """Env var names per subcommand of an image's CLI."""
    command = typer.main.get_command(importlib.import_module(f"{image}.cli").app)
    subcommands = getattr(command, "commands", {"run": command})
    return {
        name: {
            env
            for param in sub.params
            for env in ([param.envvar] if isinstance(param.envvar, str) else (param.envvar or []))
        }
        for name, sub in subcommands.items()
    }


@pytest.mark.parametrize("image", IMAGES)
def test_cli_reads_exactly_the_documented_env_vars(image):
    read = set().union(*cli_env_vars(image).values())
    assert read == documented_env_vars()[image]


@pytest.mark.parametrize("image", IMAGES)
def test_every_option_has_an_env_var(image):
    command = typer.main.get_command(importlib.import_module(f"{image}.cli").app)
    for name, sub in getattr(command, "commands", {"run": command}).items():
        # Flags for people at a terminal (docs/cli.md): preprocess's --dry-run, train versions' --json.
        flags = ("help", "dry_run", "as_json")
        missing = [p.name for p in sub.params if not p.envvar and p.name not in flags]
        assert not missing, f"{image} {name}: options without an env var: {missing}"


@pytest.mark.parametrize("image", IMAGES)
def test_every_image_has_a_run_command_reading_run_date(image):
    assert "RUN_DATE" in cli_env_vars(image)["run"]

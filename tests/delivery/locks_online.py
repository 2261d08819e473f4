"""The lock files against PyPI, run by `make lint` (not collected by `make test`: tests download nothing):
each lock is what `make lock` would write now, and installs from wheels on linux/amd64 and linux/arm64."""

import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.delivery.test_images import (
    ARCHITECTURES,
    GLIBC_OF_DEBIAN,
    UNITS,
    base_python_and_debian,
    compile_lock_in,
    copy_project,
    image_dir,
    lock_command,
    pins,
    uv,
)


@pytest.mark.parametrize("unit", UNITS)
def test_lock_is_up_to_date_with_pyproject(unit: str, tmp_path: Path) -> None:
    """Re-running the lock's own command (pins already in the lock are preferred, so new releases on PyPI
    change nothing) must give the same bytes: any dependency added to or re-bounded in pyproject.toml since
    `make lock` shows up as a difference."""
    project = copy_project(unit, tmp_path / unit)
    recorded = (project / "requirements.lock").read_text()

    result = compile_lock_in(project, lock_command(project / "requirements.lock"))

    assert result.returncode == 0, result.stderr
    assert (project / "requirements.lock").read_text() == recorded, f"run `make lock`: {unit}'s lock is stale"


def test_a_dependency_missing_from_the_lock_changes_it(tmp_path: Path) -> None:
    """The staleness check above can fail: a dependency added to pyproject.toml but not locked is caught."""
    project = copy_project("infer", tmp_path / "infer")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace("dependencies = [\n", 'dependencies = [\n    "idna>=3",\n', 1)
    )
    recorded = (project / "requirements.lock").read_text()
    assert "idna" not in pins(recorded)

    result = compile_lock_in(project, lock_command(project / "requirements.lock"))

    assert result.returncode == 0, result.stderr
    recompiled = (project / "requirements.lock").read_text()
    assert recompiled != recorded
    assert "idna" in pins(recompiled)
    # The pins the lock already had are kept: the check does not drift with PyPI.
    assert {name: version for name, version in pins(recompiled).items() if name != "idna"} == pins(recorded)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
@pytest.mark.parametrize("unit", UNITS)
def test_lock_installs_from_wheels_on_the_base_image(unit: str, architecture: str, tmp_path: Path) -> None:
    """The Dockerfile installs the lock with --only-binary: every pin must have a wheel for the base image's
    Python and glibc on both Fargate architectures. A dry run resolves against PyPI without downloading."""
    python, debian = base_python_and_debian(image_dir(unit) / "Dockerfile")
    platform = f"{architecture}-manylinux_{GLIBC_OF_DEBIAN[debian]}"
    lock = image_dir(unit) / "requirements.lock"

    result = subprocess.run(
        [
            *(uv(), "pip", "install", "--dry-run", "--target", str(tmp_path / "site-packages")),
            *("--python-platform", platform, "--python-version", python, "--only-binary", ":all:"),
            *("--no-deps", "--require-hashes", "--requirement", str(lock)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stderr
    would_install = dict(re.findall(r"^ \+ ([A-Za-z0-9_.\-]+)==(\S+)$", result.stderr, re.MULTILINE))
    dependencies = tomllib.loads((image_dir(unit) / "pyproject.toml").read_text())["project"]["dependencies"]
    for requirement in dependencies:
        name = re.match(r"[A-Za-z0-9_.\-]+", requirement).group(0).lower()
        assert name in would_install, f"{unit}: {name} would not be installed on {platform}"
    assert "colorama" not in would_install, "a Windows-only pin leaked into the linux install"

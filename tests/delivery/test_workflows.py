"""The GitHub Actions workflows: valid against GitHub's workflow schema (check-jsonschema's built-in copy,
offline), and doing what docs/local-containers.md and the issue say: tests and lint on every pull request,
plan of dev through the OIDC plan role on Terraform changes, deploy of main behind the `dev` environment."""

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS_DIR = REPO_ROOT / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOWS_DIR.glob("*.yml"))
CHECK_JSONSCHEMA = Path(sys.executable).with_name("check-jsonschema")


def check_workflow(path: Path) -> subprocess.CompletedProcess[str]:
    command = [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-workflows", str(path)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def load(name: str) -> dict[str, Any]:
    # PyYAML reads the key `on` as the boolean True (YAML 1.1); GitHub reads it as "on".
    workflow = yaml.safe_load((WORKFLOWS_DIR / name).read_text())
    workflow["on"] = workflow.pop(True)
    return workflow


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job["steps"]


def uses(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [step for step in steps(job) if step.get("uses", "").split("@")[0] == action]


def runs(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in steps(job))


def test_the_three_workflows_exist() -> None:
    assert [path.name for path in WORKFLOWS] == ["ci.yml", "deploy.yml", "terraform.yml"]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_workflow_matches_githubs_schema(path: Path) -> None:
    result = check_workflow(path)

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("broken", "error"),
    [
        ("runs-on: ubuntu-24.04", "runs_on: ubuntu-24.04"),  # a job without runs-on
        ("id-token: write", "id-token: admin"),  # a permission level that does not exist
        ("  pull_request:\n", "  pull-request:\n"),  # an event that does not exist
    ],
)
def test_a_broken_workflow_fails_the_schema(broken: str, error: str, tmp_path: Path) -> None:
    text = (WORKFLOWS_DIR / "terraform.yml").read_text()
    assert broken in text
    broken_file = tmp_path / "terraform.yml"
    broken_file.write_text(text.replace(broken, error, 1))

    result = check_workflow(broken_file)

    assert result.returncode != 0
    assert "terraform.yml" in result.stdout


def test_every_make_target_a_workflow_runs_exists() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-zA-Z][\w-]*):", makefile, flags=re.MULTILINE))
    called = {
        target
        for path in WORKFLOWS
        for target in re.findall(r"\bmake ([a-z][\w-]*)", path.read_text().split("jobs:", 1)[1])
    }

    assert called, "no workflow runs make"
    assert called <= targets, f"missing in the Makefile: {sorted(called - targets)}"


def test_ci_lints_and_tests_every_pull_request() -> None:
    workflow = load("ci.yml")
    (job,) = workflow["jobs"].values()

    assert "pull_request" in workflow["on"] and workflow["on"]["pull_request"] is None, "every PR, no filter"
    assert workflow["permissions"] == {"contents": "read"}
    commands = runs(job)
    assert commands.index("make setup") < commands.index("make lint") < commands.index("make test")


def test_terraform_workflow_checks_and_plans_dev_through_the_plan_role() -> None:
    workflow = load("terraform.yml")
    triggers = workflow["on"]
    static, plan = workflow["jobs"]["static"], workflow["jobs"]["plan-dev"]

    assert list(triggers) == ["pull_request"]
    assert "terraform/**" in triggers["pull_request"]["paths"]
    assert workflow["permissions"] == {"contents": "read"}, "only the plan job may ask for an OIDC token"
    assert "terraform fmt -check" in runs(static)
    assert "validate" in runs(static)
    assert "checkov" in runs(static)
    assert plan["needs"] == "static"
    assert plan["permissions"]["id-token"] == "write"
    assert plan["permissions"]["pull-requests"] == "write"
    (credentials,) = uses(plan, "aws-actions/configure-aws-credentials")
    assert re.fullmatch(r"\$\{\{ vars\.\w+ \}\}", credentials["with"]["role-to-assume"])
    assert "terraform plan" in runs(plan) and "-lock=false" in runs(plan)
    assert "GITHUB_STEP_SUMMARY" in runs(plan)
    (comment,) = uses(plan, "actions/github-script")
    assert "createComment" in comment["with"]["script"] and "updateComment" in comment["with"]["script"]


def test_plan_job_token_matches_the_plan_roles_trust_policy() -> None:
    # terraform/modules/github_oidc trusts the subject `repo:<repository>:pull_request`; a job with an
    # `environment` gets the subject `...:environment:<name>` instead and could not assume the role.
    trust = (REPO_ROOT / "terraform" / "modules" / "github_oidc" / "main.tf").read_text()
    plan = load("terraform.yml")["jobs"]["plan-dev"]

    assert ':pull_request"' in trust
    assert "environment" not in plan


def test_deploy_runs_make_deploy_on_main_behind_the_dev_environment() -> None:
    workflow = load("deploy.yml")
    (job,) = workflow["jobs"].values()

    assert workflow["on"]["push"]["branches"] == ["main"]
    assert "pull_request" not in workflow["on"]
    assert job["environment"] == "dev", "the environment's required reviewers are the approval"
    assert workflow["concurrency"]["cancel-in-progress"] is False, "never cancel an apply halfway"
    assert job["permissions"]["id-token"] == "write"
    (credentials,) = uses(job, "aws-actions/configure-aws-credentials")
    assert re.fullmatch(r"\$\{\{ vars\.\w+ \}\}", credentials["with"]["role-to-assume"])
    assert uses(job, "docker/setup-buildx-action"), "make deploy builds with docker buildx"
    assert runs(job).strip().endswith("make deploy ENV=dev")


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_run_steps_fail_on_a_failing_pipe(path: Path) -> None:
    # Without an explicit shell GitHub runs `bash -e`, without pipefail: `terraform plan | tee` would pass.
    workflow = load(path.name)

    assert workflow["defaults"]["run"]["shell"] == "bash"
    for job in workflow["jobs"].values():
        assert all(step.get("shell", "bash") == "bash" for step in steps(job))


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_actions_are_pinned_to_a_version(path: Path) -> None:
    references = re.findall(r"uses: (\S+)", path.read_text())

    assert references
    for reference in references:
        _, _, version = reference.partition("@")
        assert re.fullmatch(r"v\d+(\.\d+)*|[0-9a-f]{40}", version), f"{path.name}: {reference}"


def test_workflows_use_the_terraform_version_of_this_repository() -> None:
    installed = subprocess.run(["terraform", "version", "-json"], capture_output=True, text=True, check=True)
    version = yaml.safe_load(installed.stdout)["terraform_version"]

    for path in WORKFLOWS:
        pinned = set(re.findall(r'terraform_version: "([^"]+)"', path.read_text()))
        assert pinned <= {version}, f"{path.name} pins {pinned}, this repository is tested with {version}"

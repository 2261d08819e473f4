"""checkov, offline, on terraform/ and on the plans of envs/dev and of the examples of the modules envs/dev
leaves out (github_oidc, off by default): zero failed checks.

Each finding is fixed or skipped inline on the resource that raises it (`#checkov:skip=CKV_X:reason`).
Both scans are needed: the HCL scan links only one instance of a `for_each` resource to its companion
resources (false alarms on the others), while the plan scan sees every instance with its values resolved.
`--repo-root-for-plan-enrichment` carries the inline skips of the .tf files over to the plan's findings; it
matches them by `type.name` alone, whatever the module, hence the test that resources sharing a `type.name`
share their skips.

checkov lives in its own environment, .venv-checkov (`make setup`), because it pins an older boto3 than the
images use. Each scan runs once for this file (module-scoped fixtures); the tests read its report.
"""

import json
import os
import re
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from scripts.emulator import Emulator
from scripts.plan import OFFLINE_ENVIRONMENT, offline_copy, offline_variables
from tests.terraform.helpers import MODULES, REPO_ROOT, TERRAFORM_DIR, emulator_provider, run

CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"
# Every service the modules call, all sent to the emulator, so that no plan reaches real AWS.
SERVICES = ["athena", "cloudwatch", "ec2", "ecr", "ecs", "events", "glue", "iam", "kms", "logs", "s3"]
SERVICES += ["scheduler", "sfn", "sns", "sts"]
NO_LOCAL_STATE = shutil.ignore_patterns(".terraform*", "*.tfstate*", "*.tfplan")

# Scanned beside terraform/ in the same run, to prove that the scan finds what it should.
INSECURE_DIR = "insecure"
INSECURE_BUCKET = """
resource "aws_s3_bucket" "public" {
  bucket = "insecure-example"
}

resource "aws_s3_bucket_acl" "public" {
  bucket = aws_s3_bucket.public.id
  acl    = "public-read"
}
"""


def checkov(directory: Path, *args: str) -> dict[str, Any]:
    """Run checkov in `directory` without any network call and return its JSON report (failed checks only)."""
    assert CHECKOV.is_file(), f"{CHECKOV.relative_to(REPO_ROOT)} is missing: `make setup` builds it"
    environment = {
        name: value for name, value in os.environ.items() if name not in {"BC_API_KEY", "PRISMA_API_URL"}
    }
    # No version check against PyPI; --skip-download keeps checkov from fetching guidelines and policies.
    environment["CKV_SKIP_PACKAGE_UPDATE_CHECK"] = "true"
    result = subprocess.run(
        [str(CHECKOV), *args, "--quiet", "--compact", "--skip-download", "--output", "json"],
        cwd=directory,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    # 1 means that some check failed; anything else, or no report, is checkov itself failing.
    assert result.returncode in (0, 1), result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["summary"]["parsing_errors"] == 0, report
    return report


def where(failure: dict[str, Any], root: str) -> str:
    """file:line of the block that failed, or, for a plan finding with no block found, the plan file."""
    path = failure["file_path"].lstrip("/")
    if not path.endswith(".tf"):
        return f"{failure['file_abs_path']} (no .tf block found for it)"
    return f"{root}{path}:{failure['file_line_range'][0]}"


def describe(failures: list[dict[str, Any]], root: str = "") -> str:
    """One line per failed check: id, resource and file:line (paths from the repository root)."""
    lines = sorted(
        f"{failure['check_id']} {failure['resource']} {where(failure, root)} ({failure['check_name']})"
        for failure in failures
    )
    return "checkov failed (fix, or skip inline with `#checkov:skip=CKV_X:reason`):\n" + "\n".join(lines)


@pytest.fixture(scope="module")
def scan_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """terraform/ copied without local state, beside a directory holding an insecure bucket."""
    root = tmp_path_factory.mktemp("checkov")
    shutil.copytree(TERRAFORM_DIR, root / "terraform", ignore=NO_LOCAL_STATE)
    (root / INSECURE_DIR).mkdir()
    (root / INSECURE_DIR / "main.tf").write_text(INSECURE_BUCKET)
    return root


@pytest.fixture(scope="module")
def hcl_failures(scan_root: Path) -> list[dict[str, Any]]:
    """Failed checks of one HCL scan of terraform/ (modules, examples, envs) and the insecure directory."""
    return checkov(scan_root, "--directory", ".", "--framework", "terraform")["results"]["failed_checks"]


def modules_in(plan: dict[str, Any]) -> set[str]:
    """The modules that have resources in an envs plan (`module.stack.module.<name>...`)."""
    prefix = "module.stack.module."
    return {
        change["address"].removeprefix(prefix).split(".")[0].split("[")[0]
        for change in plan["resource_changes"]
        if change["address"].startswith(prefix)
    }


@pytest.fixture(scope="module")
def plan_scan(
    scan_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The `show -json` plans of envs/dev (offline, as `make plan` makes it) and of the examples of the
    modules that plan has no resources of (against the emulator), and one checkov report on all of them."""
    env_dir = offline_copy("dev", tmp_path_factory.mktemp("envs-dev"))
    variables = [f"-var={name}={value}" for name, value in offline_variables("0123456789ab").items()]
    with pytest.MonkeyPatch.context() as patch:
        for name, value in OFFLINE_ENVIRONMENT.items():
            patch.setenv(name, value)
        run(env_dir, "init", "-input=false")
        run(env_dir, "plan", "-input=false", "-out=tfplan", *variables)
        plan = run(env_dir, "show", "-json", "tfplan")
    (env_dir / "tfplan.json").write_text(plan)
    plans, plan_files = [json.loads(plan)], ["--file", str(env_dir / "tfplan.json")]

    # A copy of all the modules, since an example may call several.
    modules = tmp_path_factory.mktemp("plans") / "modules"
    shutil.copytree(TERRAFORM_DIR / "modules", modules, ignore=NO_LOCAL_STATE)
    with Emulator() as emulator:
        for module in sorted(set(MODULES) - {"stack"} - modules_in(plans[0])):
            example = modules / module / "examples" / "basic"
            (example / "override.tf").write_text(emulator_provider(emulator.endpoint, SERVICES))
            run(example, "init", "-input=false")
            run(example, "plan", "-input=false", "-out=tfplan")
            plan = run(example, "show", "-json", "tfplan")
            (example / "tfplan.json").write_text(plan)
            plans.append(json.loads(plan))
            plan_files += ["--file", str(example / "tfplan.json")]
    enrichment = ["--repo-root-for-plan-enrichment", str(scan_root / "terraform")]
    return plans, checkov(scan_root, *plan_files, *enrichment, "--framework", "terraform_plan")


def test_terraform_code_passes_checkov(hcl_failures: list[dict[str, Any]]) -> None:
    failures = [
        failure for failure in hcl_failures if not failure["file_path"].startswith(f"/{INSECURE_DIR}/")
    ]

    assert not failures, describe(failures)


def test_the_plans_of_envs_dev_and_of_the_modules_it_leaves_out_pass_checkov(
    plan_scan: tuple[list[dict[str, Any]], dict[str, Any]],
) -> None:
    plans, report = plan_scan
    planned = [change for plan in plans for change in plan["resource_changes"] if change["mode"] == "managed"]

    assert report["summary"]["resource_count"] == len(planned), "checkov did not scan every planned resource"
    assert not report["results"]["failed_checks"], describe(report["results"]["failed_checks"], "terraform/")


def test_the_scan_fails_a_public_bucket(hcl_failures: list[dict[str, Any]]) -> None:
    found = {(failure["check_id"], failure["resource"]) for failure in hcl_failures}

    assert ("CKV_AWS_20", "aws_s3_bucket.public") in found  # "S3 bucket ACL allows public READ access"


def test_every_skip_names_one_check_and_gives_a_reason() -> None:
    skip = re.compile(r"\s*#checkov:skip=CKV2?_[A-Z0-9]+_\d+:\S.{19,}")
    bad = [
        f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}"
        for path in TERRAFORM_DIR.rglob("*.tf")
        if ".terraform" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if "checkov:skip" in line and not skip.fullmatch(line)
    ]

    assert not bad, "a skip is `#checkov:skip=CKV_X:one-line reason` on its own line:\n" + "\n".join(bad)


def test_resources_sharing_a_name_share_their_skips() -> None:
    # The plan scan's enrichment looks skips up by `type.name`: one block's skips would silence the other's.
    resource = re.compile(r'^resource "(\w+)" "(\w+)" \{$(.*?)^\}$', re.MULTILINE | re.DOTALL)
    skips_by_name: dict[str, set[frozenset[str]]] = defaultdict(set)
    for path in (TERRAFORM_DIR / "modules").glob("*/*.tf"):
        for kind, name, body in resource.findall(path.read_text()):
            skips_by_name[f"{kind}.{name}"].add(frozenset(re.findall(r"#checkov:skip=(\w+):", body)))

    differing = {name: skips for name, skips in skips_by_name.items() if len(skips) > 1}
    assert not differing, differing

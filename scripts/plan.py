"""`make plan ENV=dev|prod`: the Terraform plan of an AWS environment, online or offline.

Online, when `terraform/envs/{env}/backend.hcl` exists: init with that backend and plan with the caller's
AWS credentials and the env's `terraform.tfvars` (account id, region, ...), as in a pull request.

Offline, without it: a copy of `terraform/` in `build/plan/{env}/` whose env gets a local backend (a
`backend_override.tf`; the real S3 backend needs AWS), fake credentials and `offline=true`, so that the
provider never calls AWS and the modules are given the account id instead of looking it up. The plan is
the full plan of every resource, the one the tests assert on.
"""

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
TERRAFORM_DIR = REPO_ROOT / "terraform"
AWS_ENVS = ("dev", "prod")
OFFLINE_ACCOUNT_ID = "123456789012"
OFFLINE_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "offline-plan",
    "AWS_SECRET_ACCESS_KEY": "offline-plan",
    "AWS_EC2_METADATA_DISABLED": "true",
}
LOCAL_BACKEND = 'terraform {\n  backend "local" {}\n}\n'


def offline_variables(image_tag: str) -> dict[str, str]:
    return {"offline": "true", "account_id": OFFLINE_ACCOUNT_ID, "image_tag": image_tag}


def offline_copy(env: str, work_root: Path) -> Path:
    """`terraform/modules` and `terraform/envs/{env}` copied under `work_root` (fresh each time), the env
    with a local backend. Returns the env's directory in the copy."""
    if env not in AWS_ENVS:
        raise ValueError(f"env must be one of {', '.join(AWS_ENVS)}, got {env!r}")
    copy = work_root / "terraform"
    shutil.rmtree(copy, ignore_errors=True)
    ignore = shutil.ignore_patterns(".terraform", "*.tfstate*", "backend.hcl", "terraform.tfvars")
    shutil.copytree(TERRAFORM_DIR / "modules", copy / "modules", ignore=ignore)
    env_dir = copy / "envs" / env
    shutil.copytree(TERRAFORM_DIR / "envs" / env, env_dir, ignore=ignore)
    (env_dir / "backend_override.tf").write_text(LOCAL_BACKEND)
    return env_dir


def shown(path: Path) -> str:
    """A path as a message shows it: relative to the repository when inside it."""
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


def terraform(env_dir: Path, *args: str, environment: dict[str, str]) -> None:
    subcommand, *options = args
    color = [] if sys.stdout.isatty() else ["-no-color"]  # plain text in CI logs and job summaries
    command = ["terraform", f"-chdir={env_dir}", subcommand, *color, *options]
    if subprocess.run(command, env=environment, check=False).returncode != 0:
        raise SystemExit(f"plan: error: `terraform {' '.join(args[:1])}` failed in {env_dir} (see above)")


def plan(env: str, image_tag: str, work_root: Path) -> None:
    env_dir = TERRAFORM_DIR / "envs" / env
    backend_config = env_dir / "backend.hcl"
    if backend_config.exists():
        print(
            f"plan: {env}: online, with the backend in {backend_config.relative_to(REPO_ROOT)}",
            file=sys.stderr,
        )
        environment = dict(os.environ)
        terraform(
            env_dir, "init", "-input=false", f"-backend-config={backend_config.name}", environment=environment
        )
        terraform(env_dir, "plan", "-input=false", f"-var=image_tag={image_tag}", environment=environment)
        return
    print(
        f"plan: {env}: offline (no {shown(backend_config)}): fake credentials, "
        f"account {OFFLINE_ACCOUNT_ID}, local state in {shown(work_root)}",
        file=sys.stderr,
    )
    environment = {**os.environ, **OFFLINE_ENVIRONMENT}
    copy_dir = offline_copy(env, work_root)
    terraform(copy_dir, "init", "-input=false", environment=environment)
    variables = [f"-var={name}={value}" for name, value in offline_variables(image_tag).items()]
    terraform(copy_dir, "plan", "-input=false", *variables, environment=environment)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.plan", description=__doc__.splitlines()[0])
    parser.add_argument("env", choices=AWS_ENVS)
    parser.add_argument("--image-tag", required=True, help="tag of the images the task definitions name")
    arguments = parser.parse_args(argv)
    plan(arguments.env, arguments.image_tag, REPO_ROOT / "build" / "plan" / arguments.env)
    return 0


if __name__ == "__main__":
    sys.exit(main())

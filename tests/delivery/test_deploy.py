"""`scripts/deploy.py` run as `make deploy` runs it, against a copy of envs/dev pointed at the emulator.

`docker` and `git` are recording fakes on PATH (this machine has no Docker daemon, and the tag must not
depend on the working tree); Terraform and boto3 are real, against moto. The commands are read from the
`$ ...` lines the script prints before running each one, and from the fake docker's own record.
"""

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scripts.emulator import Emulator, aws_environment
from tests.terraform.helpers import emulator_client

REPO_ROOT = Path(__file__).resolve().parents[2]
MOTO_ACCOUNT_ID = "123456789012"
FIRST_SHA = "0123456789ab" + "cd" * 14
SECOND_SHA = "fedcba987654" + "ef" * 14
THIRD_SHA = "aaaabbbbcccc" + "dd" * 14
UNITS = ["preprocess", "train", "infer"]
SERVICES = [
    "athena", "cloudwatch", "ec2", "ecr", "ecs", "events", "glue", "iam", "kms", "logs", "s3", "scheduler",
    "sfn", "sns", "sts",
]  # fmt: skip

IMAGE_MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 1,
            "digest": "sha256:0",
        },
        "layers": [],
    }
)

FAKE_DOCKER = """#!{python}
import json, os, sys
with open(os.environ["FAKE_DOCKER_LOG"], "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
if sys.argv[1:2] == ["login"]:
    sys.stdin.read()
failing = os.environ.get("FAKE_DOCKER_FAIL")
if failing and failing in " ".join(sys.argv[1:]):
    print("fake docker: failing as asked", file=sys.stderr)
    sys.exit(1)
print("fake docker " + " ".join(sys.argv[1:3]))
"""

FAKE_GIT = """#!{python}
import os, sys
args = [arg for arg in sys.argv[1:] if arg != "-C" and not arg.startswith("/")]
sha = os.environ["FAKE_GIT_SHA"]
if args[:1] == ["status"]:
    print(os.environ.get("FAKE_GIT_STATUS", ""))
elif args == ["rev-parse", "--short=12", "HEAD"]:
    print(sha[:12])
elif args == ["rev-parse", "HEAD"]:
    print(sha)
else:
    sys.exit("fake git: unexpected " + " ".join(args))
"""


@dataclass(frozen=True)
class Deployment:
    endpoint: str
    work: Path
    fake_bin: Path

    def terraform_dir(self, account_id: str = MOTO_ACCOUNT_ID) -> Path:
        """envs/dev and the modules copied under `work`, with the emulator as provider endpoint, a local
        backend, and the given account in terraform.tfvars (one copy per account id)."""
        root = self.work / f"terraform-{account_id}"
        if root.exists():
            return root
        ignore = shutil.ignore_patterns(".terraform", "*.tfstate*", "backend.hcl", "terraform.tfvars")
        shutil.copytree(REPO_ROOT / "terraform" / "modules", root / "modules", ignore=ignore)
        env_dir = root / "envs" / "dev"
        shutil.copytree(REPO_ROOT / "terraform" / "envs" / "dev", env_dir, ignore=ignore)
        endpoints = "\n".join(f'    {service} = "{self.endpoint}"' for service in SERVICES)
        (env_dir / "provider_override.tf").write_text(
            'provider "aws" {\n  access_key = "test"\n  secret_key = "test"\n'
            "  skip_credentials_validation = true\n  skip_metadata_api_check = true\n"
            f"  s3_use_path_style = true\n  endpoints {{\n{endpoints}\n  }}\n}}\n"
        )
        (env_dir / "backend_override.tf").write_text('terraform {\n  backend "local" {}\n}\n')
        (env_dir / "backend.hcl").write_text(f'path = "{root / "terraform.tfstate"}"\n')
        (env_dir / "terraform.tfvars").write_text(f'account_id = "{account_id}"\nregion = "us-east-1"\n')
        return root

    def client(self, service: str) -> Any:
        return emulator_client(self.endpoint, service)

    def run(self, *args: str, sha: str = FIRST_SHA, typed: str = "", **fake_settings: str) -> "Result":
        docker_log = self.work / "docker.log"
        docker_log.unlink(missing_ok=True)
        environment = {
            **os.environ,
            **aws_environment(self.endpoint),
            "PATH": f"{self.fake_bin}{os.pathsep}{os.environ['PATH']}",
            "FAKE_DOCKER_LOG": str(docker_log),
            "FAKE_GIT_SHA": sha,
            **fake_settings,
        }
        terraformrc = REPO_ROOT / "build" / "terraformrc"
        if not Path(environment.get("TF_CLI_CONFIG_FILE", "")).is_file() and terraformrc.is_file():
            environment["TF_CLI_CONFIG_FILE"] = str(terraformrc)
        process = subprocess.run(
            [sys.executable, "-m", "scripts.deploy", *args],
            cwd=REPO_ROOT,
            env=environment,
            capture_output=True,
            text=True,
            input=typed,
            check=False,
        )
        docker_calls = (
            [json.loads(line) for line in docker_log.read_text().splitlines()] if docker_log.exists() else []
        )
        return Result(process.returncode, process.stdout, process.stderr, docker_calls)


@dataclass(frozen=True)
class Result:
    exit_code: int
    stdout: str
    stderr: str
    docker_calls: list[list[str]]

    @property
    def commands(self) -> list[str]:
        """The commands the script announced, in order, with `-chdir=...` left out."""
        return [
            " ".join(word for word in line[2:].split() if not word.startswith("-chdir="))
            for line in self.stderr.splitlines()
            if line.startswith("$ ")
        ]

    @property
    def error_line(self) -> str:
        return self.stderr.strip().splitlines()[-1]

    def builds(self) -> list[list[str]]:
        return [call for call in self.docker_calls if call[:2] == ["buildx", "build"]]


def step(command: str) -> str:
    """A command reduced to what the order is about: `terraform apply (target)`, `docker buildx build`..."""
    words = command.split()
    if words[0] == "terraform" and words[1] == "apply":
        return (
            "terraform apply -target" if any(w.startswith("-target=") for w in words) else "terraform apply"
        )
    if words[0] == "git":
        return "git " + " ".join(words[3:])
    return " ".join(words[:3]) if words[:2] in (["docker", "buildx"], ["aws", "ecr"]) else " ".join(words[:2])


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    work = tmp_path_factory.mktemp("deploy")
    fake_bin = work / "bin"
    fake_bin.mkdir()
    for name, text in {"docker": FAKE_DOCKER, "git": FAKE_GIT}.items():
        (fake_bin / name).write_text(text.format(python=sys.executable))
        (fake_bin / name).chmod(0o755)
    with Emulator() as emulator:
        # moto's backends are per process: start from an empty account whatever ran before in this worker.
        urllib.request.urlopen(urllib.request.Request(f"{emulator.endpoint}/moto-api/reset", method="POST"))
        yield Deployment(emulator.endpoint, work, fake_bin)


def task_definition_images(deployment: Deployment) -> dict[str, str]:
    ecs = deployment.client("ecs")
    return {
        unit: ecs.describe_task_definition(taskDefinition=f"batchml-dev-{unit}")["taskDefinition"][
            "containerDefinitions"
        ][0]["image"]
        for unit in UNITS
    }


def test_an_unknown_env_is_a_usage_error_on_one_line(deployment: Deployment) -> None:
    result = deployment.run("deploy", "staging", "--terraform-dir", str(deployment.terraform_dir()))

    assert result.exit_code == 2
    assert result.stderr.strip() == "deploy: error: env must be one of dev, prod, got 'staging'"
    assert result.commands == []


def test_credentials_of_another_account_stop_the_deploy_before_terraform(deployment: Deployment) -> None:
    result = deployment.run("deploy", "dev", "--terraform-dir", str(deployment.terraform_dir("210987654321")))

    assert result.exit_code == 2
    assert result.error_line.startswith("deploy: error: the AWS credentials are for account 123456789012")
    assert "is account 210987654321" in result.error_line
    assert [step(command) for command in result.commands] == [
        "terraform version",
        "docker buildx version",
        "git status --porcelain",
        "git rev-parse --short=12 HEAD",
        "git rev-parse HEAD",
        "aws sts",
    ]


def test_uncommitted_changes_stop_the_deploy(deployment: Deployment) -> None:
    result = deployment.run(
        "deploy", "dev", "--terraform-dir", str(deployment.terraform_dir()), FAKE_GIT_STATUS=" M Makefile"
    )

    assert result.exit_code == 2
    assert "uncommitted changes" in result.error_line
    assert not any(command.startswith("terraform init") for command in result.commands)


def test_first_deploy_creates_the_repositories_pushes_the_images_then_rolls_the_tasks(
    deployment: Deployment,
) -> None:
    result = deployment.run("deploy", "dev", "--terraform-dir", str(deployment.terraform_dir()))

    assert result.exit_code == 0, result.stderr[-3000:]
    assert [step(command) for command in result.commands] == [
        "terraform version",
        "docker buildx version",
        "git status --porcelain",
        "git rev-parse --short=12 HEAD",
        "git rev-parse HEAD",
        "aws sts",
        "terraform init",
        "terraform show",
        "terraform apply -target",
        "terraform show",
        "aws ecr get-authorization-token",
        "docker login",
        "aws ecr describe-images",
        "docker buildx build",
        "aws ecr describe-images",
        "docker buildx build",
        "aws ecr describe-images",
        "docker buildx build",
        "terraform apply",
        "terraform show",
    ]
    targeted = next(command for command in result.commands if "-target=" in command)
    assert "-target=module.stack.module.registry" in targeted.split()
    final_apply = [command for command in result.commands if command.startswith("terraform apply")][-1]
    assert "-var=image_tag=0123456789ab" in final_apply.split()

    builds = result.builds()
    assert [call[-1] for call in builds] == [str(REPO_ROOT / "images" / unit) for unit in UNITS]
    for unit, call in zip(UNITS, builds, strict=True):
        assert "--push" in call
        assert "--platform=linux/amd64" in call
        assert f"--build-arg=REVISION={FIRST_SHA}" in call
        tag = next(arg for arg in call if arg.startswith("--tag="))
        assert tag.endswith(f"/batchml-dev/{unit}:0123456789ab")
    login = next(call for call in result.docker_calls if call[0] == "login")
    registry = next(arg for arg in builds[0] if arg.startswith("--tag=")).removeprefix("--tag=").split("/")[0]
    assert login[1:] == ["--username", "AWS", "--password-stdin", registry]

    images = task_definition_images(deployment)
    assert all(image.endswith(f"/batchml-dev/{unit}:0123456789ab") for unit, image in images.items())
    assert result.stdout.splitlines() == [
        f"{unit}: (none) -> revision 1 image 0123456789ab" for unit in UNITS
    ]


def test_a_new_commit_keeps_the_running_images_for_the_infrastructure_apply_then_rolls_them(
    deployment: Deployment,
) -> None:
    result = deployment.run(
        "deploy", "dev", "--terraform-dir", str(deployment.terraform_dir()), sha=SECOND_SHA
    )

    assert result.exit_code == 0, result.stderr[-3000:]
    applies = [command.split() for command in result.commands if command.startswith("terraform apply")]
    assert len(applies) == 2
    assert "-var=image_tag=0123456789ab" in applies[0]
    assert not any(word.startswith("-target=") for word in applies[0])
    assert "-var=image_tag=fedcba987654" in applies[1]
    steps = [step(command) for command in result.commands]
    assert steps.index("terraform apply") < steps.index("docker buildx build") < len(steps) - 2
    assert steps[-2:] == ["terraform apply", "terraform show"]
    assert all(image.endswith(":fedcba987654") for image in task_definition_images(deployment).values())
    assert result.stdout.splitlines() == [
        f"{unit}: revision 1 -> 2, image 0123456789ab -> fedcba987654" for unit in UNITS
    ]


def test_an_image_already_in_ecr_is_reused_and_a_failed_build_stops_the_deploy_with_one_line(
    deployment: Deployment,
) -> None:
    # preprocess of this commit was pushed by an earlier, interrupted deploy (the tags are immutable).
    deployment.client("ecr").put_image(
        repositoryName="batchml-dev/preprocess", imageManifest=IMAGE_MANIFEST, imageTag=THIRD_SHA[:12]
    )

    result = deployment.run(
        "deploy",
        "dev",
        "--terraform-dir",
        str(deployment.terraform_dir()),
        sha=THIRD_SHA,
        FAKE_DOCKER_FAIL="images/train",
    )

    assert result.exit_code == 1
    assert result.error_line == "deploy: error: `docker buildx build` failed with exit code 1 (see above)"
    assert "deploy: preprocess: aaaabbbbcccc is already in ECR, not rebuilt" in result.stderr
    assert [call[-1].rsplit("/", 1)[-1] for call in result.builds()] == ["train"]
    assert [step(command) for command in result.commands][-4:] == [
        "docker login",
        "aws ecr describe-images",
        "aws ecr describe-images",
        "docker buildx build",
    ]
    assert sum(command.startswith("terraform apply") for command in result.commands) == 1
    assert all(image.endswith(":fedcba987654") for image in task_definition_images(deployment).values())
    assert result.stdout == ""


def test_destroy_needs_the_env_name_typed_again(deployment: Deployment) -> None:
    result = deployment.run(
        "destroy", "dev", "--confirm", "prod", "--terraform-dir", str(deployment.terraform_dir())
    )

    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "deploy: error: not confirmed (typed 'prod', expected 'dev'); nothing was destroyed"
    )
    assert result.commands == []
    assert len(task_definition_images(deployment)) == 3


def test_destroy_with_the_name_typed_at_the_prompt_destroys_the_env(deployment: Deployment) -> None:
    # ECR refuses to delete a repository holding images outside the local env (no force_delete): empty it.
    deployment.client("ecr").batch_delete_image(
        repositoryName="batchml-dev/preprocess", imageIds=[{"imageTag": THIRD_SHA[:12]}]
    )

    result = deployment.run(
        "destroy", "dev", "--terraform-dir", str(deployment.terraform_dir()), typed="dev\n"
    )

    assert result.exit_code == 0, result.stderr[-3000:]
    assert result.stdout == "This destroys every resource of dev. Type 'dev' to confirm: dev: destroyed\n"
    assert [step(command) for command in result.commands] == [
        "aws sts",
        "terraform init",
        "terraform destroy",
    ]
    buckets = [bucket["Name"] for bucket in deployment.client("s3").list_buckets()["Buckets"]]
    assert not [name for name in buckets if name.startswith("batchml-dev-")]
    assert deployment.client("stepfunctions").list_state_machines()["stateMachines"] == []

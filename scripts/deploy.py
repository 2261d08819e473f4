"""`make deploy ENV=dev|prod` and `make destroy ENV=dev|prod`: one AWS environment, end to end.

Deploy, in this order, stopping at the first failure:
1. the tools (`terraform`, `docker buildx`) and a clean git tree (the image tag names a commit);
2. the AWS identity: `sts get-caller-identity` must be the `account_id` of the env's `terraform.tfvars`;
3. `terraform init` with the env's `backend.hcl`, then `terraform apply` of the env with the images that run
   now (on a first deploy only the ECR repositories, `-target=module.stack.module.registry`);
4. `docker buildx build --platform linux/<arch> --push` of the three images, tagged with
   `git rev-parse --short=12 HEAD` (an image already in ECR with that tag is not rebuilt: tags are immutable);
5. `terraform apply -var image_tag=<tag>`, which rolls the task definitions to the new images;
6. the task definition revisions and image tags before and after, per unit.

Every command is printed (`$ ...`) on stderr before it runs. Facts about the deployed stack (repositories,
task definitions and their images) come from `terraform show -json`, so they are read from the state even
after a targeted apply, when the `stack` output is not complete yet.
"""

import base64
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any

import boto3
import typer
from botocore.exceptions import BotoCoreError, ClientError

from scripts.plan import AWS_ENVS, REPO_ROOT, TERRAFORM_DIR

UNITS = ("preprocess", "train", "infer")
ARCHITECTURES = ("amd64", "arm64")
REGISTRY_TARGET = "module.stack.module.registry"
DEFAULT_REGION = "us-east-1"
EXIT_FAILED = 1
EXIT_CONFIG = 2


class DeployError(Exception):
    """A step failed; carries the exit code and the one line to print."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class DeploySettings:
    env: str
    env_dir: Path
    account_id: str
    region: str
    architecture: str
    allow_dirty: bool
    source_url: str = ""


@dataclass(frozen=True)
class TaskDefinition:
    arn: str
    image: str

    @property
    def revision(self) -> str:
        return self.arn.rsplit(":", 1)[-1]

    @property
    def image_tag(self) -> str:
        return self.image.rsplit(":", 1)[-1]


@dataclass(frozen=True)
class StackState:
    """What the env's Terraform state says about the images: repository URL and task definition per unit."""

    repository_urls: dict[str, str]
    task_definitions: dict[str, TaskDefinition]


def run(command: list[str], *, capture: bool = False, stdin: str | None = None) -> str:
    """Print and run one command (its output to stderr unless captured); a failure stops the deploy."""
    print(f"$ {' '.join(command)}", file=sys.stderr, flush=True)
    try:
        result = subprocess.run(
            command,
            input=stdin,
            # stdout stays for the summary of what changed: the tools' own output goes to stderr.
            stdout=subprocess.PIPE if capture else sys.stderr,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        raise DeployError(f"`{command[0]}` is not on PATH") from None
    if result.returncode != 0:
        raise DeployError(f"`{' '.join(command[:3])}` failed with exit code {result.returncode} (see above)")
    return result.stdout or ""


def terraform(settings: DeploySettings, subcommand: str, *args: str, capture: bool = False) -> str:
    # No colour: the escape codes would end up in CI logs, and the last one has no newline after it.
    return run(["terraform", f"-chdir={settings.env_dir}", subcommand, "-no-color", *args], capture=capture)


def git(*args: str) -> str:
    return run(["git", "-C", str(REPO_ROOT), *args], capture=True).strip()


def check_tools() -> None:
    for tool in ("terraform", "docker", "git"):
        if shutil.which(tool) is None:
            raise DeployError(f"`{tool}` is not on PATH", EXIT_CONFIG)
    run(["terraform", "version"], capture=True)
    run(["docker", "buildx", "version"], capture=True)


def image_tag(allow_dirty: bool) -> tuple[str, str]:
    """(tag, full commit): the images are tagged with the commit they are built from."""
    if not allow_dirty and git("status", "--porcelain"):
        raise DeployError(
            "the git working tree has uncommitted changes: commit them (the image tag names a commit) "
            "or pass --allow-dirty",
            EXIT_CONFIG,
        )
    return git("rev-parse", "--short=12", "HEAD"), git("rev-parse", "HEAD")


def account_and_region(env_dir: Path) -> tuple[str, str]:
    """The env's `account_id` and `region` from its terraform.tfvars (region defaults as in variables.tf)."""
    tfvars = env_dir / "terraform.tfvars"
    if not tfvars.is_file():
        raise DeployError(f"{tfvars} is missing: copy terraform.tfvars.example and fill it in", EXIT_CONFIG)
    text = tfvars.read_text()
    account = re.search(r'^\s*account_id\s*=\s*"(\d{12})"', text, re.MULTILINE)
    if account is None:
        raise DeployError(f'{tfvars} sets no account_id = "<12 digits>"', EXIT_CONFIG)
    region = re.search(r'^\s*region\s*=\s*"([a-z0-9-]+)"', text, re.MULTILINE)
    return account.group(1), region.group(1) if region else DEFAULT_REGION


def check_identity(settings: DeploySettings) -> str:
    """The caller's AWS account must be the env's; returns the caller's ARN."""
    expected = settings.account_id
    env_dir = settings.env_dir
    print("$ aws sts get-caller-identity", file=sys.stderr, flush=True)
    try:
        identity = boto3.client("sts", region_name=settings.region).get_caller_identity()
    except (BotoCoreError, ClientError) as error:
        raise DeployError(f"no usable AWS credentials: {error}", EXIT_CONFIG) from None
    if identity["Account"] != expected:
        raise DeployError(
            f"the AWS credentials are for account {identity['Account']} ({identity['Arn']}), "
            f"but {env_dir.name} is account {expected}: switch profile (AWS_PROFILE) or credentials",
            EXIT_CONFIG,
        )
    return identity["Arn"]


def init(settings: DeploySettings) -> None:
    backend_config = settings.env_dir / "backend.hcl"
    if not backend_config.is_file():
        raise DeployError(
            f"{backend_config} is missing: copy backend.hcl.example and fill it in (the state bucket)",
            EXIT_CONFIG,
        )
    terraform(settings, "init", "-input=false", f"-backend-config={backend_config.name}")


def stack_state(show_json: str) -> StackState:
    """Repositories and task definitions, by unit, from `terraform show -json` (empty before any apply)."""
    document = json.loads(show_json) if show_json.strip() else {}
    resources = list(_resources(document.get("values", {}).get("root_module", {})))
    repository_urls = {
        resource["index"]: resource["values"]["repository_url"]
        for resource in resources
        if resource["type"] == "aws_ecr_repository" and resource["mode"] == "managed"
    }
    task_definitions = {
        resource["index"]: TaskDefinition(
            resource["values"]["arn"],
            json.loads(resource["values"]["container_definitions"])[0]["image"],
        )
        for resource in resources
        if resource["type"] == "aws_ecs_task_definition" and resource["mode"] == "managed"
    }
    return StackState(repository_urls, task_definitions)


def _resources(module: dict[str, Any]) -> Any:
    yield from module.get("resources", [])
    for child in module.get("child_modules", []):
        yield from _resources(child)


def read_state(settings: DeploySettings) -> StackState:
    return stack_state(terraform(settings, "show", "-json", capture=True))


def apply(settings: DeploySettings, tag: str, *targets: str) -> None:
    target_args = [f"-target={target}" for target in targets]
    terraform(settings, "apply", "-auto-approve", "-input=false", *target_args, f"-var=image_tag={tag}")


def docker_login(settings: DeploySettings, repository_urls: dict[str, str]) -> None:
    """`docker login` to the env's registry with a token from ECR (what `aws ecr get-login-password` does)."""
    registry = next(iter(repository_urls.values())).split("/", 1)[0]
    print("$ aws ecr get-authorization-token", file=sys.stderr, flush=True)
    try:
        token = boto3.client("ecr", region_name=settings.region).get_authorization_token()[
            "authorizationData"
        ][0]["authorizationToken"]
    except (BotoCoreError, ClientError, IndexError, KeyError) as error:
        raise DeployError(f"cannot get an ECR login token: {error}") from None
    user, password = base64.b64decode(token).decode().split(":", 1)
    run(["docker", "login", "--username", user, "--password-stdin", registry], capture=True, stdin=password)


def already_pushed(settings: DeploySettings, repository_url: str, tag: str) -> bool:
    repository = repository_url.split("/", 1)[1]
    print(
        f"$ aws ecr describe-images --repository-name {repository} --image-ids imageTag={tag}",
        file=sys.stderr,
        flush=True,
    )
    try:
        boto3.client("ecr", region_name=settings.region).describe_images(
            repositoryName=repository, imageIds=[{"imageTag": tag}]
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ImageNotFoundException":
            return False
        raise DeployError(f"cannot look up {repository}:{tag} in ECR: {error}") from None
    return True


def build_and_push(settings: DeploySettings, repository_urls: dict[str, str], tag: str, commit: str) -> None:
    for unit in UNITS:
        # The repositories' tags are immutable: an image of this commit that is already pushed (a deploy
        # re-run after a failure, a rollback to an earlier commit) is used as it is.
        if already_pushed(settings, repository_urls[unit], tag):
            print(f"deploy: {unit}: {tag} is already in ECR, not rebuilt", file=sys.stderr, flush=True)
            continue
        context = REPO_ROOT / "images" / unit
        run(
            [
                "docker",
                "buildx",
                "build",
                f"--platform=linux/{settings.architecture}",
                "--push",
                f"--tag={repository_urls[unit]}:{tag}",
                f"--build-arg=REVISION={commit}",
                *([f"--build-arg=SOURCE={settings.source_url}"] if settings.source_url else []),
                f"--file={context / 'Dockerfile'}",
                str(context),
            ]
        )


def changes(before: StackState, after: StackState) -> list[str]:
    """One line per unit: task definition revision and image tag, old -> new."""
    lines = []
    for unit in UNITS:
        new = after.task_definitions.get(unit)
        old = before.task_definitions.get(unit)
        if new is None:
            lines.append(f"{unit}: no task definition")
        elif old is None:
            lines.append(f"{unit}: (none) -> revision {new.revision} image {new.image_tag}")
        elif old.arn == new.arn:
            lines.append(f"{unit}: unchanged, revision {new.revision} image {new.image_tag}")
        else:
            lines.append(
                f"{unit}: revision {old.revision} -> {new.revision}, image {old.image_tag} -> {new.image_tag}"
            )
    return lines


def deploy(settings: DeploySettings) -> list[str]:
    check_tools()
    tag, commit = image_tag(settings.allow_dirty)
    caller = check_identity(settings)
    print(f"deploy: {settings.env} as {caller}, images tagged {tag}", file=sys.stderr, flush=True)
    init(settings)
    before = read_state(settings)
    if set(before.repository_urls) != set(UNITS):
        # First deploy: the repositories must exist before anything can be pushed to them.
        apply(settings, tag, REGISTRY_TARGET)
    else:
        # The infrastructure first, with the images that run now, so that a failed apply pushes nothing.
        # (Units on different tags, after a deploy stopped half-way, get the new tag in both applies.)
        running = {definition.image_tag for definition in before.task_definitions.values()}
        apply(settings, running.pop() if len(running) == 1 else tag)
    repository_urls = read_state(settings).repository_urls
    docker_login(settings, repository_urls)
    build_and_push(settings, repository_urls, tag, commit)
    apply(settings, tag)
    return changes(before, read_state(settings))


def destroy(settings: DeploySettings) -> None:
    check_identity(settings)
    init(settings)
    terraform(settings, "destroy", "-auto-approve", "-input=false", "-var=image_tag=destroy")


def settings_for(env: str, terraform_dir: Path, architecture: str, allow_dirty: bool) -> DeploySettings:
    if env not in AWS_ENVS:
        raise DeployError(f"env must be one of {', '.join(AWS_ENVS)}, got {env!r}", EXIT_CONFIG)
    if architecture not in ARCHITECTURES:
        raise DeployError(
            f"--arch must be one of {', '.join(ARCHITECTURES)}, got {architecture!r}", EXIT_CONFIG
        )
    env_dir = terraform_dir.resolve() / "envs" / env
    if not env_dir.is_dir():
        raise DeployError(f"{env_dir} does not exist", EXIT_CONFIG)
    account_id, region = account_and_region(env_dir)
    return DeploySettings(env, env_dir, account_id, region, architecture, allow_dirty)


app = typer.Typer(add_completion=False, help="Deploy or destroy an AWS environment (dev or prod).")

EnvArgument = Annotated[str, typer.Argument(help="environment: dev or prod", show_default=False)]
TerraformDirOption = Annotated[
    Path,
    typer.Option(help="folder holding envs/ and modules/ (a copy, for tests)", envvar="DEPLOY_TERRAFORM_DIR"),
]


@app.command("deploy")
def deploy_command(
    env: EnvArgument,
    arch: Annotated[
        str,
        typer.Option(
            help="CPU architecture of the images: amd64 or arm64; must match the stack's cpu_architecture "
            "(X86_64 = amd64, ARM64 = arm64)",
            envvar="DEPLOY_ARCH",
        ),
    ] = "amd64",
    allow_dirty: Annotated[
        bool,
        typer.Option(
            "--allow-dirty", help="deploy from a working tree with uncommitted changes", envvar="ALLOW_DIRTY"
        ),
    ] = False,
    source: Annotated[
        str,
        typer.Option(
            help="repository URL for the images' org.opencontainers.image.source label", envvar="IMAGE_SOURCE"
        ),
    ] = "",
    terraform_dir: TerraformDirOption = TERRAFORM_DIR,
) -> None:
    """Apply the env, build and push the images, roll the task definitions, print what changed."""
    settings = replace(settings_for(env, terraform_dir, arch, allow_dirty), source_url=source)
    for line in deploy(settings):
        print(line)


@app.command("destroy")
def destroy_command(
    env: EnvArgument,
    confirm: Annotated[
        str,
        typer.Option(
            help="the env's name, typed again to confirm (asked for when not given)",
            envvar="DESTROY_CONFIRM",
        ),
    ] = "",
    terraform_dir: TerraformDirOption = TERRAFORM_DIR,
) -> None:
    """Destroy every resource of the env (buckets must be empty: versioned data is never force-deleted)."""
    settings = settings_for(env, terraform_dir, "amd64", True)
    if not confirm:
        confirm = typer.prompt(f"This destroys every resource of {env}. Type {env!r} to confirm")
    if confirm != env:
        raise DeployError(f"not confirmed (typed {confirm!r}, expected {env!r}); nothing was destroyed")
    destroy(settings)
    print(f"{env}: destroyed")


def main(argv: list[str] | None = None) -> int:
    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="python -m scripts.deploy", standalone_mode=False)
    except DeployError as error:
        print(f"deploy: error: {error}", file=sys.stderr)
        return error.exit_code
    except typer.Abort:
        print("deploy: error: aborted", file=sys.stderr)
        return EXIT_FAILED
    except typer.Exit as done:  # --help
        return done.exit_code
    except typer.TyperException as error:  # typer's click: unknown option, bad or missing value
        print(f"deploy: error: {error.format_message()}", file=sys.stderr)
        return EXIT_CONFIG
    return 0


if __name__ == "__main__":
    sys.exit(main())

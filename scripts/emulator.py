"""The project's local AWS: moto's server in this process, with `terraform/envs/local` applied to it.

Library (the demo and the end-to-end tests use it):

    with Emulator() as emulator:
        outputs = terraform_env(emulator.endpoint, work_dir)   # name -> value of `terraform output`
        ...
        terraform_destroy(emulator.endpoint, work_dir)

CLI (what `make emulator` runs): `python -m scripts.emulator [--port N] [--work-dir build/emulator]` starts
the emulator, applies the env, prints the endpoint and `export` lines, and serves until Ctrl-C.

moto keeps its data in process-wide backends: two emulators in one process see the same resources, and
everything is gone once the process ends. Terraform runs with the caller's environment (the Makefile sets
TF_CLI_CONFIG_FILE to the offline provider mirror), plus fake credentials where none are set.
"""

import argparse
import contextlib
import json
import logging
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from moto.server import ThreadedMotoServer

from scripts import moto_compat

REPO_ROOT = Path(__file__).resolve().parents[1]
LOCAL_ENV_DIR = REPO_ROOT / "terraform" / "envs" / "local"
HOST = "127.0.0.1"
FAKE_AWS_SETTINGS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1"}
# boto3 reads the region from AWS_DEFAULT_REGION only (other SDKs and the CLI from AWS_REGION).
FAKE_AWS_SETTINGS["AWS_DEFAULT_REGION"] = FAKE_AWS_SETTINGS["AWS_REGION"]
LOG_TAIL_LINES = 40
TERRAFORM_STOP_SECONDS = 20


class EmulatorError(RuntimeError):
    """The emulator could not start."""


class TerraformError(RuntimeError):
    """A terraform command failed; the message ends with the tail of its log."""


class Emulator:
    """moto's server on a loopback port, patched by `scripts.moto_compat`; a context manager."""

    def __init__(self, port: int | None = None, *, log_requests: bool = False) -> None:
        self.requested_port = port
        self.log_requests = log_requests
        self._server: ThreadedMotoServer | None = None
        self._endpoint: str | None = None

    @property
    def endpoint(self) -> str:
        """`http://127.0.0.1:PORT` of the running server."""
        if self._endpoint is None:
            raise EmulatorError("the emulator is not running")
        return self._endpoint

    def start(self) -> None:
        moto_compat.apply()
        if not self.log_requests:
            # moto's request handler logs one line per request through werkzeug's logger.
            logging.getLogger("werkzeug").setLevel(logging.WARNING)
        if self.requested_port is not None:
            # ThreadedMotoServer waits forever when its thread fails to bind, so fail here first.
            _ensure_port_free(self.requested_port)
        # Port 0 lets the kernel pick a free port, with no race between choosing and binding it.
        server = ThreadedMotoServer(ip_address=HOST, port=self.requested_port or 0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        self._server = server
        self._endpoint = f"http://{host}:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        self._server = None
        self._endpoint = None

    def __enter__(self) -> "Emulator":
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def aws_environment(endpoint: str) -> dict[str, str]:
    """The standard AWS SDK settings that point boto3 (and the units) at the emulator."""
    return {"AWS_ENDPOINT_URL": endpoint, **FAKE_AWS_SETTINGS}


def terraform_env(endpoint: str, work_dir: Path) -> dict[str, Any]:
    """Apply `terraform/envs/local` against `endpoint`, state in `work_dir`; return its outputs by name."""
    _init(work_dir)
    _terraform(work_dir, "apply", "-auto-approve", "-input=false", *_endpoint(endpoint))
    return terraform_outputs(work_dir)


def terraform_destroy(endpoint: str, work_dir: Path) -> None:
    """Destroy what `terraform_env` applied with the same `work_dir`."""
    _init(work_dir)
    _terraform(work_dir, "destroy", "-auto-approve", "-input=false", *_endpoint(endpoint))


def terraform_plan_has_changes(endpoint: str, work_dir: Path) -> bool:
    """After `terraform_env` with the same `work_dir`, plan again: True when the plan is not empty."""
    args = ("plan", "-detailed-exitcode", "-input=false", *_endpoint(endpoint))
    exit_code = _terraform(work_dir, *args, allowed_exit_codes=(0, 2)).returncode
    return exit_code == 2


def terraform_outputs(work_dir: Path) -> dict[str, Any]:
    """The outputs of the stack module in `work_dir`'s state, name -> value (envs/local's `stack` output)."""
    result = _terraform(work_dir, "output", "-json", capture_stdout=True)
    return json.loads(result.stdout)["stack"]["value"]


def _init(work_dir: Path) -> None:
    # envs/local declares an empty local backend: each work dir brings its own state file.
    state = work_dir.resolve() / "terraform.tfstate"
    _terraform(work_dir, "init", "-input=false", f"-backend-config=path={state}")


def _endpoint(endpoint: str) -> tuple[str, ...]:
    return ("-var", f"endpoint={endpoint}")


def _terraform(
    work_dir: Path,
    *args: str,
    capture_stdout: bool = False,
    allowed_exit_codes: tuple[int, ...] = (0,),
) -> subprocess.CompletedProcess[str]:
    """Run one terraform command on envs/local; its output goes to `work_dir/terraform.log`."""
    executable = shutil.which("terraform")
    if executable is None:
        raise TerraformError("terraform is not on PATH")
    work_dir = work_dir.resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    log_path = work_dir / "terraform.log"
    subcommand, *options = args
    command = [executable, f"-chdir={LOCAL_ENV_DIR}", subcommand, "-no-color", *options]
    with log_path.open("a", encoding="utf-8") as log:
        log.write(f"\n$ terraform {' '.join(args)}\n")
        log.flush()
        # A session of its own: a Ctrl-C on the terminal reaches only us, and we stop terraform exactly once.
        process = subprocess.Popen(
            command,
            env=_terraform_environment(work_dir),
            stdout=subprocess.PIPE if capture_stdout else log,
            stderr=log,
            text=True,
            start_new_session=True,
        )
        try:
            stdout, _ = process.communicate()
        except BaseException:
            _stop_terraform(process)
            raise
    if process.returncode not in allowed_exit_codes:
        tail = "\n".join(log_path.read_text(encoding="utf-8").splitlines()[-LOG_TAIL_LINES:])
        raise TerraformError(
            f"terraform {subcommand} failed with exit code {process.returncode}; end of {log_path}:\n{tail}"
        )
    return subprocess.CompletedProcess(command, process.returncode, stdout)


def _stop_terraform(process: subprocess.Popen[str]) -> None:
    """Interrupt terraform once (it stops gracefully), then make sure nothing of its session is left."""
    try:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=TERRAFORM_STOP_SECONDS)
    except (subprocess.TimeoutExpired, KeyboardInterrupt):
        pass
    finally:
        # Provider plugins run in terraform's process group and must not outlive it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _terraform_environment(work_dir: Path) -> dict[str, str]:
    environment = dict(os.environ)
    for name, value in FAKE_AWS_SETTINGS.items():
        environment.setdefault(name, value)
    environment["TF_IN_AUTOMATION"] = "1"
    # Providers and modules per work dir, so that runs in parallel never share a .terraform folder.
    environment["TF_DATA_DIR"] = str(work_dir / ".terraform")
    return environment


def _ensure_port_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError as error:
            raise EmulatorError(f"cannot listen on {HOST}:{port}: {error.strerror}") from error


def _export_lines(endpoint: str, outputs: dict[str, Any]) -> list[str]:
    variables = {**aws_environment(endpoint), **outputs["unit_environment"]}
    return [f"export {name}={shlex.quote(str(value))}" for name, value in variables.items()]


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.emulator",
        description="Start the local AWS emulator with terraform/envs/local applied; serve until Ctrl-C.",
    )
    parser.add_argument("--port", type=int, default=None, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=Path("build/emulator"),
        help="folder for the Terraform state and log (default: build/emulator)",
    )
    parser.add_argument("--log-requests", action="store_true", help="log every request the emulator serves")
    args = parser.parse_args(argv)
    work_dir = args.work_dir.resolve()
    # A new emulator starts empty: state left by an earlier session describes resources that are gone.
    for stale_state in work_dir.glob("terraform.tfstate*"):
        stale_state.unlink()
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        with Emulator(args.port, log_requests=args.log_requests) as emulator:
            print(f"emulator: listening on {emulator.endpoint}", file=sys.stderr)
            print("emulator: applying terraform/envs/local (about a minute)...", file=sys.stderr)
            outputs = terraform_env(emulator.endpoint, work_dir)
            print(f"# AWS emulator at {emulator.endpoint}; paste these lines into another shell:")
            print("\n".join(_export_lines(emulator.endpoint, outputs)), flush=True)
            print(f"emulator: ready (Terraform state and log in {work_dir}); Ctrl-C to stop", file=sys.stderr)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        print("emulator: stopped", file=sys.stderr)
        return 0
    except (EmulatorError, TerraformError) as error:
        print(f"emulator: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

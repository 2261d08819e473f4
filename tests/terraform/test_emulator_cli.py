"""`python -m scripts.emulator` (what `make emulator` runs): serve with envs/local applied, stop on Ctrl-C."""

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import boto3
import pytest

from tests.terraform.helpers import REPO_ROOT, ctrl_c_enabled


def start_cli(work_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "scripts.emulator", "--work-dir", str(work_dir)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, so the test can Ctrl-C it as a terminal would
        preexec_fn=ctrl_c_enabled,
    )


def wait_for_stderr_line(cli: subprocess.Popen[str], text: str) -> str:
    while line := cli.stderr.readline():
        if text in line:
            return line
    raise AssertionError(f"the emulator exited (code {cli.wait()}) before printing {text!r}")


def endpoint_port(line: str) -> int:
    return urlparse(re.search(r"listening on (http://\S+)", line).group(1)).port


def port_is_closed(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def leftover_processes(cli: subprocess.Popen[str], work_dir: Path) -> list[str]:
    """Processes still in the CLI's group, or naming its work dir (terraform and its provider plugins)."""
    table = subprocess.run(["ps", "-eo", "pgid=,pid=,args="], capture_output=True, text=True, check=True)
    return [
        line
        for line in table.stdout.splitlines()
        if line.split()[0] == str(cli.pid) or (str(work_dir) in line and "ps -eo" not in line)
    ]


# `make test` applies envs/local through the same library in test_local_env.py and the demo, and starts and
# stops this CLI in the test below; the whole serve cycle is one more full apply, so it runs in test-slow.
@pytest.mark.slow
def test_cli_serves_the_applied_env_until_ctrl_c(tmp_path: Path):
    work_dir = tmp_path / "emulator"
    cli = start_cli(work_dir)
    port = endpoint_port(wait_for_stderr_line(cli, "listening on"))
    wait_for_stderr_line(cli, "ready")
    os.set_blocking(cli.stdout.fileno(), False)
    printed = cli.stdout.read()  # the exports were flushed before "ready"

    exports = dict(
        shlex.split(line)[1].split("=", 1) for line in printed.splitlines() if line.startswith("export ")
    )
    assert exports["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{port}"
    assert exports["LAKE_BUCKET"] == "batchml-local-lake"
    session = boto3.Session(
        aws_access_key_id=exports["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=exports["AWS_SECRET_ACCESS_KEY"],
        region_name=exports["AWS_REGION"],
    )
    s3 = session.client("s3", endpoint_url=exports["AWS_ENDPOINT_URL"])
    for name in ["LAKE_BUCKET", "WAREHOUSE_BUCKET", "MART_BUCKET", "ARTIFACTS_BUCKET"]:
        s3.head_bucket(Bucket=exports[name])
    assert (work_dir / "terraform.tfstate").is_file()
    # A kept-alive connection holds a server thread, and the server waits for its threads when it stops.
    s3.close()

    os.killpg(cli.pid, signal.SIGINT)
    _, stderr = cli.communicate(timeout=60)

    assert cli.returncode == 0, stderr
    assert "stopped" in stderr
    assert port_is_closed(port)
    assert leftover_processes(cli, work_dir) == []


def test_ctrl_c_during_apply_stops_terraform_and_the_emulator(tmp_path: Path):
    work_dir = tmp_path / "emulator"
    cli = start_cli(work_dir)
    port = endpoint_port(wait_for_stderr_line(cli, "listening on"))
    wait_for_stderr_line(cli, "applying")
    time.sleep(25)  # inside `terraform apply`, while the lifecycle configurations are awaited

    os.killpg(cli.pid, signal.SIGINT)
    _, stderr = cli.communicate(timeout=120)

    assert cli.returncode == 0, stderr
    assert "stopped" in stderr
    assert port_is_closed(port)
    assert leftover_processes(cli, work_dir) == []


def test_cli_reports_a_busy_port_in_one_line(tmp_path: Path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "scripts.emulator", "--port", str(port), "--work-dir", str(tmp_path)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert result.returncode == 1
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(f"emulator: error: cannot listen on 127.0.0.1:{port}")
    )

"""`make demo` end to end: a fresh emulator, Terraform applied to it, the three units as processes."""

import csv
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from scripts.demo import StepFailed, run_unit
from tests.terraform.helpers import ctrl_c_enabled

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO = [sys.executable, "-m", "scripts.demo"]


def start_demo(tmp_path: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*DEMO, "--out", str(tmp_path / "out"), "--work-dir", str(tmp_path / "work"), *args],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, so a test can Ctrl-C it like a terminal would
        preexec_fn=ctrl_c_enabled,
    )


def endpoint_port(stdout: str) -> int:
    endpoint = re.search(r"listening on (http://\S+)", stdout).group(1)
    return urlparse(endpoint).port


def port_is_closed(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def processes_in_group(pgid: int) -> list[str]:
    out = subprocess.run(["ps", "-eo", "pgid=,pid=,args="], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if line.split()[0] == str(pgid)]


def test_demo_runs_the_whole_pipeline_and_leaves_results(tmp_path):
    demo = start_demo(tmp_path)
    stdout, stderr = demo.communicate(timeout=600)
    assert demo.returncode == 0, stderr

    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    rows = summary["rows"]
    stores_x_items = 10 * 50
    assert (rows["mart.predictions"]["partitions"], rows["mart.predictions"]["rows"]) == (1, stores_x_items)
    assert rows["warehouse.sales"]["partitions"] == 100
    assert rows["mart.features"]["partitions"] == 101  # every landing day plus the forecast day
    # preprocess and infer registered every partition they committed in Glue, at the manifest's run folder
    # (Athena's view)
    for table in (
        "warehouse.sales",
        "warehouse.prices",
        "warehouse.quarantine",
        "mart.features",
        "mart.predictions",
    ):
        assert rows[table]["registered"] == rows[table]["partitions"], table
    assert summary["promoted"] is True
    wape = summary["wape"]
    assert wape["oracle"] <= wape["model"] < wape["seasonal_naive"]

    predictions_csv = tmp_path / "out" / f"predictions_{summary['target_date']}.csv"
    predictions = list(csv.DictReader(predictions_csv.open()))
    assert len(predictions) == stores_x_items
    assert all(float(row["prediction"]) >= 0 and row["units_sold"] != "" for row in predictions)
    assert {row["model_version"] for row in predictions} == {summary["model_version"]}
    report = (tmp_path / "out" / "model-report" / "index.html").read_text()
    assert summary["model_version"] in report and "WAPE" in report

    assert "oracle" in stdout and "Predictions for" in stdout
    assert port_is_closed(endpoint_port(stdout))
    assert processes_in_group(demo.pid) == []


def test_a_failing_unit_becomes_one_error_naming_the_step_its_exit_code_and_its_line(tmp_path):
    # Without its settings, train stops at once with exit 2 (usage) and one line naming what is missing.
    environment = {"PATH": os.environ["PATH"], "LOG_FORMAT": "json"}
    with pytest.raises(StepFailed) as failure:
        run_unit("train run", ["train", "run"], environment, tmp_path)
    assert failure.value.exit_code == 2
    message = str(failure.value)
    assert message.startswith("step 'train run' failed with exit code 2: train: error:")
    assert "RUN_DATE" in message and str(tmp_path / "train-run.log") in message


@pytest.mark.slow  # a whole stack applied to see train fail; the test above checks the error, Ctrl-C the stop
def test_demo_failure_names_the_step_and_stops_everything(tmp_path):
    # 30 days of history cannot fill the default 56-day training window: train exits 4 (input missing).
    demo = start_demo(tmp_path, "--days", "30")
    stdout, stderr = demo.communicate(timeout=600)
    assert demo.returncode == 1
    error_lines = [line for line in stderr.splitlines() if line.startswith("demo: error:")]
    assert len(error_lines) == 1
    assert "train run" in error_lines[0] and "exit code 4" in error_lines[0]
    assert port_is_closed(endpoint_port(stdout))
    assert processes_in_group(demo.pid) == []


def test_ctrl_c_stops_the_emulator_and_terraform(tmp_path):
    demo = start_demo(tmp_path)
    first_line = demo.stdout.readline()
    port = endpoint_port(first_line)
    assert "Applying terraform" in demo.stdout.readline()
    time.sleep(5)  # inside `terraform apply`, the longest step
    os.killpg(demo.pid, signal.SIGINT)
    _, stderr = demo.communicate(timeout=120)
    assert demo.returncode == 130, stderr
    assert "interrupted" in stderr
    assert port_is_closed(port)
    assert processes_in_group(demo.pid) == []

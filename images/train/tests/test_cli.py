"""The command line: usage errors, missing buckets and crashes end in one line and the right exit code."""

import json

import pytest
from train import cli
from train.cli import main

ENV_VARS = (
    "RUN_DATE",
    "MART_BUCKET",
    "ARTIFACTS_BUCKET",
    "MODEL_NAME",
    "TRAIN_WINDOW_DAYS",
    "VALIDATION_DAYS",
    "SEED",
    "PROMOTION_MARGIN",
    "FAIL_IF_NOT_PROMOTED",
    "MLFLOW_TRACKING_URI",
    "MLFLOW_EXPERIMENT_NAME",
    "TRAIN_MEMORY_MODE",
    "TRAIN_MEMORY_LIMIT_MIB",
    "TRAIN_CACHE_DIR",
    "LOG_FORMAT",
)
BUCKETS = ["--mart-bucket", "m", "--artifacts-bucket", "a"]


def test_help_lists_every_environment_variable(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.setenv("TERMINAL_WIDTH", "250")

    assert main(["run", "--help"]) == 0

    text = capsys.readouterr().out
    for name in ENV_VARS:
        assert f"env var: {name}" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--bogus"], "No such option: --bogus"),
        (["run", "--date", "2026-02-30", *BUCKETS], "malformed run date"),
        (["run", "--date", "2026-03-01", *BUCKETS, "--seed", "x"], "--seed"),
        (["run", *BUCKETS], "--date"),
        (["run", "--date", "2026-03-01", *BUCKETS, "--validation-days", "56"], "VALIDATION_DAYS"),
        (["run", "--date", "2026-03-01", *BUCKETS, "--log-format", "xml"], "--log-format"),
        (["run", "--date", "2026-03-01", *BUCKETS, "--memory-mode", "disk"], "--memory-mode"),
        (["run", "--date", "2026-03-01", *BUCKETS, "--memory-limit-mib", "0"], "TRAIN_MEMORY_LIMIT_MIB"),
        (["run", "--date", "2026-03-01", *BUCKETS, "--cache-dir", "/no/such/folder"], "TRAIN_CACHE_DIR"),
    ],
)
def test_usage_errors_exit_2_with_one_line(aws_env, capsys, argv, message):
    assert main(argv) == 2

    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("train: error: ") and message in err


def test_options_come_from_the_environment(aws_env, monkeypatch, capsys):
    monkeypatch.setenv("RUN_DATE", "2026-13-45")
    monkeypatch.setenv("MART_BUCKET", "m")
    monkeypatch.setenv("ARTIFACTS_BUCKET", "a")

    assert main(["run"]) == 2

    assert "malformed run date '2026-13-45'" in capsys.readouterr().err


def test_missing_bucket_exit_2_naming_bucket_and_env_var(s3, capsys, train_args):
    argv = [("no-such-artifacts" if arg == "test-artifacts" else arg) for arg in train_args]

    assert main(argv) == 2

    [line] = capsys.readouterr().err.strip().splitlines()
    assert (
        line
        == "train: error: bucket 'no-such-artifacts' (ARTIFACTS_BUCKET) does not exist or is not reachable"
    )


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_unexpected_failure_exit_1_one_line_traceback_only_in_debug(
    s3, monkeypatch, capsys, train_args, level
):
    def crash(config, storage):
        raise KeyError("boom")

    monkeypatch.setattr(cli, "run_training", crash)
    monkeypatch.setenv("LOG_LEVEL", level)

    assert main(train_args) == 1

    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1] == "train: error: unexpected KeyError: 'boom'"
    logged = [json.loads(line) for line in lines[:-1]]
    assert any("traceback" in entry for entry in logged) is (level == "DEBUG")


def test_a_malformed_boolean_in_the_environment_exits_2(aws_env, monkeypatch, capsys):
    monkeypatch.setenv("FAIL_IF_NOT_PROMOTED", "maybe")

    assert main(["run", "--date", "2026-03-01", *BUCKETS]) == 2

    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("train: error: Invalid value for '--fail-if-not-promoted'")
    assert "FAIL_IF_NOT_PROMOTED" in line

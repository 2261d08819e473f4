"""Usage, configuration and failure handling of the console script (docs/cli.md)."""

import json

import pytest
from infer import pipeline
from infer.cli import main

ENV_VARS = [
    "RUN_DATE",
    "MART_BUCKET",
    "ARTIFACTS_BUCKET",
    "MODEL_NAME",
    "MODEL_VERSION",
    "GLUE_DATABASE_PREFIX",
    "LOG_FORMAT",
]


def test_help_lists_every_environment_variable(capsys):
    assert main(["run", "--help"]) == 0
    help_text = capsys.readouterr().out
    for name in ENV_VARS:
        assert name in help_text


def test_top_level_help_documents_the_exit_codes(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "run" in out and "4 a required input is missing" in " ".join(out.split())


@pytest.mark.parametrize("bad_date", ["2026-13-01", "20260301", "2026-3-1", "yesterday"])
def test_a_malformed_date_is_one_line_and_exit_2(run_infer, bad_date):
    result = run_infer("--date", bad_date)
    assert result.code == 2
    assert result.stderr == result.errors and len(result.errors) == 1
    assert "--date" in result.errors[0] and bad_date in result.errors[0]


def test_a_malformed_run_date_from_the_environment_is_one_line_and_exit_2(run_infer):
    result = run_infer(RUN_DATE="2026-02-30")
    assert result.code == 2
    assert result.stderr == result.errors and "RUN_DATE" in result.errors[0]


def test_an_unknown_option_is_one_line_and_exit_2(run_infer):
    result = run_infer("--horizon", "2")
    assert result.code == 2
    assert result.stderr == ["infer: error: No such option: --horizon"]


def test_a_missing_required_option_names_its_environment_variable(aws_env, monkeypatch, capsys):
    monkeypatch.delenv("MART_BUCKET", raising=False)
    monkeypatch.delenv("RUN_DATE", raising=False)
    code = main(["run", "--date", "2026-03-01", "--artifacts-bucket", "a"])
    stderr = capsys.readouterr().err.splitlines()
    assert code == 2
    assert len(stderr) == 1 and stderr[0].startswith("infer: error:") and "MART_BUCKET" in stderr[0]


def test_a_malformed_model_version_is_a_configuration_error(run_infer):
    result = run_infer(MODEL_VERSION="latest")
    assert result.code == 2
    assert result.stderr == result.errors and "MODEL_VERSION" in result.errors[0]


def test_a_missing_bucket_is_exit_2_naming_bucket_and_variable(world, run_infer):
    result = run_infer(ARTIFACTS_BUCKET="no-such-bucket")
    assert result.code == 2
    assert result.stderr == result.errors
    assert "no-such-bucket" in result.errors[0] and "ARTIFACTS_BUCKET" in result.errors[0]


def test_an_unexpected_error_is_exit_1_with_one_line_and_no_traceback(world, run_infer, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(pipeline, "run", broken)
    result = run_infer()
    assert result.code == 1
    assert result.errors == ["infer: error: unexpected RuntimeError: disk on fire"]
    assert result.stderr[-1] == result.errors[0]
    assert not any("Traceback" in line for line in result.stderr)


def test_log_level_debug_logs_the_traceback(world, run_infer, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(pipeline, "run", broken)
    result = run_infer(LOG_LEVEL="DEBUG")
    assert result.code == 1
    [entry] = [json.loads(line) for line in result.stderr if line.startswith("{") and "traceback" in line]
    assert "RuntimeError: disk on fire" in entry["traceback"]
    assert result.stderr[-1] == "infer: error: unexpected RuntimeError: disk on fire"


def test_text_logs_are_readable_lines(world, run_infer, features_table):
    world.put_model("20260228T020000Z-00000001")
    world.put_features(world.target, features_table)
    result = run_infer(LOG_FORMAT="text")
    assert result.code == 0
    [summary] = [line for line in result.stderr if "predictions for 2026-03-02" in line]
    assert not summary.startswith("{") and " INFO " in summary and "rows=12" in summary

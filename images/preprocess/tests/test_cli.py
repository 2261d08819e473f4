"""The command line as docs/cli.md describes it: env vars, exit codes, one error line, logs, dry run."""

import json

import pytest
import sqlglot
from preprocess import cli


def error_line(stderr: str) -> str:
    """The one `preprocess: error:` line, which must also be the last line and come without a traceback."""
    lines = stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("preprocess: error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], stderr
    assert "Traceback" not in stderr
    return errors[0]


def test_too_many_rejected_lines_stop_the_run_naming_the_breach_and_publish_nothing(
    day_one, run_cli, warehouse, mart
):
    day_one.land(
        "sales",
        "2026-03-02",
        "sales.csv",
        """sale_date,store_id,item_id,units_sold
        2026-03-02,S01,I001,4
        2026-03-02,S01,I001,four
        2026-03-02,S01,I001,x""",
    )
    outcome = run_cli("backfill", "--start", "2026-03-01", "--end", "2026-03-02")

    assert outcome.exit_code == 3
    assert error_line(outcome.stderr) == (
        "preprocess: error: data checks failed, nothing published: warehouse.quarantine dt=2026-03-02 sales: "
        "reject_ratio 2 of 3 lines quarantined (66.7%) above 1.0%"
    )
    assert warehouse.keys() == [] and mart.keys() == []


def test_a_bad_line_in_a_later_landing_is_left_to_the_run_of_its_landing_day(day_one, run_cli, warehouse):
    """The run of 03-01 rebuilds sale date 03-01 from the landings up to 03-04, so it reads this file: its
    line is not kept, and it is the run of 03-03 that accounts for it (and stops on its reject ratio)."""
    day_one.land(
        "sales", "2026-03-03", "sales.csv", "sale_date,store_id,item_id,units_sold\n2026-03-01,S01,I001,"
    )
    assert run_cli("run", "--date", "2026-03-01").exit_code == 0
    assert warehouse.rows("sales", "2026-03-01") == [{"store_id": "S01", "item_id": "I001", "units_sold": 3}]
    assert warehouse.partitions("quarantine") == ["2026-03-01"]

    outcome = run_cli("run", "--date", "2026-03-03")
    assert outcome.exit_code == 3
    assert "warehouse.quarantine dt=2026-03-03 sales: reject_ratio 1 of 1 lines" in error_line(outcome.stderr)
    assert warehouse.partitions("quarantine") == ["2026-03-01"]


def test_a_row_later_than_the_late_window_is_rejected(day_one, run_cli, warehouse):
    day_one.land(
        "sales", "2026-03-06", "sales.csv", "sale_date,store_id,item_id,units_sold\n2026-03-02,S01,I001,1"
    )
    outcome = run_cli("backfill", "--start", "2026-03-01", "--end", "2026-03-06", "--late-window-days", "3")

    assert outcome.exit_code == 3
    assert "warehouse.quarantine dt=2026-03-06 sales: reject_ratio 1 of 1 lines" in error_line(outcome.stderr)
    assert warehouse.keys() == []


def test_a_longer_late_window_accepts_the_same_row(day_one, run_cli, warehouse):
    day_one.land(
        "sales", "2026-03-06", "sales.csv", "sale_date,store_id,item_id,units_sold\n2026-03-02,S01,I001,1"
    )
    outcome = run_cli("backfill", "--start", "2026-03-01", "--end", "2026-03-06", "--late-window-days", "4")

    assert outcome.exit_code == 0, outcome.stderr
    assert warehouse.rows("sales", "2026-03-02") == [{"store_id": "S01", "item_id": "I001", "units_sold": 1}]


@pytest.mark.parametrize("bucket", ["lake", "warehouse", "mart"])
def test_a_missing_bucket_is_a_configuration_error_naming_bucket_and_env_var(day_one, run_cli, bucket, mart):
    outcome = run_cli("run", "--date", "2026-03-01", **{bucket: "no-such-bucket"})

    assert outcome.exit_code == 2
    line = error_line(outcome.stderr)
    assert "'no-such-bucket'" in line and f"({bucket.upper()}_BUCKET)" in line
    assert mart.keys() == []


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--date", "2026-02-30"],
        ["run", "--date", "01/03/2026"],
        ["run", "--date", "2026-03-01", "--bogus"],
        ["backfill", "--start", "2026-03-02", "--end", "2026-03-01"],
        ["run", "--date", "2026-03-01", "--late-window-days", "-1"],
        ["run", "--date", "2026-03-01", "--log-format", "xml"],
        ["walk", "--date", "2026-03-01"],
    ],
)
def test_bad_usage_is_one_line_and_exit_code_2(run_cli, args):
    outcome = run_cli(*args)
    assert outcome.exit_code == 2
    error_line(outcome.stderr)


def test_a_missing_required_option_names_its_env_var(s3, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["backfill", "--start", "2026-03-01", "--end", "2026-03-02"])
    assert exited.value.code == 2
    assert "LAKE_BUCKET" in error_line(capsys.readouterr().err)


def test_options_come_from_the_documented_env_vars(day_one, s3, capsys, monkeypatch, warehouse):
    environment = {
        "RUN_DATE": "2026-03-01",
        "LAKE_BUCKET": "test-lake",
        "WAREHOUSE_BUCKET": "test-warehouse",
        "MART_BUCKET": "test-mart",
        "LATE_WINDOW_DAYS": "2",
        "LOG_FORMAT": "text",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exited:
        cli.main(["run"])
    assert exited.value.code == 0
    assert warehouse.partitions("sales") == ["2026-03-01"]
    late_window = next(
        c for c in warehouse.manifest("sales", "2026-03-01")["checks"] if "late_window_days" in c
    )
    assert late_window == {
        "rule": "business_date_out_of_window",
        "passed": True,
        "rows_quarantined": 0,
        "late_window_days": 2,
    }


@pytest.mark.parametrize(
    ("command", "env_vars"),
    [
        (
            "run",
            ["RUN_DATE", "LAKE_BUCKET", "WAREHOUSE_BUCKET", "MART_BUCKET", "LATE_WINDOW_DAYS", "LOG_FORMAT"],
        ),
        ("backfill", ["BACKFILL_START", "BACKFILL_END", "LAKE_BUCKET", "WAREHOUSE_BUCKET", "MART_BUCKET"]),
    ],
)
def test_help_shows_the_env_var_names(capsys, monkeypatch, command, env_vars):
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit) as exited:
        cli.main([command, "--help"])
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    assert all(name in shown for name in env_vars), shown


def test_logs_are_json_lines_when_stderr_is_not_a_terminal(day_one, run_cli):
    outcome = run_cli("run", "--date", "2026-03-01")
    assert outcome.exit_code == 0

    records = [json.loads(line) for line in outcome.stderr.strip().splitlines()]
    assert all({"ts", "level", "unit", "event", "message"} <= record.keys() for record in records)
    assert {record["unit"] for record in records} == {"preprocess"}
    published = [record for record in records if record["event"] == "partition_published"]
    assert {(r["table"], r["dt"]) for r in published} >= {
        ("warehouse.sales", "2026-03-01"),
        ("mart.features", "2026-03-02"),
    }
    assert all(r["rows"] >= 0 and r["run_id"] and "/" in r["message"] for r in published)  # [n/total]
    assert records[-1]["event"] == "run_finished"


def test_text_logs_on_request(day_one, run_cli):
    outcome = run_cli("run", "--date", "2026-03-01", "--log-format", "text")
    assert outcome.exit_code == 0
    assert not outcome.stderr.lstrip().startswith("{")
    assert "warehouse.sales dt=2026-03-01: 1 rows" in outcome.stderr


def test_dry_run_prints_the_athena_sql_and_writes_nothing(day_one, run_cli, warehouse, mart):
    outcome = run_cli("run", "--date", "2026-03-01", "--dry-run")

    assert outcome.exit_code == 0, outcome.stderr
    statements = [s for s in outcome.stdout.split(";\n") if s.strip()]
    files = [
        "warehouse/sales",
        "warehouse/prices",
        "warehouse/stores",
        "warehouse/items",
        "warehouse/holidays",
        "mart/features",
    ]
    assert [s.strip().splitlines()[0] for s in statements] == [f"-- {name}.sql" for name in files]
    for statement in statements:
        sqlglot.parse_one(statement, read="trino")
    # sale date 03-01 is rebuilt from every file that may carry it: landed 03-01 .. 03-04 (late window 3)
    assert "WHERE dt BETWEEN DATE '2026-03-01' AND DATE '2026-03-04'" in statements[0]
    assert "UNNEST(ARRAY[DATE '2026-03-01', DATE '2026-03-02'])" in statements[-1]
    assert warehouse.keys() == [] and mart.keys() == []


def test_a_missing_master_snapshot_is_a_missing_input(lake, run_cli, warehouse):
    lake.land(
        "sales", "2026-03-01", "sales.csv", "sale_date,store_id,item_id,units_sold\n2026-03-01,S01,I001,3"
    )
    outcome = run_cli("run", "--date", "2026-03-01")

    assert outcome.exit_code == 4
    assert "stores snapshot" in error_line(outcome.stderr)
    assert warehouse.keys() == []


def test_nothing_landed_is_not_an_error(s3, run_cli, warehouse):
    outcome = run_cli("run", "--date", "2026-03-01")
    assert outcome.exit_code == 0
    assert warehouse.keys() == []


def test_an_unexpected_failure_is_exit_1_with_one_line_and_a_traceback_only_in_debug(
    day_one, run_cli, monkeypatch
):
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("preprocess.pipeline.run", broken)
    outcome = run_cli("run", "--date", "2026-03-01")
    assert outcome.exit_code == 1
    assert error_line(outcome.stderr) == "preprocess: error: unexpected RuntimeError: disk on fire"

    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    outcome = run_cli("run", "--date", "2026-03-01")
    assert outcome.exit_code == 1
    records = [json.loads(line) for line in outcome.stderr.strip().splitlines()[:-1]]
    assert any("disk on fire" in record.get("traceback", "") for record in records)

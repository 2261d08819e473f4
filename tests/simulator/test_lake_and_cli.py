"""Landing in S3 (moto), the truth file, and the command line."""

import subprocess
import sys
from datetime import date
from pathlib import Path

import boto3
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from scripts.simulate import (
    REALISTIC_DEFECTS,
    SimulationConfig,
    SimulatorError,
    defects_path,
    land,
    landing_date_of,
    main,
    simulate,
    write_defects,
    write_truth,
)

REPO = Path(__file__).resolve().parents[2]
BUCKET = "batchml-test-lake"


@pytest.fixture
def s3(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        yield client


def lake_objects(s3) -> dict[str, bytes]:
    keys = [obj["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
            for obj in page.get("Contents", [])]  # fmt: skip
    return {key: s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in keys}


def test_land_writes_exactly_the_raw_files(s3, small):
    landed = land(small, s3, BUCKET)
    assert landed == list(small.raw_files)
    assert lake_objects(s3) == small.raw_files


def test_land_through_a_day_writes_only_what_landed_by_then(s3, small):
    through = date(2026, 1, 10)
    landed = land(small, s3, BUCKET, through=through)
    expected = {key for key in small.raw_files if landing_date_of(key) <= through}
    assert set(landed) == expected == set(lake_objects(s3))
    assert len(expected) == 10 * 2 + 3


def test_land_into_a_missing_bucket_is_a_configuration_error(s3, small):
    with pytest.raises(SimulatorError) as raised:
        land(small, s3, "no-such-bucket")
    assert raised.value.exit_code == 2
    assert "no-such-bucket" in str(raised.value) and "LAKE_BUCKET" in str(raised.value)


def test_write_truth_writes_the_truth_as_zstd_parquet(tmp_path, small):
    path = tmp_path / "nested" / "truth.parquet"
    write_truth(small, path)
    assert pq.read_table(path).equals(small.truth)
    metadata = pq.ParquetFile(path).metadata
    assert metadata.row_group(0).column(0).compression == "ZSTD"


def test_cli_lands_the_files_writes_the_truth_and_prints_one_line(s3, tmp_path, capsys):
    truth_out = tmp_path / "truth.parquet"
    argv = ["--start", "2026-03-01", "--days", "5", "--lake-bucket", BUCKET, "--truth-out", str(truth_out),
            "--stores", "2", "--items", "3", "--seed", "5", "--late-rate", "0.1"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and "landed 13 files" in out[0]
    objects = lake_objects(s3)
    assert len(objects) == 13
    assert f"{sum(len(body) for body in objects.values())} bytes" in out[0]
    assert pq.read_table(truth_out).num_rows == 6 * 2 * 3
    assert not defects_path(truth_out).exists()  # no defects, no ledger


def test_defects_path_is_next_to_the_truth():
    assert defects_path(Path("build/truth.parquet")) == Path("build/truth.defects.parquet")


def test_write_defects_writes_the_ledger_as_zstd_parquet(tmp_path):
    simulation = simulate(SimulationConfig(start=date(2026, 3, 1), days=20, defects=REALISTIC_DEFECTS))
    path = tmp_path / "nested" / "truth.defects.parquet"
    write_defects(simulation, path)
    assert simulation.defects.num_rows > 0 and pq.read_table(path).equals(simulation.defects)
    assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "ZSTD"


@pytest.mark.parametrize("switch", ["flag", "environment"])
def test_cli_defects_land_the_defective_files_and_write_the_ledger_next_to_the_truth(
    s3, tmp_path, monkeypatch, capsys, switch
):
    truth_out = tmp_path / "truth.parquet"
    argv = ["--start", "2026-03-01", "--days", "20", "--lake-bucket", BUCKET, "--truth-out", str(truth_out)]
    if switch == "flag":
        argv.append("--defects")
    else:
        monkeypatch.setenv("SIM_DEFECTS", "1")
    assert main(argv) == 0
    expected = simulate(SimulationConfig(start=date(2026, 3, 1), days=20, defects=REALISTIC_DEFECTS))
    assert lake_objects(s3) == expected.raw_files
    assert pq.read_table(defects_path(truth_out)).equals(expected.defects)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1
    assert f"{expected.defects.num_rows} defects (ledger in {defects_path(truth_out)})" in out[0]


def test_cli_reads_its_options_from_the_environment(s3, monkeypatch, capsys):
    monkeypatch.setenv("SIM_START", "2026-03-01")
    monkeypatch.setenv("SIM_DAYS", "2")
    monkeypatch.setenv("LAKE_BUCKET", BUCKET)
    monkeypatch.setenv("SIM_THROUGH", "2026-03-01")
    assert main([]) == 0
    sources = ("sales", "prices", "stores", "items", "holidays")
    assert set(lake_objects(s3)) == {f"{source}/dt=2026-03-01/{source}_2026-03-01.csv" for source in sources}


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--start", "2026-13-01", "--lake-bucket", BUCKET], "--start"),
        (["--start", "2026-03-01", "--lake-bucket", BUCKET, "--colour", "red"], "--colour"),
        (["--lake-bucket", BUCKET], "--start"),
        (["--start", "2026-03-01", "--lake-bucket", BUCKET, "--days", "0"], "days"),
        (["--start", "2026-03-01", "--lake-bucket", BUCKET, "--late-rate", "1.5"], "late_rate"),
        (["--start", "2026-03-01", "--days", "2", "--lake-bucket", "no-such-bucket"], "LAKE_BUCKET"),
    ],
)
def test_bad_usage_or_configuration_is_one_line_and_exit_2(s3, capsys, argv, says):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("simulate: error: ") and says in lines[0]


def test_module_entry_point_reports_a_malformed_date_in_one_line():
    result = subprocess.run(
        [sys.executable, "-m", "scripts.simulate", "--start", "01/03/2026", "--lake-bucket", BUCKET],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("simulate: error: ")

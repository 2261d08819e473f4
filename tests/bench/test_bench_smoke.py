"""`make bench` end to end at its small scale, in a scratch folder: every scenario records its figures, the
cost model is built from what the others measured, and the report lists every figure and shows its plots.
Structure only: the ratios themselves are measurements for docs/benchmarks.md, never assertions of a test.
The same run leaves scenario 2's outputs behind, on which the pandas baseline is checked against ours."""

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench import throughput
from bench.__main__ import WORK_FOLDER, main

SCENARIOS = {"daily_cost", "throughput", "train", "infer", "quality", "cost_model"}


# A whole `make bench` at its small scale takes minutes: a soak for `make test-slow`, not `make test`.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder `python -m bench all --scale small` ran in."""
    folder = tmp_path_factory.mktemp("bench")
    here = Path.cwd()
    os.chdir(folder)  # build/bench/ and docs/ are relative to it
    try:
        assert main(["all", "--scale", "small"]) == 0
    finally:
        os.chdir(here)
    return folder


def test_bench_all_records_every_scenario_and_writes_the_report(bench_run: Path):
    results = json.loads((bench_run / "build" / "bench" / "results.json").read_text())
    assert set(results) == SCENARIOS
    for scenario, entry in results.items():
        assert entry["figures"], scenario
        for figure in entry["figures"]:
            assert isinstance(figure["value"], int | float), figure
            assert figure["passed"] in ((None,) if not figure["goal"] else (True, False)), figure
    report = (bench_run / "docs" / "benchmarks.md").read_text()
    for entry in results.values():
        for figure in entry["figures"]:
            assert figure["name"] in report
    assert "not yet measured" not in report
    for png in ("throughput-time.png", "throughput-memory.png"):
        assert f"](benchmarks/{png})" in report
        assert (bench_run / "docs" / "benchmarks" / png).read_bytes().startswith(b"\x89PNG")
    for case in throughput.CASES:
        assert results["throughput"]["details"]["runs"][0]["cases"][case]["peak_rss_bytes"] > 0, case


def test_pandas_baseline_gives_the_features_rows_of_preprocess(bench_run: Path):
    (run,) = json.loads((bench_run / "build" / "bench" / "results.json").read_text())["throughput"][
        "details"
    ]["runs"]
    folder = bench_run / WORK_FOLDER / f"throughput-{run['stores']}x{run['items']}x{run['days']}"
    ours = throughput.read_features(folder / "mart").to_pandas()
    theirs = pd.read_parquet(folder / "pandas" / "features")
    theirs["dt"] = pd.to_datetime(theirs["dt"].astype(str)).dt.date
    key = ["dt", "store_id", "item_id"]
    ours = ours[theirs.columns].sort_values(key).reset_index(drop=True)
    theirs = theirs.sort_values(key).reset_index(drop=True)

    assert len(ours) == run["stores"] * run["items"] * (run["days"] + 1)
    assert ours[key].astype(str).equals(theirs[key].astype(str))
    assert ours["lag_28"].notna().any()  # the world is long enough for every look-back to be compared
    for column in theirs.columns.difference(key):
        np.testing.assert_allclose(
            ours[column].astype("float64"), theirs[column].astype("float64"), rtol=1e-9, atol=1e-9,
            err_msg=column,
        )  # fmt: skip

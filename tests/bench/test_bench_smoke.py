"""`make bench` end to end at its small scale, in a scratch folder: every scenario records its figures, the
cost model is built from what the others measured, and the report lists every figure. Structure only: the
ratios themselves are measurements for docs/benchmarks.md, never assertions of a test."""

import json
from pathlib import Path

import pytest

from bench.__main__ import main

SCENARIOS = {"daily_cost", "quality", "cost_model"}


def test_bench_all_records_every_scenario_and_writes_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)  # build/bench/results.json and docs/benchmarks.md are relative to it

    assert main(["all", "--scale", "small"]) == 0

    results = json.loads((tmp_path / "build" / "bench" / "results.json").read_text())
    assert set(results) == SCENARIOS
    for scenario, entry in results.items():
        assert entry["figures"], scenario
        for figure in entry["figures"]:
            assert isinstance(figure["value"], int | float), figure
            assert figure["passed"] in ((None,) if not figure["goal"] else (True, False)), figure
    report = (tmp_path / "docs" / "benchmarks.md").read_text()
    for entry in results.values():
        for figure in entry["figures"]:
            assert figure["name"] in report
    assert "not yet measured" in report  # scenarios 2 to 4 are listed with their goals

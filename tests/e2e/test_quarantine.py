"""The simulated lake with realistic defects, through preprocess: every clean row matches the truth, every
defective row is in the quarantine with its rule, and every raw line is accounted for (moto S3)."""

from collections import Counter
from dataclasses import fields
from datetime import date, timedelta

import pytest

from scripts.simulate import REALISTIC_DEFECTS, SimulationConfig, simulate
from tests.e2e.inprocess import LAKE, WAREHOUSE, Bucket, preprocess, simulated_lake

START, DAYS = date(2026, 1, 5), 40
CONFIG = SimulationConfig(start=START, days=DAYS, defects=REALISTIC_DEFECTS)
LAST = START + timedelta(days=DAYS - 1)


@pytest.fixture(scope="module")
def run():
    """The simulation landed in a fresh lake and one preprocess backfill over all of it."""
    simulation = simulate(CONFIG)
    with simulated_lake(simulation) as s3:
        preprocess("backfill", "--start", START.isoformat(), "--end", LAST.isoformat())
        yield simulation, Bucket(s3, WAREHOUSE)


def test_the_simulation_has_every_kind_of_defect(run):
    simulation, _ = run
    kinds = {item.name for item in fields(REALISTIC_DEFECTS)} - {"max_quarantined_share"}
    assert set(simulation.defects["defect"].to_pylist()) == kinds


def test_every_defective_line_is_in_the_quarantine_with_its_rule_and_nothing_else_is(run):
    simulation, warehouse = run
    ledger = [row for row in simulation.defects.to_pylist() if row["expected"] == "quarantined"]
    expected = Counter(
        (row["dt"], row["source"], f"s3://{LAKE}/{row['key']}", row["rule"], row["column"], row["raw_line"])
        for row in ledger
    )
    quarantined = Counter(
        (row["dt"], row["source"], row["source_uri"], row["rule"], row["column"], row["raw_line"])
        for row in warehouse.rows("quarantine")
    )
    assert len(ledger) > 20
    assert quarantined == expected


def test_every_clean_row_matches_the_truth_and_only_defective_rows_are_missing(run):
    simulation, warehouse = run
    lost = {
        source: {
            (row["lost_date"], row["lost_store_id"], row["lost_item_id"])
            for row in simulation.defects.to_pylist()
            if row["lost_date"] is not None and row["source"] == source
        }
        for source in ("sales", "prices")
    }
    # sales of the last late-window days may still be on their way: compare the days before
    complete = LAST - timedelta(days=CONFIG.late_max_days)
    truth = {
        (row["date"], row["store_id"], row["item_id"]): row
        for row in simulation.truth.to_pylist()
        if row["date"] <= complete
    }
    sales = {(r["dt"], r["store_id"], r["item_id"]): r["units_sold"] for r in warehouse.rows("sales")}
    sales = {key: units for key, units in sales.items() if key[0] <= complete}
    assert set(sales) == {key for key in truth if key not in lost["sales"]}
    assert all(sales[key] == truth[key]["units_sold"] for key in sales)

    prices = {(r["dt"], r["store_id"], r["item_id"]): r for r in warehouse.rows("prices")}
    priced = {key for key in truth if key[0] > START}  # the first day's price list landed before the lake
    assert set(prices) & priced == {key for key in priced if key not in lost["prices"]}
    for key in set(prices) & priced:
        assert prices[key]["unit_price"] == pytest.approx(truth[key]["unit_price"])
        assert prices[key]["on_promotion"] == truth[key]["on_promotion"]


def test_every_raw_line_is_accounted_for_per_source_and_landing_day(run):
    simulation, warehouse = run
    read = Counter()
    for key, rows in simulation.row_counts.items():
        read[(date.fromisoformat(key.split("/")[1].removeprefix("dt=")), key.split("/")[0])] += rows
    duplicates = Counter(
        (row["dt"], row["source"])
        for row in simulation.defects.to_pylist()
        if row["expected"] == "duplicate_resolved"
    )
    accounted, resolved = Counter(), Counter()
    for manifest in warehouse.manifests("quarantine"):
        for check in manifest["checks"]:
            if check["rule"] == "accounting":
                day = date.fromisoformat(manifest["dt"])
                assert check["passed"] and check["rows_read"] == (
                    check["rows_kept"]
                    + check["rows_quarantined"]
                    + check["duplicates_resolved"]
                    + check["rows_superseded"]
                )
                accounted[(day, check["source"])] += check["rows_read"]
                resolved[(day, check["source"])] += check["duplicates_resolved"]
    assert +accounted == +read
    assert +resolved == +duplicates

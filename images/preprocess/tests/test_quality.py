"""The data-quality rules: every rejected raw line lands in the quarantine with its rule, every line read is
accounted for in the manifests, and a breached threshold (reject_ratio, row_volume) stops the run (exit 3)."""

from datetime import date, timedelta

import pytest

STORES = ("S01", "S02")
ITEMS = tuple(f"I{n:03d}" for n in range(1, 301))  # 600 store x item pairs: a few bad lines stay under 1%
SALES = "sale_date,store_id,item_id,units_sold"
PRICES = "valid_on,store_id,item_id,unit_price,on_promotion"


def masters_text() -> dict[str, str]:
    return {
        "stores": "store_id,store_name,city,store_type\n" + "\n".join(f"{s},Shop,City,urban" for s in STORES),
        "items": "item_id,item_name,category,base_price\n" + "\n".join(f"{i},Item,food,2.00" for i in ITEMS),
        "holidays": "holiday_date,holiday_name\n2026-03-09,Spring Day",
    }


def clean_sales(day: str, units: int = 3) -> str:
    return SALES + "".join(f"\n{day},{s},{i},{units}" for s in STORES for i in ITEMS)


def clean_prices(day: str) -> str:
    return PRICES + "".join(f"\n{day},{s},{i},2.50,0" for s in STORES for i in ITEMS)


def uri(key: str) -> str:
    return f"s3://test-lake/{key}"


@pytest.fixture
def defects(lake):
    """Clean daily files for 03-01 .. 03-03 and, beside them, files with one line per defect."""
    for source, text in masters_text().items():
        lake.land(source, "2026-03-01", f"{source}.csv", text)
    for day in ("2026-03-01", "2026-03-02", "2026-03-03"):
        lake.land("sales", day, "clean.csv", clean_sales(day))
        next_day = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
        lake.land("prices", day, "clean.csv", clean_prices(next_day))
    lake.land(
        "sales",
        "2026-03-02",
        "defects.csv",
        f"""{SALES}
        2026-03-02,S01,I001
        2026-03-02,S01,I002,abc
        2026-03-02,S01,I003,-1
        2026-03-03,S01,I004,5
        2026-03-02,S02,I006,1
        2026-03-02,S02,I006,1""",
    )
    lake.land(
        "sales",
        "2026-03-03",
        "defects.csv",
        f"""{SALES}
        2026-03-02,S01,I999,5
        2026-03-02,S02,I005,7
        2026-03-02,S02,I005,8""",
    )
    lake.land(
        "prices",
        "2026-03-02",
        "defects.csv",
        f"""{PRICES}
        2026-03-03,S01,I001,,0
        2026-03-03,S01,I002,0,0
        2026-03-03,S01,I003,2.10,yes""",
    )
    return lake


def by_line(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda row: (row["source"], row["raw_line"]))


def quarantine_rows(warehouse, dt: str) -> list[dict]:
    return by_line(warehouse.rows("quarantine", dt))


def test_every_rejected_line_is_quarantined_with_its_rule_column_and_raw_line(defects, run_cli, warehouse):
    outcome = run_cli("backfill", "--start", "2026-03-01", "--end", "2026-03-03")
    assert outcome.exit_code == 0, outcome.stderr

    assert warehouse.partitions("quarantine") == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert warehouse.rows("quarantine", "2026-03-01") == []
    sales_02, prices_02 = uri("sales/dt=2026-03-02/defects.csv"), uri("prices/dt=2026-03-02/defects.csv")
    assert quarantine_rows(warehouse, "2026-03-02") == by_line([
        {"source": "sales", "source_uri": sales_02, "rule": "missing_value", "column": "units_sold",
         "raw_line": "2026-03-02,S01,I001"},
        {"source": "sales", "source_uri": sales_02, "rule": "invalid_type", "column": "units_sold",
         "raw_line": "2026-03-02,S01,I002,abc"},
        {"source": "sales", "source_uri": sales_02, "rule": "out_of_range", "column": "units_sold",
         "raw_line": "2026-03-02,S01,I003,-1"},
        {"source": "sales", "source_uri": sales_02, "rule": "business_date_out_of_window",
         "column": "sale_date", "raw_line": "2026-03-03,S01,I004,5"},
        {"source": "prices", "source_uri": prices_02, "rule": "missing_value", "column": "unit_price",
         "raw_line": "2026-03-03,S01,I001,,0"},
        {"source": "prices", "source_uri": prices_02, "rule": "out_of_range", "column": "unit_price",
         "raw_line": "2026-03-03,S01,I002,0,0"},
        {"source": "prices", "source_uri": prices_02, "rule": "invalid_type", "column": "on_promotion",
         "raw_line": "2026-03-03,S01,I003,2.10,yes"},
    ])  # fmt: skip
    sales_03 = uri("sales/dt=2026-03-03/defects.csv")
    assert quarantine_rows(warehouse, "2026-03-03") == [
        {"source": "sales", "source_uri": sales_03, "rule": "unknown_reference", "column": "item_id",
         "raw_line": "2026-03-02,S01,I999,5"},
        {"source": "sales", "source_uri": sales_03, "rule": "conflicting_duplicate", "column": None,
         "raw_line": "2026-03-02,S02,I005,7"},
        {"source": "sales", "source_uri": sales_03, "rule": "conflicting_duplicate", "column": None,
         "raw_line": "2026-03-02,S02,I005,8"},
    ]  # fmt: skip


def test_rejected_lines_leave_the_older_rows_of_their_keys_in_place(defects, run_cli, warehouse):
    assert run_cli("backfill", "--start", "2026-03-01", "--end", "2026-03-03").exit_code == 0

    sales = {
        (row["store_id"], row["item_id"]): row["units_sold"] for row in warehouse.rows("sales", "2026-03-02")
    }
    assert len(sales) == len(STORES) * len(ITEMS)  # nothing unknown, nothing out of its window
    assert sales[("S01", "I001")] == sales[("S01", "I002")] == sales[("S01", "I003")] == 3  # from clean.csv
    assert sales[("S02", "I005")] == 3  # the later file's two versions conflict: neither wins
    assert sales[("S02", "I006")] == 1  # the later file name wins; its exact copy counts once
    prices = warehouse.rows("prices", "2026-03-03")
    assert len(prices) == len(STORES) * len(ITEMS) and {row["unit_price"] for row in prices} == {2.5}


def test_manifests_account_for_every_line_read(defects, run_cli, warehouse):
    assert run_cli("backfill", "--start", "2026-03-01", "--end", "2026-03-03").exit_code == 0

    checks = warehouse.manifest("quarantine", "2026-03-02")["checks"]
    sales = {check["rule"]: check for check in checks if check["source"] == "sales"}
    assert sales["reject_ratio"] == {
        "rule": "reject_ratio",
        "source": "sales",
        "passed": True,
        "rows_read": 606,
        "rows_quarantined": 4,
        "ratio": round(4 / 606, 6),
        "threshold": 0.01,
    }
    # of the lines landed on 03-02, clean.csv's S02,I006 loses to defects.csv; the lines of 03-03 that
    # would replace sales of 03-02 are rejected
    assert sales["accounting"] == {
        "rule": "accounting",
        "source": "sales",
        "passed": True,
        "rows_read": 606,
        "rows_kept": 600,
        "rows_quarantined": 4,
        "duplicates_resolved": 1,
        "rows_superseded": 1,
    }
    assert {
        rule: sales[rule]["rows_quarantined"] for rule in ("missing_value", "invalid_type", "out_of_range")
    } == {
        "missing_value": 1,
        "invalid_type": 1,
        "out_of_range": 1,
    }
    items = {check["rule"]: check for check in checks if check["source"] == "items"}
    assert items["accounting"]["rows_read"] == 0  # no items landed on 03-02

    sales_partition = {c["rule"]: c for c in warehouse.manifest("sales", "2026-03-02")["checks"]}
    accounting = sales_partition["accounting"]
    assert accounting["rows_read"] == (
        accounting["rows_kept"]
        + accounting["rows_quarantined"]
        + accounting["duplicates_resolved"]
        + accounting["rows_superseded"]
    )
    # lines of sale date 03-02: four landed 03-02 and three landed 03-03 rejected, less the out-of-window one
    assert accounting["rows_kept"] == 600 and accounting["rows_quarantined"] == 6


def test_a_rerun_republishes_the_same_quarantine(defects, run_cli, warehouse):
    assert run_cli("backfill", "--start", "2026-03-01", "--end", "2026-03-03").exit_code == 0
    first = warehouse.data_files()
    assert run_cli("run", "--date", "2026-03-02").exit_code == 0
    assert warehouse.data_files() == first


def test_a_file_that_breaches_the_reject_ratio_publishes_nothing(defects, run_cli, warehouse, mart):
    defects.land(
        "sales",
        "2026-03-02",
        "more-defects.csv",
        f"{SALES}\n2026-03-02,S01,I010,-5\n2026-03-02,S01,I011,x\n2026-03-02,S01,I012,1.5",
    )
    outcome = run_cli("backfill", "--start", "2026-03-01", "--end", "2026-03-03")

    assert outcome.exit_code == 3
    assert (
        "warehouse.quarantine dt=2026-03-02 sales: reject_ratio 7 of 609 lines quarantined" in outcome.stderr
    )
    assert warehouse.keys() == [] and mart.keys() == []


def small_masters(lake, day: str) -> None:
    lake.land(
        "stores", day, "stores.csv", "store_id,store_name,city,store_type\nS01,A,X,urban\nS02,B,Y,rural"
    )
    items = "item_id,item_name,category,base_price\n" + "\n".join(f"I00{n},T,d,2" for n in range(1, 6))
    lake.land("items", day, "items.csv", items)
    lake.land("holidays", day, "holidays.csv", "holiday_date,holiday_name\n2026-03-09,Spring Day")


def sales_of(day: str, pairs: int) -> str:
    keys = [(s, f"I00{n}") for s in ("S01", "S02") for n in range(1, 6)][:pairs]
    return SALES + "".join(f"\n{day},{s},{i},2" for s, i in keys)


def test_a_fact_partition_far_below_its_trailing_median_stops_the_run(lake, run_cli, warehouse):
    days = [f"2026-03-{n:02d}" for n in range(1, 10)]
    small_masters(lake, days[0])
    for day in days[:-1]:
        lake.land("sales", day, "sales.csv", sales_of(day, 10))
    assert run_cli("backfill", "--start", days[0], "--end", days[-2]).exit_code == 0
    volume = next(c for c in warehouse.manifest("sales", days[-2])["checks"] if c["rule"] == "row_volume")
    assert volume == {
        "rule": "row_volume",
        "passed": True,
        "rows": 10,
        "trailing_median": 10.0,
        "partitions": 7,
        "bounds": [0.5, 2.0],
    }

    lake.land("sales", days[-1], "sales.csv", sales_of(days[-1], 4))
    outcome = run_cli("run", "--date", days[-1])
    assert outcome.exit_code == 3
    assert (
        f"warehouse.sales dt={days[-1]}: row_volume 4 rows, outside 50%..200% of the trailing median 10 of "
        "8 partitions" in outcome.stderr
    )
    assert warehouse.partitions("sales") == days[:-1]
    assert warehouse.partitions("quarantine") == days[:-1]


def test_an_item_file_without_lines_leaves_the_snapshot_in_force_for_references(defects, run_cli, warehouse):
    assert run_cli("run", "--date", "2026-03-01").exit_code == 0
    defects.land("items", "2026-03-02", "items.csv", "item_id,item_name,category,base_price")
    assert run_cli("run", "--date", "2026-03-03").exit_code == 0

    rules = {row["raw_line"]: row["rule"] for row in warehouse.rows("quarantine", "2026-03-03")}
    assert rules["2026-03-02,S01,I999,5"] == "unknown_reference"

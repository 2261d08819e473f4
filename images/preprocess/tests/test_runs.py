"""Runs are deterministic functions of the immutable lake: re-running gives the same bytes, and the order
in which dates run (or a backfill instead of daily runs) does not change the tables."""

import pytest

SALES = "sale_date,store_id,item_id,units_sold"
PRICES = "valid_on,store_id,item_id,unit_price,on_promotion"
DAYS = [f"2026-03-{n:02d}" for n in range(1, 8)]


@pytest.fixture
def week(lake):
    """A week of landings: daily sales and prices, late rows, a correction, and an item master change."""
    lake.land(
        "stores", DAYS[0], "stores.csv", "store_id,store_name,city,store_type\nS01,A,X,urban\nS02,B,Y,rural"
    )
    lake.land(
        "items", DAYS[0], "items.csv", "item_id,item_name,category,base_price\nI001,Tea,d,2\nI002,Rice,f,4"
    )
    lake.land("holidays", DAYS[0], "holidays.csv", "holiday_date,holiday_name\n2026-03-04,Festival")
    lake.land(
        "items",
        DAYS[3],
        "items.csv",
        "item_id,item_name,category,base_price\nI001,Tea,d,2.2\nI002,Rice,f,4\nI003,Soy,f,3",
    )
    for n, day in enumerate(DAYS, 1):
        lake.land(
            "sales",
            day,
            "sales.csv",
            f"{SALES}\n{day},S01,I001,{n}\n{day},S02,I002,{10 - n}\n{day},S02,I001,1",
        )
        next_day = f"2026-03-{n + 1:02d}"
        lake.land("prices", day, "prices.csv", f"{PRICES}\n{next_day},S01,I001,{2 + n / 10},{n % 2}")
    lake.land("sales", DAYS[4], "late.csv", f"{SALES}\n2026-03-03,S01,I002,4\n2026-03-02,S02,I001,5")
    lake.land("sales", DAYS[5], "correction.csv", f"{SALES}\n2026-03-04,S01,I001,40")
    return lake


def committed(*buckets) -> dict[str, str]:
    """Every committed partition of the buckets and the sha256 of its data, e.g. {"sales/2026-03-01": "…"}."""
    files = {}
    for bucket in buckets:
        files.update(bucket.data_files())
    return files


def test_a_rerun_gives_byte_identical_parquet_and_leaves_one_run_folder(week, run_cli, warehouse, mart):
    assert run_cli("backfill", "--start", DAYS[0], "--end", DAYS[-1]).exit_code == 0
    first = committed(warehouse, mart)
    first_run = warehouse.manifest("sales", DAYS[2])["run_id"]
    assert run_cli("backfill", "--start", DAYS[0], "--end", DAYS[-1]).exit_code == 0
    assert run_cli("run", "--date", DAYS[3]).exit_code == 0

    assert committed(warehouse, mart) == first
    assert warehouse.manifest("sales", DAYS[2])["run_id"] != first_run
    for bucket in (warehouse, mart):
        for partition in committed(bucket):
            table, dt = partition.split("/")
            run_folders = {key.split("/")[2] for key in bucket.keys(f"{table}/dt={dt}/run=")}
            assert run_folders == {f"run={bucket.manifest(table, dt)['run_id']}"}, partition


def test_run_order_and_backfill_give_the_same_tables(week, run_cli, make_bucket):
    outputs = {}
    orders = {
        "in-order": DAYS,
        "out-of-order": [DAYS[0], *reversed(DAYS[1:])],  # the first day lands the master data
        "shuffled": [DAYS[0], DAYS[4], DAYS[2], DAYS[6], DAYS[1], DAYS[5], DAYS[3]],
    }
    for name, order in orders.items():
        warehouse, mart = make_bucket(f"{name}-warehouse"), make_bucket(f"{name}-mart")
        for day in order:
            outcome = run_cli("run", "--date", day, warehouse=warehouse.name, mart=mart.name)
            assert outcome.exit_code == 0, outcome.stderr
        outputs[name] = committed(warehouse, mart)
    warehouse, mart = make_bucket("backfill-warehouse"), make_bucket("backfill-mart")
    assert (
        run_cli(
            "backfill", "--start", DAYS[0], "--end", DAYS[-1], warehouse=warehouse.name, mart=mart.name
        ).exit_code
        == 0
    )
    outputs["backfill"] = committed(warehouse, mart)

    assert outputs["in-order"] == outputs["out-of-order"] == outputs["shuffled"] == outputs["backfill"]
    tables = {p.split("/")[0] for p in outputs["backfill"]}
    assert tables == {"sales", "prices", "stores", "items", "holidays", "quarantine", "features"}
    assert [p for p in outputs["backfill"] if p.startswith("features/")] == [
        f"features/2026-03-{n:02d}" for n in range(1, 9)
    ]
    assert sorted(p for p in outputs["backfill"] if p.startswith("items/")) == [
        "items/2026-03-01",
        "items/2026-03-04",
    ]


def test_a_run_refreshes_existing_features_beyond_its_horizon_but_creates_none_there(week, run_cli, mart):
    """Sales of day X feed the features of X .. X + 28. After the runs of 03-01 and 03-07, the run of 03-02
    creates the partitions up to its horizon (03-03) and refreshes the existing later ones (03-07, 03-08),
    but does not create the days in between."""
    assert run_cli("run", "--date", DAYS[0]).exit_code == 0
    assert run_cli("run", "--date", DAYS[-1]).exit_code == 0
    assert mart.partitions("features") == ["2026-03-01", "2026-03-02", "2026-03-07", "2026-03-08"]
    before = mart.manifest("features", "2026-03-08")["run_id"]
    assert run_cli("run", "--date", DAYS[1]).exit_code == 0

    assert mart.partitions("features") == [
        "2026-03-01",
        "2026-03-02",
        "2026-03-03",
        "2026-03-07",
        "2026-03-08",
    ]
    assert mart.manifest("features", "2026-03-08")["run_id"] != before


def test_a_new_item_snapshot_changes_the_features_grid_from_its_landing_day(week, run_cli, mart):
    assert run_cli("backfill", "--start", DAYS[0], "--end", DAYS[-1]).exit_code == 0
    assert {r["item_id"] for r in mart.rows("features", DAYS[2])} == {"I001", "I002"}
    assert {r["item_id"] for r in mart.rows("features", DAYS[3])} == {"I001", "I002", "I003"}
    prices = {
        r["item_id"]: r["price_ratio"] for r in mart.rows("features", DAYS[3]) if r["store_id"] == "S01"
    }
    assert prices["I001"] == pytest.approx((2 + 3 / 10) / 2.2)  # the new snapshot's base price


def test_a_run_removes_abandoned_run_folders_of_the_partitions_it_publishes(week, run_cli, warehouse, s3):
    abandoned = f"sales/dt={DAYS[0]}/run=20260101T000000Z-0000dead/part-00000.zstd.parquet"
    s3.put_object(Bucket=warehouse.name, Key=abandoned, Body=b"half-written by a killed run")
    assert warehouse.partitions("sales") == []  # no manifest: not a partition

    assert run_cli("run", "--date", DAYS[0]).exit_code == 0
    live = warehouse.manifest("sales", DAYS[0])["files"][0]["key"]
    assert warehouse.keys(f"sales/dt={DAYS[0]}/") == sorted([live, f"sales/dt={DAYS[0]}/_manifest.json"])

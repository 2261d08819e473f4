"""Golden rows for the warehouse tables, built from hand-made raw files, and what their manifests record."""

import pytest

MASTERS = {
    "stores": "store_id,store_name,city,store_type\nS01,Central,Tokyo,urban\nS02,Harbor,Osaka,suburban",
    "items": "item_id,item_name,category,base_price\nI001,Tea,drinks,2.00\nI002,Rice,food,4.00",
    "holidays": "holiday_date,holiday_name\n2026-03-09,Spring Day",
}


@pytest.fixture
def landed(lake):
    """Sales and prices over 2026-03-01 .. 03-05 with late rows and every kind of duplicate."""
    for source, text in MASTERS.items():
        lake.land(source, "2026-03-01", f"{source}.csv", text)
    lake.land(
        "sales", "2026-03-01", "sales.csv", "sale_date,store_id,item_id,units_sold\n2026-03-01,S01,I001,2"
    )
    lake.land(
        "sales",
        "2026-03-02",
        "a.csv",
        """sale_date,store_id,item_id,units_sold
        2026-03-02,S01,I001,5
        2026-03-02,S01,I002,3
        2026-03-01,S02,I001,7
        2026-03-02,S02,I001,1
        2026-03-02,S02,I001,1""",
    )
    # same landing day, later file name: wins over a.csv
    lake.land("sales", "2026-03-02", "b.csv", "sale_date,store_id,item_id,units_sold\n2026-03-02,S01,I001,6")
    # a later landing wins over any file of an earlier one, whatever the names
    lake.land(
        "sales",
        "2026-03-03",
        "a.csv",
        """sale_date,store_id,item_id,units_sold
        2026-03-03,S01,I001,4
        2026-03-02,S01,I002,9""",
    )
    # three days late, landed after the backfill's last landing date: still read for 2026-03-02
    lake.land(
        "sales",
        "2026-03-05",
        "x.csv",
        """sale_date,store_id,item_id,units_sold
        2026-03-02,S02,I001,8
        2026-03-05,S01,I001,1""",
    )
    lake.land(
        "prices",
        "2026-03-01",
        "prices.csv",
        """valid_on,store_id,item_id,unit_price,on_promotion
        2026-03-01,S01,I001,2.00,0
        2026-03-02,S01,I001,2.00,0""",
    )
    lake.land(
        "prices",
        "2026-03-02",
        "prices.csv",
        """valid_on,store_id,item_id,unit_price,on_promotion
        2026-03-03,S01,I001,2.1,1
        2026-03-02,S01,I001,1.90,1""",
    )
    return lake


def test_sales_are_deduplicated_latest_landing_then_key_then_line(landed, run_cli, warehouse):
    outcome = run_cli("backfill", "--start", "2026-03-01", "--end", "2026-03-03")
    assert outcome.exit_code == 0, outcome.stderr

    assert warehouse.partitions("sales") == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert warehouse.rows("sales", "2026-03-01") == [
        {"store_id": "S01", "item_id": "I001", "units_sold": 2},
        {"store_id": "S02", "item_id": "I001", "units_sold": 7},  # landed a day late
    ]
    assert warehouse.rows("sales", "2026-03-02") == [
        {"store_id": "S01", "item_id": "I001", "units_sold": 6},  # b.csv beats a.csv on the same landing day
        {"store_id": "S01", "item_id": "I002", "units_sold": 9},  # landed 03-03 beats landed 03-02
        {"store_id": "S02", "item_id": "I001", "units_sold": 8},  # landed 03-05, outside the backfill
    ]
    assert warehouse.rows("sales", "2026-03-03") == [{"store_id": "S01", "item_id": "I001", "units_sold": 4}]


def test_a_single_date_run_reads_the_later_landings_of_the_dates_it_touches(landed, run_cli, warehouse):
    assert run_cli("run", "--date", "2026-03-01").exit_code == 0  # commits the master snapshots
    assert run_cli("run", "--date", "2026-03-02").exit_code == 0

    assert warehouse.partitions("sales") == ["2026-03-01", "2026-03-02"]  # the dates 03-02's files touch
    assert [row["units_sold"] for row in warehouse.rows("sales", "2026-03-02")] == [6, 9, 8]


def test_prices_are_typed_and_corrected_by_later_landings(landed, run_cli, warehouse):
    assert run_cli("backfill", "--start", "2026-03-01", "--end", "2026-03-02").exit_code == 0

    assert warehouse.partitions("prices") == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert warehouse.rows("prices", "2026-03-02") == [
        {"store_id": "S01", "item_id": "I001", "unit_price": 1.9, "on_promotion": True}
    ]
    assert warehouse.rows("prices", "2026-03-03") == [
        {"store_id": "S01", "item_id": "I001", "unit_price": 2.1, "on_promotion": True}
    ]


def test_master_snapshots_one_per_landing_day_and_the_last_file_wins(landed, run_cli, warehouse):
    landed.land(
        "items", "2026-03-03", "items-1.csv", "item_id,item_name,category,base_price\nI001,Old,drinks,1"
    )
    landed.land(
        "items",
        "2026-03-03",
        "items-2.csv",
        """item_id,item_name,category,base_price
        I002,Rice,food,4.5
        I001,Green tea,drinks,2.25""",
    )
    assert run_cli("backfill", "--start", "2026-03-01", "--end", "2026-03-03").exit_code == 0

    assert warehouse.partitions("items") == ["2026-03-01", "2026-03-03"]
    assert warehouse.rows("items", "2026-03-03") == [
        {"item_id": "I001", "item_name": "Green tea", "category": "drinks", "base_price": 2.25},
        {"item_id": "I002", "item_name": "Rice", "category": "food", "base_price": 4.5},
    ]
    assert warehouse.partitions("stores") == ["2026-03-01"]
    assert warehouse.rows("holidays", "2026-03-01") == [
        {"holiday_date": __import__("datetime").date(2026, 3, 9), "holiday_name": "Spring Day"}
    ]


def test_manifests_record_files_schema_inputs_and_checks(landed, run_cli, warehouse, s3):
    assert run_cli("backfill", "--start", "2026-03-01", "--end", "2026-03-03").exit_code == 0

    manifest = warehouse.manifest("sales", "2026-03-02")
    assert manifest["table"] == "sales" and manifest["dt"] == "2026-03-02"
    assert manifest["producer"]["unit"] == "preprocess"
    assert manifest["schema"] == [
        {"name": "store_id", "type": "string"},
        {"name": "item_id", "type": "string"},
        {"name": "units_sold", "type": "bigint"},
    ]
    assert manifest["rows"] == 3
    [file] = manifest["files"]
    assert file["key"] == f"sales/dt=2026-03-02/run={manifest['run_id']}/part-00000.zstd.parquet"
    body = s3.get_object(Bucket=warehouse.name, Key=file["key"])["Body"].read()
    assert file["bytes"] == len(body)
    assert file["sha256"] == __import__("hashlib").sha256(body).hexdigest()
    assert "dt" not in warehouse.parquet(file["key"]).column_names

    raw_keys = [
        "sales/dt=2026-03-02/a.csv",
        "sales/dt=2026-03-02/b.csv",
        "sales/dt=2026-03-03/a.csv",
        "sales/dt=2026-03-05/x.csv",
    ]
    assert manifest["inputs"] == [
        {
            "uri": f"s3://test-lake/{key}",
            "etag": s3.head_object(Bucket="test-lake", Key=key)["ETag"].strip('"'),
        }
        for key in raw_keys
    ]
    checks = {check["rule"]: check for check in manifest["checks"]}
    assert all(check["passed"] for check in checks.values())
    # seven raw lines of sale date 03-02: three kept, a.csv's exact copy, three replaced by later files
    assert checks["accounting"] == {
        "rule": "accounting",
        "passed": True,
        "rows_read": 7,
        "rows_kept": 3,
        "rows_quarantined": 0,
        "duplicates_resolved": 1,
        "rows_superseded": 3,
    }
    assert checks["row_volume"] == {
        "rule": "row_volume",
        "passed": True,
        "reason": "no history",
        "partitions": 1,
    }
    assert checks["unique_key"] == {"rule": "unique_key", "passed": True, "key": ["store_id", "item_id"]}

    features = __import__("json").loads(
        s3.get_object(Bucket="test-mart", Key="features/dt=2026-03-02/_manifest.json")["Body"].read()
    )
    sales_manifest = s3.get_object(Bucket=warehouse.name, Key="sales/dt=2026-03-02/_manifest.json")[
        "Body"
    ].read()
    assert {
        "uri": "s3://test-warehouse/sales/dt=2026-03-02/_manifest.json",
        "sha256": __import__("hashlib").sha256(sales_manifest).hexdigest(),
    } in features["inputs"]


def test_a_header_only_snapshot_file_is_no_snapshot_the_previous_one_stays_in_force(
    landed, run_cli, warehouse, mart
):
    landed.land("items", "2026-03-02", "items.csv", "item_id,item_name,category,base_price")
    landed.land("items", "2026-03-02", "items-empty.csv", "")
    outcome = run_cli("backfill", "--start", "2026-03-01", "--end", "2026-03-02")

    assert outcome.exit_code == 0, outcome.stderr
    assert warehouse.partitions("items") == ["2026-03-01"]
    assert {row["item_id"] for row in mart.rows("features", "2026-03-02")} == {"I001", "I002"}
    quarantine = warehouse.manifest("quarantine", "2026-03-02")
    assert "s3://test-lake/items/dt=2026-03-02/items-empty.csv" in [i["uri"] for i in quarantine["inputs"]]

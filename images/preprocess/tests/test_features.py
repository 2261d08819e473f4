"""Golden features rows, computed by hand from a ten-day history.

S01/I001 sells n units on 2026-03-n for n = 1 .. 10 (2026-03-01 is a Sunday); S02/I002 never sells. The price
list for a day lands the day before; 2026-03-09 (a Monday) is a holiday. The backfill covers the landing days
2026-03-01 .. 03-10, so features exist for 03-01 .. 03-11 and the label of 03-11 is not known yet.
"""

from math import sqrt

import pytest
from preprocess import cli

SALES_HEADER = "sale_date,store_id,item_id,units_sold"
PRICES_HEADER = "valid_on,store_id,item_id,unit_price,on_promotion"


@pytest.fixture(scope="module")
def features(module_lake, module_mart):
    """The mart after one backfill; built once, the tests below only read it."""
    masters = {
        "stores": "store_id,store_name,city,store_type\nS01,A,X,urban\nS02,B,Y,rural",
        "items": "item_id,item_name,category,base_price\nI001,Tea,d,2.00\nI002,Rice,f,4",
        "holidays": "holiday_date,holiday_name\n2026-03-09,Spring Day",
    }
    for source, text in masters.items():
        module_lake.land(source, "2026-03-01", f"{source}.csv", text)
    for n in range(1, 11):
        day = f"2026-03-{n:02d}"
        module_lake.land("sales", day, "sales.csv", f"{SALES_HEADER}\n{day},S01,I001,{n}")
    prices_of_03_10 = "2026-03-10,S01,I001,2.50,1\n2026-03-10,S02,I002,3,0"
    module_lake.land("prices", "2026-03-09", "prices.csv", f"{PRICES_HEADER}\n{prices_of_03_10}")
    module_lake.land("prices", "2026-03-10", "prices.csv", f"{PRICES_HEADER}\n2026-03-11,S01,I001,2.00,0")

    buckets = ["--lake-bucket", module_lake.bucket, "--warehouse-bucket", "test-warehouse"]
    with pytest.raises(SystemExit) as exited:
        cli.main(
            [
                "backfill",
                "--start",
                "2026-03-01",
                "--end",
                "2026-03-10",
                *buckets,
                "--mart-bucket",
                "test-mart",
            ]
        )
    assert exited.value.code == 0
    return module_mart


def row(rows: list[dict], store_id: str, item_id: str) -> dict:
    [found] = [r for r in rows if (r["store_id"], r["item_id"]) == (store_id, item_id)]
    return found


def sample_std(first: int, last: int) -> float:
    """Sample standard deviation of the consecutive integers first .. last: sqrt(n (n + 1) / 12)."""
    n = last - first + 1
    return sqrt(n * (n + 1) / 12)


def test_one_partition_per_target_date_up_to_the_day_after_the_last_landing(features):
    assert features.partitions("features") == [f"2026-03-{n:02d}" for n in range(1, 12)]
    for dt in features.partitions("features"):
        rows = features.rows("features", dt)
        assert [(r["store_id"], r["item_id"]) for r in rows] == [
            ("S01", "I001"), ("S01", "I002"), ("S02", "I001"), ("S02", "I002")
        ]  # fmt: skip


def test_columns_are_the_contract_s_in_order(features):
    manifest = features.manifest("features", "2026-03-10")
    assert [(c["name"], c["type"]) for c in manifest["schema"]] == [
        ("store_id", "string"), ("item_id", "string"), ("day_of_week", "bigint"), ("day_of_month", "bigint"),
        ("month", "bigint"), ("is_holiday", "boolean"), ("unit_price", "double"), ("on_promotion", "boolean"),
        ("price_ratio", "double"), ("lag_1", "double"), ("lag_7", "double"), ("lag_14", "double"),
        ("lag_28", "double"), ("mean_7", "double"), ("std_7", "double"), ("mean_28", "double"),
        ("std_28", "double"), ("units_sold", "bigint"),
    ]  # fmt: skip
    file = manifest["files"][0]["key"]
    assert features.parquet(file).column_names == [c["name"] for c in manifest["schema"]]


def test_a_labelled_day_with_price_promotion(features):
    got = row(features.rows("features", "2026-03-10"), "S01", "I001")
    assert got == {
        "store_id": "S01", "item_id": "I001",
        "day_of_week": 2, "day_of_month": 10, "month": 3,  # a Tuesday
        "is_holiday": False,
        "unit_price": 2.5, "on_promotion": True, "price_ratio": pytest.approx(2.5 / 2.0),
        "lag_1": 9.0, "lag_7": 3.0, "lag_14": None, "lag_28": None,
        "mean_7": pytest.approx(6.0), "std_7": pytest.approx(sample_std(3, 9)),  # days 3 .. 9
        "mean_28": pytest.approx(5.0), "std_28": pytest.approx(sample_std(1, 9)),  # days 1 .. 9
        "units_sold": 10,
    }  # fmt: skip


def test_the_day_after_the_run_has_features_but_no_label(features):
    got = row(features.rows("features", "2026-03-11"), "S01", "I001")
    assert got["day_of_week"] == 3 and got["units_sold"] is None
    assert (got["lag_1"], got["lag_7"]) == (10.0, 4.0)
    assert got["mean_7"] == pytest.approx(7.0) and got["std_7"] == pytest.approx(sample_std(4, 10))
    assert got["mean_28"] == pytest.approx(5.5) and got["std_28"] == pytest.approx(sample_std(1, 10))
    assert (got["unit_price"], got["on_promotion"], got["price_ratio"]) == (2.0, False, pytest.approx(1.0))


def test_holiday_and_missing_price(features):
    got = row(features.rows("features", "2026-03-09"), "S01", "I001")
    assert (got["is_holiday"], got["day_of_week"]) == (True, 1)
    assert (got["unit_price"], got["on_promotion"], got["price_ratio"]) == (None, None, None)
    assert (got["lag_1"], got["lag_7"], got["units_sold"]) == (8.0, 2.0, 9)
    assert got["mean_7"] == pytest.approx(5.0) and got["std_28"] == pytest.approx(sample_std(1, 8))
    assert row(features.rows("features", "2026-03-09"), "S02", "I002")["is_holiday"] is True


def test_one_day_of_history_has_a_mean_but_no_deviation(features):
    got = row(features.rows("features", "2026-03-02"), "S01", "I001")
    assert (got["lag_1"], got["mean_7"], got["std_7"], got["mean_28"], got["std_28"]) == (
        1.0,
        1.0,
        None,
        1.0,
        None,
    )
    first = row(features.rows("features", "2026-03-01"), "S01", "I001")
    assert (first["lag_1"], first["mean_7"], first["units_sold"]) == (None, None, 1)


def test_a_pair_that_never_sold_has_empty_history_and_a_null_label(features):
    got = row(features.rows("features", "2026-03-10"), "S02", "I002")
    empty = ("lag_1", "lag_7", "lag_14", "lag_28", "mean_7", "std_7", "mean_28", "std_28", "units_sold")
    assert {name: got[name] for name in empty} == dict.fromkeys(empty)
    assert (got["unit_price"], got["on_promotion"], got["price_ratio"]) == (3.0, False, pytest.approx(0.75))


def test_features_manifest_names_the_partitions_it_was_made_from(features):
    inputs = [i["uri"] for i in features.manifest("features", "2026-03-10")["inputs"]]
    assert inputs == [
        *(f"s3://test-warehouse/sales/dt=2026-03-{n:02d}/_manifest.json" for n in range(1, 11)),
        "s3://test-warehouse/prices/dt=2026-03-10/_manifest.json",
        "s3://test-warehouse/stores/dt=2026-03-01/_manifest.json",
        "s3://test-warehouse/items/dt=2026-03-01/_manifest.json",
        "s3://test-warehouse/holidays/dt=2026-03-01/_manifest.json",
    ]

"""The warehouse SQL files on hand-made lake lines (no S3): typing that is the same on Trino and DuckDB, the
rule each bad line gets, and the fate of duplicates. DuckDB alone would accept some of these values (it casts
'12.5' to 13, '0x10' to 16, '2026/03/02' to a date); the files must not."""

from datetime import date

import pyarrow as pa
import pytest
from preprocess.engine import EmbeddedEngine
from preprocess.layout import partition_date
from preprocess.raw import SOURCES, RawFile, read_lake_file

MASTERS = {
    "stores/dt=2026-03-01/stores.csv": "h\nS01,A,X,urban\nS02,B,Y,rural",
    "items/dt=2026-03-01/items.csv": "h\nI001,Tea,d,2\nI002,Rice,f,4",
}


class LakeCatalog:
    """Serves lake tables made from raw texts, as the embedded engine's catalog would from S3."""

    def __init__(self, files: dict[str, str]):
        self.files = {**MASTERS, **files}

    def load(self, name: str, intervals) -> pa.Table:
        source = SOURCES[name.removeprefix("lake.")]
        tables = [source.schema.empty_table()]
        for key, text in sorted(self.files.items()):
            landed_on = partition_date(key)
            if key.startswith(f"{source.name}/") and any(a <= landed_on <= b for a, b in intervals):
                tables.append(read_lake_file(text.encode(), RawFile("lake", key, landed_on), source))
        return pa.concat_tables(tables)


def fates(sql_name: str, files: dict[str, str], **params) -> dict[str, tuple]:
    """raw_line -> (outcome, rule, column) for every line the file read."""
    lines = EmbeddedEngine(LakeCatalog(files)).run(sql_name, params).to_pylist()
    return {line["raw_line"]: (line["outcome"], line["rule"], line["column"] or None) for line in lines}


SALES_PARAMS = {
    "landed_from": date(2026, 3, 1),
    "landed_to": date(2026, 3, 5),
    "stores_from": date(2026, 3, 1),
    "items_from": date(2026, 3, 1),
    "late_window_days": 3,
    "max_units_sold": 1000,
}


@pytest.mark.parametrize(
    ("line", "rule", "column"),
    [
        ("2026-03-05,S01,I001", "missing_value", "units_sold"),
        ("2026-03-05,S01,,4", "missing_value", "item_id"),
        ("2026-03-05, ,I001,4", "missing_value", "store_id"),
        ("garbage", "missing_value", "store_id"),
        ("2026-03-05,S01,I001,12.5", "invalid_type", "units_sold"),
        ("2026-03-05,S01,I001,0x10", "invalid_type", "units_sold"),
        ("2026-03-05,S01,I001,1_000", "invalid_type", "units_sold"),
        ("2026-03-05,S01,I001,99999999999999999999", "invalid_type", "units_sold"),
        ("2026/03/05,S01,I001,4", "invalid_type", "sale_date"),
        ("2026-3-5,S01,I001,4", "invalid_type", "sale_date"),
        ("2026-02-30,S01,I001,4", "invalid_type", "sale_date"),
        ("2026-03-05,S01,I001,-1", "out_of_range", "units_sold"),
        ("2026-03-05,S01,I001,1001", "out_of_range", "units_sold"),
        ("2026-03-06,S01,I001,4", "business_date_out_of_window", "sale_date"),
        ("2026-03-01,S01,I001,4", "business_date_out_of_window", "sale_date"),
        ("2026-03-05,S09,I001,4", "unknown_reference", "store_id"),
        ("2026-03-05,S01,I009,4", "unknown_reference", "item_id"),
    ],
)
def test_a_bad_sales_line_gets_the_first_rule_it_breaks(line, rule, column):
    files = {"sales/dt=2026-03-05/a.csv": f"h\n2026-03-05,S02,I002,1\n{line}"}
    got = fates("warehouse/sales", files, **SALES_PARAMS)
    assert got == {"2026-03-05,S02,I002,1": ("kept", None, None), line: ("quarantined", rule, column)}


def test_values_are_trimmed_and_a_sale_may_be_up_to_the_late_window_old():
    files = {"sales/dt=2026-03-05/a.csv": "h\n 2026-03-02 , S01 ,I001 , 1000 \n2026-03-05,S01,I002,0"}
    lines = EmbeddedEngine(LakeCatalog(files)).run("warehouse/sales", SALES_PARAMS).to_pylist()
    assert sorted((line["outcome"], line["dt"], line["store_id"], line["units_sold"]) for line in lines) == [
        ("kept", date(2026, 3, 2), "S01", 1000),
        ("kept", date(2026, 3, 5), "S01", 0),
    ]


def test_copies_conflicts_and_newer_files():
    files = {
        "sales/dt=2026-03-04/a.csv": "h\n2026-03-04,S01,I001,1\n2026-03-04,S01,I002,1\n2026-03-04,S02,I001,1",
        "sales/dt=2026-03-05/a.csv": "h\n2026-03-04,S01,I001,2\n2026-03-04,S01,I002,2\n2026-03-04,S01,I002,3",
        "sales/dt=2026-03-05/b.csv": "h\n2026-03-04,S02,I001,5\n2026-03-04,S02,I001,5",
    }
    lines = EmbeddedEngine(LakeCatalog(files)).run("warehouse/sales", SALES_PARAMS).to_pylist()
    got = sorted(
        (line["source_uri"][-19:], line["raw_line"], line["outcome"], line["rule"]) for line in lines
    )
    assert got == [
        ("dt=2026-03-04/a.csv", "2026-03-04,S01,I001,1", "superseded", None),  # landed later in 03-05/a.csv
        ("dt=2026-03-04/a.csv", "2026-03-04,S01,I002,1", "kept", None),  # 03-05/a.csv's two versions conflict
        ("dt=2026-03-04/a.csv", "2026-03-04,S02,I001,1", "superseded", None),  # same landing, later file name
        ("dt=2026-03-05/a.csv", "2026-03-04,S01,I001,2", "kept", None),
        ("dt=2026-03-05/a.csv", "2026-03-04,S01,I002,2", "quarantined", "conflicting_duplicate"),
        ("dt=2026-03-05/a.csv", "2026-03-04,S01,I002,3", "quarantined", "conflicting_duplicate"),
        ("dt=2026-03-05/b.csv", "2026-03-04,S02,I001,5", "duplicate", None),
        ("dt=2026-03-05/b.csv", "2026-03-04,S02,I001,5", "kept", None),
    ]


def test_a_price_list_for_tomorrow_is_in_its_window_and_prices_are_checked():
    files = {
        "prices/dt=2026-03-05/p.csv": "h\n2026-03-06,S01,I001,2.5,1\n2026-03-07,S01,I001,2.5,1\n"
        "2026-03-06,S01,I002,1e3,0\n2026-03-06,S02,I001,0.00,0\n2026-03-06,S02,I002,nan,1"
    }
    params = {**SALES_PARAMS, "max_unit_price": 100}
    del params["max_units_sold"]
    assert fates("warehouse/prices", files, **params) == {
        "2026-03-06,S01,I001,2.5,1": ("kept", None, None),
        "2026-03-07,S01,I001,2.5,1": ("quarantined", "business_date_out_of_window", "valid_on"),
        "2026-03-06,S01,I002,1e3,0": ("quarantined", "invalid_type", "unit_price"),
        "2026-03-06,S02,I001,0.00,0": ("quarantined", "out_of_range", "unit_price"),
        "2026-03-06,S02,I002,nan,1": ("quarantined", "invalid_type", "unit_price"),
    }


def test_a_master_snapshot_is_the_last_file_name_of_its_day():
    files = {
        "items/dt=2026-03-03/items-1.csv": "h\nI001,Old,d,1\nI003,Gone,d,1",
        "items/dt=2026-03-03/items-2.csv": "h\nI001,Tea,d,2\nI001,Tea,d,2.00\nI002,Rice,f,4\nI002,Rice,f,5\n"
        "I004,Soy,f,-1",
    }
    params = {"landed_from": date(2026, 3, 3), "landed_to": date(2026, 3, 3), "max_base_price": 100}
    assert fates("warehouse/items", files, **params) == {
        "I001,Old,d,1": ("superseded", None, None),
        "I003,Gone,d,1": ("superseded", None, None),
        "I001,Tea,d,2": ("kept", None, None),
        "I001,Tea,d,2.00": ("duplicate", None, None),  # the same values, written differently
        "I002,Rice,f,4": ("quarantined", "conflicting_duplicate", None),
        "I002,Rice,f,5": ("quarantined", "conflicting_duplicate", None),
        "I004,Soy,f,-1": ("quarantined", "out_of_range", "base_price"),
    }

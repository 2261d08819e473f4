"""Strict parsing of raw lake files: types, the first bad value named by key, line and field."""

import gzip
from datetime import date

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from preprocess.errors import DataError
from preprocess.raw import SOURCES, RawFile, _read_fast, _read_strict, parse_raw_file

LANDED = date(2026, 3, 5)
SALES = RawFile("lake", "sales/dt=2026-03-05/sales.csv", LANDED)
PRICES = RawFile("lake", "prices/dt=2026-03-05/prices.csv", LANDED)


def parse(text: str, raw: RawFile = SALES, late_window_days: int = 3) -> pa.Table:
    return parse_raw_file(text.encode(), raw, SOURCES[raw.key.split("/")[0]], late_window_days)


def test_sales_become_typed_rows_with_their_provenance():
    rows = parse("sale_date,store_id,item_id,units_sold\n2026-03-05,S01,I001,4\n2026-03-04,S02,I002,-1\n")
    assert rows.schema == SOURCES["sales"].schema
    assert rows.to_pylist() == [
        {"sale_date": date(2026, 3, 5), "store_id": "S01", "item_id": "I001", "units_sold": 4, "dt": LANDED,
         "source_key": SALES.key, "line_number": 2},
        {"sale_date": date(2026, 3, 4), "store_id": "S02", "item_id": "I002", "units_sold": -1, "dt": LANDED,
         "source_key": SALES.key, "line_number": 3},
    ]  # fmt: skip


def test_prices_accept_any_decimal_and_a_0_1_promotion_flag():
    rows = parse(
        "valid_on,store_id,item_id,unit_price,on_promotion\n"
        "2026-03-06,S01,I001,2.50,1\n2026-03-06,S01,I002,3,0\n2026-03-06,S01,I003,1e1,0\n2026-03-06,S01,I004,.5,1",
        PRICES,
    )
    assert rows["unit_price"].to_pylist() == [2.5, 3.0, 10.0, 0.5]
    assert rows["on_promotion"].to_pylist() == [True, False, False, True]


@pytest.mark.parametrize(
    ("row", "field", "value", "expected"),
    [
        ("2026-03-05,S01,I001,four", "units_sold", "four", "an integer"),
        ("2026-03-05,S01,I001,1.5", "units_sold", "1.5", "an integer"),
        ("2026-03-05,S01,I001,", "units_sold", "", "an integer"),
        ("2026-03-05,S01,I001,99999999999999999999", "units_sold", "99999999999999999999", "an integer"),
        ("2026-3-05,S01,I001,1", "sale_date", "2026-3-05", "a date YYYY-MM-DD"),
        ("2026-02-30,S01,I001,1", "sale_date", "2026-02-30", "a date YYYY-MM-DD"),
        ("2026-03-05,,I001,1", "store_id", "", "a non-empty value"),
    ],
)
def test_the_first_bad_value_is_named_by_key_line_and_field(row, field, value, expected):
    with pytest.raises(DataError) as error:
        parse(f"sale_date,store_id,item_id,units_sold\n2026-03-05,S01,I001,1\n{row}\n2026-03-05,S01,I001,x\n")
    assert (
        str(error.value)
        == f"s3://lake/{SALES.key} line 3 field '{field}': expected {expected}, got {value!r}"
    )


@pytest.mark.parametrize(
    ("value", "field", "expected"),
    [("abc", "unit_price", "a decimal number"), ("nan", "unit_price", "a decimal number"),
     ("1e999", "unit_price", "a decimal number"), ("2", "on_promotion", "0 or 1"),
     ("true", "on_promotion", "0 or 1")],
)  # fmt: skip
def test_bad_prices_and_flags(value, field, expected):
    row = {"unit_price": f"{value},0", "on_promotion": f"2.00,{value}"}[field]
    with pytest.raises(DataError, match=f"line 2 field '{field}': expected {expected}"):
        parse(f"valid_on,store_id,item_id,unit_price,on_promotion\n2026-03-06,S01,I001,{row}\n", PRICES)


def test_the_header_must_be_the_contract_s():
    with pytest.raises(DataError, match="line 1: header is sale_date,store,item_id,units_sold, expected"):
        parse("sale_date,store,item_id,units_sold\n2026-03-05,S01,I001,1\n")
    with pytest.raises(DataError, match="empty file"):
        parse("")


def test_every_row_has_every_field():
    with pytest.raises(DataError, match="line 3: expected 4 fields, got 3"):
        parse("sale_date,store_id,item_id,units_sold\n2026-03-05,S01,I001,1\n2026-03-05,S01,1\n")
    with pytest.raises(DataError, match="line 3: expected 4 fields, got 0"):
        parse("sale_date,store_id,item_id,units_sold\n2026-03-05,S01,I001,1\n\n2026-03-05,S01,I001,1\n")


@pytest.mark.parametrize(
    ("sale_date", "allowed"),
    [("2026-03-01", False), ("2026-03-02", True), ("2026-03-06", True), ("2026-03-07", False)],
)
def test_business_dates_must_lie_in_the_late_window_of_the_landing_date(sale_date, allowed):
    text = f"sale_date,store_id,item_id,units_sold\n{sale_date},S01,I001,1\n"
    if allowed:
        assert parse(text)["sale_date"].to_pylist() == [date.fromisoformat(sale_date)]
    else:
        with pytest.raises(DataError, match=f"line 2 field 'sale_date': {sale_date} is outside"):
            parse(text)


def test_gzip_quotes_and_crlf_read_the_same_rows():
    plain = "sale_date,store_id,item_id,units_sold\n2026-03-05,S01,I001,4\n2026-03-05,S02,I001,5\n"
    expected = parse(plain).drop_columns(["source_key"])
    zipped = RawFile("lake", "sales/dt=2026-03-05/sales.csv.gz", LANDED)
    assert (
        parse_raw_file(gzip.compress(plain.encode()), zipped, SOURCES["sales"], 3)
        .drop_columns(["source_key"])
        .equals(expected)
    )
    quoted = (
        'sale_date,store_id,item_id,units_sold\r\n2026-03-05,"S01",I001,4\r\n"2026-03-05",S02,I001,"5"\r\n'
    )
    assert parse(quoted).drop_columns(["source_key"]).equals(expected)


def test_undecodable_bytes_are_a_data_error_with_their_line():
    body = b"sale_date,store_id,item_id,units_sold\n2026-03-05,S\xff1,I001,4\n"
    with pytest.raises(DataError, match="line 2: not UTF-8"):
        parse_raw_file(body, SALES, SOURCES["sales"], 3)
    with pytest.raises(DataError, match="not a readable gzip file"):
        parse_raw_file(
            b"not gzip", RawFile("lake", "sales/dt=2026-03-05/x.csv.gz", LANDED), SOURCES["sales"], 3
        )


VALID_ROW = st.tuples(
    st.sampled_from(["2026-03-02", "2026-03-05", "2026-03-06"]),
    st.text(alphabet="SI0123", min_size=1, max_size=3),
    st.text(alphabet="SI0123", min_size=1, max_size=3),
    st.integers(-(10**6), 10**6).map(str),
).map(list)
ODD_VALUE = st.one_of(
    st.sampled_from(
        ["", "2026-02-30", "2026-3-5", "2026-03-01", "1.5", "007", "-0", "99999999999999999999", "a b"]
    ),
    st.text(alphabet="0123456789-.eSI ,", max_size=5),
)


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(VALID_ROW, max_size=6),
    change=st.one_of(st.none(), st.tuples(st.integers(0, 5), st.integers(0, 3), ODD_VALUE)),
)
def test_the_fast_and_the_strict_reader_accept_the_same_files_and_agree(rows, change):
    """The Arrow reader is only a shortcut: it must never accept what the strict reader rejects, and what it
    accepts must be exactly what the strict reader makes of it."""
    if change and rows:
        row, column, value = change
        rows[row % len(rows)][column] = value
    text = "sale_date,store_id,item_id,units_sold\n" + "".join(",".join(row) + "\n" for row in rows)
    fast = _read_fast(text, SALES, SOURCES["sales"], 3)
    try:
        strict = _read_strict(text, SALES, SOURCES["sales"], 3)
    except DataError:
        assert fast is None
        return
    assert fast is None or fast.equals(strict)

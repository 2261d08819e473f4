"""Raw lake files as Athena's OpenCSVSerde sees them: strings by position, the header line skipped, `dt` and
`"$path"`, nothing checked (the SQL types and checks)."""

import csv
import gzip
import io
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from preprocess.errors import DataError
from preprocess.raw import PATH, SOURCES, RawFile, read_lake_file

LANDED = date(2026, 3, 5)
SALES = RawFile("lake", "sales/dt=2026-03-05/sales.csv", LANDED)


def read(body: str | bytes, raw: RawFile = SALES) -> list[dict]:
    body = body.encode() if isinstance(body, str) else body
    return read_lake_file(body, raw, SOURCES[raw.key.split("/")[0]]).to_pylist()


def row(sale_date, store_id, item_id, units_sold) -> dict:
    return {
        "sale_date": sale_date,
        "store_id": store_id,
        "item_id": item_id,
        "units_sold": units_sold,
        "dt": LANDED,
        PATH: "s3://lake/sales/dt=2026-03-05/sales.csv",
    }


def test_lines_become_strings_by_position_with_landing_date_and_path():
    rows = read("sale_date,store_id,item_id,units_sold\n2026-03-05,S01,I001,4\n2026-03-04, S02 ,I002,-1\n")
    assert rows == [row("2026-03-05", "S01", "I001", "4"), row("2026-03-04", " S02 ", "I002", "-1")]
    schema = read_lake_file(b"", SALES, SOURCES["sales"]).schema
    assert schema.names == ["sale_date", "store_id", "item_id", "units_sold", "dt", "$path"]


def test_the_first_line_is_skipped_whatever_it_holds():
    assert read("store,item\n2026-03-05,S01,I001,4\n") == [row("2026-03-05", "S01", "I001", "4")]


def test_a_missing_trailing_field_is_null_and_extra_fields_are_dropped():
    rows = read("h\n2026-03-05,S01,I001\n2026-03-05,S01,I001,4,extra,more\n2026-03-05,S01,,\n")
    assert rows == [
        row("2026-03-05", "S01", "I001", None),
        row("2026-03-05", "S01", "I001", "4"),
        row("2026-03-05", "S01", "", ""),
    ]


def test_a_blank_line_is_one_empty_field():
    assert read("h\n\n2026-03-05,S01,I001,4\n") == [
        row("", None, None, None),
        row("2026-03-05", "S01", "I001", "4"),
    ]


def test_crlf_bom_gzip_quotes_and_a_missing_last_newline_read_the_same_rows():
    plain = "sale_date,store_id,item_id,units_sold\n2026-03-05,S01,I001,4\n2026-03-05,S02,I001,5\n"
    expected = read(plain)
    assert read(plain.replace("\n", "\r\n")) == expected
    assert read(plain.rstrip("\n")) == expected
    assert read(b"\xef\xbb\xbf" + plain.encode()) == expected
    assert read('h\n"2026-03-05","S01",I001,4\r\n2026-03-05,S02,"I001","5"') == expected
    zipped = RawFile("lake", "sales/dt=2026-03-05/sales.csv.gz", LANDED)
    assert [{**r, PATH: None} for r in read(gzip.compress(plain.encode()), zipped)] == [
        {**r, PATH: None} for r in expected
    ]


def test_quoted_separators_and_escaped_quotes_stay_inside_their_field():
    assert read('h\n2026-03-05,"S,01","I\\"1",4\n') == [row("2026-03-05", "S,01", 'I"1', "4")]


@pytest.mark.parametrize("body", [b"", b"sale_date,store_id,item_id,units_sold\n", b"sale_date,store_id"])
def test_an_empty_or_header_only_file_has_no_rows(body):
    assert read(body) == []


def test_bytes_that_are_not_utf8_are_replaced_not_fatal():
    assert read(b"h\n2026-03-05,S\xff1,I001,4\n") == [row("2026-03-05", "S\ufffd1", "I001", "4")]


def test_an_unreadable_gzip_file_is_a_data_error_naming_it():
    with pytest.raises(
        DataError, match=r"s3://lake/sales/dt=2026-03-05/x\.csv\.gz: not a readable gzip file"
    ):
        read(b"not gzip", RawFile("lake", "sales/dt=2026-03-05/x.csv.gz", LANDED))


def test_business_date_windows_per_source():
    assert SOURCES["sales"].business_date_window(LANDED, 3) == (date(2026, 3, 2), date(2026, 3, 5))
    # the price list for a day lands the day before
    assert SOURCES["prices"].business_date_window(LANDED, 3) == (date(2026, 3, 2), date(2026, 3, 6))


FIELD = st.text(alphabet=st.sampled_from('ab1 ,"\\-'), max_size=4)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.lists(FIELD, min_size=4, max_size=4), max_size=5))
def test_what_a_csv_writer_escapes_reads_back_as_the_same_fields(rows):
    out = io.StringIO()
    writer = csv.writer(out, escapechar="\\", doublequote=False, lineterminator="\n")
    writer.writerows([["sale_date", "store_id", "item_id", "units_sold"], *rows])
    got = read(out.getvalue())
    assert [[r[name] for name in SOURCES["sales"].columns] for r in got] == rows

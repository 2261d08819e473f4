"""Hostile raw input (issue 6, item 4), property-based with hypothesis (derandomized, bounded examples):

- preprocess's raw reader (raw.py) takes random bytes, truncated gzip, wrong encodings, broken quoting,
  header variants and huge fields without an error other than a DataError naming an unreadable gzip file;
- the whole data unit, on a lake day mixing clean lines with lines of every defect (other number and date
  formats, dates out of range, missing and extra columns, huge fields, quoting), exits 0 without a
  traceback, quarantines every bad line with the rule docs/s3-layout.md gives it and keeps every good one.
"""

import csv
import gzip
import io
import itertools
from datetime import date, timedelta

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from preprocess.errors import DataError
from preprocess.raw import PATH, SOURCES, RawFile, read_lake_file

from tests.e2e.inprocess import Bucket
from tests.reliability.conftest import CLEARED, ENV, exit_code

LANDED = date(2026, 3, 5)
SALES = SOURCES["sales"]
HEADER = ",".join(SALES.columns)
READER = settings(max_examples=300, derandomize=True, deadline=None)
# One example is one preprocess run on moto.
UNIT = settings(
    max_examples=12, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def raw_file(suffix: str = ".csv") -> RawFile:
    return RawFile("lake", f"sales/dt={LANDED}/hostile{suffix}", LANDED)


def read(body: bytes, suffix: str = ".csv") -> list[dict]:
    return read_lake_file(body, raw_file(suffix), SALES).to_pylist()


def assert_lake_rows(rows: list[dict]) -> None:
    """Rows as the lake table holds them: strings by position, no line end inside a field, provenance."""
    for row in rows:
        assert row["dt"] == LANDED and row[PATH] == raw_file().uri
        for column in SALES.columns:
            assert row[column] is None or ("\n" not in row[column] and "\r" not in row[column]), row


# -- the raw reader -----------------------------------------------------------------------------------------


@READER
@given(body=st.binary(max_size=400))
def test_any_bytes_read_as_lake_rows_one_per_line_after_the_first(body):
    rows = read(body)

    assert_lake_rows(rows)
    text = body.decode("utf-8", errors="replace")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").removesuffix("\n").split("\n")
    assert len(rows) == len(lines) - 1


@READER
@given(text=st.text(max_size=200), encoding=st.sampled_from(["latin-1", "cp1252", "utf-16", "utf-8-sig"]))
def test_text_in_another_encoding_reads_with_replacement_characters(text, encoding):
    body = f"{HEADER}\n{text}".encode(encoding, errors="replace")

    assert_lake_rows(read(body))


@READER
@given(rows=st.lists(st.lists(st.text(max_size=8), min_size=4, max_size=4), min_size=1, max_size=5),
       data=st.data())  # fmt: skip
def test_a_gzip_file_cut_anywhere_is_a_data_error_naming_it(rows, data):
    body = gzip.compress(("\n".join([HEADER, *(",".join(row) for row in rows)]) + "\n").encode())
    cut = data.draw(st.integers(min_value=1, max_value=len(body) - 1))  # an empty object is an empty file

    with pytest.raises(
        DataError, match=r"^s3://lake/sales/dt=2026-03-05/hostile\.csv\.gz: not a readable gzip"
    ):
        read(body[:cut], ".csv.gz")


@READER
@given(line=st.text(alphabet=st.sampled_from('ab1,"\\ '), max_size=30))
def test_broken_quoting_and_escapes_give_fields_without_line_ends(line):
    rows = read(f"{HEADER}\n{line}\n".encode())

    assert len(rows) == 1
    assert_lake_rows(rows)


@READER
@given(
    header=st.sampled_from(
        [
            "\ufeff" + HEADER,
            HEADER.upper(),
            "units_sold,item_id,store_id,sale_date",
            "sale_date;store_id",
            "",
            '"sale_date","store_id"',
            "2026-03-05,S01,I001,3",
        ]
    )
)
def test_the_first_line_is_skipped_whatever_it_holds(header):  # fmt: skip
    assert read(f"{header}\n2026-03-05,S01,I001,4\n".encode()) == read(
        f"{HEADER}\n2026-03-05,S01,I001,4\n".encode()
    )


@pytest.mark.parametrize("quoted", [False, True])
def test_a_field_of_a_megabyte_is_read_whole(quoted):
    huge = "S" + "x" * 1_000_000
    field = f'"{huge}"' if quoted else huge
    [row] = read(f"{HEADER}\n2026-03-05,{field},I001,4\n".encode())

    assert row["store_id"] == huge and row["units_sold"] == "4"


# -- the whole data unit ------------------------------------------------------------------------------------

# 3,500 keys: the file's lines of every defect at once stay under the 1% reject ratio.
STORES, ITEMS = ("S01", "S02"), tuple(f"I{n:04d}" for n in range(1, 1751))
DAY = LANDED.isoformat()
AFTER, TOO_OLD = (LANDED + timedelta(days=1)).isoformat(), (LANDED - timedelta(days=4)).isoformat()
# (fields of a bad line, the rule and column it must be quarantined with); the key is filled in per line.
DEFECTS = {
    "missing units": (["{day}", "{store}", "{item}"], "missing_value", "units_sold"),
    "blank store": (["{day}", "  ", "{item}", "3"], "missing_value", "store_id"),
    "empty date": (["", "{store}", "{item}", "3"], "missing_value", "sale_date"),
    **{f"date {text}": ([text, "{store}", "{item}", "3"], "invalid_type", "sale_date") for text in (
        "2026/03/05", "05.03.2026", "20260305", "2026-3-5", "2026-02-30", "2026-13-01", "0000-00-00",
        "\uff12\uff10\uff12\uff16-03-05", "2026-03-05T00:00")},
    **{f"units {text}": (["{day}", "{store}", "{item}", text], "invalid_type", "units_sold") for text in (
        "1e3", "12.5", "0x10", "3 units", "\uff11\uff12", "+3", "--3", "1,000", "9" * 19, "NaN", "∞", "3.0")},
    **{f"units {text}": (["{day}", "{store}", "{item}", text], "out_of_range", "units_sold") for text in (
        "-1", "10001", "9" * 18)},
    **{f"sale date {text}": ([text, "{store}", "{item}", "3"], "business_date_out_of_window", "sale_date")
       for text in (AFTER, TOO_OLD, "1970-01-01", "9999-12-31")},
    "unknown store": (["{day}", "S99", "{item}", "3"], "unknown_reference", "store_id"),
    "huge store": (["{day}", "S" + "x" * 200_000, "{item}", "3"], "unknown_reference", "store_id"),
    "unknown item": (["{day}", "{store}", "I9999", "3"], "unknown_reference", "item_id"),
}  # fmt: skip
# Lines that look odd but are good: the SerDe's reading makes them a clean row.
ODD_BUT_GOOD = {
    "quoted fields": ["{day}", "{store}", "{item}", "3"],
    "extra columns": ["{day}", "{store}", "{item}", "3", "extra", "more"],
    "spaces around": [" {day} ", " {store}", "{item} ", " 3 "],
}


def csv_line(fields: list[str], quote_all: bool = False) -> str:
    out = io.StringIO()
    quoting = csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    csv.writer(out, quoting=quoting, escapechar="\\", doublequote=False, lineterminator="").writerow(fields)
    return out.getvalue()


@pytest.fixture(scope="module")
def lake_world():
    """moto S3, and per example a fresh lake/warehouse/mart with the masters landed."""
    names = itertools.count()
    with pytest.MonkeyPatch.context() as monkeypatch, mock_aws():
        for name, value in ENV.items():
            monkeypatch.setenv(name, value)
        for name in CLEARED:
            monkeypatch.delenv(name, raising=False)
        s3 = boto3.client("s3")

        def fresh() -> tuple[str, str, str]:
            number = next(names)
            buckets = tuple(f"hostile{number}-{layer}" for layer in ("lake", "warehouse", "mart"))
            for bucket in buckets:
                s3.create_bucket(Bucket=bucket)
            masters = {
                "stores": "store_id,store_name,city,store_type\n"
                + "\n".join(f"{s},Shop,C,u" for s in STORES),
                "items": "item_id,item_name,category,base_price\n"
                + "\n".join(f"{i},It,f,2.0" for i in ITEMS),
                "holidays": "holiday_date,holiday_name\n2026-03-09,Spring Day",
            }
            for source, text in masters.items():
                s3.put_object(Bucket=buckets[0], Key=f"{source}/dt={DAY}/{source}.csv", Body=text.encode())
            return buckets

        yield s3, fresh


def run_day(lake_world, defects: list[str], odd: list[str], crlf: bool) -> None:
    """Lands one sales file of clean lines, the `defects` and the `odd` lines, each on a key of its own, runs
    preprocess for its day, and checks the quarantine and the kept rows against what the lines must give."""
    s3, fresh = lake_world
    lake, warehouse, mart = fresh()
    keys = iter([(store, item) for store in STORES for item in ITEMS])
    lines, expected_quarantine, expected_kept = [], set(), set()
    for name in odd:
        store, item = next(keys)
        fields = [field.format(day=DAY, store=store, item=item) for field in ODD_BUT_GOOD[name]]
        lines.append(csv_line(fields, quote_all=name == "quoted fields"))
        expected_kept.add((store, item, 3))
    for name in defects:
        store, item = next(keys)  # no good line shares the key of a bad one
        pattern, rule, column = DEFECTS[name]
        fields = [field.format(day=DAY, store=store, item=item) for field in pattern]
        lines.append(csv_line(fields))
        expected_quarantine.add((rule, column, ",".join(fields)))
    for store, item in keys:  # clean lines for every other key: the bad ones stay under the 1% reject ratio
        lines.append(f"{DAY},{store},{item},5")
        expected_kept.add((store, item, 5))
    end = "\r\n" if crlf else "\n"
    body = (end.join([HEADER, *lines]) + end).encode()
    s3.put_object(Bucket=lake, Key=f"sales/dt={DAY}/hostile.csv", Body=body)

    buckets = ["--lake-bucket", lake, "--warehouse-bucket", warehouse, "--mart-bucket", mart]
    assert exit_code("preprocess", ["run", "--date", DAY, *buckets]) == 0

    quarantined = Bucket(s3, warehouse).rows("quarantine")
    assert {(row["rule"], row["column"], row["raw_line"]) for row in quarantined} == expected_quarantine
    assert len(quarantined) == len(defects)
    kept = Bucket(s3, warehouse).rows("sales")
    assert {(row["store_id"], row["item_id"], row["units_sold"]) for row in kept} == expected_kept
    assert len(kept) == len(expected_kept)


def test_every_kind_of_bad_line_in_one_file_is_quarantined_with_its_rule_and_good_lines_kept(lake_world):
    run_day(lake_world, sorted(DEFECTS), sorted(ODD_BUT_GOOD), crlf=False)


@pytest.mark.slow  # a preprocess run per example
@UNIT
@given(defects=st.lists(st.sampled_from(sorted(DEFECTS)), min_size=1, max_size=8),
       odd=st.lists(st.sampled_from(sorted(ODD_BUT_GOOD)), max_size=3),
       crlf=st.booleans())  # fmt: skip
def test_any_mix_of_bad_and_odd_lines_is_sorted_line_by_line(lake_world, defects, odd, crlf):
    run_day(lake_world, defects, odd, crlf)

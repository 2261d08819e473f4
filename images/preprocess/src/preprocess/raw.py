"""Raw lake files -> typed Arrow, strictly: the first value that does not parse stops the run (exit 3).

A lake table as the SQL sees it (`lake.sales`, ...) has the source's columns, typed, plus `dt` (the landing
date), `source_key` and `line_number`: the provenance the deduplication rule orders by.
"""

import csv
import gzip
import io
import math
import re
import zlib
from dataclasses import dataclass
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from preprocess.errors import DataError
from preprocess.layout import s3_uri

RAW_SUFFIXES = (".csv", ".csv.gz")


@dataclass(frozen=True)
class RawFile:
    bucket: str
    key: str
    landed_on: date

    @property
    def uri(self) -> str:
        return s3_uri(self.bucket, self.key)


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    pattern: str  # what every value must look like; the syntax is shared by Python's re and Arrow's RE2
    expected: str  # how the error message describes it

    def parse(self, text: str):
        """One value, or ValueError: the strict reader's path."""
        if not re.fullmatch(self.pattern, text):
            raise ValueError(self.expected)
        if self.type == pa.date32():
            return date.fromisoformat(text)  # ValueError for a date that is not on the calendar
        if self.type == pa.int64():
            value = int(text)
            if not -(2**63) <= value < 2**63:
                raise ValueError(self.expected)
            return value
        if self.type == pa.float64():
            if not math.isfinite(value := float(text)):
                raise ValueError(self.expected)
            return value
        if self.type == pa.bool_():
            return text == "1"
        return text

    def parse_column(self, texts: pa.ChunkedArray) -> pa.ChunkedArray:
        """A whole column at once, or ArrowInvalid/ValueError if any value fails: the fast reader's path."""
        if len(texts) and not pc.all(pc.match_substring_regex(texts, f"^(?:{self.pattern})$")).as_py():
            raise ValueError(self.expected)
        if self.type == pa.bool_():
            return pc.equal(texts, "1")
        values = texts.cast(self.type)  # ArrowInvalid for a date not on the calendar or an int out of range
        if self.type == pa.float64() and len(values) and not pc.all(pc.is_finite(values)).as_py():
            raise ValueError(self.expected)
        return values


DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"


def _date(name: str) -> Column:
    return Column(name, pa.date32(), DATE, "a date YYYY-MM-DD")


def _text(name: str) -> Column:
    return Column(name, pa.string(), r".+", "a non-empty value")


def _price(name: str) -> Column:
    return Column(name, pa.float64(), r"-?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?", "a decimal number")


@dataclass(frozen=True)
class Source:
    name: str
    columns: tuple[Column, ...]
    business_date: str | None = None  # None: the file is a snapshot of the whole master

    @property
    def header(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def schema(self) -> pa.Schema:
        return pa.schema(
            [
                *((column.name, column.type) for column in self.columns),
                ("dt", pa.date32()),
                ("source_key", pa.string()),
                ("line_number", pa.int64()),
            ]
        )


SOURCES = {
    source.name: source
    for source in (
        Source(
            "sales",
            (_date("sale_date"), _text("store_id"), _text("item_id"),
             Column("units_sold", pa.int64(), r"-?[0-9]+", "an integer")),
            business_date="sale_date",
        ),
        Source(
            "prices",
            (_date("valid_on"), _text("store_id"), _text("item_id"), _price("unit_price"),
             Column("on_promotion", pa.bool_(), r"[01]", "0 or 1")),
            business_date="valid_on",
        ),
        Source("stores", (_text("store_id"), _text("store_name"), _text("city"), _text("store_type"))),
        Source("items", (_text("item_id"), _text("item_name"), _text("category"), _price("base_price"))),
        Source("holidays", (_date("holiday_date"), _text("holiday_name"))),
    )
}  # fmt: skip


def business_date_window(landed_on: date, late_window_days: int) -> tuple[date, date]:
    """Business dates a file landed on `landed_on` may carry: up to the late window back, one day ahead."""
    return landed_on - timedelta(days=late_window_days), landed_on + timedelta(days=1)


def decode(body: bytes, raw: RawFile) -> str:
    if raw.key.endswith(".gz"):
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError, zlib.error) as error:
            raise DataError(f"{raw.uri}: not a readable gzip file ({error})") from None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        line = body[: error.start].count(b"\n") + 1
        raise DataError(f"{raw.uri} line {line}: not UTF-8 ({error.reason})") from None


def parse_raw_file(body: bytes, raw: RawFile, source: Source, late_window_days: int) -> pa.Table:
    """One raw file as a typed Arrow table with the source's lake schema; DataError at the first bad value.

    Clean files take Arrow's CSV reader and whole-column checks; any file that reader is not sure about
    (quotes, carriage returns, a failed check) is read again line by line, which finds and names the first
    bad value. Both readers accept exactly the same files and give the same table."""
    text = decode(body, raw)
    fast = _read_fast(text, raw, source, late_window_days)
    rows = fast if fast is not None else _read_strict(text, raw, source, late_window_days)
    if source.business_date is None and rows.num_rows == 0:
        # a snapshot replaces the whole master: an empty one would silently empty every later feature day
        raise DataError(f"{raw.uri}: {source.name} snapshot without rows (a snapshot is the whole master)")
    return rows


def _table(columns: list, raw: RawFile, line_numbers: pa.Array, source: Source) -> pa.Table:
    rows = len(line_numbers)
    provenance = [
        pa.array([raw.landed_on] * rows, type=pa.date32()),
        pa.array([raw.key] * rows, type=pa.string()),
        line_numbers,
    ]
    return pa.Table.from_arrays([*columns, *provenance], schema=source.schema)


def _read_fast(text: str, raw: RawFile, source: Source, late_window_days: int) -> pa.Table | None:
    if '"' in text or "\r" in text or text.split("\n", 1)[0] != ",".join(source.header):
        return None  # without quotes or CR, row n of the CSV is line n + 1 of the file
    try:
        strings = pa_csv.read_csv(
            io.BytesIO(text.encode()),
            parse_options=pa_csv.ParseOptions(ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(source.header, pa.string()), strings_can_be_null=False
            ),
        )
        columns = [column.parse_column(strings[column.name]) for column in source.columns]
    except (pa.ArrowInvalid, ValueError):
        return None
    if source.business_date and strings.num_rows:
        earliest, latest = business_date_window(raw.landed_on, late_window_days)
        bounds = pc.min_max(columns[source.header.index(source.business_date)]).as_py()
        if bounds["min"] < earliest or bounds["max"] > latest:
            return None
    return _table(columns, raw, pa.array(range(2, strings.num_rows + 2), type=pa.int64()), source)


def _read_strict(text: str, raw: RawFile, source: Source, late_window_days: int) -> pa.Table:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    values: list[list] = [[] for _ in source.columns]
    line_numbers: list[int] = []
    earliest, latest = business_date_window(raw.landed_on, late_window_days)
    date_index = source.header.index(source.business_date) if source.business_date else None
    try:
        header = next(reader, None)
        if header is None:
            raise DataError(f"{raw.uri}: empty file, expected the header {','.join(source.header)}")
        if header != source.header:
            raise DataError(
                f"{raw.uri} line 1: header is {','.join(header)}, expected {','.join(source.header)}"
            )
        for row in reader:
            line = reader.line_num
            if len(row) != len(source.columns):
                raise DataError(
                    f"{raw.uri} line {line}: expected {len(source.columns)} fields, got {len(row)}"
                )
            for column, text_value, out in zip(source.columns, row, values, strict=True):
                try:
                    out.append(column.parse(text_value))
                except ValueError:
                    where = f"{raw.uri} line {line} field '{column.name}'"
                    raise DataError(f"{where}: expected {column.expected}, got {text_value!r}") from None
            if date_index is not None and not earliest <= values[date_index][-1] <= latest:
                where = f"{raw.uri} line {line} field '{source.business_date}'"
                raise DataError(
                    f"{where}: {values[date_index][-1]} is outside [{earliest}, {latest}], the dates a file "
                    f"landed on {raw.landed_on} may carry "
                    f"(LATE_WINDOW_DAYS={late_window_days})"
                )
            line_numbers.append(line)
    except csv.Error as error:
        raise DataError(f"{raw.uri} line {reader.line_num}: malformed CSV ({error})") from None
    columns = [pa.array(out, type=column.type) for column, out in zip(source.columns, values, strict=True)]
    return _table(columns, raw, pa.array(line_numbers, type=pa.int64()), source)

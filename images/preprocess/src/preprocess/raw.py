"""Raw lake files as Athena sees them through the lake's Glue tables (terraform/modules/catalog): the
OpenCSVSerde with `skip.header.line.count=1`, every column a string mapped by position, plus the partition
column `dt` (the landing date) and the pseudo-column `"$path"` (the object's URI).

Nothing is checked here: a missing trailing field is NULL, extra fields are dropped, and typing, cleansing
and the data-quality rules are SQL in the warehouse files, so both engines apply them to the same strings.
"""

import csv
import gzip
import re
import sys
import zlib
from dataclasses import dataclass
from datetime import date, timedelta

import pyarrow as pa

from preprocess.errors import DataError
from preprocess.layout import s3_uri

RAW_SUFFIXES = (".csv", ".csv.gz")
PATH = "$path"
# Hadoop's LineReader ends a line at LF, CR LF or a lone CR; a file's last terminator makes no empty line
_LINE_END = re.compile(r"\r\n|\n|\r")
# The SerDe reads a field of any length; Python's csv refuses one over 128 KiB unless told otherwise.
csv.field_size_limit(sys.maxsize)


@dataclass(frozen=True)
class RawFile:
    bucket: str
    key: str
    landed_on: date

    @property
    def uri(self) -> str:
        return s3_uri(self.bucket, self.key)


@dataclass(frozen=True)
class Source:
    name: str
    columns: tuple[str, ...]
    business_date: str | None = None  # None: the file is a snapshot of the whole master
    lead_days: int = 0  # how many days after its landing date a business date may lie

    @property
    def schema(self) -> pa.Schema:
        """The lake table's columns as the SQL reads them (`lake.sales`, ...)."""
        return pa.schema(
            [*((name, pa.string()) for name in self.columns), ("dt", pa.date32()), (PATH, pa.string())]
        )

    def business_date_window(self, landed_on: date, late_window_days: int) -> tuple[date, date]:
        """The business dates a file landed on `landed_on` may carry."""
        return landed_on - timedelta(days=late_window_days), landed_on + timedelta(days=self.lead_days)


SOURCES = {
    source.name: source
    for source in (
        Source("sales", ("sale_date", "store_id", "item_id", "units_sold"), "sale_date"),
        # the price list for a day lands the day before
        Source("prices", ("valid_on", "store_id", "item_id", "unit_price", "on_promotion"), "valid_on", 1),
        Source("stores", ("store_id", "store_name", "city", "store_type")),
        Source("items", ("item_id", "item_name", "category", "base_price")),
        Source("holidays", ("holiday_date", "holiday_name")),
    )
}


def decode(body: bytes, raw: RawFile) -> str:
    """The file's text: gunzipped when `.gz` (as Athena does by suffix), bytes that are not UTF-8 replaced."""
    if raw.key.endswith(".gz"):
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError, zlib.error) as error:
            raise DataError(f"{raw.uri}: not a readable gzip file ({error})") from None
    return body.decode("utf-8", errors="replace")


def data_lines(text: str) -> list[str]:
    """The lines after the header (which takes a UTF-8 BOM with it), line ends removed."""
    lines = _LINE_END.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines[1:]


def fields(line: str) -> list[str]:
    """One line split the way OpenCSVSerde splits it (separator `,`, quote `"`, escape `\\`)."""
    if '"' not in line and "\\" not in line:
        return line.split(",")
    if (len(line) - len(line.rstrip("\\"))) % 2:
        # A last escape escapes nothing: OpenCSV drops it, where Python's csv would read an escaped line end.
        line = line[:-1]
    return next(csv.reader([line], escapechar="\\")) or [""]  # an empty line is one empty field


def read_lake_file(body: bytes, raw: RawFile, source: Source) -> pa.Table:
    """One raw file as the rows of its lake table: strings by position, `dt` and `"$path"`."""
    rows = [fields(line) for line in data_lines(decode(body, raw))]
    width = len(source.columns)
    columns = [
        pa.array([row[index] if index < len(row) else None for row in rows], type=pa.string())
        for index in range(width)
    ]
    provenance = [
        pa.array([raw.landed_on] * len(rows), type=pa.date32()),
        pa.array([raw.uri] * len(rows), type=pa.string()),
    ]
    return pa.Table.from_arrays([*columns, *provenance], schema=source.schema)

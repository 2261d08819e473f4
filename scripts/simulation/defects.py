"""What goes wrong on the way from the source to the lake, and the ledger of what each defect must become.

`lake_files` turns the rows of each landed file into the bytes that land, injecting the defects that
`config.defects` (a DefectRates) asks for. With all rates zero every file is `encode_csv` of its rows.

Row defects (sales and prices files; each data row gets at most one, drawn with its rate), with the
quarantine rule and column each must get:

- `exact_duplicate`: a second, identical copy of a row anywhere in the same file; must collapse into one
  (`duplicate_resolved`), not quarantined.
- `conflicting_duplicate`: a second copy anywhere in the same file with another units_sold (+1..3) or
  unit_price (+0.10..0.12); both rows `conflicting_duplicate`, no column.
- `malformed_line`: half of them have their last field cut off (`missing_value`, the last column: units_sold
  or on_promotion), half a text that is no number in units_sold / unit_price (`invalid_type`, that column).
- `negative_units` (sales): units_sold -1 .. -20: `out_of_range`, units_sold.
- `absurd_units` (sales): units_sold 1,000,000 .. 9,999,999: `out_of_range`, units_sold.
- `missing_price` (prices): unit_price empty: `missing_value`, unit_price.
- `unknown_item`: item_id `I1xxx` (1000 + the real number), never in the item master: `unknown_reference`,
  item_id.
- `out_of_window` (sales): sale_date moved to 1..3 days after the landing date, or 10..30 days before it:
  `business_date_out_of_window`, sale_date.

Every other field of a defective row is valid, so each row breaks exactly one rule. A replaced row (all but
`exact_duplicate`, and both rows of a conflict) takes its truth row out of the warehouse: the ledger names it.

File defects; the format ones apply to any file, and their rows must come through exactly as from a plain
file (`clean_expected`):

- `added_column`: one more trailing column (`source_system`, value `pos`) in the header and every row.
- `crlf`: `\r\n` line ends. `bom`: a UTF-8 byte order mark first. `gzip`: gzip-compressed, key `.csv.gz`.

The others add a file to a sales or prices landing day, next to `{source}_{dt}.csv`:

- `empty_file`: `{source}_{dt}_empty.csv` of 0 bytes (never encoded); nothing comes of it, and no error.
- `header_only`: `{source}_{dt}_header-only.csv`, the header line alone; nothing comes of it, and no error.
- `missing_column`: `{source}_{dt}_resend.csv`, 3 of the day's rows moved there from the main file, header and
  rows without the last column; each row `missing_value` on the last column.

`max_quarantined_share` caps, per source and landing day, the rows bound for quarantine (a conflict counts
two, a resend file its rows): defects past the cap are dropped, a random choice of them.

The ledger (`LEDGER_SCHEMA`, written as Parquet by `scripts/simulate.py`) has one row per defective data
line and one per file defect:

- `key`: the lake key of the file, `.gz` included; `dt`: its landing date; `source`;
- `defect`: the DefectRates field that made it;
- `expected`: `quarantined`, `duplicate_resolved` (an exact copy that must collapse) or `clean_expected`
  (a file defect: its rows must come through exactly as if the file were plain);
- `rule`, `column`: the quarantine rule and column expected (`column` null for `conflicting_duplicate`);
  both null unless `expected` is `quarantined`;
- `line`: the 1-based line number in the decoded file (the header is line 1), null for file defects;
- `raw_line`: the row as the SerDe sees it, null for file defects: the line's CSV fields (no BOM, no line
  end) cut to the source's contract columns, missing trailing fields left out (they are NULL), joined with
  `,` — what Trino's `concat_ws(',', col1, ..., colN)` gives over the Glue table's columns. An empty field
  stays empty: `2026-01-05,S01,I001,,0`;
- `lost_date`, `lost_store_id`, `lost_item_id`: the truth row (sale date or valid_on, store, item) this
  defect keeps out of the warehouse, null when none is.
"""

import gzip
import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pyarrow as pa

from scripts.simulation.config import DefectRates, SimulationConfig
from scripts.simulation.landing import COLUMNS, RawFile, encode_csv

QUARANTINED, DUPLICATE_RESOLVED, CLEAN_EXPECTED = "quarantined", "duplicate_resolved", "clean_expected"
ROW_DEFECTS_OF = {
    "sales": ("exact_duplicate", "conflicting_duplicate", "malformed_line", "negative_units", "absurd_units",
              "unknown_item", "out_of_window"),
    "prices": ("exact_duplicate", "conflicting_duplicate", "malformed_line", "missing_price", "unknown_item"),
}  # fmt: skip
DATE, STORE, ITEM, AMOUNT = 0, 1, 2, 3  # field positions shared by sales and prices; AMOUNT is numeric
# Texts that cast to no number on Trino nor DuckDB (DuckDB casts '12.5' to the integer 13, Trino refuses).
NOT_A_NUMBER = ("n/a", "#REF!", "abc", "twelve", "1.2.3")
ADDED_COLUMN, ADDED_VALUE = "source_system", "pos"
RESEND_ROWS = 3

LEDGER_SCHEMA = pa.schema(
    [
        ("key", pa.string()),
        ("dt", pa.date32()),
        ("source", pa.string()),
        ("defect", pa.string()),
        ("expected", pa.string()),
        ("rule", pa.string()),
        ("column", pa.string()),
        ("line", pa.int64()),
        ("raw_line", pa.string()),
        ("lost_date", pa.date32()),
        ("lost_store_id", pa.string()),
        ("lost_item_id", pa.string()),
    ]
)


@dataclass(frozen=True)
class LakeFile:
    key: str
    body: bytes
    rows: int  # data lines after the header


@dataclass(frozen=True)
class Line:
    """One data line of a file being damaged, and what it should become if it is a defect."""

    text: str
    defect: str | None = None
    expected: str | None = None
    rule: str | None = None
    column: str | None = None
    lost: tuple[str, str, str] | None = None  # sale date or valid_on, store_id, item_id of the truth row


@dataclass(frozen=True)
class Draft:
    """A file before its encoding: its key as plain CSV, header line, data lines and file defects."""

    key: str
    source: str
    landing_date: date
    header: str  # "" for a file of 0 bytes
    lines: list[Line]
    file_defects: tuple[str, ...] = ()


def lake_files(config: SimulationConfig, files: list[RawFile]) -> tuple[list[LakeFile], pa.Table]:
    """The bytes of every file as it lands, in landing order, and the ledger of the defects in them."""
    if not config.defects.any:
        landed = [LakeFile(file.key, encode_csv(file.rows), file.rows.num_rows) for file in files]
        return landed, LEDGER_SCHEMA.empty_table()
    landed, ledger = [], []
    for file in files:
        for draft in drafts(config, file):
            lake_file, entries = encode(config, draft)
            landed.append(lake_file)
            ledger += entries
    return landed, pa.Table.from_pylist(ledger, schema=LEDGER_SCHEMA)


def drafts(config: SimulationConfig, file: RawFile) -> list[Draft]:
    """The file as the source sends it, plus the extra files its landing day gets, before encoding."""
    rates = config.defects
    header, *data = encode_csv(file.rows).decode("utf-8").split("\n")[:-1]
    # The same number of draws for every file, so that one defect's rate never moves another's.
    rng = config.random(f"defects/{file.key}")
    draws = rng.random(4) < (rates.added_column, rates.missing_column, rates.empty_file, rates.header_only)
    added, resend, empty, header_only = (bool(draw) for draw in draws)
    if added:
        header += f",{ADDED_COLUMN}"
    if file.source not in ROW_DEFECTS_OF:
        lines = [Line(text + f",{ADDED_VALUE}" if added else text) for text in data]
        return [Draft(file.key, file.source, file.landing_date, header, lines, ("added_column",) * added)]
    lines, resent = damaged_rows(rng, rates, file, data, added=added, resend=resend)
    main = Draft(file.key, file.source, file.landing_date, header, lines, ("added_column",) * added)
    columns = COLUMNS[file.source]
    extra = []
    if resent:
        extra.append(_extra(file, "resend", ",".join(columns[:-1]), resent))
    if empty:
        extra.append(_extra(file, "empty", "", [], "empty_file"))
    if header_only:
        extra.append(_extra(file, "header-only", ",".join(columns), [], "header_only"))
    return [main, *extra]


def damaged_rows(
    rng: np.random.Generator, rates: DefectRates, file: RawFile, data: list[str], *, added: bool, resend: bool
) -> tuple[list[Line], list[Line]]:
    """A sales or prices file's data lines with their row defects, and the lines resent without a column."""
    count = len(data)
    kinds = ROW_DEFECTS_OF[file.source]
    none = len(kinds)
    kind = np.searchsorted(np.cumsum([getattr(rates, name) for name in kinds]), rng.random(count), "right")
    variant, pick, position = rng.random(count), rng.integers(0, 2**31, size=count), rng.random(count)
    order = rng.permutation(count)
    # Within the cap, the resend file first (all of it or nothing), then row defects in a random order.
    budget = math.floor(rates.max_quarantined_share * count + 1e-9)
    resent_rows = set()
    if resend:
        chosen = rng.choice(np.flatnonzero(kind == none), size=min(RESEND_ROWS, count), replace=False)
        if 0 < len(chosen) <= budget:
            resent_rows = set(chosen.tolist())
            budget -= len(chosen)
    for row in order:
        if kind[row] == none:
            continue
        cost = {"exact_duplicate": 0, "conflicting_duplicate": 2}.get(kinds[kind[row]], 1)
        if cost <= budget:
            budget -= cost
        else:
            kind[row] = none

    placed, resent = [], []
    last_column = COLUMNS[file.source][-1]
    for row, text in enumerate(data):
        fields = text.split(",")
        if row in resent_rows:
            lost = (fields[DATE], fields[STORE], fields[ITEM])
            resent.append(
                Line(",".join(fields[:-1]), "missing_column", QUARANTINED, "missing_value", last_column, lost)
            )
        elif kind[row] == none:
            placed.append((row, Line(_text(fields, added))))
        else:
            lines = _defect_lines(kinds[kind[row]], fields, file, variant[row], int(pick[row]), added)
            # The row's own line stays in place; a copy goes anywhere in the file.
            placed += [(position[row] * count if copy else row, line) for line, copy in lines]
    placed.sort(key=lambda item: item[0])
    return [line for _, line in placed], resent


def _defect_lines(
    name: str, fields: list[str], file: RawFile, variant: float, pick: int, added: bool
) -> list[tuple[Line, bool]]:
    """The lines one row defect writes, each with whether it is an added copy of the row."""
    columns = COLUMNS[file.source]
    lost = (fields[DATE], fields[STORE], fields[ITEM])

    def with_value(position: int, value: str) -> list[str]:
        return [value if index == position else field for index, field in enumerate(fields)]

    def quarantined(new_fields: list[str], rule: str, column: str | None) -> Line:
        return Line(_text(new_fields, added), name, QUARANTINED, rule, column, lost)

    if name == "exact_duplicate":
        text = _text(fields, added)
        return [(Line(text), False), (Line(text, name, DUPLICATE_RESOLVED), True)]
    if name == "conflicting_duplicate":
        amount = fields[AMOUNT]
        other = (
            str(int(amount) + 1 + pick % 3) if file.source == "sales" else _plus_cents(amount, 10 + pick % 3)
        )
        return [
            (quarantined(fields, "conflicting_duplicate", None), False),
            (quarantined(with_value(AMOUNT, other), "conflicting_duplicate", None), True),
        ]
    if name == "malformed_line" and variant < 0.5:
        # Cut after the last comma but one: an added column goes too.
        cut = Line(",".join(fields[:-1]), name, QUARANTINED, "missing_value", columns[-1], lost)
        return [(cut, False)]
    if name == "malformed_line":
        garbage = NOT_A_NUMBER[pick % len(NOT_A_NUMBER)]
        return [(quarantined(with_value(AMOUNT, garbage), "invalid_type", columns[AMOUNT]), False)]
    if name == "negative_units":
        return [
            (quarantined(with_value(AMOUNT, str(-1 - pick % 20)), "out_of_range", columns[AMOUNT]), False)
        ]
    if name == "absurd_units":
        units = str(1_000_000 + pick % 9_000_000)
        return [(quarantined(with_value(AMOUNT, units), "out_of_range", columns[AMOUNT]), False)]
    if name == "missing_price":
        return [(quarantined(with_value(AMOUNT, ""), "missing_value", columns[AMOUNT]), False)]
    if name == "unknown_item":
        unknown = f"I{1000 + int(fields[ITEM][1:])}"
        return [(quarantined(with_value(ITEM, unknown), "unknown_reference", columns[ITEM]), False)]
    # out_of_window: after the landing date, or far before any late window
    shift = timedelta(days=1 + pick % 3) if variant < 0.5 else -timedelta(days=10 + pick % 21)
    moved = (file.landing_date + shift).isoformat()
    return [(quarantined(with_value(DATE, moved), "business_date_out_of_window", columns[DATE]), False)]


def encode(config: SimulationConfig, draft: Draft) -> tuple[LakeFile, list[dict]]:
    """The file's bytes with its drawn encodings (never for an empty file), and its ledger entries."""
    rates = config.defects
    crlf = bom = compressed = False
    if draft.header:
        draws = config.random(f"defects/encoding/{draft.key}").random(3)
        crlf, bom, compressed = (bool(draw) for draw in draws < (rates.crlf, rates.bom, rates.gzip))
        text = ("\r\n" if crlf else "\n").join([draft.header] + [line.text for line in draft.lines])
        body = (("\ufeff" if bom else "") + text + ("\r\n" if crlf else "\n")).encode("utf-8")
    else:
        body = b""
    key = draft.key + ".gz" if compressed else draft.key
    if compressed:
        body = gzip.compress(body, mtime=0)
    file_defects = list(draft.file_defects) + [
        name for name, on in (("crlf", crlf), ("bom", bom), ("gzip", compressed)) if on
    ]
    common = {"key": key, "dt": draft.landing_date, "source": draft.source}
    entries = [{**common, "defect": name, "expected": CLEAN_EXPECTED} for name in file_defects]
    width = len(COLUMNS[draft.source])
    for number, line in enumerate(draft.lines, start=2):
        if line.defect is None:
            continue
        entries.append(
            {
                **common,
                "defect": line.defect,
                "expected": line.expected,
                "rule": line.rule,
                "column": line.column,
                "line": number,
                "raw_line": ",".join(line.text.split(",")[:width]),
                "lost_date": date.fromisoformat(line.lost[0]) if line.lost else None,
                "lost_store_id": line.lost[1] if line.lost else None,
                "lost_item_id": line.lost[2] if line.lost else None,
            }
        )
    return LakeFile(key, body, len(draft.lines)), entries


def _extra(file: RawFile, suffix: str, header: str, lines: list[Line], defect: str | None = None) -> Draft:
    key = file.key.removesuffix(".csv") + f"_{suffix}.csv"
    return Draft(key, file.source, file.landing_date, header, lines, (defect,) if defect else ())


def _text(fields: list[str], added: bool) -> str:
    return ",".join([*fields, ADDED_VALUE] if added else fields)


def _plus_cents(amount: str, cents: int) -> str:
    whole, fraction = amount.split(".")
    total = int(whole) * 100 + int(fraction) + cents
    return f"{total // 100}.{total % 100:02d}"

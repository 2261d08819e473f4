"""The typed configuration of a simulation, the random streams it seeds, and the simulator's error."""

import zlib
from dataclasses import dataclass, field, fields
from datetime import date, timedelta

import numpy as np


class SimulatorError(Exception):
    """A failure the command line turns into one line of text and `exit_code`."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


ROW_DEFECTS = ("exact_duplicate", "conflicting_duplicate", "malformed_line", "negative_units", "absurd_units",
               "missing_price", "unknown_item", "out_of_window")  # fmt: skip


@dataclass(frozen=True)
class DefectRates:
    """How often the source sends something wrong; all zero (the default) sends perfect files.

    Row defects are shares of the data rows of each sales or prices file, drawn per row and exclusive
    (a row gets at most one), so their sum may not exceed 1. File defects are shares of files: the format
    ones (`added_column`, `crlf`, `bom`, `gzip`) change a file whose rows must still come through clean;
    `missing_column`, `empty_file` and `header_only` add an extra file to a day's sales or prices.
    scripts/simulation/defects.py says exactly what each one writes and which quarantine rule it expects.
    """

    # rows: two copies of a row in one file, identical (collapsed) or with another value (both quarantined)
    exact_duplicate: float = 0.0
    conflicting_duplicate: float = 0.0
    malformed_line: float = 0.0  # its last field cut off, or text that is no number in a numeric field
    negative_units: float = 0.0  # sales
    absurd_units: float = 0.0  # sales: a million units or more
    missing_price: float = 0.0  # prices: an empty unit_price
    unknown_item: float = 0.0  # an item id that is not in the item master
    out_of_window: float = 0.0  # sales: a sale date after the landing date or weeks before it
    # files
    added_column: float = 0.0  # any file: one more trailing column than the contract has
    missing_column: float = 0.0  # sales/prices day: an extra file of a few rows without the last column
    empty_file: float = 0.0  # sales/prices day: an extra file of 0 bytes
    header_only: float = 0.0  # sales/prices day: an extra file with the header and no rows
    crlf: float = 0.0  # any file: CRLF line ends
    bom: float = 0.0  # any file: a UTF-8 byte order mark
    gzip: float = 0.0  # any file: gzip-compressed, its key ending in .gz
    # Quarantine-bound rows of one source's files of one landing day never exceed this share of that day's
    # rows: defects past it are not injected, so a reject-ratio threshold above it is never breached.
    max_quarantined_share: float = 1.0

    def problems(self) -> list[str]:
        """What is wrong with these rates, as messages; empty when they are usable."""
        problems = [
            f"defect rate {item.name} must be within 0..1, got {getattr(self, item.name)}"
            for item in fields(self)
            if not 0.0 <= getattr(self, item.name) <= 1.0
        ]
        row_total = sum(getattr(self, name) for name in ROW_DEFECTS)
        if row_total > 1.0:
            problems.append(f"row defect rates must add up to at most 1, got {row_total:g}")
        return problems

    @property
    def any(self) -> bool:
        return any(getattr(self, item.name) for item in fields(self) if item.name != "max_quarantined_share")


# What `scripts/simulate.py --defects` switches on. Per day of the default world (10 stores x 50 items:
# 500 sales and 500 price rows) the row defects that end in quarantine add up to about 0.4% of rows, and
# the cap keeps every day below 0.8%, so a reject-ratio threshold of 1% per table is never breached.
# Over 100 days each row defect occurs about 25 times and each file defect about 5 to 20 times.
REALISTIC_DEFECTS = DefectRates(
    exact_duplicate=0.002,
    conflicting_duplicate=0.0005,
    malformed_line=0.0005,
    negative_units=0.0005,
    absurd_units=0.0005,
    missing_price=0.0005,
    unknown_item=0.0005,
    out_of_window=0.0005,
    added_column=0.05,
    missing_column=0.05,
    empty_file=0.05,
    header_only=0.05,
    crlf=0.05,
    bom=0.05,
    gzip=0.1,
    max_quarantined_share=0.008,
)


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate: `days` landing days from `start`, and the world's size and randomness."""

    start: date
    days: int
    stores: int = 10
    items: int = 50
    seed: int = 7
    late_rate: float = 0.02  # share of sales rows that land 1..late_max_days days after their sale date
    late_max_days: int = 3
    defects: DefectRates = field(default_factory=DefectRates)

    def __post_init__(self) -> None:
        checks = [
            (self.days >= 1, f"days must be at least 1, got {self.days}"),
            (1 <= self.stores <= 99, f"stores must be 1..99 (ids S01..S99), got {self.stores}"),
            (1 <= self.items <= 999, f"items must be 1..999 (ids I001..I999), got {self.items}"),
            (0.0 <= self.late_rate <= 1.0, f"late_rate must be within 0..1, got {self.late_rate}"),
            (self.late_max_days >= 1, f"late_max_days must be at least 1, got {self.late_max_days}"),
        ]
        checks += [(False, problem) for problem in self.defects.problems()]
        for passed, message in checks:
            if not passed:
                raise SimulatorError(message, exit_code=2)

    @property
    def last_landing_day(self) -> date:
        return self.start + timedelta(days=self.days - 1)

    @property
    def truth_days(self) -> list[date]:
        """Every day of the truth: the landing days plus the day after, which the pipeline forecasts."""
        return [self.start + timedelta(days=offset) for offset in range(self.days + 1)]

    def random(self, purpose: str) -> np.random.Generator:
        """A random stream of its own per purpose, so that drawing more of one thing never shifts another.

        Draws are laid out day first, so a longer simulation repeats a shorter one's days exactly.
        """
        return np.random.default_rng([self.seed, zlib.crc32(purpose.encode())])

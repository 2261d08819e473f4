"""Shared simulations and readers for the simulator's tests."""

import csv
import gzip
import io
from datetime import date

import pytest

from scripts.simulate import Simulation, SimulationConfig, landing_date_of, simulate


def read_csv(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8"), newline="")))


def decoded_text(key: str, body: bytes) -> str:
    """A lake file's text as a reader gets it: gunzipped when `.gz`, without a byte order mark."""
    if key.endswith(".gz"):
        body = gzip.decompress(body)
    return body.decode("utf-8").removeprefix("\ufeff")


def serde_rows(key: str, body: bytes, width: int) -> list[tuple[str | None, ...]]:
    """The data rows as Athena's OpenCSVSerde with a skipped header gives them: `width` fields by position,
    missing trailing fields None, extra ones dropped, a CRLF's `\r` not part of the last field."""
    lines = decoded_text(key, body).split("\n")
    if lines[-1] == "":
        lines.pop()
    rows = []
    for line in lines[1:]:
        fields = next(csv.reader([line.removesuffix("\r")]))
        rows.append(tuple((fields + [None] * width)[:width]))
    return rows


def joined(row: tuple[str | None, ...]) -> str:
    """A row as the quarantine's raw_line: its non-null fields joined with ',' (Trino's concat_ws)."""
    return ",".join(field for field in row if field is not None)


def rows_by_landing_day(simulation: Simulation, source: str) -> dict[date, list[dict[str, str]]]:
    return {
        landing_date_of(key): read_csv(body)
        for key, body in simulation.raw_files.items()
        if key.startswith(f"{source}/")
    }


@pytest.fixture(scope="session")
def small_config() -> SimulationConfig:
    # A high late rate so that late rows, and rows never sent, occur often enough to test.
    return SimulationConfig(start=date(2026, 1, 1), days=40, stores=4, items=15, seed=11, late_rate=0.2)


@pytest.fixture(scope="session")
def small(small_config: SimulationConfig) -> Simulation:
    return simulate(small_config)


@pytest.fixture(scope="session")
def year() -> Simulation:
    """A full year starting on a Monday: 52 whole weeks of truth, so seasons and weekdays balance out."""
    return simulate(SimulationConfig(start=date(2025, 1, 6), days=363, stores=8, items=70, seed=3))

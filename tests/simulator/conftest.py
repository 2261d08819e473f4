"""Shared simulations and readers for the simulator's tests."""

import csv
import io
from datetime import date

import pytest

from scripts.simulate import Simulation, SimulationConfig, landing_date_of, simulate


def read_csv(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8"), newline="")))


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

"""Defects in the source's files: each at its rate, each breaking the rule the ledger names, nothing lost."""

import csv
import gzip
import math
from collections import Counter
from dataclasses import replace
from datetime import date, timedelta

import pytest

from scripts.simulate import (
    REALISTIC_DEFECTS,
    DefectRates,
    Simulation,
    SimulationConfig,
    SimulatorError,
    simulate,
)
from scripts.simulation.config import ROW_DEFECTS
from scripts.simulation.defects import LEDGER_SCHEMA, ROW_DEFECTS_OF
from scripts.simulation.landing import COLUMNS
from tests.simulator.conftest import decoded_text, joined, serde_rows

FACTS = ("sales", "prices")
FORMAT_DEFECTS = ("added_column", "crlf", "bom", "gzip")
EXTRA_FILE_DEFECTS = ("missing_column", "empty_file", "header_only")
ROW_RATE, FILE_RATE = 0.01, 0.25
UNITS_MAX = 100_000  # any sensible cap for units per store, item and day: absurd units lie far above it
LATE_WINDOW = timedelta(days=7)  # wider than the simulated lateness, narrower than an out-of-window date


@pytest.fixture(scope="module")
def defective_config() -> SimulationConfig:
    rates = {name: ROW_RATE for name in ROW_DEFECTS}
    rates |= {name: FILE_RATE for name in FORMAT_DEFECTS + EXTRA_FILE_DEFECTS}
    return SimulationConfig(
        start=date(2026, 3, 1),
        days=60,
        stores=6,
        items=20,
        seed=5,
        late_rate=0.05,
        defects=DefectRates(**rates),
    )


@pytest.fixture(scope="module")
def defective(defective_config: SimulationConfig) -> Simulation:
    return simulate(defective_config)


@pytest.fixture(scope="module")
def plain(defective_config: SimulationConfig) -> Simulation:
    """The same source on the same days without a defect."""
    return simulate(replace(defective_config, defects=DefectRates()))


def source_of(key: str) -> str:
    return key.split("/")[0]


def landing_of(key: str) -> date:
    return date.fromisoformat(key.split("/")[1].removeprefix("dt="))


def ledger(simulation: Simulation) -> list[dict]:
    return simulation.defects.to_pylist()


def day_rows(simulation: Simulation, source: str) -> dict[date, list[tuple]]:
    """The SerDe's rows per landing day of one source, over all of that day's files in key order."""
    days: dict[date, list[tuple]] = {}
    for key in sorted(key for key in simulation.raw_files if source_of(key) == source):
        rows = serde_rows(key, simulation.raw_files[key], len(COLUMNS[source]))
        days.setdefault(landing_of(key), []).extend(rows)
    return days


def broken_rules(source: str, row: tuple, landing: date, items: set[str]) -> set[tuple[str, str]]:
    """Every (rule, column) a SerDe row breaks on its own, as the quarantine rules of issue 2 define them."""
    values = dict(zip(COLUMNS[source], row, strict=True))
    broken = {("missing_value", column) for column, value in values.items() if not value}

    def typed(column: str, cast):
        if not values[column]:
            return None
        try:
            return cast(values[column])
        except ValueError:
            broken.add(("invalid_type", column))
            return None

    business_column = COLUMNS[source][0]
    business = typed(business_column, date.fromisoformat)
    if source == "sales":
        units = typed("units_sold", int)
        if units is not None and not 0 <= units <= UNITS_MAX:
            broken.add(("out_of_range", "units_sold"))
        in_window = landing - LATE_WINDOW <= business <= landing if business else True
    else:
        price = typed("unit_price", float)
        if price is not None and price <= 0:
            broken.add(("out_of_range", "unit_price"))
        if values["on_promotion"] and values["on_promotion"] not in {"0", "1"}:
            broken.add(("invalid_type", "on_promotion"))
        in_window = landing <= business <= landing + timedelta(days=1) if business else True
    if not in_window:
        broken.add(("business_date_out_of_window", business_column))
    if values["item_id"] and values["item_id"] not in items:
        broken.add(("unknown_reference", "item_id"))
    return broken


# ---- defaults ---------------------------------------------------------------------------------------------


def test_without_defects_the_ledger_is_empty_and_the_files_plain(small):
    assert small.config.defects == DefectRates() and not DefectRates().any
    assert small.defects.num_rows == 0 and small.defects.schema == LEDGER_SCHEMA
    # A cap alone switches nothing on: the same files, byte for byte.
    capped = simulate(replace(small.config, defects=DefectRates(max_quarantined_share=0.001)))
    assert capped.raw_files == small.raw_files and capped.defects.num_rows == 0


@pytest.mark.parametrize(
    ("rates", "says"),
    [
        (DefectRates(gzip=1.5), "gzip"),
        (DefectRates(negative_units=-0.1), "negative_units"),
        (DefectRates(**{name: 0.2 for name in ROW_DEFECTS}), "add up to at most 1"),
    ],
)
def test_impossible_rates_are_a_configuration_error(rates, says):
    with pytest.raises(SimulatorError) as raised:
        SimulationConfig(start=date(2026, 1, 1), days=2, defects=rates)
    assert raised.value.exit_code == 2 and says in str(raised.value)


# ---- the ledger and the files agree ---------------------------------------------------------------------


def test_every_ledger_line_is_that_line_of_its_file_as_the_serde_sees_it(defective):
    entries = [entry for entry in ledger(defective) if entry["line"] is not None]
    assert entries
    for entry in entries:
        lines = decoded_text(entry["key"], defective.raw_files[entry["key"]]).split("\n")
        fields = next(csv.reader([lines[entry["line"] - 1].removesuffix("\r")]))
        assert ",".join(fields[: len(COLUMNS[entry["source"]])]) == entry["raw_line"], entry
        assert entry["dt"] == landing_of(entry["key"]) and entry["source"] == source_of(entry["key"])


def file_defects(key: str, body: bytes) -> set[str]:
    """The file defects a lake file shows, judged from its bytes alone."""
    header = ",".join(COLUMNS[source_of(key)])
    gzipped = body[:2] == b"\x1f\x8b"
    assert gzipped == key.endswith(".gz"), key
    plain_bytes = gzip.decompress(body) if gzipped else body
    text = plain_bytes.decode("utf-8").removeprefix("\ufeff")
    if "\r\n" in text:
        assert text.count("\n") == text.count("\r\n"), key  # every line ends in CRLF, not some
    shows = {
        "gzip": gzipped,
        "bom": plain_bytes.startswith(b"\xef\xbb\xbf"),
        "crlf": "\r\n" in text,
        "added_column": text.split("\n")[0].removesuffix("\r") == f"{header},source_system",
        "empty_file": body == b"",
        "header_only": text.rstrip("\r\n") == header,
    }
    return {name for name, shown in shows.items() if shown}


def test_file_defects_in_the_ledger_are_exactly_the_files_that_have_them(defective):
    marked = {(entry["key"], entry["defect"]) for entry in ledger(defective) if entry["line"] is None}
    assert {defect for _, defect in marked} == {*FORMAT_DEFECTS, "empty_file", "header_only"}
    found = {(key, name) for key, body in defective.raw_files.items() for name in file_defects(key, body)}
    assert found == marked
    assert all(key.endswith((".csv", ".csv.gz")) for key in defective.raw_files)


def test_each_defective_row_breaks_exactly_its_rule_and_every_other_row_none(defective):
    items = {f"I{number:03d}" for number in range(1, defective.config.items + 1)}
    by_line = {(entry["key"], entry["line"]): entry for entry in ledger(defective) if entry["line"]}
    checked = Counter()
    for key, body in defective.raw_files.items():
        source = source_of(key)
        if source not in FACTS:
            continue
        for number, row in enumerate(serde_rows(key, body, len(COLUMNS[source])), start=2):
            entry = by_line.get((key, number))
            broken = broken_rules(source, row, landing_of(key), items)
            if entry is None or entry["rule"] in (None, "conflicting_duplicate"):
                assert broken == set(), (key, number, row)
            else:
                assert broken == {(entry["rule"], entry["column"])}, (key, number, row, entry)
            checked[entry["defect"] if entry else None] += 1
    assert set(checked) - {None} == {"missing_column", *ROW_DEFECTS}


def test_conflicting_duplicates_are_pairs_of_one_key_with_two_values_in_one_file(defective):
    pairs: dict[tuple, list[str]] = {}
    for entry in ledger(defective):
        if entry["defect"] == "conflicting_duplicate":
            key = (entry["key"], *entry["raw_line"].split(",")[:3])
            pairs.setdefault(key, []).append(entry["raw_line"])
            assert (entry["lost_date"].isoformat(), entry["lost_store_id"], entry["lost_item_id"]) == key[1:]
    assert pairs and all(len(lines) == 2 and lines[0] != lines[1] for lines in pairs.values())


def test_the_files_are_the_plain_files_plus_the_ledger_minus_the_rows_it_loses(defective, plain):
    """Nothing lost, nothing unlisted: take every ledger line out of the defective files and every lost
    row out of the plain ones, and the two hold the same lines on the same days."""
    lost = {
        (entry["source"], entry["lost_date"].isoformat(), entry["lost_store_id"], entry["lost_item_id"])
        for entry in ledger(defective)
        if entry["lost_date"] is not None
    }
    for source in FACTS:
        remaining = Counter(
            (day, joined(row)) for day, rows in day_rows(defective, source).items() for row in rows
        )
        for entry in ledger(defective):
            if entry["source"] == source and entry["line"] is not None:
                assert remaining[(entry["dt"], entry["raw_line"])] > 0, entry
                remaining[(entry["dt"], entry["raw_line"])] -= 1
        expected = Counter(
            (day, joined(row))
            for day, rows in day_rows(plain, source).items()
            for row in rows
            if (source, *row[:3]) not in lost
        )
        assert +remaining == expected, source


def test_row_counts_are_the_data_lines_of_each_file(defective):
    for key, body in defective.raw_files.items():
        assert defective.row_counts[key] == len(serde_rows(key, body, len(COLUMNS[source_of(key)]))), key


# ---- rates ------------------------------------------------------------------------------------------------


def assert_about(observed: int, trials: int, rate: float, what: str) -> None:
    expected = trials * rate
    assert abs(observed - expected) < 5 * math.sqrt(trials * rate * (1 - rate)) + 1, (
        what,
        observed,
        expected,
    )


def test_each_row_defect_appears_at_about_its_rate_in_the_files_it_applies_to(defective, plain):
    events = Counter((entry["source"], entry["defect"]) for entry in ledger(defective))
    for source in FACTS:
        trials = sum(len(rows) for rows in day_rows(plain, source).values())
        for name in ROW_DEFECTS:
            count = events[(source, name)] // (2 if name == "conflicting_duplicate" else 1)
            if name in ROW_DEFECTS_OF[source]:
                assert_about(count, trials, ROW_RATE, f"{source} {name}")
            else:
                assert count == 0, (source, name)
    malformed = Counter(entry["rule"] for entry in ledger(defective) if entry["defect"] == "malformed_line")
    assert set(malformed) == {"missing_value", "invalid_type"}


def test_each_file_defect_appears_at_about_its_rate(defective, plain):
    files = Counter(entry["defect"] for entry in ledger(defective) if entry["line"] is None)
    resends = {entry["key"] for entry in ledger(defective) if entry["defect"] == "missing_column"}
    fact_days = sum(1 for key in plain.raw_files if source_of(key) in FACTS)
    assert_about(files["added_column"], len(plain.raw_files), FILE_RATE, "added_column")
    for name, count in (("empty_file", files["empty_file"]), ("header_only", files["header_only"]),
                        ("missing_column", len(resends))):  # fmt: skip
        assert_about(count, fact_days, FILE_RATE, name)
    encoded = sum(1 for body in defective.raw_files.values() if body)
    for name in ("crlf", "bom", "gzip"):
        assert_about(files[name], encoded, FILE_RATE, name)


# ---- clean file formats -----------------------------------------------------------------------------------


def test_files_in_odd_formats_give_exactly_the_plain_rows(small_config, small):
    rates = DefectRates(**{name: 0.3 for name in (*FORMAT_DEFECTS, "empty_file", "header_only")})
    odd = simulate(replace(small_config, defects=rates))
    entries = ledger(odd)
    assert {entry["defect"] for entry in entries} == set((*FORMAT_DEFECTS, "empty_file", "header_only"))
    assert {entry["expected"] for entry in entries} == {"clean_expected"}
    assert odd.raw_files != small.raw_files
    for source in COLUMNS:
        assert day_rows(odd, source) == day_rows(small, source), source


# ---- staying below the reject threshold -------------------------------------------------------------------


def quarantined_share_per_day(simulation: Simulation) -> dict[tuple[str, date], tuple[int, int]]:
    """(rows bound for quarantine, data rows read) per source and landing day."""
    quarantined = Counter(
        (entry["source"], entry["dt"]) for entry in ledger(simulation) if entry["expected"] == "quarantined"
    )
    return {
        (source, day): (quarantined[(source, day)], len(rows))
        for source in FACTS
        for day, rows in day_rows(simulation, source).items()
    }


def test_the_realistic_preset_stays_below_one_percent_rejects_per_table_and_day():
    simulation = simulate(SimulationConfig(start=date(2026, 1, 1), days=40, defects=REALISTIC_DEFECTS))
    shares = quarantined_share_per_day(simulation)
    assert all(count / read < 0.01 for count, read in shares.values())
    assert sum(count for count, _ in shares.values()) > 0.002 * sum(read for _, read in shares.values())
    defects = {entry["defect"] for entry in ledger(simulation)}
    assert defects == {*ROW_DEFECTS, *FORMAT_DEFECTS, *EXTRA_FILE_DEFECTS}


def test_the_cap_holds_each_days_quarantined_rows_and_drops_only_what_it_must(plain):
    rates = DefectRates(negative_units=0.05, conflicting_duplicate=0.05, missing_price=0.05,
                        missing_column=0.5, exact_duplicate=0.05, max_quarantined_share=0.04)  # fmt: skip
    capped = simulate(replace(plain.config, defects=rates))
    plain_rows = {
        (source, day): len(rows) for source in FACTS for day, rows in day_rows(plain, source).items()
    }
    budgets = {key: math.floor(0.04 * rows + 1e-9) for key, rows in plain_rows.items()}
    counts = {key: count for key, (count, _) in quarantined_share_per_day(capped).items()}
    assert all(counts[key] <= budget for key, budget in budgets.items())
    assert sum(counts[key] >= budget - 1 for key, budget in budgets.items()) > len(budgets) / 2  # it binds
    exact = sum(entry["defect"] == "exact_duplicate" for entry in ledger(capped))
    assert_about(exact, sum(plain_rows.values()), 0.05, "exact duplicates are never capped")


def test_a_world_too_small_for_any_reject_below_the_cap_gets_none():
    simulation = simulate(
        SimulationConfig(start=date(2026, 1, 1), days=30, stores=2, items=5, defects=REALISTIC_DEFECTS)
    )
    assert all(count == 0 for count, _ in quarantined_share_per_day(simulation).values())


# ---- determinism ------------------------------------------------------------------------------------------


def test_the_same_config_gives_the_same_defects_and_another_seed_others(defective_config, defective):
    again = simulate(defective_config)
    assert again.raw_files == defective.raw_files and list(again.raw_files) == list(defective.raw_files)
    assert again.defects.equals(defective.defects)
    other = simulate(replace(defective_config, seed=defective_config.seed + 1))
    assert not other.defects.equals(defective.defects)


def test_a_longer_simulation_repeats_a_shorter_ones_defects_exactly(defective_config):
    short = simulate(replace(defective_config, days=12))
    long = simulate(replace(defective_config, days=20))
    for key, body in short.raw_files.items():
        assert long.raw_files[key] == body, key
    last = short.config.last_landing_day
    assert [entry for entry in ledger(long) if entry["dt"] <= last] == ledger(short)

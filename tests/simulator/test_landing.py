"""What lands in the lake, and when: keys, columns, late sales, prices published the day before."""

import math
import re
from dataclasses import replace
from datetime import date, timedelta

import pyarrow as pa

from scripts.simulate import Simulation, SimulationConfig, simulate
from scripts.simulation.landing import COLUMNS, encode_csv
from tests.simulator.conftest import read_csv, rows_by_landing_day


def landing_days(config: SimulationConfig) -> list[date]:
    return [config.start + timedelta(days=offset) for offset in range(config.days)]


def truth_rows(simulation: Simulation) -> dict[tuple[str, str, str], dict]:
    return {
        (row["date"].isoformat(), row["store_id"], row["item_id"]): row
        for row in simulation.truth.to_pylist()
    }


def test_every_landing_day_has_sales_and_prices_and_the_first_day_the_master_data(small, small_config):
    expected = set()
    for day in landing_days(small_config):
        expected |= {f"{source}/dt={day}/{source}_{day}.csv" for source in ("sales", "prices")}
    start = small_config.start
    expected |= {f"{source}/dt={start}/{source}_{start}.csv" for source in ("stores", "items", "holidays")}
    assert set(small.raw_files) == expected


def test_files_come_in_landing_order(small):
    dts = [key.split("/")[1] for key in small.raw_files]
    assert dts == sorted(dts)


def test_every_file_is_utf8_csv_with_the_contract_header_and_newline_ends(small):
    for key, body in small.raw_files.items():
        source = key.split("/")[0]
        text = body.decode("utf-8")
        assert not text.startswith("\ufeff") and "\r" not in text and text.endswith("\n"), key
        lines = text.split("\n")[:-1]
        assert lines[0] == ",".join(COLUMNS[source]), key
        assert all(line.count(",") == len(COLUMNS[source]) - 1 for line in lines), key
        assert len(lines) - 1 == small.row_counts[key], key


def test_ids_dates_prices_and_flags_have_the_contract_formats(small):
    for rows in rows_by_landing_day(small, "prices").values():
        for row in rows:
            assert re.fullmatch(r"S\d\d", row["store_id"]) and re.fullmatch(r"I\d\d\d", row["item_id"])
            assert re.fullmatch(r"\d{4}-\d\d-\d\d", row["valid_on"])
            assert re.fullmatch(r"\d+\.\d\d", row["unit_price"]) and row["on_promotion"] in {"0", "1"}
    for row in read_csv(small.raw_files[f"items/dt={small.config.start}/items_{small.config.start}.csv"]):
        assert re.fullmatch(r"\d+\.\d\d", row["base_price"])


def test_every_sale_lands_once_with_the_true_units_unless_it_would_land_after_the_end(small, small_config):
    truth = truth_rows(small)
    last_day = small_config.last_landing_day
    landed = {}
    for landing_day, rows in rows_by_landing_day(small, "sales").items():
        for row in rows:
            key = (row["sale_date"], row["store_id"], row["item_id"])
            assert key not in landed, f"{key} landed twice"
            landed[key] = landing_day
            assert int(row["units_sold"]) == truth[key]["units_sold"]
    sale_days = {key for key in truth if date.fromisoformat(key[0]) <= last_day}
    missing = sale_days - set(landed)
    assert set(landed) <= sale_days
    # Only a late row can be missing, and only one whose landing day would come after the last one.
    last_complete_day = last_day - timedelta(days=small_config.late_max_days)
    assert all(date.fromisoformat(day) > last_complete_day for day, _, _ in missing)
    assert missing, "with a late rate of 20% some rows of the last days should be held back"


def test_late_rows_land_within_the_late_window_at_about_the_configured_rate(small, small_config):
    last_complete_day = small_config.last_landing_day - timedelta(days=small_config.late_max_days)
    delays, complete_day_delays = [], []
    for landing_day, rows in rows_by_landing_day(small, "sales").items():
        for row in rows:
            sale_day = date.fromisoformat(row["sale_date"])
            delays.append((landing_day - sale_day).days)
            if sale_day <= last_complete_day:
                complete_day_delays.append(delays[-1])
    assert min(delays) == 0 and max(delays) == small_config.late_max_days
    # Every row of a day early enough is sent, so its late share is a binomial sample of late_rate.
    late_share = sum(1 for delay in complete_day_delays if delay) / len(complete_day_delays)
    rate = small_config.late_rate
    assert abs(late_share - rate) < 5 * math.sqrt(rate * (1 - rate) / len(complete_day_delays))


def test_without_late_rows_each_sales_file_holds_exactly_its_own_day(small_config):
    config = replace(small_config, late_rate=0.0)
    simulation = simulate(config)
    for landing_day, rows in rows_by_landing_day(simulation, "sales").items():
        assert {row["sale_date"] for row in rows} == {landing_day.isoformat()}
        assert len(rows) == config.stores * config.items


def test_prices_for_a_day_land_the_day_before_and_the_first_days_on_the_first_day(small, small_config):
    truth = truth_rows(small)
    published = {}
    for landing_day, rows in rows_by_landing_day(small, "prices").items():
        valid_days = {row["valid_on"] for row in rows}
        expected_days = {(landing_day + timedelta(days=1)).isoformat()}
        if landing_day == small_config.start:
            expected_days.add(landing_day.isoformat())
        assert valid_days == expected_days, landing_day
        for row in rows:
            key = (row["valid_on"], row["store_id"], row["item_id"])
            assert key not in published
            published[key] = row
            assert row["unit_price"] == f"{truth[key]['unit_price']:.2f}"
            assert row["on_promotion"] == str(int(truth[key]["on_promotion"]))
    # Every truth day has its price list, the forecast day after the last landing day included.
    assert set(published) == set(truth)


def test_master_data_lands_on_the_first_day_only_and_is_complete(small, small_config):
    start = small_config.start
    stores = read_csv(small.raw_files[f"stores/dt={start}/stores_{start}.csv"])
    items = read_csv(small.raw_files[f"items/dt={start}/items_{start}.csv"])
    holidays = read_csv(small.raw_files[f"holidays/dt={start}/holidays_{start}.csv"])
    assert [row["store_id"] for row in stores] == [f"S{n:02d}" for n in range(1, small_config.stores + 1)]
    assert [row["item_id"] for row in items] == [f"I{n:03d}" for n in range(1, small_config.items + 1)]
    assert all(row["store_type"] in {"A", "B", "C"} for row in stores)
    assert len({row["store_name"] for row in stores}) == len(stores)
    assert len({row["item_name"] for row in items}) == len(items)
    # The calendar covers the simulated range plus one year.
    holiday_days = [date.fromisoformat(row["holiday_date"]) for row in holidays]
    assert min(holiday_days) <= start
    assert max(holiday_days) >= small_config.truth_days[-1] + timedelta(days=365)


def test_encode_csv_quotes_only_values_that_need_it():
    rows = pa.table({"item_id": ["I001", "I002"], "item_name": ['Cookies, "Oat"', "Milk"]})
    assert encode_csv(rows) == b'item_id,item_name\nI001,"Cookies, ""Oat"""\nI002,Milk\n'
    assert read_csv(encode_csv(rows))[0]["item_name"] == 'Cookies, "Oat"'


def test_encode_csv_of_no_rows_is_the_header_alone():
    assert encode_csv(pa.table({"a": pa.array([], pa.string()), "b": pa.array([], pa.string())})) == b"a,b\n"

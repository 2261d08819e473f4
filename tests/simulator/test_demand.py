"""The demand model: seasonality, promotions, prices, holidays, and sales drawn around the true demand."""

import itertools
import math
from dataclasses import replace
from datetime import date

import numpy as np
import pyarrow as pa
import pytest

from scripts.simulate import Simulation, SimulationConfig, simulate
from scripts.simulation.demand import draw_demand, expected_units
from scripts.simulation.world import CATEGORIES, HOLIDAY_LIFT, build_world, holiday_calendar


def column(simulation: Simulation, name: str) -> np.ndarray:
    return simulation.truth[name].to_numpy(zero_copy_only=False)


def as_cube(simulation: Simulation, name: str) -> np.ndarray:
    """A truth column as [day, store, item]; the truth is sorted by date, store_id, item_id."""
    config = simulation.config
    return column(simulation, name).reshape(config.days + 1, config.stores, config.items)


def test_truth_has_one_row_per_day_store_and_item_including_the_forecast_day(small, small_config):
    truth = small.truth
    assert truth.column_names == [
        "date", "store_id", "item_id", "expected_units", "units_sold", "unit_price", "on_promotion"
    ]  # fmt: skip
    assert truth.num_rows == (small_config.days + 1) * small_config.stores * small_config.items
    assert truth["date"].type == pa.date32()
    days = sorted(set(truth["date"].to_pylist()))
    assert days == small_config.truth_days
    keys = list(zip(*(truth[name].to_pylist() for name in ("date", "store_id", "item_id")), strict=True))
    assert keys == sorted(keys) and len(set(keys)) == len(keys)


def test_sales_are_drawn_around_the_expected_units(year):
    expected, sold = column(year, "expected_units"), column(year, "units_sold")
    assert (sold >= 0).all() and (expected > 0).all()
    # Overall and within each tenth of expected demand, the mean sold is the mean expected, within the
    # sampling error of that many independent draws.
    bins = np.quantile(expected, np.linspace(0, 1, 11))
    slices = [np.ones_like(expected, dtype=bool)]
    slices += [(expected >= low) & (expected <= high) for low, high in itertools.pairwise(bins)]
    for in_slice in slices:
        residual = sold[in_slice] - expected[in_slice]
        standard_error = residual.std() / math.sqrt(in_slice.sum())
        assert abs(residual.mean()) < 4 * standard_error


def test_expected_demand_is_a_few_to_tens_of_units(year):
    expected = column(year, "expected_units")
    assert 3 < expected.mean() < 30
    assert np.quantile(expected, 0.9) > 10


def test_mean_sales_by_weekday_follow_each_categorys_weekly_profile(year):
    # 52 whole weeks: seasons, promotions and price changes fall on every weekday alike.
    sold = as_cube(year, "units_sold")
    weekday = np.array([day.weekday() for day in year.config.truth_days])
    category = np.arange(year.config.items) % len(CATEGORIES)
    assert len(weekday) == 364 and weekday[0] == 0
    for index, profile in enumerate(CATEGORIES):
        units = sold[:, :, category == index]
        by_weekday = np.array([units[weekday == day].mean() for day in range(7)])
        standard_errors = np.array([units[weekday == day].std() / math.sqrt(units[weekday == day].size)
                                    for day in range(7)])  # fmt: skip
        observed = by_weekday / units.mean()
        # Sampling error, plus a little for holidays that always fall on the same weekday.
        tolerance = 4 * standard_errors / units.mean() + 0.03
        assert np.all(np.abs(observed - np.array(profile.weekly)) < tolerance), profile.name
    snacks = CATEGORIES.index(next(c for c in CATEGORIES if c.name == "snacks"))
    units = sold[:, :, category == snacks]
    assert units[weekday == 5].mean() > 1.4 * units[weekday == 0].mean()  # Saturday beats Monday


def test_promotions_cover_about_a_tenth_of_days_in_runs_of_several_days(year):
    on_promotion = as_cube(year, "on_promotion")
    assert 0.06 < on_promotion.mean() < 0.12
    run_lengths = []
    for series in on_promotion.reshape(on_promotion.shape[0], -1).T:
        edges = np.flatnonzero(np.diff(np.concatenate([[0], series.astype(int), [0]])))
        starts, ends = edges[::2], edges[1::2]
        whole = (starts > 0) & (ends < len(series))  # runs cut by the start or end are shorter
        run_lengths += list((ends - starts)[whole])
    assert min(run_lengths) >= 3 and 4 < np.mean(run_lengths) < 12


def test_promotions_cut_the_price_and_raise_the_mean_units(year):
    on_promotion = as_cube(year, "on_promotion")
    sold, price = as_cube(year, "units_sold").astype(float), as_cube(year, "unit_price")
    promoted = on_promotion.any(axis=0)
    # Per store x item, compare promoted days with the same series' ordinary days.
    ordinary_mean = np.where(~on_promotion, sold, 0).sum(axis=0) / np.maximum((~on_promotion).sum(axis=0), 1)
    ordinary_price = np.where(~on_promotion, price, 0).sum(axis=0) / np.maximum(
        (~on_promotion).sum(axis=0), 1
    )
    promoted_units = np.where(on_promotion, sold, 0).sum(axis=0)
    baseline_units = ordinary_mean * on_promotion.sum(axis=0)
    assert promoted_units[promoted].sum() > 1.5 * baseline_units[promoted].sum()
    promoted_price = np.where(on_promotion, price, 0).sum(axis=0) / np.maximum(on_promotion.sum(axis=0), 1)
    assert np.median(promoted_price[promoted] / ordinary_price[promoted]) < 0.85


def test_shelf_prices_end_in_nine_cents_unless_promoted(year):
    on_promotion, price = column(year, "on_promotion"), column(year, "unit_price")
    cents = np.rint(price[~on_promotion] * 100).astype(int)
    assert np.all(cents % 10 == 9)


def test_a_higher_price_lowers_expected_demand_by_the_items_elasticity(small_config):
    world = build_world(small_config)
    demand = draw_demand(small_config, world)
    base = expected_units(world, demand.days, demand.price_cents, demand.on_promotion)
    dearer = expected_units(world, demand.days, demand.price_cents * 2, demand.on_promotion)
    np.testing.assert_allclose(base, demand.expected_units)
    np.testing.assert_allclose(dearer / base, np.broadcast_to(2.0**-world.items.elasticity, base.shape))


def test_holidays_lift_expected_demand_by_their_lift():
    config = SimulationConfig(start=date(2026, 11, 20), days=14)
    world = build_world(config)
    demand = draw_demand(config, world)
    without_holidays = expected_units(replace(world, holidays=[]), demand.days, demand.price_cents,
                                      demand.on_promotion)  # fmt: skip
    lift = (demand.expected_units / without_holidays)[:, 0, 0]
    names = dict(world.holidays)
    expected = [HOLIDAY_LIFT[names[day]] if day in names else 1.0 for day in demand.days]
    np.testing.assert_allclose(lift, expected)
    assert lift[demand.days.index(date(2026, 11, 27))] == pytest.approx(HOLIDAY_LIFT["Black Friday"])


@pytest.mark.parametrize(
    ("calendar_year", "known"),
    [
        (2026, {date(2026, 1, 19): "Martin Luther King Jr. Day", date(2026, 4, 5): "Easter Sunday",
                date(2026, 5, 25): "Memorial Day", date(2026, 11, 26): "Thanksgiving Day",
                date(2026, 11, 27): "Black Friday"}),
        (2025, {date(2025, 4, 20): "Easter Sunday", date(2025, 9, 1): "Labor Day",
                date(2025, 10, 13): "Columbus Day", date(2025, 2, 17): "Presidents' Day"}),
    ],
)  # fmt: skip
def test_the_holiday_calendar_puts_moving_holidays_on_their_dates(calendar_year, known):
    calendar = dict(holiday_calendar(calendar_year, calendar_year))
    assert len(calendar) == len(HOLIDAY_LIFT)
    assert set(calendar.values()) == set(HOLIDAY_LIFT)
    for day, name in known.items():
        assert calendar[day] == name


def test_same_config_gives_identical_files_and_truth(small_config, small):
    again = simulate(small_config)
    assert list(again.raw_files) == list(small.raw_files)
    assert again.raw_files == small.raw_files
    assert again.truth.equals(small.truth)


def test_another_seed_gives_other_sales_and_truth(small_config, small):
    other = simulate(replace(small_config, seed=small_config.seed + 1))
    assert list(other.raw_files) == list(small.raw_files)
    first_sales = next(key for key in small.raw_files if key.startswith("sales/"))
    assert other.raw_files[first_sales] != small.raw_files[first_sales]
    assert not np.array_equal(column(other, "units_sold"), column(small, "units_sold"))


def test_a_longer_simulation_repeats_a_shorter_ones_days_exactly(small_config):
    short = simulate(replace(small_config, days=15))
    long = simulate(replace(small_config, days=25))
    for key, body in short.raw_files.items():
        assert long.raw_files[key] == body, key
    assert long.truth.slice(0, short.truth.num_rows).equals(short.truth)

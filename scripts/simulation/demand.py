"""Prices, promotions and sales per day x store x item: the truth the raw files are cut from.

Expected units per store s, item i, day t:

    lambda = base_units_i * scale_s * weekly_c[weekday t] * yearly_c(t) * holiday_lift(t)
             * promotion_lift_i (on promotion) * (unit_price / base_price_i) ** -elasticity_i

where c is the item's category; units sold are negative binomial around lambda.
"""

from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa

from scripts.simulation.config import SimulationConfig
from scripts.simulation.world import CATEGORIES, HOLIDAY_LIFT, World, retail_cents

DISPERSION = 8.0  # negative binomial size: variance = lambda + lambda**2 / DISPERSION
PRICE_CHANGE_RATE = 1 / 120  # chance per item and day of a permanent change of its regular price
PRICE_CHANGE_RANGE = (-0.08, 0.12)  # relative size of such a change; prices drift up more than down
PROMOTION_START_RATE = 0.015  # chance per store x item and day that a promotion starts (about 9% of days)
PROMOTION_DAYS = (3, 10)  # shortest and longest promotion run
PROMOTION_DISCOUNTS = (0.20, 0.25, 0.30)


@dataclass(frozen=True)
class Demand:
    """Every array is indexed [day, store, item] over the truth days."""

    days: list[date]
    price_cents: np.ndarray  # the price on the shelf, promotions included
    on_promotion: np.ndarray
    expected_units: np.ndarray
    units_sold: np.ndarray


def draw_demand(config: SimulationConfig, world: World) -> Demand:
    days = config.truth_days
    shape = (len(days), len(world.stores.ids), len(world.items.ids))
    on_promotion, discount = draw_promotions(config, shape)
    regular = regular_price_cents(config, world, len(days))
    price_cents = np.where(on_promotion, np.rint(regular[:, None, :] * (1.0 - discount)), regular[:, None, :])
    price_cents = price_cents.astype(np.int64)
    expected = expected_units(world, days, price_cents, on_promotion)
    return Demand(days, price_cents, on_promotion, expected, draw_units(config, expected))


def regular_price_cents(config: SimulationConfig, world: World, day_count: int) -> np.ndarray:
    """Regular price per [day, item]: the base price, changed for good now and then from the second day on."""
    items = len(world.items.ids)
    changes = config.random("price_changes").random((day_count, items)) < PRICE_CHANGE_RATE
    sizes = config.random("price_change_sizes").uniform(*PRICE_CHANGE_RANGE, size=(day_count, items))
    changes[0] = False
    factor = np.cumprod(np.where(changes, 1.0 + sizes, 1.0), axis=0)
    return retail_cents(world.items.base_price_cents / 100.0 * factor)


def draw_promotions(config: SimulationConfig, shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Promotion runs per store x item: whether each day is promoted, and the discount it gets."""
    rng = config.random("promotions")
    on_promotion = np.zeros(shape, dtype=bool)
    discount = np.zeros(shape)
    days_left = np.zeros(shape[1:], dtype=np.int64)
    run_discount = np.zeros(shape[1:])
    for day in range(shape[0]):
        starts = (days_left == 0) & (rng.random(shape[1:]) < PROMOTION_START_RATE)
        lengths = rng.integers(PROMOTION_DAYS[0], PROMOTION_DAYS[1] + 1, size=shape[1:])
        discounts = rng.choice(PROMOTION_DISCOUNTS, size=shape[1:])
        days_left = np.where(starts, lengths, days_left)
        run_discount = np.where(starts, discounts, run_discount)
        on_promotion[day] = days_left > 0
        discount[day] = np.where(on_promotion[day], run_discount, 0.0)
        days_left = np.maximum(days_left - 1, 0)
    return on_promotion, discount


def expected_units(
    world: World, days: list[date], price_cents: np.ndarray, on_promotion: np.ndarray
) -> np.ndarray:
    stores, items = world.stores, world.items
    category = items.category
    weekday = np.array([day.weekday() for day in days])
    day_of_year = np.array([day.timetuple().tm_yday for day in days])
    weekly = np.array([c.weekly for c in CATEGORIES])[category[None, :], weekday[:, None]]
    amplitude = np.array([c.yearly_amplitude for c in CATEGORIES])[category]
    peak = np.array([c.yearly_peak_day for c in CATEGORIES])[category]
    yearly = 1.0 + amplitude * np.cos(2.0 * np.pi * (day_of_year[:, None] - peak) / 365.25)
    holiday_names = dict(world.holidays)
    holiday = np.array([HOLIDAY_LIFT[holiday_names[day]] if day in holiday_names else 1.0 for day in days])
    calendar = weekly * yearly * holiday[:, None]  # [day, item]
    price_effect = (price_cents / items.base_price_cents) ** -items.elasticity
    promotion_effect = np.where(on_promotion, items.promotion_lift, 1.0)
    return items.base_units * stores.scale[:, None] * calendar[:, None, :] * price_effect * promotion_effect


def draw_units(config: SimulationConfig, expected: np.ndarray) -> np.ndarray:
    """Negative binomial counts with mean `expected`, drawn as a gamma-Poisson mixture."""
    rate = config.random("demand_rate").gamma(DISPERSION, expected / DISPERSION)
    return config.random("demand_units").poisson(rate).astype(np.int64)


def truth_table(world: World, demand: Demand) -> pa.Table:
    """One row per day x store x item, sorted by date, store_id, item_id."""
    day_count, store_count, item_count = demand.expected_units.shape
    day_index, store_index, item_index = (
        axis.ravel() for axis in np.indices((day_count, store_count, item_count))
    )
    return pa.table(
        {
            "date": pa.array(demand.days, pa.date32()).take(day_index),
            "store_id": pa.array(world.stores.ids).take(store_index),
            "item_id": pa.array(world.items.ids).take(item_index),
            "expected_units": demand.expected_units.ravel(),
            "units_sold": demand.units_sold.ravel(),
            "unit_price": demand.price_cents.ravel() / 100.0,
            "on_promotion": demand.on_promotion.ravel(),
        }
    )

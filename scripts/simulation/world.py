"""What stays put while days pass: product categories, stores, items and the holiday calendar."""

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from scripts.simulation.config import SimulationConfig


@dataclass(frozen=True)
class Category:
    """How a product category sells: its week, its year, its typical price and volume."""

    name: str
    weekly: tuple[float, ...]  # demand multiplier Monday .. Sunday, mean 1
    yearly_amplitude: float  # demand swings by +/- this share over the year
    yearly_peak_day: int  # day of the year with the highest demand
    typical_price: float
    typical_units: float  # median expected units per store x item x day in a type-B store
    products: tuple[str, ...]


def _mean_one(*weights: float) -> tuple[float, ...]:
    return tuple(weight * len(weights) / sum(weights) for weight in weights)


CATEGORIES = (
    Category("beverages", _mean_one(0.85, 0.85, 0.9, 0.95, 1.15, 1.4, 1.05), 0.25, 196, 2.5, 9.0,
             ("Sparkling Water", "Orange Juice", "Cola", "Iced Tea", "Lemonade", "Cold Brew Coffee",
              "Sports Drink", "Apple Juice")),
    Category("bakery", _mean_one(0.9, 0.85, 0.9, 0.95, 1.1, 1.35, 1.15), 0.10, 355, 3.5, 8.0,
             ("Sourdough Loaf", "Bagels", "Croissants", "Whole Wheat Bread", "Blueberry Muffins",
              "Dinner Rolls", "Cinnamon Buns", "Baguette")),
    Category("dairy", _mean_one(1.0, 0.95, 0.95, 1.0, 1.05, 1.1, 0.95), 0.05, 15, 3.0, 12.0,
             ("Whole Milk", "Greek Yogurt", "Cheddar Cheese", "Butter", "Free-Range Eggs", "Cream Cheese",
              "Oat Milk", "Mozzarella")),
    Category("produce", _mean_one(0.95, 0.9, 0.9, 0.95, 1.1, 1.3, 0.9), 0.15, 200, 2.0, 14.0,
             ("Bananas", "Gala Apples", "Strawberries", "Tomatoes", "Avocados", "Baby Spinach", "Carrots",
              "Red Grapes")),
    Category("snacks", _mean_one(0.8, 0.8, 0.85, 0.95, 1.25, 1.45, 0.9), 0.15, 340, 3.5, 7.0,
             ("Potato Chips", "Tortilla Chips", "Pretzels", "Mixed Nuts", "Dark Chocolate", "Popcorn",
              "Granola Bars", "Oatmeal Cookies")),
    Category("household", _mean_one(0.9, 0.85, 0.85, 0.9, 1.0, 1.4, 1.1), 0.08, 100, 6.0, 4.0,
             ("Paper Towels", "Dish Soap", "Laundry Detergent", "Trash Bags", "Toilet Paper", "Sponges",
              "All-Purpose Cleaner", "Aluminum Foil")),
    Category("frozen", _mean_one(0.9, 0.9, 0.95, 1.0, 1.1, 1.25, 0.9), 0.35, 205, 5.0, 6.0,
             ("Vanilla Ice Cream", "Frozen Pizza", "Frozen Peas", "Fish Sticks", "Ice Pops", "Frozen Berries",
              "Waffles", "Chicken Nuggets")),
)  # fmt: skip

# Variants name the items once every category's products are taken.
VARIANTS = ("Organic", "Family Size", "Value Pack", "Mini", "Premium", "Light", "Store Brand")
STORE_TYPES = ("A", "B", "C")  # large, regular, small
STORE_TYPE_SHARES = (0.3, 0.4, 0.3)
STORE_TYPE_SCALE = {"A": 1.6, "B": 1.0, "C": 0.6}
CITIES = ("Austin", "Boston", "Chicago", "Denver", "Houston", "Miami", "Phoenix", "Portland", "Seattle",
          "Atlanta", "Dallas", "Nashville", "San Diego", "Minneapolis", "Charlotte", "Columbus", "Detroit",
          "Tampa", "Raleigh", "Sacramento")  # fmt: skip
DISTRICTS = ("Downtown", "Northside", "Southside", "Eastside", "Westside", "Riverside", "Uptown", "Midtown",
             "Harbor", "Airport")  # fmt: skip

# Demand on each holiday relative to an ordinary day of the same weekday and season.
HOLIDAY_LIFT = {
    "New Year's Day": 1.2,
    "Martin Luther King Jr. Day": 1.1,
    "Presidents' Day": 1.1,
    "Easter Sunday": 1.35,
    "Memorial Day": 1.3,
    "Juneteenth": 1.1,
    "Independence Day": 1.5,
    "Labor Day": 1.3,
    "Columbus Day": 1.1,
    "Halloween": 1.25,
    "Veterans Day": 1.1,
    "Thanksgiving Day": 1.4,
    "Black Friday": 1.6,
    "Christmas Eve": 1.6,
    "Christmas Day": 1.3,
    "New Year's Eve": 1.45,
}


@dataclass(frozen=True)
class Stores:
    """The store master, one entry per store, in id order."""

    ids: list[str]
    names: list[str]
    cities: list[str]
    types: list[str]
    scale: np.ndarray  # demand multiplier of each store


@dataclass(frozen=True)
class Items:
    """The item master plus the demand parameters the source never publishes, in id order."""

    ids: list[str]
    names: list[str]
    category: np.ndarray  # index into CATEGORIES
    base_price_cents: np.ndarray
    base_units: np.ndarray  # expected units in a type-B store at base price on an average day
    elasticity: np.ndarray  # units scale with (price / base price) ** -elasticity
    promotion_lift: np.ndarray  # display and advertising effect of a promotion, on top of its lower price


@dataclass(frozen=True)
class World:
    stores: Stores
    items: Items
    holidays: list[tuple[date, str]]


def build_world(config: SimulationConfig) -> World:
    last_truth_day = config.truth_days[-1]
    return World(
        stores=build_stores(config),
        items=build_items(config),
        holidays=holiday_calendar(config.start.year, last_truth_day.year + 1),
    )


def build_stores(config: SimulationConfig) -> Stores:
    rng = config.random("stores")
    city_index = rng.integers(0, len(CITIES), size=config.stores)
    types = rng.choice(STORE_TYPES, size=config.stores, p=STORE_TYPE_SHARES)
    noise = rng.lognormal(0.0, 0.15, size=config.stores)
    names, stores_in_city = [], {}
    for index in city_index:
        city = CITIES[index]
        taken = stores_in_city.get(city, 0)
        stores_in_city[city] = taken + 1
        names.append(f"{city} {DISTRICTS[taken % len(DISTRICTS)]}")
    return Stores(
        ids=[f"S{number:02d}" for number in range(1, config.stores + 1)],
        names=names,
        cities=[CITIES[index] for index in city_index],
        types=[str(store_type) for store_type in types],
        scale=np.array([STORE_TYPE_SCALE[str(t)] for t in types]) * noise,
    )


def build_items(config: SimulationConfig) -> Items:
    rng = config.random("items")
    count = config.items
    category = np.arange(count) % len(CATEGORIES)
    typical_price = np.array([CATEGORIES[c].typical_price for c in category])
    typical_units = np.array([CATEGORIES[c].typical_units for c in category])
    price = typical_price * rng.lognormal(0.0, 0.3, size=count)
    return Items(
        ids=[f"I{number:03d}" for number in range(1, count + 1)],
        names=[_item_name(index) for index in range(count)],
        category=category,
        base_price_cents=retail_cents(price),
        base_units=typical_units * rng.lognormal(0.0, 0.5, size=count),
        elasticity=rng.uniform(1.0, 2.5, size=count),
        promotion_lift=rng.uniform(1.15, 1.5, size=count),
    )


def retail_cents(price: np.ndarray) -> np.ndarray:
    """Shelf prices end in 9 cents: 2.53 becomes 2.59, never below 0.49."""
    return np.maximum(np.floor(price * 10.0).astype(np.int64) * 10 + 9, 49)


def _item_name(index: int) -> str:
    category = CATEGORIES[index % len(CATEGORIES)]
    round_, product = divmod(index // len(CATEGORIES), len(category.products))
    product_name = category.products[product]
    if round_ == 0:
        return product_name
    series, variant = divmod(round_ - 1, len(VARIANTS))
    return f"{VARIANTS[variant]} {product_name}" + (f" {series + 1}" if series else "")


def holiday_calendar(first_year: int, last_year: int) -> list[tuple[date, str]]:
    """A US-like retail calendar, each holiday on its own date (no observed-day shifting), in date order."""
    calendar = []
    for year in range(first_year, last_year + 1):
        thanksgiving = _nth_weekday(year, 11, 3, 4)
        calendar += [
            (date(year, 1, 1), "New Year's Day"),
            (_nth_weekday(year, 1, 0, 3), "Martin Luther King Jr. Day"),
            (_nth_weekday(year, 2, 0, 3), "Presidents' Day"),
            (_easter_sunday(year), "Easter Sunday"),
            (_nth_weekday(year, 5, 0, -1), "Memorial Day"),
            (date(year, 6, 19), "Juneteenth"),
            (date(year, 7, 4), "Independence Day"),
            (_nth_weekday(year, 9, 0, 1), "Labor Day"),
            (_nth_weekday(year, 10, 0, 2), "Columbus Day"),
            (date(year, 10, 31), "Halloween"),
            (date(year, 11, 11), "Veterans Day"),
            (thanksgiving, "Thanksgiving Day"),
            (thanksgiving + timedelta(days=1), "Black Friday"),
            (date(year, 12, 24), "Christmas Eve"),
            (date(year, 12, 25), "Christmas Day"),
            (date(year, 12, 31), "New Year's Eve"),
        ]
    return sorted(calendar)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th given weekday (0 = Monday) of a month; n = -1 is the last one."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _easter_sunday(year: int) -> date:
    """Western Easter by the anonymous Gregorian algorithm (Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (b - (b + 8) // 25 + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    weekday_shift = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday_shift) // 451
    month, day = divmod(h + weekday_shift - 7 * m + 114, 31)
    return date(year, month, day + 1)

"""What lands in the lake on which day, first as rows of text, then as the bytes of a CSV file.

Keeping the two steps apart leaves room for a defect step between them: anything wrong with the values
(duplicates, absurd quantities, unknown ids) changes the rows, anything wrong with the file (BOM, CRLF,
malformed lines, gzip) changes the bytes.
"""

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from scripts.simulation.config import SimulationConfig
from scripts.simulation.demand import Demand
from scripts.simulation.world import CATEGORIES, World

COLUMNS = {
    "sales": ("sale_date", "store_id", "item_id", "units_sold"),
    "prices": ("valid_on", "store_id", "item_id", "unit_price", "on_promotion"),
    "stores": ("store_id", "store_name", "city", "store_type"),
    "items": ("item_id", "item_name", "category", "base_price"),
    "holidays": ("holiday_date", "holiday_name"),
}


@dataclass(frozen=True)
class RawFile:
    """One file as the source sends it: every value already text, columns in the contract's order."""

    source: str
    landing_date: date
    rows: pa.Table

    @property
    def key(self) -> str:
        return lake_key(self.source, self.landing_date)


def lake_key(source: str, landing_date: date) -> str:
    return f"{source}/dt={landing_date.isoformat()}/{source}_{landing_date.isoformat()}.csv"


def landed_files(config: SimulationConfig, world: World, demand: Demand) -> list[RawFile]:
    """Every file the source sends, in landing order: per day sales, then prices, then (first day) masters."""
    sales = _split_by_landing_day(*sales_rows(config, world, demand), config.days)
    prices = _split_by_landing_day(*price_rows(world, demand), config.days)
    files = []
    for offset in range(config.days):
        landing_date = config.start + timedelta(days=offset)
        files += [
            RawFile("sales", landing_date, sales[offset]),
            RawFile("prices", landing_date, prices[offset]),
        ]
        if offset == 0:
            files += [
                RawFile("stores", landing_date, store_rows(world)),
                RawFile("items", landing_date, item_rows(world)),
                RawFile("holidays", landing_date, holiday_rows(world)),
            ]
    return files


def sales_lateness(config: SimulationConfig) -> np.ndarray:
    """Days each sales row lands after its sale date, per [sale day, store, item] of the landing days."""
    shape = (config.days, config.stores, config.items)
    late = config.random("late_rows").random(shape) < config.late_rate
    delay = config.random("late_delays").integers(1, config.late_max_days + 1, size=shape)
    return np.where(late, delay, 0)


def sales_rows(config: SimulationConfig, world: World, demand: Demand) -> tuple[pa.Table, np.ndarray]:
    """Sales rows of the landing days with the landing day index of each, in landing order.

    Rows that would land after the last landing day are left out: the source never sends them.
    """
    lateness = sales_lateness(config)
    day, store, item = (axis.ravel() for axis in np.indices(lateness.shape))
    landing = day + lateness.ravel()
    sent = np.flatnonzero(landing < config.days)
    order = sent[np.lexsort((item[sent], store[sent], day[sent], landing[sent]))]
    day, store, item = day[order], store[order], item[order]
    rows = _text_table(
        "sales",
        [
            _labels([d.isoformat() for d in demand.days], day),
            _labels(world.stores.ids, store),
            _labels(world.items.ids, item),
            pa.array(demand.units_sold[day, store, item]).cast(pa.string()),
        ],
    )
    return rows, landing[order]


def price_rows(world: World, demand: Demand) -> tuple[pa.Table, np.ndarray]:
    """Price lists of every truth day with the landing day index of each, in landing order.

    The list for day t lands on day t - 1; the first day's list lands with the second's on the first day.
    """
    day, store, item = (axis.ravel() for axis in np.indices(demand.price_cents.shape))
    cents = demand.price_cents.ravel()
    rows = _text_table(
        "prices",
        [
            _labels([d.isoformat() for d in demand.days], day),
            _labels(world.stores.ids, store),
            _labels(world.items.ids, item),
            _money(cents),
            _labels(["0", "1"], demand.on_promotion.ravel().astype(np.int64)),
        ],
    )
    return rows, np.maximum(day - 1, 0)


def store_rows(world: World) -> pa.Table:
    stores = world.stores
    return _text_table("stores", [stores.ids, stores.names, stores.cities, stores.types])


def item_rows(world: World) -> pa.Table:
    items = world.items
    categories = [CATEGORIES[index].name for index in items.category]
    return _text_table("items", [items.ids, items.names, categories, _money(items.base_price_cents)])


def holiday_rows(world: World) -> pa.Table:
    return _text_table(
        "holidays", [[day.isoformat() for day, _ in world.holidays], [name for _, name in world.holidays]]
    )


def encode_csv(rows: pa.Table) -> bytes:
    """UTF-8 CSV with a header row, comma-separated, `\\n` line ends, quoted only where a value needs it."""
    lines = [",".join(_quote_if_needed(name) for name in rows.column_names)]
    if rows.num_rows:
        columns = [_quoted_column(column) for column in rows.columns]
        lines += pc.binary_join_element_wise(*columns, ",").to_pylist()
    return ("\n".join(lines) + "\n").encode("utf-8")


def _split_by_landing_day(rows: pa.Table, landing: np.ndarray, day_count: int) -> list[pa.Table]:
    """Cut rows sorted by landing day into one table per landing day (zero-copy slices)."""
    counts = np.bincount(landing, minlength=day_count)
    starts = np.cumsum(counts) - counts
    return [rows.slice(start, count) for start, count in zip(starts, counts, strict=True)]


def _text_table(source: str, columns: list) -> pa.Table:
    return pa.table([pa.array(column, pa.string()) for column in columns], names=list(COLUMNS[source]))


def _labels(labels: list[str], index: np.ndarray) -> pa.Array:
    return pa.array(labels, pa.string()).take(pa.array(index))


def _money(cents: np.ndarray) -> pa.Array:
    """Amounts with two decimals; formatted once per distinct amount, since prices repeat a lot."""
    distinct, index = np.unique(cents, return_inverse=True)
    return _labels([f"{amount // 100}.{amount % 100:02d}" for amount in distinct.tolist()], index)


def _quote_if_needed(value: str) -> str:
    if any(character in value for character in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def _quoted_column(column: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    if not pc.any(pc.match_substring_regex(column, '[,"\r\n]')).as_py():
        return column
    return pa.array([_quote_if_needed(value) for value in column.to_pylist()], pa.string())

"""The tables preprocess writes (docs/s3-layout.md, "Tables"): layer, Parquet schema without `dt`, key, and
the data-quality thresholds declared for each: the row-level limits its SQL file takes as parameters, and
the table-level rules that stop a run (reject_ratio, row_volume)."""

from dataclasses import dataclass

import pyarrow as pa

GLUE_TYPES = {
    pa.string(): "string",
    pa.int64(): "bigint",
    pa.float64(): "double",
    pa.bool_(): "boolean",
    pa.date32(): "date",
}


@dataclass(frozen=True)
class Table:
    name: str
    layer: str
    schema: pa.Schema
    key: tuple[str, ...]
    limits: tuple[tuple[str, int], ...] = ()  # SQL parameters of the out_of_range rule, e.g. max_units_sold
    max_reject_ratio: float = 0.01  # quarantined / read, per source and landing day

    @property
    def qualified_name(self) -> str:
        """The name the SQL files read it by, e.g. `warehouse.sales`."""
        return f"{self.layer}.{self.name}"

    @property
    def schema_with_dt(self) -> pa.Schema:
        """The shape of an engine result or a loaded range: `dt` first, then the stored columns."""
        return pa.schema([pa.field("dt", pa.date32()), *self.schema])

    @property
    def result_schema(self) -> pa.Schema:
        """What the table's warehouse SQL file returns: each raw line's fate, then `dt` and the columns."""
        return pa.schema([*OUTCOME_SCHEMA, *self.schema_with_dt])

    def glue_schema(self) -> list[dict[str, str]]:
        return [{"name": field.name, "type": GLUE_TYPES[field.type]} for field in self.schema]


def _schema(**columns: pa.DataType) -> pa.Schema:
    return pa.schema(list(columns.items()))


SALES = Table(
    "sales",
    "warehouse",
    _schema(store_id=pa.string(), item_id=pa.string(), units_sold=pa.int64()),
    ("store_id", "item_id"),
    limits=(("max_units_sold", 10_000),),
)
PRICES = Table(
    "prices",
    "warehouse",
    _schema(store_id=pa.string(), item_id=pa.string(), unit_price=pa.float64(), on_promotion=pa.bool_()),
    ("store_id", "item_id"),
    limits=(("max_unit_price", 10_000),),
)
STORES = Table(
    "stores",
    "warehouse",
    _schema(store_id=pa.string(), store_name=pa.string(), city=pa.string(), store_type=pa.string()),
    ("store_id",),
)
ITEMS = Table(
    "items",
    "warehouse",
    _schema(item_id=pa.string(), item_name=pa.string(), category=pa.string(), base_price=pa.float64()),
    ("item_id",),
    limits=(("max_base_price", 10_000),),
)
HOLIDAYS = Table(
    "holidays", "warehouse", _schema(holiday_date=pa.date32(), holiday_name=pa.string()), ("holiday_date",)
)
FEATURES = Table(
    "features",
    "mart",
    _schema(
        store_id=pa.string(),
        item_id=pa.string(),
        day_of_week=pa.int64(),
        day_of_month=pa.int64(),
        month=pa.int64(),
        is_holiday=pa.bool_(),
        unit_price=pa.float64(),
        on_promotion=pa.bool_(),
        price_ratio=pa.float64(),
        lag_1=pa.float64(),
        lag_7=pa.float64(),
        lag_14=pa.float64(),
        lag_28=pa.float64(),
        mean_7=pa.float64(),
        std_7=pa.float64(),
        mean_28=pa.float64(),
        std_28=pa.float64(),
        units_sold=pa.int64(),
    ),
    ("store_id", "item_id"),
)

# Every raw line a run rejects, partitioned by the day its file landed (docs/s3-layout.md, "Quarantine").
QUARANTINE = Table(
    "quarantine",
    "warehouse",
    _schema(
        source=pa.string(), source_uri=pa.string(), rule=pa.string(), column=pa.string(), raw_line=pa.string()
    ),
    ("source", "source_uri", "rule", "column", "raw_line"),
)
# What a warehouse SQL file returns besides `dt` and its table's columns: the fate of each raw line.
OUTCOME_SCHEMA = pa.schema(
    [
        ("outcome", pa.string()),  # kept | quarantined | duplicate | superseded
        ("landed_dt", pa.date32()),
        ("source_uri", pa.string()),
        ("rule", pa.string()),
        ("column", pa.string()),
        ("raw_line", pa.string()),
    ]
)
ROW_VOLUME_HISTORY = 28  # committed partitions the row_volume rule takes the median of
ROW_VOLUME_MIN_HISTORY = 7  # fewer than this: the rule is skipped
ROW_VOLUME_BOUNDS = (0.5, 2.0)  # rows / trailing median outside these breach

FACT_TABLES = (SALES, PRICES)  # partitioned by business date, rebuilt from a late window of landings
SNAPSHOT_TABLES = (STORES, ITEMS, HOLIDAYS)  # partitioned by landing date, one snapshot per landing day
WAREHOUSE_TABLES = (*FACT_TABLES, *SNAPSHOT_TABLES)
TABLES = {table.qualified_name: table for table in (*WAREHOUSE_TABLES, QUARANTINE, FEATURES)}

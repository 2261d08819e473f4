"""The tables preprocess writes (docs/s3-layout.md, "Tables"): layer, Parquet schema without `dt`, key."""

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

    @property
    def qualified_name(self) -> str:
        """The name the SQL files read it by, e.g. `warehouse.sales`."""
        return f"{self.layer}.{self.name}"

    @property
    def schema_with_dt(self) -> pa.Schema:
        """The shape of an engine result or a loaded range: `dt` first, then the stored columns."""
        return pa.schema([pa.field("dt", pa.date32()), *self.schema])

    def glue_schema(self) -> list[dict[str, str]]:
        return [{"name": field.name, "type": GLUE_TYPES[field.type]} for field in self.schema]


def _schema(**columns: pa.DataType) -> pa.Schema:
    return pa.schema(list(columns.items()))


SALES = Table(
    "sales",
    "warehouse",
    _schema(store_id=pa.string(), item_id=pa.string(), units_sold=pa.int64()),
    ("store_id", "item_id"),
)
PRICES = Table(
    "prices",
    "warehouse",
    _schema(store_id=pa.string(), item_id=pa.string(), unit_price=pa.float64(), on_promotion=pa.bool_()),
    ("store_id", "item_id"),
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

FACT_TABLES = (SALES, PRICES)  # partitioned by business date, rebuilt from a late window of landings
SNAPSHOT_TABLES = (STORES, ITEMS, HOLIDAYS)  # partitioned by landing date, one snapshot per landing day
TABLES = {table.qualified_name: table for table in (*FACT_TABLES, *SNAPSHOT_TABLES, FEATURES)}

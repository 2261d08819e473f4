"""The SQL files: Athena's dialect that transpiles to DuckDB, date-only parameters, and the cost guard
(every read of a partitioned table is bounded by a predicate on `dt`)."""

from datetime import date

import pytest
import sqlglot
from preprocess.engine import (
    PARTITIONED_SCHEMAS,
    EmbeddedEngine,
    SqlError,
    partition_reads,
    placeholders,
    render,
    sql_names,
    sql_text,
)
from preprocess.raw import SOURCES
from preprocess.tables import OUTCOME_SCHEMA, TABLES
from sqlglot import exp
from sqlglot.errors import ErrorLevel

DAY = date(2026, 3, 1)


INTEGER_PARAMS = {"late_window_days"} | {name for table in TABLES.values() for name, _ in table.limits}


def sample_params(sql_name: str) -> dict:
    """A value for every parameter: 3 for the integers, else one date (a date literal or a list of one)."""
    return {name: 3 if name in INTEGER_PARAMS else DAY for name in placeholders(sql_text(sql_name))}


def partitioned_tables(sql: str) -> set[str]:
    tree = sqlglot.parse_one(sql, read="trino")
    return {f"{t.db}.{t.name}" for t in tree.find_all(exp.Table) if t.db in PARTITIONED_SCHEMAS}


class EmptyCatalog:
    """Serves every table empty, with its schema, and records what the engine asked to load."""

    def __init__(self):
        self.loads = {}

    def load(self, name, intervals):
        self.loads[name] = intervals
        schema, table = name.split(".")
        return (
            SOURCES[table].schema.empty_table()
            if schema == "lake"
            else TABLES[name].schema_with_dt.empty_table()
        )


def test_there_is_one_sql_file_per_output_table():
    assert sql_names() == [
        "mart/features",
        "warehouse/holidays",
        "warehouse/items",
        "warehouse/prices",
        "warehouse/sales",
        "warehouse/stores",
    ]


@pytest.mark.parametrize("sql_name", sql_names())
def test_every_sql_file_transpiles_from_trino_to_duckdb(sql_name):
    sql = render(sql_name, sample_params(sql_name))
    sqlglot.transpile(sql, read="trino", write="duckdb", unsupported_level=ErrorLevel.RAISE)


@pytest.mark.parametrize("sql_name", sql_names())
def test_every_read_of_a_partitioned_table_has_a_dt_predicate(sql_name):
    sql = render(sql_name, sample_params(sql_name))
    reads = partition_reads(sql)  # raises SqlError for a read without one
    assert set(reads) == partitioned_tables(sql) != set()


@pytest.mark.parametrize("sql_name", sql_names())
def test_every_sql_file_runs_on_duckdb_and_returns_dt_and_the_contract_columns(sql_name):
    """A warehouse file returns every raw line's fate before `dt` and its table's columns."""
    result = EmbeddedEngine(EmptyCatalog()).run(sql_name, sample_params(sql_name))
    layer, table = sql_name.split("/")
    expected = TABLES[f"{layer}.{table}"].schema_with_dt.names
    if layer == "warehouse":
        expected = [*OUTCOME_SCHEMA.names, *expected]
    assert result.schema.names == expected
    assert result.num_rows == 0


def test_the_engine_loads_exactly_the_ranges_the_predicates_name():
    catalog = EmptyCatalog()
    params = {
        "target_dates": (date(2026, 3, 10), date(2026, 3, 11)),
        "history_from": date(2026, 2, 10),
        "targets_from": date(2026, 3, 10),
        "targets_to": date(2026, 3, 11),
        "stores_from": date(2026, 1, 1),
        "items_from": date(2026, 2, 1),
        "holidays_from": date(2026, 1, 5),
    }
    EmbeddedEngine(catalog).run("mart/features", params)
    assert catalog.loads == {
        "warehouse.sales": [(date(2026, 2, 10), date(2026, 3, 11))],
        "warehouse.prices": [(date(2026, 3, 10), date(2026, 3, 11))],
        "warehouse.stores": [(date(2026, 1, 1), date(2026, 3, 11))],
        "warehouse.items": [(date(2026, 2, 1), date(2026, 3, 11))],
        "warehouse.holidays": [(date(2026, 1, 5), date(2026, 3, 11))],
    }


def test_a_fact_file_loads_its_landing_window_and_the_master_snapshots_from_the_one_in_force():
    catalog = EmptyCatalog()
    params = {
        "landed_from": date(2026, 3, 9),
        "landed_to": date(2026, 3, 14),
        "stores_from": date(2026, 1, 1),
        "items_from": date(2026, 3, 2),
        "late_window_days": 3,
        "max_unit_price": 100,
    }
    EmbeddedEngine(catalog).run("warehouse/prices", params)
    assert catalog.loads == {
        "lake.prices": [(date(2026, 3, 9), date(2026, 3, 14))],
        "lake.stores": [(date(2026, 1, 1), date(2026, 3, 14))],
        "lake.items": [(date(2026, 3, 2), date(2026, 3, 14))],
    }


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM warehouse.sales",
        "SELECT * FROM warehouse.sales WHERE store_id = 'S01'",
        "SELECT * FROM warehouse.sales WHERE dt >= DATE '2026-03-01'",
        "SELECT * FROM warehouse.sales WHERE dt = DATE '2026-03-01' OR store_id = 'S01'",
        "SELECT * FROM warehouse.sales AS s JOIN warehouse.prices AS p ON p.dt = s.dt "
        "WHERE p.dt = DATE '2026-03-01'",
        "SELECT * FROM (SELECT * FROM lake.sales) AS raw WHERE dt = DATE '2026-03-01'",
    ],
)
def test_a_read_without_its_own_dt_predicate_is_refused(sql):
    with pytest.raises(SqlError, match="without a predicate on dt"):
        partition_reads(sql)


def test_dt_predicates_may_be_between_equal_or_in():
    sql = (
        "SELECT * FROM warehouse.sales AS s JOIN warehouse.prices AS p ON p.dt = s.dt "
        "JOIN warehouse.items AS i ON i.item_id = s.item_id "
        "WHERE s.dt BETWEEN DATE '2026-03-01' AND DATE '2026-03-03' AND p.dt = DATE '2026-03-02' "
        "AND i.dt IN (DATE '2026-01-01', DATE '2026-02-01')"
    )
    assert partition_reads(sql) == {
        "warehouse.sales": [(date(2026, 3, 1), date(2026, 3, 3))],
        "warehouse.prices": [(date(2026, 3, 2), date(2026, 3, 2))],
        "warehouse.items": [(date(2026, 1, 1), date(2026, 1, 1)), (date(2026, 2, 1), date(2026, 2, 1))],
    }


def test_parameters_render_as_date_or_integer_literals_only():
    params = sample_params("mart/features") | {"target_dates": (date(2026, 3, 1), date(2026, 3, 2))}
    sql = render("mart/features", params)
    assert "ARRAY[DATE '2026-03-01', DATE '2026-03-02']" in sql
    assert "{{" not in sql
    sales = sample_params("warehouse/sales") | {"max_units_sold": 500}
    assert "units_sold > 500 THEN" in render("warehouse/sales", sales)
    with pytest.raises(SqlError, match="must be a date"):
        render("mart/features", params | {"targets_to": "2026-03-01' OR 1=1 --"})
    with pytest.raises(SqlError, match="must be a date"):
        render("mart/features", params | {"target_dates": ()})
    for not_an_integer in ("3; DROP TABLE x", 2.5, True):
        with pytest.raises(SqlError, match="or an integer"):
            render("warehouse/sales", sales | {"late_window_days": not_an_integer})
    params = sales
    with pytest.raises(SqlError, match="takes"):
        render("warehouse/sales", {"landed_from": DAY})
    with pytest.raises(SqlError, match="takes"):
        render("warehouse/sales", params | {"unused": DAY})

"""The SQL files (Athena's dialect, Trino) and the engines that run them.

A SQL file is parameterised by dates and integers only: `{{ name }}` becomes `DATE 'YYYY-MM-DD'`, a
comma-separated list of such literals for a sequence of dates, or an integer literal (a late window, a limit
of a data-quality rule), so nothing but a well-formed literal can enter the text.
Every read of a partitioned table (schemas `lake`, `warehouse`, `mart`) carries a predicate on `dt` in its own
WHERE clause; `partition_reads` finds those predicates, which both bounds what the embedded engine loads and
is what the static cost-guard test checks.
"""

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from importlib import resources
from typing import Protocol

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp

from preprocess.catalog import Catalog, Intervals

SqlParam = date | Sequence[date] | int
PARTITIONED_SCHEMAS = ("lake", "warehouse", "mart")
_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


class SqlError(Exception):
    """A SQL file breaks the conventions above (a bug in the file, not in the data)."""


def sql_names() -> list[str]:
    """Every SQL file as `layer/table`, e.g. `warehouse/sales`, `mart/features`."""
    root = resources.files("preprocess") / "sql"
    return sorted(
        f"{layer.name}/{file.name.removesuffix('.sql')}"
        for layer in root.iterdir()
        if layer.is_dir()
        for file in layer.iterdir()
        if file.name.endswith(".sql")
    )


def sql_text(sql_name: str) -> str:
    return (resources.files("preprocess") / "sql" / f"{sql_name}.sql").read_text()


def placeholders(sql: str) -> set[str]:
    return set(_PLACEHOLDER.findall(sql))


def _literal(name: str, value: SqlParam) -> str:
    if isinstance(value, date) and not isinstance(value, datetime):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, Sequence) and value and all(_is_date(v) for v in value):
        return ", ".join(f"DATE '{v.isoformat()}'" for v in value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise SqlError(
        f"parameter {name!r} must be a date, a non-empty sequence of dates or an integer, got {value!r}"
    )


def _is_date(value: object) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


def render(sql_name: str, params: Mapping[str, SqlParam]) -> str:
    """The SQL file with its parameters in; the exact Trino text that runs (Athena) or is transpiled."""
    text = sql_text(sql_name)
    wanted = placeholders(text)
    if wanted != set(params):
        raise SqlError(f"{sql_name}.sql takes {sorted(wanted)}, got {sorted(params)}")
    return _PLACEHOLDER.sub(lambda match: _literal(match[1], params[match[1]]), text)


def to_duckdb(sql: str) -> str:
    return sqlglot.transpile(sql, read="trino", write="duckdb")[0]


# -- partition predicates ------------------------------------------------------------------------------------


def partition_reads(sql: str) -> dict[str, Intervals]:
    """`{"warehouse.sales": [(first, last), ...]}` for every partitioned table the SQL reads."""
    reads: dict[str, Intervals] = {}
    for table in sqlglot.parse_one(sql, read="trino").find_all(exp.Table):
        if table.db not in PARTITIONED_SCHEMAS:
            continue  # a CTE or another relation that is not a partitioned table
        name = f"{table.db}.{table.name}"
        select = table.parent_select
        where = select.args.get("where") if select else None
        intervals = _dt_intervals(where.this, table.alias_or_name) if where else None
        if not intervals:
            raise SqlError(f"{name} is read without a predicate on dt of date literals in the same WHERE")
        reads.setdefault(name, []).extend(intervals)
    return reads


def _conjuncts(condition: exp.Expression):
    condition = condition.unnest()
    if isinstance(condition, exp.And):
        yield from _conjuncts(condition.left)
        yield from _conjuncts(condition.right)
    else:
        yield condition


def _is_dt(node: exp.Expression, alias: str) -> bool:
    return isinstance(node, exp.Column) and node.name == "dt" and node.table in ("", alias)


def _date_value(node: exp.Expression) -> date | None:
    if isinstance(node, exp.Cast) and node.to.this == exp.DataType.Type.DATE and node.this.is_string:
        return date.fromisoformat(node.this.name)
    return None


def _dt_intervals(condition: exp.Expression, alias: str) -> Intervals | None:
    """The first top-level `dt BETWEEN d1 AND d2`, `dt = d` or `dt IN (d, ...)` conjunct, as intervals."""
    for term in _conjuncts(condition):
        if isinstance(term, exp.Between) and _is_dt(term.this, alias):
            bounds = (_date_value(term.args["low"]), _date_value(term.args["high"]))
            if None not in bounds:
                return [bounds]
        if isinstance(term, exp.EQ) and _is_dt(term.this, alias) and _date_value(term.expression):
            day = _date_value(term.expression)
            return [(day, day)]
        if isinstance(term, exp.In) and _is_dt(term.this, alias):
            days = [_date_value(node) for node in term.expressions]
            if days and None not in days:
                return [(day, day) for day in days]
    return None


# -- engines -------------------------------------------------------------------------------------------------


class Engine(Protocol):
    def run(self, sql_name: str, params: Mapping[str, SqlParam]) -> pa.Table:
        """Runs one SQL file and returns what it selects: for a warehouse file, every raw line's fate
        (tables.OUTCOME_SCHEMA), then `dt` and the table's columns; for the mart, `dt` and the columns."""
        ...


class EmbeddedEngine:
    """DuckDB in process: loads exactly the partitions the SQL's `dt` predicates name, as Arrow, registers
    them under the names the SQL uses, and runs the file transpiled from Trino. No DuckDB extensions."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    def run(self, sql_name: str, params: Mapping[str, SqlParam]) -> pa.Table:
        sql = render(sql_name, params)
        with duckdb.connect(
            config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
        ) as con:
            for name, intervals in partition_reads(sql).items():
                schema, table = name.split(".")
                arrow_name = f"arrow_{schema}_{table}"
                con.register(arrow_name, self._catalog.load(name, intervals))
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
                con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM {arrow_name}")
            return con.sql(to_duckdb(sql)).to_arrow_table()

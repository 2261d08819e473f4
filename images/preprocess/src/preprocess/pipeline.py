"""What a run recomputes for its landing dates, and the run itself: read and check the lake, rebuild the
warehouse partitions the landed files touch, then the features partitions those change.

Everything is a pure function of the immutable lake (and of the committed partitions it produced), so running
dates again, out of order, or as one backfill gives the same tables. Each table is computed in one SQL pass
over all of its partitions, then split by `dt` for publishing.
"""

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from preprocess import layout, logs
from preprocess.catalog import Catalog
from preprocess.config import RunConfig
from preprocess.engine import Engine, SqlParam, render
from preprocess.errors import DataError, InputMissing
from preprocess.raw import SOURCES
from preprocess.storage import Manifest, Storage
from preprocess.tables import FACT_TABLES, FEATURES, PRICES, SALES, SNAPSHOT_TABLES, Table

DAY = timedelta(days=1)
LOOK_BACK_DAYS = 28  # the longest look-back of a feature (lag_28, mean_28, std_28)
PUBLISH_THREADS = 8


@dataclass(frozen=True)
class Query:
    """One SQL file run once for every partition of its table that this run rebuilds."""

    table: Table
    params: dict[str, SqlParam]
    partitions: tuple[date, ...]

    @property
    def sql_name(self) -> str:
        return f"{self.table.layer}/{self.table.name}"


@dataclass(frozen=True)
class Plan:
    warehouse: tuple[Query, ...]
    features: Query | None
    # every master snapshot a features row may use: those committed before the run and this run's own
    snapshot_dates: dict[str, tuple[date, ...]]

    @property
    def queries(self) -> tuple[Query, ...]:
        return (*self.warehouse, *([self.features] if self.features else []))


def days(first: date, last: date) -> list[date]:
    return [first + k * DAY for k in range((last - first).days + 1)]


def latest_on_or_before(dates: tuple[date, ...], day: date) -> date | None:
    return max((d for d in dates if d <= day), default=None)


# -- planning ------------------------------------------------------------------------------------------------


def make_plan(config: RunConfig, storage: Storage, catalog: Catalog) -> Plan:
    """Reads (and strictly checks) the lake files landed in [start, end] and decides what to rebuild."""
    warehouse: list[Query] = []
    touched: set[date] = set()
    for table in FACT_TABLES:
        source = SOURCES[table.name]
        landed = catalog.lake_rows(source.name, catalog.lake_files(source.name, config.start, config.end))
        business_dates = sorted(set(landed[source.business_date].to_pylist()))
        if business_dates:
            touched.update(business_dates)
            # a business date X is carried by the files landed in [X - 1, X + late window]
            landed_from = business_dates[0] - DAY
            landed_to = business_dates[-1] + config.late_window_days * DAY
            params = {
                "landed_from": landed_from,
                "landed_to": landed_to,
                "business_dates": tuple(business_dates),
            }
            warehouse.append(Query(table, params, tuple(business_dates)))

    snapshot_days: dict[str, tuple[date, ...]] = {}
    for table in SNAPSHOT_TABLES:
        landed_on = sorted(
            {raw.landed_on for raw in catalog.lake_files(table.name, config.start, config.end)}
        )
        snapshot_days[table.name] = tuple(landed_on)
        if landed_on:
            params = {"landed_from": landed_on[0], "landed_to": landed_on[-1]}
            warehouse.append(Query(table, params, tuple(landed_on)))

    snapshot_dates = {
        table.name: tuple(
            sorted(
                set(storage.partition_dates(config.buckets.warehouse, table.name))
                | set(snapshot_days[table.name])
            )
        )
        for table in SNAPSHOT_TABLES
    }
    targets = feature_targets(config, storage, touched, snapshot_days, snapshot_dates)
    features = features_query(config, targets, snapshot_dates) if targets else None
    return Plan(tuple(warehouse), features, snapshot_dates)


def feature_targets(
    config: RunConfig,
    storage: Storage,
    touched: set[date],
    snapshot_days: dict[str, tuple[date, ...]],
    snapshot_dates: dict[str, tuple[date, ...]],
) -> list[date]:
    """The features partitions whose inputs may have changed. A sale or price of day X feeds the features of
    X .. X + 28; a master snapshot landed on L feeds every t >= L until the next snapshot. Partitions are
    created up to the run's horizon (end + 1); beyond it, only ones that already exist are refreshed."""
    beyond_horizon = storage.partition_dates(config.buckets.mart, FEATURES.name, first=config.horizon + DAY)
    targets: set[date] = set()
    if touched:
        first, last = min(touched), max(touched) + LOOK_BACK_DAYS * DAY
        targets.update(days(first, min(last, config.horizon)))
        targets.update(t for t in beyond_horizon if t <= last)
    for name, landed_on in snapshot_days.items():
        if landed_on:
            targets.update(days(landed_on[0], config.horizon))
            targets.update(
                t for t in beyond_horizon if latest_on_or_before(snapshot_dates[name], t) in landed_on
            )
    return sorted(targets)


def features_query(
    config: RunConfig, targets: list[date], snapshot_dates: dict[str, tuple[date, ...]]
) -> Query:
    first, last = targets[0], targets[-1]
    params: dict[str, SqlParam] = {
        "target_dates": tuple(targets),
        "history_from": first - LOOK_BACK_DAYS * DAY,
        "targets_from": first,
        "targets_to": last,
    }
    for table in SNAPSHOT_TABLES:
        snapshot = latest_on_or_before(snapshot_dates[table.name], first)
        if snapshot is None:
            committed = layout.s3_uri(config.buckets.warehouse, table.name + "/")
            landed = layout.s3_uri(config.buckets.lake, table.name + "/")
            raise InputMissing(
                f"features for {first} need a {table.name} snapshot on or before that day: none is "
                f"committed in {committed} and none landed in {landed} from {config.start} to {config.end}"
            )
        params[f"{table.name}_from"] = snapshot
    return Query(FEATURES, params, tuple(targets))


def rendered_sql(plan: Plan) -> list[tuple[str, str]]:
    """What a dry run prints: each SQL file of the plan as it would run, in Athena's dialect."""
    return [(query.sql_name, render(query.sql_name, query.params)) for query in plan.queries]


# -- running -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Publication:
    table: Table
    dt: date
    rows: pa.Table
    inputs: list[dict]
    checks: list[dict]


def run(config: RunConfig, storage: Storage, catalog: Catalog, engine: Engine, plan: Plan) -> dict[str, int]:
    """Computes every warehouse table before publishing any (a data error publishes nothing), publishes them,
    then computes and publishes the features from the committed warehouse. Returns partitions per table."""
    run_id = layout.new_run_id()
    logs.info(
        "run_started",
        f"run {run_id}: landing dates {config.start} .. {config.end}",
        run_id=run_id,
        start=config.start,
        end=config.end,
    )
    publications = []
    for query in plan.warehouse:
        result = engine.run(query.sql_name, query.params)
        publications += warehouse_publications(config, catalog, query, split_by_dt(result, query.table))
    publish(config, storage, catalog, run_id, publications)
    if plan.features:
        result = engine.run(plan.features.sql_name, plan.features.params)
        publications_of_features = features_publications(catalog, plan, split_by_dt(result, FEATURES))
        publish(config, storage, catalog, run_id, publications_of_features)
        publications += publications_of_features
    published: dict[str, int] = defaultdict(int)
    for publication in publications:
        published[publication.table.name] += 1
    return dict(published)


def split_by_dt(result: pa.Table, table: Table) -> dict[date, pa.Table]:
    """An engine result as one table per partition: rows sorted by key, `dt` dropped (the key holds it)."""
    if result.schema.names != table.schema_with_dt.names:
        raise ValueError(f"{table.qualified_name} query returned {result.schema.names}")
    ordered = result.cast(table.schema_with_dt).sort_by(
        [("dt", "ascending"), *((k, "ascending") for k in table.key)]
    )
    runs = pc.run_end_encode(ordered["dt"].combine_chunks())  # one run of equal dates per partition
    parts: dict[date, pa.Table] = {}
    start = 0
    for dt, end in zip(runs.values.to_pylist(), runs.run_ends.to_pylist(), strict=True):
        parts[dt] = ordered.slice(start, end - start).drop_columns(["dt"]).combine_chunks()
        start = end
    return parts


def unique_key_check(table: Table, dt: date, rows: pa.Table) -> dict:
    distinct = rows.group_by(list(table.key)).aggregate([]).num_rows
    if distinct != rows.num_rows:
        raise DataError(
            f"{table.qualified_name} dt={dt}: {rows.num_rows - distinct} rows repeat the key {table.key}"
        )
    return {"rule": "unique_key", "passed": True, "key": list(table.key)}


def warehouse_publications(
    config: RunConfig, catalog: Catalog, query: Query, parts: dict[date, pa.Table]
) -> list[Publication]:
    table, source = query.table, SOURCES[query.table.name]
    empty = table.schema.empty_table()
    if source.business_date is None:
        return [
            Publication(
                table,
                dt,
                parts.get(dt, empty),
                [snapshot_input(config, catalog, table, dt)],
                [unique_key_check(table, dt, parts.get(dt, empty))],
            )
            for dt in query.partitions
        ]
    # lineage: the raw files that carry rows of each business date, and how many rows they brought
    landed = catalog.lake_rows(
        source.name, catalog.lake_files(source.name, query.params["landed_from"], query.params["landed_to"])
    )
    counts = landed.group_by([source.business_date, "source_key"]).aggregate([("line_number", "count")])
    files_of: dict[date, dict[str, int]] = defaultdict(dict)
    for day, key, rows_read in zip(*(counts.column(i).to_pylist() for i in range(3)), strict=True):
        files_of[day][key] = rows_read
    publications = []
    for dt in query.partitions:
        rows = parts.get(dt, empty)
        rows_read = sum(files_of[dt].values())
        inputs = [
            {"uri": layout.s3_uri(config.buckets.lake, key), "etag": catalog.etag(key)}
            for key in sorted(files_of[dt])
        ]
        checks = [
            {"rule": "raw_values_parse", "passed": True, "rows_read": rows_read},
            {
                "rule": "business_date_in_late_window",
                "passed": True,
                "late_window_days": config.late_window_days,
            },
            {**unique_key_check(table, dt, rows), "duplicates_resolved": rows_read - rows.num_rows},
        ]
        publications.append(Publication(table, dt, rows, inputs, checks))
    return publications


def snapshot_input(config: RunConfig, catalog: Catalog, table: Table, dt: date) -> dict:
    winner = max(raw.key for raw in catalog.lake_files(table.name, dt, dt))  # the last file name wins
    return {"uri": layout.s3_uri(config.buckets.lake, winner), "etag": catalog.etag(winner)}


def features_publications(catalog: Catalog, plan: Plan, parts: dict[date, pa.Table]) -> list[Publication]:
    publications = []
    for t in plan.features.partitions:
        rows = parts.get(t, FEATURES.schema.empty_table())
        upstream: list[Manifest | None] = [
            catalog.manifest(SALES, day) for day in days(t - LOOK_BACK_DAYS * DAY, t)
        ]
        upstream.append(catalog.manifest(PRICES, t))
        upstream += [
            catalog.manifest(table, latest_on_or_before(plan.snapshot_dates[table.name], t))
            for table in SNAPSHOT_TABLES
        ]
        inputs = [manifest.as_input() for manifest in upstream if manifest is not None]
        publications.append(Publication(FEATURES, t, rows, inputs, [unique_key_check(FEATURES, t, rows)]))
    return publications


def publish(config: RunConfig, storage: Storage, catalog: Catalog, run_id: str, publications: list) -> None:
    """Publishes partitions concurrently, each atomic on its own (its manifest is its commit), then deletes
    the run folders they superseded. Those are listed before the first commit, one listing per table, so a
    folder written meanwhile by another run is never touched."""
    superseded: dict[str, list[str]] = defaultdict(list)
    for table in {p.table.name: p.table for p in publications}.values():
        dates = {p.dt for p in publications if p.table is table}
        bucket = config.buckets.of(table.layer)
        for dt, keys in storage.partition_objects(bucket, table.name, min(dates), max(dates)).items():
            if dt in dates:
                superseded[bucket] += [key for key in keys if layout.run_id_of(key) not in (None, run_id)]
    total = len(publications)
    with ThreadPoolExecutor(max_workers=PUBLISH_THREADS) as pool:
        futures = {
            pool.submit(
                storage.publish_partition,
                config.buckets.of(p.table.layer),
                p.table,
                p.dt,
                run_id,
                p.rows,
                p.inputs,
                p.checks,
            ): p
            for p in publications
        }
        for done, future in enumerate(as_completed(futures), 1):
            publication, manifest = futures[future], future.result()
            catalog.remember(publication.table, publication.dt, publication.rows, manifest)
            logs.info(
                "partition_published",
                f"{publication.table.qualified_name} dt={publication.dt}: {publication.rows.num_rows} rows "
                f"[{done}/{total}]",
                run_id=run_id,
                table=publication.table.qualified_name,
                dt=publication.dt,
                rows=publication.rows.num_rows,
            )
    for bucket, keys in superseded.items():
        storage.delete(bucket, keys)

"""What a run recomputes for its landing dates, and the run itself: the warehouse SQL files type, check and
deduplicate the raw lines (each line gets one fate), the table-level rules are judged, then the warehouse
partitions the landed files touch and the quarantine of their landing days are published, then the features
partitions those change.

Everything is a pure function of the immutable lake (and of the committed partitions it produced), so running
dates again, out of order, or as one backfill gives the same tables. Each table is computed in one SQL pass
over all of its partitions, then split by `dt` for publishing.
"""

import re
from collections import defaultdict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc

from preprocess import layout, logs
from preprocess.catalog import Catalog
from preprocess.checks import describe_breach, line_checks, reject_ratio, row_volume
from preprocess.config import RunConfig
from preprocess.engine import Engine, SqlParam, partition_reads, render
from preprocess.errors import DataError, InputMissing
from preprocess.raw import SOURCES, RawFile, Source
from preprocess.storage import Manifest, Storage
from preprocess.tables import (
    FACT_TABLES,
    FEATURES,
    PRICES,
    QUARANTINE,
    ROW_VOLUME_HISTORY,
    SALES,
    SNAPSHOT_TABLES,
    TABLES,
    WAREHOUSE_TABLES,
    Table,
)

DAY = timedelta(days=1)
LOOK_BACK_DAYS = 28  # the longest look-back of a feature (lag_28, mean_28, std_28)
PUBLISH_THREADS = 8
ROW_VOLUME_LOOKUP_DAYS = 3 * ROW_VOLUME_HISTORY  # how far back row_volume looks for committed partitions


@dataclass(frozen=True)
class Query:
    """One SQL file run once for every partition of its table that this run rebuilds."""

    table: Table
    params: dict[str, SqlParam]
    partitions: tuple[date, ...]  # those it may publish: a warehouse partition is published if it keeps rows
    # features only: every master snapshot a row may use, those committed before the run and this run's own
    snapshots: dict[str, tuple[date, ...]] = field(default_factory=dict)

    @property
    def sql_name(self) -> str:
        return f"{self.table.layer}/{self.table.name}"


@dataclass(frozen=True)
class Plan:
    warehouse: tuple[Query, ...]
    landed_files: tuple[RawFile, ...]  # every raw file landed in [start, end]
    # as planned from the lines that landed; the run plans it again from the partitions it kept
    features: Query | None

    @property
    def landing_days(self) -> tuple[date, ...]:
        """The quarantine partitions of the run: the days in [start, end] on which any file landed."""
        return tuple(sorted({raw.landed_on for raw in self.landed_files}))

    @property
    def queries(self) -> tuple[Query, ...]:
        return (*self.warehouse, *([self.features] if self.features else []))


def days(first: date, last: date) -> list[date]:
    return [first + k * DAY for k in range((last - first).days + 1)]


def latest_on_or_before(dates: tuple[date, ...], day: date) -> date | None:
    return max((d for d in dates if d <= day), default=None)


# -- planning ------------------------------------------------------------------------------------------------


def make_plan(config: RunConfig, storage: Storage, catalog: Catalog) -> Plan:
    """Reads the lake files landed in [start, end] and decides what to rebuild. The business dates a fact file
    touches are those its lines carry that could pass the rules; the SQL decides which lines do."""
    warehouse: list[Query] = []
    landed_files: list[RawFile] = []
    touched: set[date] = set()
    snapshot_days: dict[str, tuple[date, ...]] = {}
    for table in WAREHOUSE_TABLES:
        source = SOURCES[table.name]
        files = catalog.lake_files(source.name, config.start, config.end)
        landed_files += files
        lines = catalog.lake_rows(source.name, files)
        if source.business_date:
            dates = candidate_business_dates(lines, source, config.late_window_days)
            touched.update(dates)
            if files:
                warehouse.append(fact_query(config, catalog, table, dates))
        else:
            snapshot_days[table.name] = tuple(sorted(set(lines["dt"].to_pylist())))
            if files:
                params = {"landed_from": files[0].landed_on, "landed_to": files[-1].landed_on}
                warehouse.append(Query(table, params | dict(table.limits), snapshot_days[table.name]))
    features = features_plan(config, storage, touched, snapshot_days)
    return Plan(tuple(warehouse), tuple(landed_files), features)


def parse_business_date(text: str | None) -> date | None:
    """A business date the way the SQL types it: `YYYY-MM-DD` after trimming spaces, on the calendar."""
    text = (text or "").strip(" ")
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def candidate_business_dates(lines: pa.Table, source: Source, late_window_days: int) -> set[date]:
    dates = set()
    for text, landed_on in zip(lines[source.business_date].to_pylist(), lines["dt"].to_pylist(), strict=True):
        day = parse_business_date(text)
        first, last = source.business_date_window(landed_on, late_window_days)
        if day is not None and first <= day <= last:
            dates.add(day)
    return dates


def fact_query(config: RunConfig, catalog: Catalog, table: Table, dates: set[date]) -> Query:
    """A business date X is carried by the files landed in [X - lead, X + late window]: each touched date is
    rebuilt from all of them, and every line landed in [start, end] is checked (and maybe quarantined)."""
    source = SOURCES[table.name]
    landed_from = min([config.start, *(day - source.lead_days * DAY for day in dates)])
    landed_to = max([config.end, *(day + config.late_window_days * DAY for day in dates)])
    params: dict[str, SqlParam] = {"landed_from": landed_from, "landed_to": landed_to}
    for master in ("stores", "items"):
        # from the snapshot in force on the first landing day: the latest file with lines landed by then
        earlier = catalog.lake_files(master, date.min, landed_from)
        in_force = next((raw for raw in reversed(earlier) if catalog.lake_rows(master, [raw]).num_rows), None)
        params[f"{master}_from"] = in_force.landed_on if in_force else landed_from
    params["late_window_days"] = config.late_window_days
    return Query(table, params | dict(table.limits), tuple(sorted(dates)))


def features_plan(
    config: RunConfig, storage: Storage, touched: set[date], snapshot_days: dict[str, tuple[date, ...]]
) -> Query | None:
    """The features query for warehouse partitions of these dates and master snapshots of these days."""
    snapshot_dates = {
        table.name: tuple(
            sorted(
                set(storage.partition_dates(config.buckets.warehouse, table.name))
                | set(snapshot_days.get(table.name, ()))
            )
        )
        for table in SNAPSHOT_TABLES
    }
    targets = feature_targets(config, storage, touched, snapshot_days, snapshot_dates)
    return features_query(config, targets, snapshot_dates) if targets else None


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
    return Query(FEATURES, params, tuple(targets), snapshot_dates)


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


class Registry(Protocol):
    def register(self, layer: str, table: str, locations: Mapping[date, str]) -> None:
        """Makes partitions `{dt: S3 folder}` of `layer.table` visible to Athena (creates or re-points)."""
        ...


def run(
    config: RunConfig,
    storage: Storage,
    catalog: Catalog,
    engine: Engine,
    plan: Plan,
    registry: Registry | None = None,
    run_id: str | None = None,
) -> dict[str, int]:
    """Computes and checks every warehouse table and the quarantine before publishing any (a breached
    threshold publishes nothing), publishes them, then computes and publishes the features of what was kept.
    With a registry (Athena), the lake landing folders a query reads are registered before it runs, and
    every published partition once committed. Returns partitions per table."""
    run_id = run_id or layout.new_run_id()
    logs.info(
        "run_started",
        f"run {run_id}: landing dates {config.start} .. {config.end}",
        run_id=run_id,
        start=config.start,
        end=config.end,
    )
    lines_of = {}
    for query in plan.warehouse:
        if registry:
            register_lake_reads(config, catalog, registry, query)
        lines_of[query.table.name] = run_warehouse_query(engine, query)
    publications = [
        publication
        for query in plan.warehouse
        for publication in warehouse_publications(config, storage, catalog, query, lines_of[query.table.name])
    ]
    publications += quarantine_publications(config, catalog, plan, lines_of)
    stop_on_breaches(publications)
    publish(config, storage, catalog, run_id, publications, registry)

    touched = {p.dt for p in publications if p.table in FACT_TABLES}
    snapshot_days = {
        table.name: tuple(sorted(p.dt for p in publications if p.table is table)) for table in SNAPSHOT_TABLES
    }
    features = features_plan(config, storage, touched, snapshot_days)
    if features:
        result = engine.run(features.sql_name, features.params)
        publications_of_features = features_publications(catalog, features, split_by_dt(result, FEATURES))
        publish(config, storage, catalog, run_id, publications_of_features, registry)
        publications += publications_of_features
    published: dict[str, int] = defaultdict(int)
    for publication in publications:
        published[publication.table.name] += 1
    return dict(published)


def register_lake_reads(config: RunConfig, catalog: Catalog, registry: Registry, query: Query) -> None:
    """Registers the landing folders of every lake table the query reads, within its `dt` predicates."""
    for name, intervals in partition_reads(render(query.sql_name, query.params)).items():
        layer, source = name.split(".")
        if layer != "lake":
            continue
        landed = {raw.landed_on for raw in catalog.lake_files_within(source, intervals)}
        folders = {day: layout.s3_uri(config.buckets.lake, layout.lake_prefix(source, day)) for day in landed}
        registry.register("lake", source, folders)


def run_warehouse_query(engine: Engine, query: Query) -> pa.Table:
    """Every raw line the query read, with its outcome (OUTCOME_SCHEMA), `dt` and the table's columns."""
    result = engine.run(query.sql_name, query.params)
    if result.schema.names != query.table.result_schema.names:
        raise ValueError(f"{query.table.qualified_name} query returned {result.schema.names}")
    return result.cast(query.table.result_schema)


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


def with_outcome(lines: pa.Table, outcome: str) -> pa.Table:
    return lines.filter(pc.equal(lines["outcome"], outcome))


def raw_inputs(config: RunConfig, catalog: Catalog, uris) -> list[dict]:
    prefix = layout.s3_uri(config.buckets.lake, "")
    return [{"uri": uri, "etag": catalog.etag(uri.removeprefix(prefix))} for uri in sorted(set(uris))]


def warehouse_publications(
    config: RunConfig, storage: Storage, catalog: Catalog, query: Query, lines: pa.Table
) -> list[Publication]:
    """The partitions of the query's table that end with kept rows. Each manifest names the raw files with
    lines of that `dt` and accounts for those lines; a fact partition also gets its row_volume result."""
    table = query.table
    parts = split_by_dt(with_outcome(lines, "kept").select(table.schema_with_dt.names), table)
    dates = [dt for dt in query.partitions if dt in parts]
    volumes = {}
    if table in FACT_TABLES and dates:
        volumes = row_volume_checks(config, storage, table, {dt: parts[dt].num_rows for dt in dates})
    publications = []
    for dt in dates:
        of_dt = lines.filter(pc.equal(lines["dt"], dt))
        checks = [*line_checks(of_dt, config.late_window_days), unique_key_check(table, dt, parts[dt])]
        if dt in volumes:
            checks.append(volumes[dt])
        inputs = raw_inputs(config, catalog, of_dt["source_uri"].to_pylist())
        publications.append(Publication(table, dt, parts[dt], inputs, checks))
    return publications


def row_volume_checks(config: RunConfig, storage: Storage, table: Table, rows: dict[date, int]) -> dict:
    """row_volume for each partition this run publishes, against the committed partitions before it (this
    run's own included, as they commit with it). Older counts come from their manifests."""
    bucket = config.buckets.warehouse
    history_from = min(rows) - ROW_VOLUME_LOOKUP_DAYS * DAY
    known = sorted(set(storage.partition_dates(bucket, table.name, history_from, max(rows))) | set(rows))
    committed_rows: dict[date, int | None] = {}

    def rows_of(dt: date) -> int | None:
        if dt in rows:
            return rows[dt]
        if dt not in committed_rows:
            manifest = storage.read_manifest(bucket, table.name, dt)
            committed_rows[dt] = manifest.content["rows"] if manifest else None
        return committed_rows[dt]

    results = {}
    for dt in sorted(rows):
        earlier = [rows_of(day) for day in [day for day in known if day < dt][-ROW_VOLUME_HISTORY:]]
        results[dt] = row_volume(rows[dt], [count for count in earlier if count is not None])
    return results


def quarantine_publications(
    config: RunConfig, catalog: Catalog, plan: Plan, lines_of: dict[str, pa.Table]
) -> list[Publication]:
    """One quarantine partition per landing day of the run, even without rejected lines: its manifest
    accounts for every line landed that day, per source, with the reject_ratio of each."""
    publications = []
    for day in plan.landing_days:
        parts, checks = [], []
        for name, lines in lines_of.items():
            landed = lines.filter(pc.equal(lines["landed_dt"], day))
            rejected = with_outcome(landed, "quarantined")
            source = pa.array([name] * rejected.num_rows, type=pa.string())
            parts.append(rejected.select(QUARANTINE.schema.names[1:]).add_column(0, "source", source))
            table = TABLES[f"warehouse.{name}"]
            source_checks = [reject_ratio(table, landed), *line_checks(landed, config.late_window_days)]
            checks += [{**check, "source": name} for check in source_checks]
        rows = pa.concat_tables(parts).cast(QUARANTINE.schema)
        rows = rows.sort_by([(key, "ascending") for key in QUARANTINE.key])
        uris = [raw.uri for raw in plan.landed_files if raw.landed_on == day]
        inputs = raw_inputs(config, catalog, uris)
        publications.append(Publication(QUARANTINE, day, rows.combine_chunks(), inputs, checks))
    return publications


def stop_on_breaches(publications: list[Publication]) -> None:
    """A breached table-level rule stops the run before anything is published (exit 3)."""
    breaches = [
        f"{p.table.qualified_name} dt={p.dt}"
        + (f" {check['source']}" if "source" in check else "")
        + f": {describe_breach(check)}"
        for p in publications
        for check in p.checks
        if not check["passed"]
    ]
    if breaches:
        raise DataError(f"data checks failed, nothing published: {'; '.join(breaches)}")


def features_publications(catalog: Catalog, query: Query, parts: dict[date, pa.Table]) -> list[Publication]:
    publications = []
    for t in query.partitions:
        rows = parts.get(t, FEATURES.schema.empty_table())
        upstream: list[Manifest | None] = [
            catalog.manifest(SALES, day) for day in days(t - LOOK_BACK_DAYS * DAY, t)
        ]
        upstream.append(catalog.manifest(PRICES, t))
        upstream += [
            catalog.manifest(table, latest_on_or_before(query.snapshots[table.name], t))
            for table in SNAPSHOT_TABLES
        ]
        inputs = [manifest.as_input() for manifest in upstream if manifest is not None]
        publications.append(Publication(FEATURES, t, rows, inputs, [unique_key_check(FEATURES, t, rows)]))
    return publications


def publish(
    config: RunConfig,
    storage: Storage,
    catalog: Catalog,
    run_id: str,
    publications: list,
    registry: Registry | None = None,
) -> None:
    """Publishes partitions concurrently, each atomic on its own (its manifest is its commit), registers
    them (Athena's switch to the new run folder, after the commit and before the old folder goes), then
    deletes the run folders they superseded. Those are listed before the first commit, one listing per
    table, so a folder written meanwhile by another run is never touched."""
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
    if registry:
        for table in {p.table.name: p.table for p in publications}.values():
            bucket = config.buckets.of(table.layer)
            folders = {
                p.dt: layout.s3_uri(bucket, layout.run_prefix(table.name, p.dt, run_id))
                for p in publications
                if p.table is table
            }
            registry.register(table.layer, table.name, folders)
    for bucket, keys in superseded.items():
        storage.delete(bucket, keys)

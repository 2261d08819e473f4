"""What the SQL reads, loaded from S3 into Arrow: lake landing partitions (as Athena's CSV SerDe sees them,
see raw.py) and committed warehouse/mart partitions (by manifest). Each object is fetched at most once per
run, and what was read is remembered, so every output partition can name its inputs (ETags, manifest sha256)
in its manifest.
"""

from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pyarrow as pa

from preprocess.config import RunConfig
from preprocess.errors import InputMissing
from preprocess.raw import SOURCES, RawFile, read_lake_file
from preprocess.storage import Manifest, Storage
from preprocess.tables import TABLES, Table

Intervals = list[tuple[date, date]]
FETCH_THREADS = 16


def _within(day: date, intervals: Intervals) -> bool:
    return any(first <= day <= last for first, last in intervals)


class Catalog:
    def __init__(self, storage: Storage, config: RunConfig) -> None:
        self._storage = storage
        self._buckets = config.buckets
        self._raw: dict[str, tuple[pa.Table, str]] = {}  # lake key -> (rows of strings, ETag)
        self._partitions: dict[tuple[str, date], tuple[pa.Table, Manifest]] = {}  # (table, dt) -> rows

    def load(self, name: str, intervals: Intervals) -> pa.Table:
        """A table the SQL reads (`lake.sales`, `warehouse.items`, ...) restricted to the `dt` intervals."""
        layer, table = name.split(".", 1)
        if layer == "lake":
            return self.lake_rows(table, self.lake_files_within(table, intervals))
        first, last = min(i[0] for i in intervals), max(i[1] for i in intervals)
        if name not in TABLES:
            raise ValueError(f"the SQL reads {name}, which is not a table of the S3 layout contract")
        return self.partitions(TABLES[name], first, last, intervals)

    # -- the lake --------------------------------------------------------------------------------------------

    def lake_files(self, source: str, first: date, last: date) -> list[RawFile]:
        return self._storage.lake_files(self._buckets.lake, source, first, last)

    def lake_files_within(self, source: str, intervals: Intervals) -> list[RawFile]:
        """The raw files of `source` whose landing date lies in one of the `dt` intervals a query names."""
        first, last = min(i[0] for i in intervals), max(i[1] for i in intervals)
        return [raw for raw in self.lake_files(source, first, last) if _within(raw.landed_on, intervals)]

    def lake_rows(self, source: str, files: list[RawFile]) -> pa.Table:
        """The rows of the given raw files as the lake table holds them, in key order."""
        self._fetch([f for f in files if f.key not in self._raw], self._fetch_raw)
        tables = [self._raw[f.key][0] for f in sorted(files, key=lambda f: f.key)]
        return pa.concat_tables(tables) if tables else SOURCES[source].schema.empty_table()

    def etag(self, key: str) -> str:
        return self._raw[key][1]

    def _fetch_raw(self, raw: RawFile) -> None:
        found = self._storage.get(raw.bucket, raw.key)
        if found is None:
            raise InputMissing(f"{raw.uri} was listed but no longer exists (lake files are immutable)")
        body, etag = found
        source = SOURCES[raw.key.split("/", 1)[0]]
        self._raw[raw.key] = (read_lake_file(body, raw, source), etag)

    # -- committed partitions --------------------------------------------------------------------------------

    def partitions(
        self, table: Table, first: date, last: date, intervals: Intervals | None = None
    ) -> pa.Table:
        """Committed partitions of `table` in [first, last], with a `dt` column; absent ones are empty."""
        bucket = self._buckets.of(table.layer)
        dates = [
            dt
            for dt in self._storage.partition_dates(bucket, table.name, first, last)
            if intervals is None or _within(dt, intervals)
        ]
        missing = [dt for dt in dates if (table.name, dt) not in self._partitions]
        self._fetch(missing, lambda dt: self._fetch_partition(table, bucket, dt))
        parts = []
        for dt in dates:
            found = self._partitions.get((table.name, dt))
            if found is not None:
                rows = found[0]
                parts.append(rows.add_column(0, "dt", pa.array([dt] * rows.num_rows, type=pa.date32())))
        return pa.concat_tables(parts) if parts else table.schema_with_dt.empty_table()

    def manifest(self, table: Table, dt: date) -> Manifest | None:
        """The manifest of a partition this run read or wrote, None if it did not exist."""
        found = self._partitions.get((table.name, dt))
        return found[1] if found else None

    def remember(self, table: Table, dt: date, rows: pa.Table, manifest: Manifest) -> None:
        """A partition this run published: later queries read it from here instead of from S3."""
        self._partitions[(table.name, dt)] = (rows, manifest)

    def _fetch_partition(self, table: Table, bucket: str, dt: date) -> None:
        found = self._storage.read_partition(bucket, table, dt)
        if found is not None:  # committed when listed; if replaced and gone since, it is simply absent
            self._partitions[(table.name, dt)] = found

    @staticmethod
    def _fetch(items: list, fetch_one) -> None:
        # boto3 clients are thread-safe; S3 latency, not CPU, bounds these loads. map() re-raises the first
        # failure in input order, so the error reported is the same whichever thread finishes first.
        with ThreadPoolExecutor(max_workers=FETCH_THREADS) as pool:
            list(pool.map(fetch_one, items))

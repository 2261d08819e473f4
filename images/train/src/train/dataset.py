"""The training data: `features` partitions in S3 -> Arrow tables -> XGBoost's numeric matrix.

Partitions are found through their manifests (never a folder listing), read with column projection,
checked against the contract's schema and given their `dt` taken from the key. In memory they are stacked
into one table; for external memory they are staged one by one on local disk and streamed to XGBoost in
batches (`stage_partitions`, `StagedBatches`). No pandas anywhere.
"""

import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import xgboost as xgb

from train import logs
from train.errors import DataCheckError, InputMissingError
from train.layout import manifest_key
from train.storage import Storage

FEATURES_TABLE = "features"

# The contract's `features` columns, in order, with their Glue type names (docs/s3-layout.md).
FEATURES_SCHEMA: tuple[tuple[str, str], ...] = (
    ("store_id", "string"),
    ("item_id", "string"),
    ("day_of_week", "bigint"),
    ("day_of_month", "bigint"),
    ("month", "bigint"),
    ("is_holiday", "boolean"),
    ("unit_price", "double"),
    ("on_promotion", "boolean"),
    ("price_ratio", "double"),
    ("lag_1", "double"),
    ("lag_7", "double"),
    ("lag_14", "double"),
    ("lag_28", "double"),
    ("mean_7", "double"),
    ("std_7", "double"),
    ("mean_28", "double"),
    ("std_28", "double"),
    ("units_sold", "bigint"),
)
KEY_COLUMNS = ("store_id", "item_id")
LABEL = "units_sold"
FEATURE_COLUMNS = tuple(name for name, _ in FEATURES_SCHEMA if name not in (*KEY_COLUMNS, LABEL))
DT_COLUMN = "dt"  # added on read from the partition key; not stored in the files
# The order of the rows handed to XGBoost, so that the same partitions give the same model however their
# rows were split into files.
ROW_ORDER = [(DT_COLUMN, "ascending"), ("store_id", "ascending"), ("item_id", "ascending")]
# Rows per batch streamed to XGBoost in external memory (about 120 MB as a float32 matrix): XGBoost caches
# one page per batch and reads every page at each tree level, so small partitions are gathered into large
# batches (a partition is never split: it is in memory whole anyway while it is read).
BATCH_ROWS = 2_000_000

_ARROW_TYPES = {"string": pa.string(), "bigint": pa.int64(), "double": pa.float64(), "boolean": pa.bool_()}
# The schema every partition is cast to after its check, so that partitions written with large_string or
# dictionary-encoded strings stack with the rest.
READ_SCHEMA = pa.schema([(name, _ARROW_TYPES[glue]) for name, glue in FEATURES_SCHEMA])


@dataclass(frozen=True)
class PartitionRead:
    """What one partition read was made of: the lineage record of the model."""

    dt: date
    manifest_key: str
    manifest_sha256: str
    run_id: str | None
    rows: int
    files: tuple[dict, ...]  # {"key", "rows"} of each data file, in manifest order
    inputs: tuple[dict, ...]  # the manifest's own `inputs`: what the partition was made from


@dataclass(frozen=True)
class Window:
    table: pa.Table  # the contract's columns plus `dt`, sorted by dt, store_id, item_id
    partitions: tuple[PartitionRead, ...]


def glue_type(arrow_type: pa.DataType) -> str:
    """The Glue type name an Arrow type stands for, or the Arrow name when it has none here."""
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if (
        pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_string_view(arrow_type)
    ):
        return "string"
    for glue, expected in _ARROW_TYPES.items():
        if arrow_type == expected:
            return glue
    if arrow_type == pa.date32():
        return "date"
    return str(arrow_type)


def check_schema(columns: list[tuple[str, str]], where: str) -> None:
    """Raises DataCheckError naming the first column whose name, position or type breaks the contract."""
    expected_names = [name for name, _ in FEATURES_SCHEMA]
    actual_names = [name for name, _ in columns]
    for position, (name, glue) in enumerate(FEATURES_SCHEMA):
        if name not in actual_names:
            raise DataCheckError(f"{where}: column '{name}' is missing")
        actual_position = actual_names.index(name)
        if actual_position != position:
            raise DataCheckError(
                f"{where}: column '{name}' is at position {actual_position + 1}, expected {position + 1}"
            )
        actual_type = columns[position][1]
        if actual_type != glue:
            raise DataCheckError(f"{where}: column '{name}' has type {actual_type}, expected {glue}")
    extra = [name for name in actual_names if name not in expected_names]
    if extra:
        raise DataCheckError(f"{where}: unexpected column '{extra[0]}'")


def describe_dates(dates: Iterable[date]) -> str:
    """`2026-03-01, 2026-03-04..2026-03-09`: consecutive dates folded into ranges, for one-line messages."""
    ranges: list[list[date]] = []
    for day in sorted(dates):
        if ranges and day - ranges[-1][1] == timedelta(days=1):
            ranges[-1][1] = day
        else:
            ranges.append([day, day])
    return ", ".join(f"{a}" if a == b else f"{a}..{b}" for a, b in ranges)


def parse_manifest(body: bytes, dt: date) -> PartitionRead:
    """What a `features` manifest commits, after checking its schema against the contract."""
    key = manifest_key(FEATURES_TABLE, dt)
    try:
        manifest = json.loads(body)
        schema = [(column["name"], column["type"]) for column in manifest["schema"]]
        files = tuple({"key": entry["key"], "rows": int(entry["rows"])} for entry in manifest["files"])
        inputs = tuple(manifest.get("inputs", []))
    except (ValueError, KeyError, TypeError) as failure:
        raise DataCheckError(f"manifest {key} is malformed: {failure!r}") from None
    check_schema(schema, f"manifest {key}")
    return PartitionRead(
        dt=dt,
        manifest_key=key,
        manifest_sha256=hashlib.sha256(body).hexdigest(),
        run_id=manifest.get("run_id"),
        rows=sum(entry["rows"] for entry in files),
        files=files,
        inputs=inputs,
    )


def _read_file(body: bytes, key: str) -> pa.Table:
    parquet = pq.ParquetFile(io.BytesIO(body))
    check_schema([(field.name, glue_type(field.type)) for field in parquet.schema_arrow], f"file {key}")
    # Column projection: only the contract's columns are decoded, whatever else a file may grow.
    return parquet.read(columns=list(READ_SCHEMA.names)).cast(READ_SCHEMA)


def _read_partition(storage: Storage, bucket: str, read: PartitionRead) -> pa.Table | None:
    """Exactly the files the manifest lists, with `dt`; None when one is gone (the partition was replaced)."""
    tables = []
    for entry in read.files:
        body = storage.get(bucket, entry["key"])
        if body is None:
            return None
        table = _read_file(body, entry["key"])
        if table.num_rows != entry["rows"]:
            raise DataCheckError(
                f"file {entry['key']} has {table.num_rows} rows, its manifest lists {entry['rows']}"
            )
        tables.append(table)
    table = pa.concat_tables(tables) if tables else READ_SCHEMA.empty_table()
    return table.append_column(DT_COLUMN, pa.array([read.dt] * table.num_rows, pa.date32()))


def read_manifests(storage: Storage, bucket: str, dates: list[date]) -> list[PartitionRead]:
    """The manifest of every partition of `dates`, checked, before any data file is read."""
    manifests = {dt: storage.get(bucket, manifest_key(FEATURES_TABLE, dt)) for dt in dates}
    missing = [dt for dt, body in manifests.items() if body is None]
    if missing:
        raise InputMissingError(
            f"{len(missing)} of the {len(dates)} features partitions of the training window "
            f"{dates[0]}..{dates[-1]} have no manifest in s3://{bucket}: dt={describe_dates(missing)}"
        )
    return [parse_manifest(body, dt) for dt, body in manifests.items()]


def iter_partitions(
    storage: Storage, bucket: str, reads: list[PartitionRead]
) -> Iterator[tuple[pa.Table, PartitionRead]]:
    """Each partition in turn, with what was actually read (a replaced partition is read anew)."""
    for number, read in enumerate(reads, start=1):
        table = _read_partition(storage, bucket, read)
        if table is None:
            # A run replaced the partition meanwhile: the contract says to read its manifest once more.
            body = storage.get(bucket, read.manifest_key)
            if body is None:
                raise InputMissingError(
                    f"features partition dt={read.dt} disappeared while it was being read"
                )
            read = parse_manifest(body, read.dt)
            table = _read_partition(storage, bucket, read)
            if table is None:
                raise InputMissingError(
                    f"features partition dt={read.dt} changed twice while it was being read"
                )
        logs.info(
            "partition_read",
            f"read features dt={read.dt}",
            progress=(number, len(reads)),
            dt=read.dt,
            rows=read.rows,
        )
        yield table, read


def read_window(storage: Storage, bucket: str, reads: list[PartitionRead]) -> Window:
    tables, partitions = [], []
    for table, read in iter_partitions(storage, bucket, reads):
        tables.append(table)
        partitions.append(read)
    return Window(table=pa.concat_tables(tables).sort_by(ROW_ORDER), partitions=tuple(partitions))


@dataclass(frozen=True)
class StagedWindow:
    """Partitions staged on local disk for external memory: their labelled rows, in ROW_ORDER."""

    files: tuple[Path, ...]  # one Parquet file per batch of at least BATCH_ROWS rows (or the rest)
    rows: int
    dropped: int  # rows without a label, not staged
    partitions: tuple[PartitionRead, ...]


def stage_partitions(storage: Storage, bucket: str, reads: list[PartitionRead], folder: Path) -> StagedWindow:
    """Reads and checks each partition once, writing its labelled rows to batch files in `folder`.

    XGBoost goes through the batches several times while it builds its matrix: a local copy means each
    partition is fetched and checked once, and every pass sees the same rows even if the partition is
    replaced in S3 meanwhile.
    """
    files: list[Path] = []
    pending: list[pa.Table] = []  # partitions of the batch being gathered

    def write_batch() -> None:
        path = folder / f"batch-{len(files):05d}.parquet"
        pq.write_table(pa.concat_tables(pending), path, compression="zstd")
        files.append(path)
        pending.clear()

    partitions, rows, dropped = [], 0, 0
    for table, read in iter_partitions(storage, bucket, reads):
        labelled, unlabelled = drop_unlabelled(table)
        partitions.append(read)
        rows, dropped = rows + labelled.num_rows, dropped + unlabelled
        if labelled.num_rows:
            pending.append(labelled.sort_by(ROW_ORDER).select([*FEATURE_COLUMNS, LABEL]))
        if sum(part.num_rows for part in pending) >= BATCH_ROWS:
            write_batch()
    if pending:
        write_batch()
    return StagedWindow(tuple(files), rows, dropped, tuple(partitions))


class StagedBatches(xgb.DataIter):
    """The staged batch files as XGBoost batches, always in the same order."""

    def __init__(self, files: tuple[Path, ...], cache_prefix: str):
        self._files = files
        self._position = 0
        super().__init__(cache_prefix=cache_prefix)

    def next(self, input_data) -> bool:
        if self._position == len(self._files):
            return False
        table = pq.read_table(self._files[self._position])
        input_data(
            data=to_matrix(table, FEATURE_COLUMNS),
            label=to_vector(table, LABEL),
            feature_names=list(FEATURE_COLUMNS),
        )
        self._position += 1
        return True

    def reset(self) -> None:
        self._position = 0


def drop_unlabelled(table: pa.Table) -> tuple[pa.Table, int]:
    """Rows whose label is known, and how many were dropped (the days whose sales are not in yet).

    Units sold cannot be negative (and count objectives refuse such labels): a negative label is a data error.
    """
    labelled = table.filter(pc.is_valid(table[LABEL]))
    negative = labelled.filter(pc.less(labelled[LABEL], 0))
    if negative.num_rows:
        raise DataCheckError(
            f"column '{LABEL}' has {negative.num_rows} negative values, the first on "
            f"dt={negative[DT_COLUMN][0]}"
        )
    return labelled, table.num_rows - labelled.num_rows


def to_matrix(table: pa.Table, columns: Iterable[str]) -> np.ndarray:
    """A float32 row-major matrix of `columns`: booleans become 0/1, nulls NaN (XGBoost's missing value).

    Filled chunk by chunk straight into the preallocated matrix, so no whole-column copy is made on the way.
    """
    columns = list(columns)
    matrix = np.empty((table.num_rows, len(columns)), dtype=np.float32)
    for position, name in enumerate(columns):
        start = 0
        for chunk in table[name].chunks:
            values = pc.cast(chunk, pa.float32()).to_numpy(zero_copy_only=False)
            matrix[start : start + len(values), position] = values
            start += len(values)
    return matrix


def to_vector(table: pa.Table, column: str) -> np.ndarray:
    """One column as float64 with nulls as NaN: labels and baseline predictions."""
    return pc.cast(table[column], pa.float64()).to_numpy()

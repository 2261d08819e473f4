"""The production engine: the SQL files run on Athena (engine v3) and come back as Arrow; and the Glue
partition registration that makes a published partition visible to Athena.

Why the engine works the way it does (the sources checked for each choice):
- Athena's own result files are CSV, which loses types; `UNLOAD (<query>) TO '<s3 prefix>' WITH (format =
  'PARQUET', compression = 'ZSTD')` writes Parquet instead, so bigint, double, boolean and date survive.
  UNLOAD writes PARQUET, ORC, AVRO, JSON or TEXTFILE (https://docs.aws.amazon.com/athena/latest/ug/unload.html).
  ZSTD Parquet is written by engine v3, whose UNLOAD also takes a ZSTD `compression_level`
  (https://docs.aws.amazon.com/athena/latest/ug/compression-support-zstd-levels.html); the older guide
  listed only gzip and snappy for Parquet, so the workgroup must stay on engine v3 (the catalog pins it).
- "The TO destination must specify a location in Amazon S3 that has no data": UNLOAD checks that the prefix
  is empty and never overwrites (unload.html). So every query gets a fresh prefix
  `{staging}/{layer}-{table}/{token}/`, the token a random uuid that is also the query's ClientRequestToken
  (a retried start cannot run the query twice).
- UNLOAD writes several files in parallel, each sorted but not sorted relative to each other (unload.html),
  and names them without a `.parquet` suffix (aws/aws-sdk#745). So every non-empty object under the prefix
  is read, in key order; the caller orders rows by the table key anyway (pipeline.split_by_dt).
- "Orphaned data not deleted": after a failure Athena leaves what it wrote (unload.html), so the prefix is
  emptied whatever the outcome. The query's metadata and manifest files go to the workgroup's result
  location, whose lifecycle rule expires them.
- No `partitioned_by`: UNLOAD allows at most 100 partitions (unload.html). The engine returns one table and
  the pipeline splits it by `dt`, so no backfill window is bounded by that limit.

Failures: a query that FAILED with an error Athena marks `Retryable` ("True if the query might succeed if
resubmitted", AthenaError in botocore's athena model: throttling or an internal error inside the query) is
started again, with a new token and prefix, up to QUERY_ATTEMPTS times in all. Any other FAILED or CANCELLED
query, or one still running at the timeout (then stopped, so it scans no more), raises QueryFailed, exit 1,
naming the SQL file, the query id, Athena's StateChangeReason and error category.
Not exit 3: the SQL turns every defect of the data into rows (try_cast, quarantine rules), so a
query that fails is a bug in a SQL file, a permission or catalog problem or Athena trouble, never a verdict
on the data; exit 3 keeps the meaning docs/cli.md gives it, "data failed its checks".

Partitions are registered in Glue, not projected: the contract's `run={run_id}/` folders move a partition's
location at every publish, and BatchCreatePartition/BatchUpdatePartition to `.../dt=X/run=R/` is the atomic
switch for Athena readers (the manifest is the switch for direct readers). Each call takes at most 100
partitions (PartitionInputList and Entries have max 100 in botocore's glue model; "a list of up to 100
BatchUpdatePartitionRequestEntry objects", https://docs.aws.amazon.com/glue/latest/webapi/API_BatchUpdatePartition.html),
so larger sets go in chunks of 100. A partition's storage descriptor is copied from its Glue table, so its
format, SerDe and columns are the ones Terraform declares, for lake CSV and warehouse Parquet alike.
"""

import copy
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import sqlglot
from botocore.exceptions import ClientError
from sqlglot import exp

from preprocess import logs
from preprocess.engine import PARTITIONED_SCHEMAS, SqlError, SqlParam, render
from preprocess.errors import ConfigError, PreprocessError

UNLOAD_OPTIONS = "WITH (format = 'PARQUET', compression = 'ZSTD')"
QUERY_ATTEMPTS = 3  # starts of a query whose failures Athena marks retryable
GLUE_BATCH_LIMIT = 100
_S3_URI = re.compile(r"^s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(/.*)?$")
_GLUE_NAME = re.compile(r"^[a-z0-9_]{1,255}$")
# AthenaError.ErrorCategory (botocore's athena model): 1 system, 2 user, 3 other.
_ERROR_CATEGORIES = {1: "system error", 2: "user error", 3: "other error"}


class QueryFailed(PreprocessError):
    """An Athena query ended FAILED or CANCELLED, or was stopped at the timeout."""

    exit_code = 1

    def __init__(
        self, sql_name: str, query_id: str, state: str, reason: str, retryable: bool = False
    ) -> None:
        self.sql_name, self.query_id, self.state, self.reason = sql_name, query_id, state, reason
        self.retryable = retryable
        super().__init__(f"athena query {query_id} ({sql_name}.sql) {state}: {reason}")


class PartitionRegistrationFailed(PreprocessError):
    """Glue refused a partition for another reason than that it exists already."""

    exit_code = 1


# -- statements ----------------------------------------------------------------------------------------------


def glue_databases(prefix: str) -> dict[str, str]:
    """The Glue database of each layer the SQL reads, named as terraform/modules/catalog names them."""
    return {layer: f"{prefix}_{layer}" for layer in PARTITIONED_SCHEMAS}


def qualify(sql: str, databases: Mapping[str, str]) -> str:
    """The SQL with each `lake.`/`warehouse.`/`mart.` table schema replaced by its Glue database; every other
    character stays as the file has it, so the text Athena runs is the text the embedded engine transpiles."""
    spans = []
    for table in sqlglot.parse_one(sql, read="trino").find_all(exp.Table):
        if table.db not in databases:
            continue
        meta = table.args["db"].meta
        if "start" not in meta:
            raise SqlError(f"cannot locate the schema of {table.db}.{table.name} in the SQL text")
        spans.append((meta["start"], meta["end"] + 1, databases[table.db]))
    for start, end, database in sorted(spans, reverse=True):
        sql = f'{sql[:start]}"{database}"{sql[end:]}'
    return sql


def unload_statement(sql: str, target_uri: str) -> str:
    """The query as a FROM subquery: Trino admits a WITH clause there but not in a parenthesised query term
    (`mismatched input 'WITH'`, Dandandan/dbt-athena#16), and the SQL files start with WITH."""
    return f"UNLOAD (SELECT * FROM (\n{sql.strip().rstrip(';')}\n)) TO '{target_uri}' {UNLOAD_OPTIONS}"


def result_columns(sql: str) -> list[str]:
    """The names the query's outer SELECT gives its columns, in order."""
    return sqlglot.parse_one(sql, read="trino").named_selects


def split_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` -> (`bucket`, `some/prefix/`); the prefix is empty or ends with `/`."""
    match = _S3_URI.match(uri)
    if not match:
        raise ConfigError(f"{uri!r} is not an s3://bucket/prefix URI")
    prefix = (match[2] or "").strip("/")
    return match[1], f"{prefix}/" if prefix else ""


def staging_uri_of_workgroup(athena_client, workgroup: str) -> str:
    """`{the workgroup's result location}/unload/`: UNLOAD output lives with the query results, in the bucket
    the contract reserves for Athena, and expires with them should a cleanup ever be missed."""
    found = athena_client.get_work_group(WorkGroup=workgroup)["WorkGroup"]
    location = found.get("Configuration", {}).get("ResultConfiguration", {}).get("OutputLocation")
    if not location:
        raise ConfigError(f"athena workgroup {workgroup} has no query result location")
    return f"{location.rstrip('/')}/unload/"


def _one_line(text: str) -> str:
    return " ".join(text.split())


# -- the engine ----------------------------------------------------------------------------------------------


class AthenaEngine:
    """Runs a SQL file as an UNLOAD in the workgroup, waits for it with capped exponential backoff, and
    returns the Parquet it wrote as one Arrow table (the columns the SQL selects, in its order), deleting the
    staged files. Holds no state between runs, so threads may share it (boto3 clients are thread-safe)."""

    def __init__(
        self,
        athena_client,
        s3_client,
        workgroup: str,
        staging_uri: str,
        databases: Mapping[str, str],
        *,
        first_poll_delay: float = 0.5,
        max_poll_delay: float = 5.0,
        timeout: float = 1800.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        new_token: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        bad = sorted(name for name in databases.values() if not _GLUE_NAME.match(name))
        if set(databases) != set(PARTITIONED_SCHEMAS) or bad:
            layers = sorted(PARTITIONED_SCHEMAS)
            raise ConfigError(f"Glue databases must be lowercase names for {layers}, got {dict(databases)}")
        self._athena, self._s3 = athena_client, s3_client
        self._workgroup = workgroup
        self._staging_bucket, self._staging_prefix = split_s3_uri(staging_uri)
        self._databases = dict(databases)
        self._first_poll_delay, self._max_poll_delay = first_poll_delay, max_poll_delay
        self._timeout = timeout
        self._sleep, self._clock, self._new_token = sleep, clock, new_token

    def statement(self, sql_name: str, params: Mapping[str, SqlParam], token: str) -> str:
        """The exact UNLOAD text the query with this token runs (also what a dry run can print)."""
        return unload_statement(self._sql(sql_name, params), self._target_uri(sql_name, token))

    def run(self, sql_name: str, params: Mapping[str, SqlParam]) -> pa.Table:
        sql, attempt = self._sql(sql_name, params), 1
        while True:
            try:
                return self._run_once(sql_name, sql)
            except QueryFailed as failure:
                if not failure.retryable or attempt == QUERY_ATTEMPTS:
                    raise
                attempt += 1
                logs.warning(
                    "athena_query_retried",
                    f"{failure}; starting it again [{attempt}/{QUERY_ATTEMPTS}]",
                    query_id=failure.query_id,
                )
                self._sleep(self._first_poll_delay * 2 ** (attempt - 1))

    def _run_once(self, sql_name: str, sql: str) -> pa.Table:
        token = self._new_token()  # a new token: the same token would return the failed query again
        prefix = self._target_prefix(sql_name, token)
        try:
            query_id = self._athena.start_query_execution(
                QueryString=unload_statement(sql, self._target_uri(sql_name, token)),
                ClientRequestToken=token,
                WorkGroup=self._workgroup,
            )["QueryExecutionId"]
            logs.info("athena_query_started", f"{sql_name}: athena query {query_id}", query_id=query_id)
            scanned = self._wait(sql_name, query_id)
            result = self._read(prefix, sql)
            logs.info(
                "athena_query_done",
                f"{sql_name}: {result.num_rows} rows, {scanned} bytes scanned",
                query_id=query_id,
                rows=result.num_rows,
                bytes_scanned=scanned,
            )
            return result
        finally:
            self._delete(prefix)

    def _sql(self, sql_name: str, params: Mapping[str, SqlParam]) -> str:
        return qualify(render(sql_name, params), self._databases)

    def _target_uri(self, sql_name: str, token: str) -> str:
        return f"s3://{self._staging_bucket}/{self._target_prefix(sql_name, token)}"

    def _target_prefix(self, sql_name: str, token: str) -> str:
        return f"{self._staging_prefix}{sql_name.replace('/', '-')}/{token}/"

    def _wait(self, sql_name: str, query_id: str) -> int:
        """Polls until the query ends; returns the bytes it scanned."""
        deadline = self._clock() + self._timeout
        delay = self._first_poll_delay
        while True:
            execution = self._athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
            status = execution["Status"]
            state = status["State"]
            if state == "SUCCEEDED":
                return execution.get("Statistics", {}).get("DataScannedInBytes", 0)
            if state in ("FAILED", "CANCELLED"):
                retryable = state == "FAILED" and status.get("AthenaError", {}).get("Retryable", False)
                raise QueryFailed(sql_name, query_id, state.lower(), _failure_reason(status), retryable)
            remaining = deadline - self._clock()
            if remaining <= 0:
                self._athena.stop_query_execution(QueryExecutionId=query_id)
                raise QueryFailed(
                    sql_name, query_id, "timed out", f"still {state} after {self._timeout:g} s; stopped it"
                )
            self._sleep(min(delay, remaining))
            delay = min(delay * 2, self._max_poll_delay)

    def _keys(self, prefix: str) -> list[dict]:
        pages = self._s3.get_paginator("list_objects_v2").paginate(Bucket=self._staging_bucket, Prefix=prefix)
        return [obj for page in pages for obj in page.get("Contents", [])]

    def _read(self, prefix: str, sql: str) -> pa.Table:
        """Every file UNLOAD wrote, concatenated. A query without rows may write no file at all: its result is
        then an empty table with the SQL's column names (typed null, which casts to any type)."""
        keys = sorted(
            obj["Key"] for obj in self._keys(prefix) if obj["Size"] > 0 and not obj["Key"].endswith("/")
        )
        if not keys:
            return pa.table({name: pa.nulls(0) for name in result_columns(sql)})
        bodies = [self._s3.get_object(Bucket=self._staging_bucket, Key=key)["Body"].read() for key in keys]
        parts = [pq.read_table(pa.BufferReader(body)) for body in bodies]
        return pa.concat_tables(parts, promote_options="default")

    def _delete(self, prefix: str) -> None:
        """Best effort: the result bucket's lifecycle expires what is left, and a failure here must not hide
        the query's own outcome."""
        try:
            keys = [obj["Key"] for obj in self._keys(prefix)]
            for start in range(0, len(keys), 1000):
                batch = [{"Key": key} for key in keys[start : start + 1000]]
                self._s3.delete_objects(Bucket=self._staging_bucket, Delete={"Objects": batch, "Quiet": True})
        except ClientError as error:
            uri = f"s3://{self._staging_bucket}/{prefix}"
            logs.warning("athena_staging_left", f"could not delete {uri}: {error}", uri=uri)


def _failure_reason(status: dict) -> str:
    reason = _one_line(status.get("StateChangeReason", "")) or "no reason given"
    error = status.get("AthenaError", {})
    details = [_ERROR_CATEGORIES.get(error.get("ErrorCategory"), "")]
    if "ErrorType" in error:
        details.append(f"type {error['ErrorType']}")
    details = [detail for detail in details if detail]
    return f"{reason} ({', '.join(details)})" if details else reason


# -- partitions ----------------------------------------------------------------------------------------------


class PartitionRegistry:
    """The project's Glue databases (layer -> database): `register` makes lake landing folders and published
    run folders visible to Athena (pipeline.Registry)."""

    def __init__(self, glue_client, databases: Mapping[str, str]) -> None:
        self._glue = glue_client
        self._databases = dict(databases)

    def register(self, layer: str, table: str, locations: Mapping[date, str]) -> None:
        register_partitions(self._glue, self._databases[layer], table, locations)


def register_partition(glue_client, database: str, table: str, dt: date, location: str) -> None:
    """Creates partition `dt` of a Glue table at `location`, or points the existing one there."""
    register_partitions(glue_client, database, table, {dt: location})


def register_partitions(glue_client, database: str, table: str, locations: Mapping[date, str]) -> None:
    """Creates or re-points every partition `{dt: location}`, at most 100 per Glue call."""
    if not locations:
        return
    descriptor = glue_client.get_table(DatabaseName=database, Name=table)["Table"]["StorageDescriptor"]
    inputs = {dt.isoformat(): _partition_input(descriptor, dt, where) for dt, where in locations.items()}
    existing = []
    for chunk in _chunks(sorted(inputs)):
        response = glue_client.batch_create_partition(
            DatabaseName=database, TableName=table, PartitionInputList=[inputs[value] for value in chunk]
        )
        for error in response.get("Errors", []):
            value = error["PartitionValues"][0]
            if error["ErrorDetail"].get("ErrorCode") != "AlreadyExistsException":
                raise _refused(database, table, value, error)
            existing.append(value)
    for chunk in _chunks(sorted(existing)):
        response = glue_client.batch_update_partition(
            DatabaseName=database,
            TableName=table,
            Entries=[{"PartitionValueList": [value], "PartitionInput": inputs[value]} for value in chunk],
        )
        for error in response.get("Errors", []):
            raise _refused(database, table, error["PartitionValueList"][0], error)
    logs.info(
        "partitions_registered",
        f"{database}.{table}: {len(inputs) - len(existing)} partitions created, {len(existing)} re-pointed",
        table=f"{database}.{table}",
        partitions=len(inputs),
    )


def _partition_input(table_descriptor: dict, dt: date, location: str) -> dict:
    descriptor = copy.deepcopy(table_descriptor)
    descriptor["Location"] = location
    return {"Values": [dt.isoformat()], "StorageDescriptor": descriptor}


def _chunks(values: Sequence[str]) -> list[Sequence[str]]:
    return [values[start : start + GLUE_BATCH_LIMIT] for start in range(0, len(values), GLUE_BATCH_LIMIT)]


def _refused(database: str, table: str, value: str, error: dict) -> PartitionRegistrationFailed:
    detail = error.get("ErrorDetail", {})
    return PartitionRegistrationFailed(
        f"glue refused partition dt={value} of {database}.{table}: "
        f"{detail.get('ErrorCode', 'error')}: {_one_line(detail.get('ErrorMessage', ''))}"
    )

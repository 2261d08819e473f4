"""The Athena engine and the Glue partition registration. Athena is a botocore Stubber (moto's Athena runs no
SQL and writes no UNLOAD output), with the files Athena would write put into moto's S3 when the query starts;
Glue is moto's."""

import io
import re
from datetime import date, timedelta

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlglot
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from preprocess.athena import (
    AthenaEngine,
    PartitionRegistrationFailed,
    QueryFailed,
    glue_databases,
    qualify,
    register_partition,
    register_partitions,
    split_s3_uri,
    staging_uri_of_workgroup,
)
from preprocess.engine import PARTITIONED_SCHEMAS, placeholders, render, sql_names, sql_text
from preprocess.errors import ConfigError
from sqlglot import exp

RESULTS = "test-athena-results"
STAGING = f"s3://{RESULTS}/unload"
WORKGROUP = "batchml-test"
DATABASES = glue_databases("batchml_test")
TOKEN = "0123456789abcdef0123456789abcdef"
QUERY_ID = "11111111-2222-3333-4444-555555555555"
DAY = date(2026, 3, 1)


def sample_params(sql_name: str) -> dict:
    """One date for every parameter: a date literal, or a one-element list of them."""
    return dict.fromkeys(placeholders(sql_text(sql_name)), DAY)


SALES_PARAMS = sample_params("warehouse/sales")


def sales_rows(store_ids: list[str]) -> pa.Table:
    return pa.table(
        {
            "dt": pa.array([DAY] * len(store_ids), pa.date32()),
            "store_id": store_ids,
            "item_id": ["I001"] * len(store_ids),
            "units_sold": pa.array(range(len(store_ids)), pa.int64()),
        }
    )


def parquet_bytes(rows: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(rows, buffer, compression="zstd")
    return buffer.getvalue()


class FakeUnloadOutput:
    """Writes the given tables under the UNLOAD target when the query is started, named the way Athena names
    them (query id, a number, no suffix); records every statement started."""

    def __init__(self, s3, athena, parts: list[pa.Table]) -> None:
        self.s3, self.parts, self.statements = s3, parts, []
        athena.meta.events.register("provide-client-params.athena.StartQueryExecution", self.write)

    def write(self, params, **kwargs) -> None:
        self.statements.append(params["QueryString"])
        bucket, prefix = split_s3_uri(re.search(r"\) TO '([^']+)'", params["QueryString"])[1])
        for number, rows in enumerate(self.parts):
            key = f"{prefix}20260301_020000_00042_abcde_{number}_{QUERY_ID}"
            self.s3.put_object(Bucket=bucket, Key=key, Body=parquet_bytes(rows))


class FakeClock:
    """A clock that only the engine's sleeps move; records each sleep."""

    def __init__(self) -> None:
        self.now, self.sleeps = 0.0, []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def time(self) -> float:
        return self.now


@pytest.fixture
def athena(s3):
    s3.create_bucket(Bucket=RESULTS)
    client = boto3.client("athena")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def make_engine(athena_client, s3, clock: FakeClock, **overrides) -> AthenaEngine:
    options = {"first_poll_delay": 0.5, "max_poll_delay": 4.0, "timeout": 600.0} | overrides
    return AthenaEngine(
        athena_client,
        s3,
        WORKGROUP,
        STAGING,
        DATABASES,
        sleep=clock.sleep,
        clock=clock.time,
        new_token=lambda: TOKEN,
        **options,
    )


def expect_start(stubber: Stubber, statement: str) -> None:
    stubber.add_response(
        "start_query_execution",
        {"QueryExecutionId": QUERY_ID},
        {"QueryString": statement, "ClientRequestToken": TOKEN, "WorkGroup": WORKGROUP},
    )


def expect_poll(stubber: Stubber, state: str, **status) -> None:
    execution = {"QueryExecutionId": QUERY_ID, "Status": {"State": state, **status}}
    if state == "SUCCEEDED":
        execution["Statistics"] = {"DataScannedInBytes": 4096}
    stubber.add_response("get_query_execution", {"QueryExecution": execution}, {"QueryExecutionId": QUERY_ID})


def staged_keys(s3) -> list[str]:
    return [obj["Key"] for obj in s3.list_objects_v2(Bucket=RESULTS).get("Contents", [])]


# -- statements ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sql_name", sql_names())
def test_qualify_points_every_partitioned_table_at_its_glue_database_and_changes_nothing_else(sql_name):
    rendered = render(sql_name, sample_params(sql_name))
    qualified = qualify(rendered, DATABASES)

    tables = list(sqlglot.parse_one(qualified, read="trino").find_all(exp.Table))
    assert not [t for t in tables if t.db in PARTITIONED_SCHEMAS]
    assert {t.db for t in tables if t.db} <= set(DATABASES.values())
    unqualified = qualified
    for layer, database in DATABASES.items():
        unqualified = unqualified.replace(f'"{database}"', layer)
    assert unqualified == rendered


def test_qualify_replaces_a_quoted_schema_whole():
    sql = (
        """SELECT "$path" FROM "lake".sales AS s JOIN warehouse.items ON TRUE WHERE dt = DATE '2026-03-01'"""
    )

    assert qualify(sql, DATABASES) == (
        """SELECT "$path" FROM "batchml_test_lake".sales AS s JOIN "batchml_test_warehouse".items ON TRUE"""
        """ WHERE dt = DATE '2026-03-01'"""
    )


def test_the_statement_unloads_the_qualified_sql_as_zstd_parquet_to_a_prefix_of_its_own(s3):
    engine = AthenaEngine(boto3.client("athena"), s3, WORKGROUP, STAGING + "/", DATABASES)
    sql = qualify(render("warehouse/sales", SALES_PARAMS), DATABASES)

    statement = engine.statement("warehouse/sales", SALES_PARAMS, TOKEN)

    assert statement == (
        f"UNLOAD (SELECT * FROM (\n{sql.strip()}\n)) TO 's3://{RESULTS}/unload/warehouse-sales/{TOKEN}/' "
        "WITH (format = 'PARQUET', compression = 'ZSTD')"
    )
    assert "FROM lake.sales" not in statement
    assert '"batchml_test_lake".sales' in statement
    inner = sqlglot.parse_one(statement[len("UNLOAD (") : statement.rindex(") TO '")], read="trino")
    assert inner.named_selects == ["*"] and inner.find(exp.With) is not None  # the file's WITH, in a subquery


def test_the_engine_refuses_a_bad_staging_uri_or_incomplete_databases(s3):
    client = boto3.client("athena")
    with pytest.raises(ConfigError, match="not an s3://"):
        AthenaEngine(client, s3, WORKGROUP, "results-bucket/unload", DATABASES)
    with pytest.raises(ConfigError, match="Glue databases"):
        AthenaEngine(client, s3, WORKGROUP, STAGING, {"lake": "x_lake", "warehouse": "x_warehouse"})
    with pytest.raises(ConfigError, match="Glue databases"):
        AthenaEngine(client, s3, WORKGROUP, STAGING, DATABASES | {"mart": "Bad-Name"})


def test_split_s3_uri_gives_a_prefix_that_is_empty_or_ends_with_a_slash():
    assert split_s3_uri("s3://bucket") == ("bucket", "")
    assert split_s3_uri("s3://bucket/") == ("bucket", "")
    assert split_s3_uri("s3://bucket/a/b") == ("bucket", "a/b/")


# -- the query's life ----------------------------------------------------------------------------------------


def test_a_query_is_polled_with_capped_backoff_and_its_files_are_read_in_order_then_deleted(s3, athena):
    client, stubber = athena
    clock = FakeClock()
    engine = make_engine(client, s3, clock)
    writes = FakeUnloadOutput(s3, client, [sales_rows(["S01", "S02"]), sales_rows(["S03"])])
    expect_start(stubber, engine.statement("warehouse/sales", SALES_PARAMS, TOKEN))
    expect_poll(stubber, "QUEUED")
    for _ in range(5):
        expect_poll(stubber, "RUNNING")
    expect_poll(stubber, "SUCCEEDED")

    result = engine.run("warehouse/sales", SALES_PARAMS)

    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert (
        result.to_pylist() == pa.concat_tables([sales_rows(["S01", "S02"]), sales_rows(["S03"])]).to_pylist()
    )
    assert len(writes.statements) == 1
    assert staged_keys(s3) == []


def test_a_query_that_writes_no_file_returns_an_empty_table_with_the_sql_columns(s3, athena):
    client, stubber = athena
    engine = make_engine(client, s3, FakeClock())
    FakeUnloadOutput(s3, client, [])
    expect_start(stubber, engine.statement("warehouse/sales", SALES_PARAMS, TOKEN))
    expect_poll(stubber, "SUCCEEDED")

    result = engine.run("warehouse/sales", SALES_PARAMS)

    columns = sqlglot.parse_one(render("warehouse/sales", SALES_PARAMS), read="trino").named_selects
    assert result.num_rows == 0
    assert result.schema.names == columns
    assert "dt" in columns and "units_sold" in columns
    typed = pa.schema([(name, pa.date32() if name == "dt" else pa.string()) for name in columns])
    assert result.cast(typed).schema == typed  # what the pipeline does with every result


def test_a_failed_query_raises_with_its_id_and_reason_and_its_orphaned_files_are_deleted(s3, athena):
    client, stubber = athena
    engine = make_engine(client, s3, FakeClock())
    FakeUnloadOutput(s3, client, [sales_rows(["S01"])])  # what a failing UNLOAD may leave behind
    expect_start(stubber, engine.statement("warehouse/sales", SALES_PARAMS, TOKEN))
    expect_poll(stubber, "RUNNING")
    reason = "line 7:9: Column 'units' cannot be resolved\n"
    expect_poll(
        stubber, "FAILED", StateChangeReason=reason, AthenaError={"ErrorCategory": 2, "ErrorType": 1006}
    )

    with pytest.raises(QueryFailed) as failed:
        engine.run("warehouse/sales", SALES_PARAMS)

    assert failed.value.exit_code == 1
    assert failed.value.query_id == QUERY_ID
    assert str(failed.value) == (
        f"athena query {QUERY_ID} (warehouse/sales.sql) failed: "
        "line 7:9: Column 'units' cannot be resolved (user error, type 1006)"
    )
    assert staged_keys(s3) == []


def test_a_cleanup_that_fails_does_not_hide_the_query_s_own_failure(s3, athena):
    client, stubber = athena
    engine = make_engine(client, s3, FakeClock())
    FakeUnloadOutput(s3, client, [sales_rows(["S01"])])

    def deny(**kwargs):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "denied"}}, "DeleteObjects")

    s3.meta.events.register("before-call.s3.DeleteObjects", deny)
    expect_start(stubber, engine.statement("warehouse/sales", SALES_PARAMS, TOKEN))
    expect_poll(stubber, "FAILED", StateChangeReason="Query exhausted resources at this scale factor")

    with pytest.raises(QueryFailed, match="exhausted resources"):
        engine.run("warehouse/sales", SALES_PARAMS)

    assert len(staged_keys(s3)) == 1  # left for the result bucket's lifecycle rule


def test_a_cancelled_query_raises_with_athena_s_reason(s3, athena):
    client, stubber = athena
    engine = make_engine(client, s3, FakeClock())
    expect_start(stubber, engine.statement("warehouse/sales", SALES_PARAMS, TOKEN))
    expect_poll(stubber, "CANCELLED", StateChangeReason="Query cancelled by user")

    with pytest.raises(QueryFailed, match=f"{QUERY_ID} .* cancelled: Query cancelled by user$") as failed:
        engine.run("warehouse/sales", SALES_PARAMS)

    assert failed.value.state == "cancelled"


def test_a_query_still_running_at_the_timeout_is_stopped_and_raises(s3, athena):
    client, stubber = athena
    clock = FakeClock()
    engine = make_engine(client, s3, clock, first_poll_delay=1.0, max_poll_delay=4.0, timeout=10.0)
    expect_start(stubber, engine.statement("warehouse/sales", SALES_PARAMS, TOKEN))
    for _ in range(5):
        expect_poll(stubber, "RUNNING")
    stubber.add_response("stop_query_execution", {}, {"QueryExecutionId": QUERY_ID})

    with pytest.raises(QueryFailed, match="timed out: still RUNNING after 10 s; stopped it") as failed:
        engine.run("warehouse/sales", SALES_PARAMS)

    assert clock.sleeps == [1.0, 2.0, 4.0, 3.0]  # the last sleep ends at the deadline, not past it
    assert failed.value.query_id == QUERY_ID


def test_the_staging_location_is_the_workgroup_s_result_location():
    client = boto3.client("athena", region_name="us-east-1")
    with Stubber(client) as stubber:
        configured = {"ResultConfiguration": {"OutputLocation": f"s3://{RESULTS}/"}}
        stubber.add_response(
            "get_work_group",
            {"WorkGroup": {"Name": WORKGROUP, "Configuration": configured}},
            {"WorkGroup": WORKGROUP},
        )
        stubber.add_response("get_work_group", {"WorkGroup": {"Name": "bare"}}, {"WorkGroup": "bare"})

        assert staging_uri_of_workgroup(client, WORKGROUP) == f"s3://{RESULTS}/unload/"
        with pytest.raises(ConfigError, match="bare has no query result location"):
            staging_uri_of_workgroup(client, "bare")


# -- partitions ----------------------------------------------------------------------------------------------

PARQUET_DESCRIPTOR = {
    "Columns": [{"Name": "store_id", "Type": "string"}, {"Name": "units_sold", "Type": "bigint"}],
    "Location": "s3://test-warehouse/sales/",
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {
        "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
        "Parameters": {"serialization.format": "1"},
    },
}


@pytest.fixture
def glue(s3):
    client = boto3.client("glue")
    client.create_database(DatabaseInput={"Name": DATABASES["warehouse"]})
    client.create_table(
        DatabaseName=DATABASES["warehouse"],
        TableInput={
            "Name": "sales",
            "TableType": "EXTERNAL_TABLE",
            "StorageDescriptor": PARQUET_DESCRIPTOR,
            "PartitionKeys": [{"Name": "dt", "Type": "date"}],
        },
    )
    return client


def run_location(dt: date, run_id: str) -> str:
    return f"s3://test-warehouse/sales/dt={dt}/run={run_id}/"


def partitions(glue) -> dict[str, dict]:
    pages = glue.get_paginator("get_partitions").paginate(
        DatabaseName=DATABASES["warehouse"], TableName="sales"
    )
    return {p["Values"][0]: p["StorageDescriptor"] for page in pages for p in page["Partitions"]}


def count_glue_calls(glue) -> dict[str, list[int]]:
    """The number of partitions in each batch call, by operation."""
    calls = {"BatchCreatePartition": [], "BatchUpdatePartition": []}

    def record(params, model, **kwargs):
        entries = params.get("PartitionInputList", params.get("Entries"))
        calls[model.name].append(len(entries))

    for operation in calls:
        glue.meta.events.register(f"provide-client-params.glue.{operation}", record)
    return calls


def test_a_partition_is_created_then_pointed_at_the_new_run_folder(glue):
    register_partition(glue, DATABASES["warehouse"], "sales", DAY, run_location(DAY, "run-a"))
    assert partitions(glue) == {"2026-03-01": PARQUET_DESCRIPTOR | {"Location": run_location(DAY, "run-a")}}

    register_partition(glue, DATABASES["warehouse"], "sales", DAY, run_location(DAY, "run-b"))
    assert partitions(glue) == {"2026-03-01": PARQUET_DESCRIPTOR | {"Location": run_location(DAY, "run-b")}}


def test_many_partitions_are_registered_at_most_100_per_glue_call(glue):
    days = [DAY + timedelta(days=n) for n in range(250)]
    calls = count_glue_calls(glue)

    register_partitions(glue, DATABASES["warehouse"], "sales", {d: run_location(d, "run-a") for d in days})
    assert calls == {"BatchCreatePartition": [100, 100, 50], "BatchUpdatePartition": []}

    some_new = {d: run_location(d, "run-b") for d in days[::2]} | {DAY - timedelta(days=1): "s3://x/new/"}
    register_partitions(glue, DATABASES["warehouse"], "sales", some_new)
    assert calls == {"BatchCreatePartition": [100, 100, 50, 100, 26], "BatchUpdatePartition": [100, 25]}

    locations = {dt: descriptor["Location"] for dt, descriptor in partitions(glue).items()}
    assert len(locations) == 251
    assert locations[str(days[0])] == run_location(days[0], "run-b")
    assert locations[str(days[1])] == run_location(days[1], "run-a")
    assert locations[str(DAY - timedelta(days=1))] == "s3://x/new/"


def test_glue_refusing_a_partition_for_another_reason_raises():
    client = boto3.client("glue", region_name="us-east-1")
    with Stubber(client) as stubber:
        stubber.add_response(
            "get_table", {"Table": {"Name": "sales", "StorageDescriptor": PARQUET_DESCRIPTOR}}
        )
        refused = {
            "ErrorCode": "ResourceNumberLimitExceededException",
            "ErrorMessage": "too\nmany partitions",
        }
        stubber.add_response(
            "batch_create_partition",
            {"Errors": [{"PartitionValues": ["2026-03-01"], "ErrorDetail": refused}]},
        )

        with pytest.raises(PartitionRegistrationFailed) as failed:
            register_partition(client, "db", "sales", DAY, run_location(DAY, "run-a"))

    assert str(failed.value) == (
        "glue refused partition dt=2026-03-01 of db.sales: "
        "ResourceNumberLimitExceededException: too many partitions"
    )

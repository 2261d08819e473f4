"""The predictions partition registered in Glue after the commit (docs/s3-layout.md, "Publishing" step 3),
against moto's Glue with the mart database and predictions table terraform/modules/catalog creates."""

import boto3
import pytest
from botocore.exceptions import ClientError
from infer import pipeline
from infer.config import InferConfig
from infer.glue import RegistrationRefused
from infer.layout import data_key, manifest_key

V1 = "20260228T020000Z-00000001"
PREFIX = "batchml_test"
DATABASE = "batchml_test_mart"
COLUMNS = [
    {"Name": "store_id", "Type": "string"},
    {"Name": "item_id", "Type": "string"},
    {"Name": "prediction", "Type": "double"},
    {"Name": "model_version", "Type": "string"},
    {"Name": "run_id", "Type": "string"},
]


@pytest.fixture
def glue(world):
    """The mart database and its predictions table as terraform/modules/catalog declares them."""
    client = boto3.client("glue")
    client.create_database(DatabaseInput={"Name": DATABASE, "LocationUri": f"s3://{world.mart}/"})
    client.create_table(
        DatabaseName=DATABASE,
        TableInput={
            "Name": "predictions",
            "TableType": "EXTERNAL_TABLE",
            "PartitionKeys": [{"Name": "dt", "Type": "date"}],
            "StorageDescriptor": {
                "Columns": COLUMNS,
                "Location": f"s3://{world.mart}/predictions/",
                "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                "SerdeInfo": {
                    "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
                },
            },
        },
    )
    return client


@pytest.fixture
def committed_inputs(world, features_table):
    world.put_model(V1)
    world.put_features(world.target, features_table)


def committed_run_folder(world) -> str:
    run_id = world.get_json(world.mart, manifest_key("predictions", world.target))["run_id"]
    return f"s3://{world.mart}/predictions/dt=2026-03-02/run={run_id}/"


def partitions(glue) -> dict[str, dict]:
    listed = glue.get_partitions(DatabaseName=DATABASE, TableName="predictions")["Partitions"]
    return {partition["Values"][0]: partition["StorageDescriptor"] for partition in listed}


def test_the_partition_is_created_at_the_committed_run_folder(world, glue, committed_inputs, run_infer):
    result = run_infer(GLUE_DATABASE_PREFIX=PREFIX)

    assert result.code == 0, result.stderr
    registered = partitions(glue)
    assert list(registered) == ["2026-03-02"]
    descriptor = registered["2026-03-02"]
    assert descriptor["Location"] == committed_run_folder(world)
    assert descriptor["Columns"] == COLUMNS
    assert descriptor["SerdeInfo"]["SerializationLibrary"].endswith("ParquetHiveSerDe")
    [logged] = [entry for entry in result.logs if entry["event"] == "partition_registered"]
    assert logged["table"] == f"{DATABASE}.predictions" and logged["dt"] == "2026-03-02"


def test_a_rerun_re_points_the_partition_at_its_own_run_folder(world, glue, committed_inputs, run_infer):
    assert run_infer(GLUE_DATABASE_PREFIX=PREFIX).code == 0
    first = committed_run_folder(world)
    assert run_infer(GLUE_DATABASE_PREFIX=PREFIX).code == 0

    assert committed_run_folder(world) != first
    assert {dt: d["Location"] for dt, d in partitions(glue).items()} == {
        "2026-03-02": committed_run_folder(world)
    }


def test_without_a_prefix_nothing_is_registered(world, glue, committed_inputs, run_infer):
    assert run_infer().code == 0
    assert partitions(glue) == {}


def test_a_refused_partition_is_exit_1_naming_table_and_dt_with_the_data_committed(
    world, glue, committed_inputs, run_infer
):
    glue.delete_table(DatabaseName=DATABASE, Name="predictions")

    result = run_infer(GLUE_DATABASE_PREFIX=PREFIX)

    assert result.code == 1
    assert len(result.errors) == 1 and result.stderr[-1] == result.errors[0]
    assert f"partition dt=2026-03-02 of {DATABASE}.predictions" in result.errors[0]
    assert "GetTable" in result.errors[0] and "EntityNotFoundException" in result.errors[0]
    # The predictions stay committed, and the message says where.
    assert committed_run_folder(world) in result.errors[0]


class RecordingGlue:
    """Passes every call to the real client, records the partition writes in a shared list, and can refuse
    UpdatePartition as IAM would without glue:UpdatePartition."""

    def __init__(self, glue, writes: list, refuse_update: bool = False):
        self._glue, self._writes, self._refuse_update = glue, writes, refuse_update

    def create_partition(self, **kwargs):
        reply = self._glue.create_partition(**kwargs)  # raises AlreadyExists for an existing partition
        self._writes.append(("glue create", kwargs["PartitionInput"]["StorageDescriptor"]["Location"]))
        return reply

    def update_partition(self, **kwargs):
        if self._refuse_update:
            error = {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}
            raise ClientError(error, "UpdatePartition")
        reply = self._glue.update_partition(**kwargs)
        self._writes.append(("glue update", kwargs["PartitionInput"]["StorageDescriptor"]["Location"]))
        return reply

    def __getattr__(self, name):
        return getattr(self._glue, name)


class RecordingS3:
    def __init__(self, s3, writes: list):
        self._s3, self._writes = s3, writes

    def put_object(self, **kwargs):
        self._writes.append(("put", kwargs["Key"]))
        return self._s3.put_object(**kwargs)

    def delete_objects(self, **kwargs):
        self._writes.extend(("delete", obj["Key"]) for obj in kwargs["Delete"]["Objects"])
        return self._s3.delete_objects(**kwargs)

    def __getattr__(self, name):
        return getattr(self._s3, name)


def config_of(world) -> InferConfig:
    return InferConfig(
        run_date=world.run_date,
        mart_bucket=world.mart,
        artifacts_bucket=world.artifacts,
        glue_database_prefix=PREFIX,
    )


def test_glue_is_re_pointed_after_the_commit_and_before_the_old_run_folder_goes(
    world, glue, committed_inputs
):
    earlier, later = "20260301T010000Z-0000000a", "20260301T020000Z-0000000b"
    pipeline.run(config_of(world), world.s3, earlier, glue)
    writes: list = []

    pipeline.run(config_of(world), RecordingS3(world.s3, writes), later, RecordingGlue(glue, writes))

    assert writes == [
        ("put", data_key("predictions", world.target, later, 0)),
        ("put", manifest_key("predictions", world.target)),
        ("glue update", f"s3://{world.mart}/predictions/dt=2026-03-02/run={later}/"),
        ("delete", data_key("predictions", world.target, earlier, 0)),
    ]


def test_an_access_denied_update_keeps_the_folder_glue_still_points_at(world, glue, committed_inputs):
    earlier, later = "20260301T010000Z-0000000a", "20260301T020000Z-0000000b"
    pipeline.run(config_of(world), world.s3, earlier, glue)
    writes: list = []

    with pytest.raises(RegistrationRefused, match="AccessDeniedException") as refused:
        pipeline.run(
            config_of(world),
            RecordingS3(world.s3, writes),
            later,
            RecordingGlue(glue, writes, refuse_update=True),
        )

    assert refused.value.exit_code == 1
    assert [write for write in writes if write[0] != "put"] == []
    earlier_folder = f"s3://{world.mart}/predictions/dt=2026-03-02/run={earlier}/"
    assert partitions(glue)["2026-03-02"]["Location"] == earlier_folder
    assert world.keys(world.mart, f"predictions/dt=2026-03-02/run={earlier}/") == [
        data_key("predictions", world.target, earlier, 0)
    ]


@pytest.mark.parametrize("prefix", ["Batchml", "batchml-local", "1batchml"])
def test_a_malformed_prefix_is_exit_2_naming_the_variable(run_infer, prefix):
    result = run_infer(GLUE_DATABASE_PREFIX=prefix)
    assert result.code == 2
    assert result.stderr == result.errors
    assert "GLUE_DATABASE_PREFIX" in result.errors[0] and prefix in result.errors[0]

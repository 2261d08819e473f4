"""Choosing the engine (ENGINE, ATHENA_WORKGROUP, GLUE_DATABASE_PREFIX) and registering partitions in Glue,
which is what makes a published partition visible to Athena (docs/s3-layout.md)."""

import json
from datetime import date

import boto3
import pytest
from preprocess import cli
from preprocess.athena import AthenaEngine
from preprocess.catalog import Catalog
from preprocess.config import Buckets, RunConfig
from preprocess.storage import Storage

PREFIX = "test"
LAYERS = {"lake": "test-lake", "warehouse": "test-warehouse", "mart": "test-mart"}
TABLES = {"lake": ["sales", "prices", "stores", "items", "holidays"]}
TABLES["warehouse"] = [*TABLES["lake"], "quarantine"]
TABLES["mart"] = ["features"]


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"ENGINE": "athena"}, "ENGINE=athena needs ATHENA_WORKGROUP and GLUE_DATABASE_PREFIX"),
        ({"ENGINE": "athena", "ATHENA_WORKGROUP": "wg"}, "ENGINE=athena needs ATHENA_WORKGROUP and"),
        ({"ENGINE": "spark"}, "'spark' is not one of"),
        ({"GLUE_DATABASE_PREFIX": "Bad-Name"}, "GLUE_DATABASE_PREFIX must be lowercase letters"),
    ],
)
def test_engine_settings_are_checked_before_anything_runs(
    day_one, run_cli, monkeypatch, environment, message
):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    outcome = run_cli("run", "--date", "2026-03-01")

    assert outcome.exit_code == 2
    [line] = outcome.stderr.strip().splitlines()
    assert line.startswith("preprocess: error: ") and message in line


def glue_catalog(glue) -> None:
    """The databases and tables terraform/modules/catalog makes, as far as registration needs them."""
    for layer, bucket in LAYERS.items():
        glue.create_database(DatabaseInput={"Name": f"{PREFIX}_{layer}"})
        for table in TABLES[layer]:
            glue.create_table(
                DatabaseName=f"{PREFIX}_{layer}",
                TableInput={
                    "Name": table,
                    "PartitionKeys": [{"Name": "dt", "Type": "date"}],
                    "StorageDescriptor": {"Location": f"s3://{bucket}/{table}/", "Columns": []},
                },
            )


def locations(glue, layer: str, table: str) -> dict[str, str]:
    partitions = glue.get_partitions(DatabaseName=f"{PREFIX}_{layer}", TableName=table)["Partitions"]
    return {partition["Values"][0]: partition["StorageDescriptor"]["Location"] for partition in partitions}


def test_published_partitions_are_registered_at_their_run_folder(day_one, run_cli, monkeypatch, s3):
    glue = boto3.client("glue")
    glue_catalog(glue)
    monkeypatch.setenv("GLUE_DATABASE_PREFIX", PREFIX)

    for _ in range(2):  # the second run re-points every partition to its own run folder
        assert run_cli("run", "--date", "2026-03-01").exit_code == 0
        manifest = json.loads(
            s3.get_object(Bucket="test-warehouse", Key="sales/dt=2026-03-01/_manifest.json")["Body"].read()
        )
        run_folder = f"s3://test-warehouse/sales/dt=2026-03-01/run={manifest['run_id']}/"
        assert locations(glue, "warehouse", "sales") == {"2026-03-01": run_folder}

    assert locations(glue, "lake", "sales") == {"2026-03-01": "s3://test-lake/sales/dt=2026-03-01/"}
    assert set(locations(glue, "mart", "features")) == {"2026-03-01", "2026-03-02"}
    assert set(locations(glue, "warehouse", "quarantine")) == {"2026-03-01"}


def test_without_a_glue_prefix_nothing_is_registered(day_one, run_cli, s3):
    glue = boto3.client("glue")
    glue_catalog(glue)

    assert run_cli("run", "--date", "2026-03-01").exit_code == 0

    assert locations(glue, "warehouse", "sales") == {}


def test_the_athena_engine_stages_under_the_workgroup_result_location(s3):
    athena = boto3.client("athena")
    athena.create_work_group(
        Name="batchml", Configuration={"ResultConfiguration": {"OutputLocation": "s3://results-bucket/"}}
    )
    config = RunConfig(
        date(2026, 3, 1), date(2026, 3, 1), Buckets(*LAYERS.values()), engine="athena",
        athena_workgroup="batchml", glue_database_prefix="batchml_dev",
    )  # fmt: skip
    storage = Storage(s3)

    engine = cli.make_engine(config, storage, Catalog(storage, config))

    assert isinstance(engine, AthenaEngine)
    statement = engine.statement("mart/features", _feature_params(), "token")
    assert "TO 's3://results-bucket/unload/mart-features/token/'" in statement
    assert '"batchml_dev_warehouse".sales' in statement


def _feature_params() -> dict:
    day = date(2026, 3, 1)
    return {
        "target_dates": (day,),
        "history_from": day,
        "targets_from": day,
        "targets_to": day,
        "stores_from": day,
        "items_from": day,
        "holidays_from": day,
    }

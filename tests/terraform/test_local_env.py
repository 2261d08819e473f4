"""terraform/envs/local (the whole stack) applied to a fresh emulator, checked through the AWS API against the
contracts (docs/s3-layout.md, docs/cli.md), re-planned, destroyed.

The tests of this module share one apply with tests/delivery/test_ops.py (tests/conftest.py, `local_stack`)
and run in file order, after those: the last one destroys.
"""

import io
import json
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlglot
import xgboost as xgb
from infer.cli import main as infer_main
from preprocess.engine import sql_names, sql_text
from preprocess.tables import OUTCOME_SCHEMA, QUARANTINE, TABLES

from scripts.emulator import aws_environment, terraform_destroy, terraform_plan_has_changes
from tests.terraform.contract import (
    CONTRACT_ACCESS,
    INFER_GLUE_ACTIONS,
    LOG_DELIVERY_ACTIONS,
    STAR_RESOURCE_ACTIONS,
    UNITS,
    XRAY_ACTIONS,
    environment_names_read_by,
    expected_environment_names,
    glue_access,
    infer_glue_resources,
    object_access,
)
from tests.terraform.helpers import REPO_ROOT, AppliedEnv, as_list

CONTRACT = REPO_ROOT / "docs" / "s3-layout.md"
LAYERS = ["lake", "warehouse", "mart", "artifacts", "athena_results"]
BUCKETS = {layer: f"batchml-local-{layer.replace('_', '-')}" for layer in LAYERS}
DATABASES = {layer: f"batchml_local_{layer}" for layer in ["lake", "warehouse", "mart"]}


@pytest.fixture(scope="module")
def env(local_stack: AppliedEnv) -> AppliedEnv:
    return local_stack


def contract_tables() -> dict[str, list[tuple[str, str]]]:
    """`{layer}.{table}` -> [(column, type)] as docs/s3-layout.md writes them (raw lake columns: strings)."""
    text = CONTRACT.read_text()
    tables = {}
    lake = section(text, "Lake")
    for source, columns in re.findall(r"^\| `(\w+)` \| `([\w,]+)` \|", lake, re.MULTILINE):
        tables[f"lake.{source}"] = [(column, "string") for column in columns.split(",")]
    typed = section(text, "Tables")
    for layer, table, columns in re.findall(
        r"^\| (warehouse|mart) \| `(\w+)` \| [^|]+ \| ([^|]+) \|", typed, re.MULTILINE
    ):
        cell = features_paragraph(typed) if columns.strip() == "see below" else columns
        tables[f"{layer}.{table}"] = typed_columns(cell)
    return tables


def section(text: str, heading: str) -> str:
    """The text under `## {heading}` up to the next `## ` heading."""
    return re.search(rf"^## {heading}\b.*?(?=^## |\Z)", text, re.MULTILINE | re.DOTALL).group(0)


def features_paragraph(text: str) -> str:
    return re.search(r"^`features` columns, in this order:(.*?)\n\n", text, re.MULTILINE | re.DOTALL).group(1)


def typed_columns(prose: str) -> list[tuple[str, str]]:
    """Columns of "`a` string, `b`, `c` double" style prose: a type applies to the names listed before it."""
    columns, untyped = [], []
    for name, column_type in re.findall(r"`(\w+)`(?: (string|bigint|double|boolean|date)\b)?", prose):
        untyped.append(name)
        if column_type:
            columns += [(column, column_type) for column in untyped]
            untyped = []
    assert untyped == [], f"columns without a type in the contract: {untyped}"
    return columns


def glue_tables(env: AppliedEnv) -> dict[str, dict[str, Any]]:
    glue = env.client("glue")
    return {
        f"{layer}.{table['Name']}": table
        for layer, database in DATABASES.items()
        for table in glue.get_tables(DatabaseName=database)["TableList"]
    }


def test_outputs_name_the_buckets_catalog_and_unit_environment(env: AppliedEnv):
    outputs = env.outputs
    assert outputs["bucket_names"] == BUCKETS
    assert outputs["glue_database_names"] == DATABASES
    assert outputs["athena_workgroup_name"] == "batchml-local"
    assert outputs["unit_environment"] == {
        "LAKE_BUCKET": "batchml-local-lake",
        "WAREHOUSE_BUCKET": "batchml-local-warehouse",
        "MART_BUCKET": "batchml-local-mart",
        "ARTIFACTS_BUCKET": "batchml-local-artifacts",
        "GLUE_DATABASE_PREFIX": "batchml_local",
    }


@pytest.mark.parametrize("layer", LAYERS)
def test_bucket_is_versioned_encrypted_private_and_owner_enforced(env: AppliedEnv, layer: str):
    s3, bucket = env.client("s3"), BUCKETS[layer]

    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert [rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] for rule in encryption] == ["AES256"]
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    ownership = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    assert ownership == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    tags = {tag["Key"]: tag["Value"] for tag in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}
    assert tags == {"project": "batchml", "environment": "local", "managed_by": "terraform", "layer": layer}


@pytest.mark.parametrize("layer", LAYERS)
def test_bucket_policy_denies_every_request_without_tls(env: AppliedEnv, layer: str):
    bucket = BUCKETS[layer]
    policy = json.loads(env.client("s3").get_bucket_policy(Bucket=bucket)["Policy"])

    [statement] = policy["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Principal"] == "*"
    assert statement["Action"] == "s3:*"
    assert sorted(statement["Resource"]) == [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.parametrize("layer", LAYERS)
def test_lifecycle_aborts_uploads_and_expires_old_versions(env: AppliedEnv, layer: str):
    rules = env.client("s3").get_bucket_lifecycle_configuration(Bucket=BUCKETS[layer])["Rules"]
    by_id = {rule["ID"]: rule for rule in rules}

    assert all(rule["Status"] == "Enabled" for rule in rules)
    abort = by_id["abort-incomplete-multipart-uploads"]["AbortIncompleteMultipartUpload"]
    assert abort == {"DaysAfterInitiation": 7}
    noncurrent = by_id["expire-noncurrent-versions"]
    assert noncurrent["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    assert noncurrent["Expiration"] == {"ExpiredObjectDeleteMarker": True}
    if layer == "athena_results":
        assert by_id["expire-current-objects"]["Expiration"] == {"Days": 7}
        assert len(rules) == 3
    else:
        assert len(rules) == 2  # the data layers never expire current objects


def test_glue_tables_have_the_contract_columns(env: AppliedEnv):
    contract = contract_tables()
    tables = glue_tables(env)

    assert sorted(tables) == sorted(contract)
    for key, table in tables.items():
        columns = [(column["Name"], column["Type"]) for column in table["StorageDescriptor"]["Columns"]]
        assert columns == contract[key], key
        assert [(part["Name"], part["Type"]) for part in table["PartitionKeys"]] == [("dt", "date")], key


def test_glue_tables_are_what_the_sql_files_write(env: AppliedEnv):
    # The chain SQL file -> preprocess's table schema (the engine result is checked and cast to it) -> Glue.
    tables = glue_tables(env)

    for sql_name in sql_names():
        layer, name = sql_name.split("/")
        glue_columns = [
            (c["Name"], c["Type"]) for c in tables[f"{layer}.{name}"]["StorageDescriptor"]["Columns"]
        ]
        selects = sqlglot.parse_one(re.sub(r"\{\{\s*\w+\s*\}\}", "NULL", sql_text(sql_name)), read="trino")
        fates = OUTCOME_SCHEMA.names if layer == "warehouse" else []  # every raw line's fate comes first
        assert selects.named_selects == [*fates, "dt", *(column for column, _ in glue_columns)], sql_name
        declared = TABLES[f"{layer}.{name}"].glue_schema()
        assert glue_columns == [(column["name"], column["type"]) for column in declared], sql_name
    quarantine = tables["warehouse.quarantine"]["StorageDescriptor"]["Columns"]
    assert [(c["Name"], c["Type"]) for c in quarantine] == [
        (c["name"], c["type"]) for c in QUARANTINE.glue_schema()
    ]
    assert set(QUARANTINE.schema.names) - {"source"} <= set(
        OUTCOME_SCHEMA.names
    )  # the fates it is built from


def test_lake_tables_read_raw_csv_with_its_header_skipped(env: AppliedEnv):
    for key, table in glue_tables(env).items():
        if not key.startswith("lake."):
            continue
        storage = table["StorageDescriptor"]
        assert storage["Location"] == f"s3://batchml-local-lake/{table['Name']}/"
        assert storage["SerdeInfo"]["SerializationLibrary"] == "org.apache.hadoop.hive.serde2.OpenCSVSerde"
        assert storage["SerdeInfo"]["Parameters"]["separatorChar"] == ","
        assert table["Parameters"]["skip.header.line.count"] == "1"
        assert table["TableType"] == "EXTERNAL_TABLE"


def test_warehouse_and_mart_tables_are_parquet_in_their_bucket_without_projection(env: AppliedEnv):
    for key, table in glue_tables(env).items():
        layer = key.split(".")[0]
        if layer == "lake":
            continue
        storage = table["StorageDescriptor"]
        assert storage["Location"] == f"s3://{BUCKETS[layer]}/{table['Name']}/"
        assert storage["SerdeInfo"]["SerializationLibrary"].endswith("ParquetHiveSerDe")
        assert storage["InputFormat"].endswith("MapredParquetInputFormat")
        assert not any(name.startswith("projection.") for name in table["Parameters"]), key


ARROW_TYPES = {"string": pa.string(), "bigint": pa.int64(), "double": pa.float64(), "boolean": pa.bool_()}


def put_json(s3, bucket: str, key: str, document: Any) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(document).encode())


def put_model_and_features(s3, target: str) -> None:
    """A champion model over the contract's feature columns and a features partition for `target`, with
    made-up values: this is about where the predictions land, not what they say."""
    features_columns = contract_tables()["mart.features"]
    model_features = [
        {"name": name, "type": column_type}
        for name, column_type in features_columns
        if name not in ("store_id", "item_id", "units_sold")
    ]
    rng = np.random.default_rng(0)
    booster = xgb.train(
        {"max_depth": 2, "nthread": 1},
        xgb.DMatrix(rng.uniform(0, 9, (30, len(model_features))), label=rng.uniform(0, 9, 30)),
        num_boost_round=2,
    )
    version = "20260301T000000Z-00000001"
    prefix = f"models/demand/versions/{version}/"
    s3.put_object(Bucket=BUCKETS["artifacts"], Key=prefix + "model.ubj", Body=bytes(booster.save_raw("ubj")))
    put_json(s3, BUCKETS["artifacts"], prefix + "feature_schema.json", model_features)
    put_json(s3, BUCKETS["artifacts"], prefix + "_version.json", {"version": version, "promoted": True})
    put_json(s3, BUCKETS["artifacts"], "models/demand/champion.json", {"version": version})

    value_of = {"string": str, "bigint": int, "double": float, "boolean": bool}
    rows = [{name: value_of[column_type](row) for name, column_type in features_columns} for row in range(3)]
    schema = pa.schema([(name, ARROW_TYPES[column_type]) for name, column_type in features_columns])
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), buffer, compression="zstd")
    data_key = f"features/dt={target}/run=20260301T000000Z-00000002/part-00000.zstd.parquet"
    s3.put_object(Bucket=BUCKETS["mart"], Key=data_key, Body=buffer.getvalue())
    put_json(s3, BUCKETS["mart"], f"features/dt={target}/_manifest.json", {"files": [{"key": data_key}]})


def test_infer_registers_its_predictions_partition_at_the_committed_run_folder(
    env: AppliedEnv, monkeypatch: pytest.MonkeyPatch
):
    # infer run in-process with the environment the stack gives its task definition, against the emulator.
    s3, glue = env.client("s3"), env.client("glue")
    [container] = task_definition(env, "infer")["containerDefinitions"]
    for variable in container["environment"]:
        monkeypatch.setenv(variable["name"], variable["value"])
    for name, value in {**aws_environment(env.endpoint), "RUN_DATE": "2026-03-01"}.items():
        monkeypatch.setenv(name, value)
    try:
        put_model_and_features(s3, "2026-03-02")
        assert infer_main(["run"]) == 0
        check_predictions_registered(env, s3, glue)
    finally:
        # Emptied version by version: moto fails to empty a versioned bucket holding objects at destroy.
        for layer in ("mart", "artifacts"):
            delete_every_version(s3, BUCKETS[layer])


def delete_every_version(s3, bucket: str) -> None:
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for version in page.get("Versions", []) + page.get("DeleteMarkers", []):
            s3.delete_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])


def check_predictions_registered(env: AppliedEnv, s3, glue) -> None:
    manifest_key = "predictions/dt=2026-03-02/_manifest.json"
    manifest = json.loads(s3.get_object(Bucket=BUCKETS["mart"], Key=manifest_key)["Body"].read())
    partition = glue.get_partition(
        DatabaseName=DATABASES["mart"], TableName="predictions", PartitionValues=["2026-03-02"]
    )["Partition"]
    run_folder = f"s3://{BUCKETS['mart']}/predictions/dt=2026-03-02/run={manifest['run_id']}/"
    assert partition["StorageDescriptor"]["Location"] == run_folder
    assert manifest["files"][0]["key"].startswith(run_folder.removeprefix(f"s3://{BUCKETS['mart']}/"))
    table_columns = glue_tables(env)["mart.predictions"]["StorageDescriptor"]["Columns"]
    assert partition["StorageDescriptor"]["Columns"] == table_columns
    written = [(column["name"], column["type"]) for column in manifest["schema"]]
    assert [(column["Name"], column["Type"]) for column in table_columns] == written


def test_athena_workgroup_runs_engine_3_with_enforced_encrypted_results(env: AppliedEnv):
    workgroup = env.client("athena").get_work_group(WorkGroup="batchml-local")["WorkGroup"]
    configuration = workgroup["Configuration"]

    assert workgroup["State"] == "ENABLED"
    assert configuration["EnforceWorkGroupConfiguration"] is True
    assert configuration["EngineVersion"]["SelectedEngineVersion"] == "Athena engine version 3"
    assert configuration["ResultConfiguration"] == {
        "OutputLocation": "s3://batchml-local-athena-results/",
        "EncryptionConfiguration": {"EncryptionOption": "SSE_S3"},
    }
    assert configuration["BytesScannedCutoffPerQuery"] == 10 * 1024**3


# -- the whole stack, checked against the contracts through the emulator's APIs ---------------------------


def task_definition(env: AppliedEnv, unit: str) -> dict[str, Any]:
    family = f"batchml-local-{unit}"
    return env.client("ecs").describe_task_definition(taskDefinition=family)["taskDefinition"]


@pytest.mark.parametrize("unit", UNITS)
def test_task_definition_sets_what_the_cli_reads(env: AppliedEnv, unit: str):
    [container] = task_definition(env, unit)["containerDefinitions"]

    environment = {variable["name"]: variable["value"] for variable in container["environment"]}
    catalog = {
        "preprocess": {"ENGINE", "ATHENA_WORKGROUP", "GLUE_DATABASE_PREFIX"},
        "train": set(),
        "infer": {"GLUE_DATABASE_PREFIX"},
    }[unit]
    assert set(environment) == expected_environment_names(unit) | catalog
    assert set(environment) - {"AWS_REGION", "AWS_DEFAULT_REGION"} <= environment_names_read_by(unit)
    for name, layer in [("LAKE_BUCKET", "lake"), ("MART_BUCKET", "mart"), ("ARTIFACTS_BUCKET", "artifacts")]:
        if name in environment:
            assert environment[name] == BUCKETS[layer]
    if unit == "preprocess":
        assert (environment["ENGINE"], environment["ATHENA_WORKGROUP"]) == ("athena", "batchml-local")
    if "GLUE_DATABASE_PREFIX" in catalog:
        assert environment["GLUE_DATABASE_PREFIX"] == "batchml_local"
    assert container["image"].endswith(f"/batchml-local/{unit}:local")


def container_overrides(definition: Any) -> Iterator[dict[str, Any]]:
    """Every `ContainerOverrides` entry anywhere in a state machine definition."""
    if isinstance(definition, dict):
        yield from definition.get("ContainerOverrides", [])
        for value in definition.values():
            yield from container_overrides(value)
    elif isinstance(definition, list):
        for value in definition:
            yield from container_overrides(value)


def test_workflow_overrides_set_only_variables_the_unit_reads(env: AppliedEnv):
    sfn = env.client("stepfunctions")
    unit_of_container = {
        task_definition(env, unit)["containerDefinitions"][0]["name"]: unit for unit in UNITS
    }
    overridden: dict[str, set[str]] = {}
    for machine in sfn.list_state_machines()["stateMachines"]:
        definition = json.loads(
            sfn.describe_state_machine(stateMachineArn=machine["stateMachineArn"])["definition"]
        )
        for override in container_overrides(definition):
            unit = unit_of_container[override["Name"]]
            overridden.setdefault(unit, set()).update(
                variable["Name"] for variable in override["Environment"]
            )

    assert sorted(overridden) == sorted(UNITS)  # every unit is run by some workflow
    for unit, names in overridden.items():
        assert names <= environment_names_read_by(unit), unit
        assert "RUN_DATE" in names, unit


def role_statements(env: AppliedEnv) -> dict[str, list[dict[str, Any]]]:
    """Role name -> statements of its inline policies, for every role the stack created."""
    iam = env.client("iam")
    found = {}
    for role in iam.list_roles()["Roles"]:
        if role["RoleName"].startswith("batchml-local"):
            found[role["RoleName"]] = [
                statement
                for name in iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]
                for statement in iam.get_role_policy(RoleName=role["RoleName"], PolicyName=name)[
                    "PolicyDocument"
                ]["Statement"]
            ]
    return found


def test_task_roles_touch_exactly_the_contract_prefixes(env: AppliedEnv):
    statements = role_statements(env)

    for unit in UNITS:
        assert object_access(statements[f"batchml-local-{unit}-task"], BUCKETS) == CONTRACT_ACCESS[unit], unit
    assert glue_access(statements["batchml-local-infer-task"]) == (
        INFER_GLUE_ACTIONS,
        infer_glue_resources("123456789012", DATABASES["mart"]),
    )


def test_no_role_allows_a_star_action_or_a_star_resource(env: AppliedEnv):
    statements = role_statements(env)

    assert len(statements) >= 6  # three task roles, execution, state machine, scheduler
    for role, role_statements_ in statements.items():
        for statement in role_statements_:
            assert statement["Effect"] == "Allow", role
            actions = as_list(statement["Action"])
            assert not any("*" in action for action in actions), f"{role}: {actions}"
            if "*" in as_list(statement["Resource"]):
                assert set(actions) <= STAR_RESOURCE_ACTIONS | LOG_DELIVERY_ACTIONS | XRAY_ACTIONS, (
                    f"{role}: {actions}"
                )


def test_second_plan_shows_no_changes(env: AppliedEnv):
    assert terraform_plan_has_changes(env.endpoint, env.work_dir) is False


def test_destroy_removes_everything(env: AppliedEnv):
    # Last in this module: the tests above read what this one removes.
    terraform_destroy(env.endpoint, env.work_dir)

    buckets = {bucket["Name"] for bucket in env.client("s3").list_buckets()["Buckets"]}
    assert buckets.isdisjoint(BUCKETS.values())
    databases = {database["Name"] for database in env.client("glue").get_databases()["DatabaseList"]}
    assert databases.isdisjoint(DATABASES.values())
    workgroups = {workgroup["Name"] for workgroup in env.client("athena").list_work_groups()["WorkGroups"]}
    assert "batchml-local" not in workgroups
    assert env.client("ecr").describe_repositories()["repositories"] == []
    assert env.client("stepfunctions").list_state_machines()["stateMachines"] == []
    clusters = env.client("ecs").describe_clusters(clusters=["batchml-local"])["clusters"]
    assert [cluster["status"] for cluster in clusters] in ([], ["INACTIVE"])
    vpcs = env.client("ec2").describe_vpcs(Filters=[{"Name": "tag:environment", "Values": ["local"]}])["Vpcs"]
    assert vpcs == []

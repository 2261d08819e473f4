"""A whole run through the console script's main(), configured by environment variables, against moto."""

import io

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xgboost as xgb
from infer import pipeline
from infer.config import InferConfig
from infer.layout import data_key, manifest_key, model_version_prefix

V1 = "20260228T020000Z-00000001"
V2 = "20260228T030000Z-00000002"
PREDICTIONS_COLUMNS = [
    ("store_id", pa.string()),
    ("item_id", pa.string()),
    ("prediction", pa.float64()),
    ("model_version", pa.string()),
    ("run_id", pa.string()),
]


def read_predictions(world) -> tuple[dict, pa.Table]:
    manifest = world.get_json(world.mart, manifest_key("predictions", world.target))
    parts = [
        pq.read_table(io.BytesIO(world.s3.get_object(Bucket=world.mart, Key=f["key"])["Body"].read()))
        for f in manifest["files"]
    ]
    return manifest, pa.concat_tables(parts)


def expected_predictions(world, booster, rows) -> np.ndarray:
    ordered = sorted(rows, key=lambda row: (row["store_id"], row["item_id"]))
    names = [f["name"] for f in world.model_features]
    raw = booster.predict(
        xgb.DMatrix(world.expected_matrix(ordered, world.model_features), feature_names=names)
    )
    return np.clip(raw.astype(np.float64), 0, None)


def predictions_keys(world) -> list[str]:
    return world.keys(world.mart, "predictions/")


def test_publishes_the_predictions_partition_of_the_day_after_the_run_date(
    world, run_infer, rows, features_table
):
    booster = world.put_model(V1)
    world.put_features(world.target, features_table)

    result = run_infer()

    assert result.code == 0, result.stderr
    manifest, table = read_predictions(world)
    assert manifest["table"] == "predictions" and manifest["dt"] == "2026-03-02"
    assert manifest["producer"]["unit"] == "infer"
    assert [(f.name, f.type) for f in table.schema] == PREDICTIONS_COLUMNS
    assert manifest["schema"] == [
        {"name": "store_id", "type": "string"},
        {"name": "item_id", "type": "string"},
        {"name": "prediction", "type": "double"},
        {"name": "model_version", "type": "string"},
        {"name": "run_id", "type": "string"},
    ]
    assert table.num_rows == manifest["rows"] == len(rows)
    keys = list(zip(table["store_id"].to_pylist(), table["item_id"].to_pylist(), strict=True))
    assert keys == sorted((row["store_id"], row["item_id"]) for row in rows)
    assert set(table["model_version"].to_pylist()) == {V1}
    assert set(table["run_id"].to_pylist()) == {manifest["run_id"]}
    np.testing.assert_array_equal(table["prediction"].to_numpy(), expected_predictions(world, booster, rows))
    assert (table["prediction"].to_numpy() == 0).any(), "the clip at 0 should have been exercised"


def test_the_data_file_is_zstd_parquet_under_the_run_folder_and_matches_its_manifest_entry(
    world, run_infer, features_table
):
    world.put_model(V1)
    world.put_features(world.target, features_table)
    assert run_infer().code == 0

    manifest = world.get_json(world.mart, manifest_key("predictions", world.target))
    [entry] = manifest["files"]
    assert entry["key"] == data_key("predictions", world.target, manifest["run_id"], 0)
    body = world.s3.get_object(Bucket=world.mart, Key=entry["key"])["Body"].read()
    assert entry["bytes"] == len(body) and entry["sha256"] == world.sha256(body)
    metadata = pq.ParquetFile(io.BytesIO(body)).metadata
    assert metadata.row_group(0).column(0).compression == "ZSTD"
    assert "dt" not in pq.ParquetFile(io.BytesIO(body)).schema_arrow.names


def test_the_manifest_records_the_features_and_model_it_used(world, run_infer, features_table):
    world.put_model(V1)
    world.put_features(world.target, features_table)
    assert run_infer().code == 0

    inputs = {
        entry["uri"]: entry["sha256"]
        for entry in world.get_json(world.mart, manifest_key("predictions", world.target))["inputs"]
    }
    features_manifest = world.s3.get_object(Bucket=world.mart, Key=manifest_key("features", world.target))
    features_uri = f"s3://{world.mart}/features/dt=2026-03-02/_manifest.json"
    assert inputs[features_uri] == world.sha256(features_manifest["Body"].read())
    prefix = model_version_prefix("demand", V1)
    for name in ("_version.json", "model.ubj", "feature_schema.json"):
        body = world.s3.get_object(Bucket=world.artifacts, Key=prefix + name)["Body"].read()
        assert inputs[f"s3://{world.artifacts}/{prefix}{name}"] == world.sha256(body)


def test_one_summary_log_line(world, run_infer, features_table):
    world.put_model(V1)
    world.put_features(world.target, features_table)

    result = run_infer()

    [summary] = [entry for entry in result.logs if entry["event"] == "predictions_published"]
    assert summary["unit"] == "infer" and summary["level"] == "INFO"
    assert summary["rows"] == features_table.num_rows
    assert summary["model_version"] == V1
    assert summary["dt"] == "2026-03-02"
    assert {"ts", "message", "run_id"} <= summary.keys()


class RecordingS3:
    """Passes every call to the real client and records the writes in order."""

    def __init__(self, s3):
        self._s3 = s3
        self.writes: list[tuple[str, str]] = []

    def put_object(self, **kwargs):
        self.writes.append(("put", kwargs["Key"]))
        return self._s3.put_object(**kwargs)

    def delete_objects(self, **kwargs):
        self.writes.extend(("delete", obj["Key"]) for obj in kwargs["Delete"]["Objects"])
        return self._s3.delete_objects(**kwargs)

    def __getattr__(self, name):
        return getattr(self._s3, name)


def test_the_manifest_is_written_after_the_data_and_before_superseded_runs_are_deleted(world, features_table):
    world.put_model(V1)
    world.put_features(world.target, features_table)
    abandoned = data_key("predictions", world.target, "20260301T010000Z-deadbeef", 0)
    world.s3.put_object(Bucket=world.mart, Key=abandoned, Body=b"left by a failed run")
    s3 = RecordingS3(world.s3)
    config = InferConfig(run_date=world.run_date, mart_bucket=world.mart, artifacts_bucket=world.artifacts)

    summary = pipeline.run(config, s3, "20260301T020000Z-1a2b3c4d")

    assert s3.writes == [
        ("put", data_key("predictions", world.target, summary.run_id, 0)),
        ("put", manifest_key("predictions", world.target)),
        ("delete", abandoned),
    ]


def test_a_rerun_gives_identical_predictions_and_leaves_one_run_folder(world, run_infer, features_table):
    world.put_model(V1)
    world.put_features(world.target, features_table)

    assert run_infer().code == 0
    first_manifest, first = read_predictions(world)
    assert run_infer().code == 0
    second_manifest, second = read_predictions(world)

    assert second_manifest["run_id"] != first_manifest["run_id"]
    assert second.drop_columns(["run_id"]).equals(first.drop_columns(["run_id"]))
    assert set(second["run_id"].to_pylist()) == {second_manifest["run_id"]}
    assert predictions_keys(world) == sorted(
        [
            manifest_key("predictions", world.target),
            data_key("predictions", world.target, second_manifest["run_id"], 0),
        ]
    )


def test_the_same_run_id_on_the_same_inputs_writes_the_same_bytes(world, features_table):
    world.put_model(V1)
    world.put_features(world.target, features_table)
    config = InferConfig(run_date=world.run_date, mart_bucket=world.mart, artifacts_bucket=world.artifacts)
    key = data_key("predictions", world.target, "20260301T020000Z-1a2b3c4d", 0)

    pipeline.run(config, world.s3, "20260301T020000Z-1a2b3c4d")
    first = world.s3.get_object(Bucket=world.mart, Key=key)["Body"].read()
    pipeline.run(config, world.s3, "20260301T020000Z-1a2b3c4d")
    second = world.s3.get_object(Bucket=world.mart, Key=key)["Body"].read()

    assert first == second


def test_only_the_files_the_features_manifest_lists_are_read(world, run_infer, features_table):
    world.put_model(V1)
    world.put_features(world.target, features_table)
    # An abandoned run's file in the same partition, with more rows and a column the model would refuse.
    decoy = features_table.append_column("temperature", pa.array([1.0] * features_table.num_rows))
    key = data_key("features", world.target, "20260301T010000Z-deadbeef", 0)
    world.s3.put_object(Bucket=world.mart, Key=key, Body=pq_bytes(pa.concat_tables([decoy, decoy])))

    assert run_infer().code == 0
    _, table = read_predictions(world)
    assert table.num_rows == features_table.num_rows


def pq_bytes(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def test_a_pinned_model_version_is_used_instead_of_the_champion(world, run_infer, rows, features_table):
    champion = world.put_model(V1, seed=0)
    pinned = world.put_model(V2, seed=1, champion=False)
    world.put_features(world.target, features_table)

    result = run_infer(MODEL_VERSION=V2)

    assert result.code == 0, result.stderr
    _, table = read_predictions(world)
    assert set(table["model_version"].to_pylist()) == {V2}
    predictions = table["prediction"].to_numpy()
    np.testing.assert_array_equal(predictions, expected_predictions(world, pinned, rows))
    assert not np.array_equal(predictions, expected_predictions(world, champion, rows))


def test_a_pinned_version_that_was_never_committed_is_missing(world, run_infer, features_table):
    world.put_model(V1)
    world.put_model(V2, champion=False, committed=False)
    world.put_features(world.target, features_table)

    result = run_infer(MODEL_VERSION=V2)

    assert result.code == 4
    assert len(result.errors) == 1 and V2 in result.errors[0]
    assert predictions_keys(world) == []


def test_no_champion_is_a_missing_input(world, run_infer, features_table):
    world.put_features(world.target, features_table)

    result = run_infer()

    assert result.code == 4
    assert len(result.errors) == 1 and "champion" in result.errors[0]
    assert result.stderr[-1] == result.errors[0]
    assert predictions_keys(world) == []


def test_missing_features_of_the_target_day_is_a_missing_input(world, run_infer, features_table):
    world.put_model(V1)
    world.put_features(world.run_date, features_table)  # the run date's own features are not the ones needed

    result = run_infer()

    assert result.code == 4
    assert len(result.errors) == 1 and "dt=2026-03-02" in result.errors[0]
    assert predictions_keys(world) == []


@pytest.mark.parametrize(
    ("change", "column"),
    [
        (lambda t: t.drop_columns(["lag_7"]), "lag_7"),
        (lambda t: t.append_column("temperature", pa.array([20.5] * t.num_rows)), "temperature"),
        (lambda t: t.set_column(9, "lag_1", t["lag_1"].cast(pa.int64())), "lag_1"),
    ],
    ids=["missing", "extra", "retyped"],
)
def test_features_that_do_not_match_the_model_fail_naming_the_column(
    world, run_infer, features_table, change, column
):
    world.put_model(V1)
    world.put_features(world.target, change(features_table))

    result = run_infer()

    assert result.code == 3
    assert len(result.errors) == 1 and f"'{column}'" in result.errors[0]
    assert predictions_keys(world) == []


@pytest.mark.parametrize(
    ("change", "column"),
    [
        (lambda features: [f for f in features if f["name"] != "lag_28"], "lag_28"),
        (lambda features: [*features, {"name": "temperature", "type": "double"}], "temperature"),
        (
            lambda features: [{**f, "type": "bigint"} if f["name"] == "lag_1" else f for f in features],
            "lag_1",
        ),
    ],
    ids=["model-lacks-a-mart-column", "model-wants-a-column-the-mart-lacks", "model-retypes-a-column"],
)
def test_a_model_whose_feature_schema_does_not_match_the_mart_is_refused_naming_the_column(
    world, run_infer, features_table, change, column
):
    world.put_model(V1, features=change(world.model_features))
    world.put_features(world.target, features_table)

    result = run_infer()

    assert result.code == 3
    assert len(result.errors) == 1 and f"'{column}'" in result.errors[0] and V1 in result.errors[0]
    assert predictions_keys(world) == []


def test_a_failed_run_leaves_the_previous_partition_as_it_was(world, run_infer, features_table):
    world.put_model(V1)
    world.put_features(world.target, features_table)
    assert run_infer().code == 0
    before = {
        key: world.s3.get_object(Bucket=world.mart, Key=key)["Body"].read() for key in predictions_keys(world)
    }

    world.put_features(world.target, features_table.drop_columns(["lag_7"]))
    assert run_infer().code == 3

    after = {
        key: world.s3.get_object(Bucket=world.mart, Key=key)["Body"].read() for key in predictions_keys(world)
    }
    assert after == before


def test_a_file_that_does_not_match_its_manifest_checksum_is_refused(world, run_infer, features_table):
    world.put_model(V1)
    manifest = world.put_features(world.target, features_table)
    first_file = manifest["files"][0]["key"]
    world.s3.put_object(Bucket=world.mart, Key=first_file, Body=pq_bytes(features_table.slice(0, 1)))

    result = run_infer()

    assert result.code == 3
    assert len(result.errors) == 1 and first_file in result.errors[0]
    assert predictions_keys(world) == []

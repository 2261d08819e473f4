import json

import numpy as np
import pyarrow as pa
import pytest
import xgboost as xgb
from infer.errors import DataCheckError, InputMissingError
from infer.layout import model_version_prefix
from infer.model import check_feature_columns, feature_matrix, load_model, predict, resolve_version

V1 = "20260228T020000Z-00000001"
V2 = "20260228T030000Z-00000002"


@pytest.fixture
def model(world):
    world.put_model(V1)
    return load_model(world.s3, world.artifacts, "demand", V1)


def test_loads_the_version_with_its_feature_schema_and_lineage(world, model):
    assert [f.name for f in model.features] == [f["name"] for f in world.model_features]
    assert [f.type for f in model.features] == [f["type"] for f in world.model_features]
    prefix = f"s3://{world.artifacts}/{model_version_prefix('demand', V1)}"
    assert {entry["uri"] for entry in model.lineage} == {
        prefix + "_version.json",
        prefix + "model.ubj",
        prefix + "feature_schema.json",
    }
    stored = world.s3.get_object(Bucket=world.artifacts, Key=model_version_prefix("demand", V1) + "model.ubj")
    by_uri = {entry["uri"]: entry["sha256"] for entry in model.lineage}
    assert by_uri[prefix + "model.ubj"] == world.sha256(stored["Body"].read())


def test_the_champion_names_the_version_unless_one_is_pinned(world):
    world.put_model(V1)
    assert resolve_version(world.s3, world.artifacts, "demand", None) == V1
    assert resolve_version(world.s3, world.artifacts, "demand", V2) == V2


def test_a_version_without_its_commit_point_is_not_loaded(world):
    world.put_model(V2, champion=False, committed=False)
    with pytest.raises(InputMissingError, match=V2):
        load_model(world.s3, world.artifacts, "demand", V2)


def test_a_feature_schema_that_disagrees_with_the_booster_is_refused(world):
    world.put_model(V1)
    key = model_version_prefix("demand", V1) + "feature_schema.json"
    world.s3.put_object(Bucket=world.artifacts, Key=key, Body=json.dumps(world.model_features[:-1]))
    with pytest.raises(DataCheckError, match=r"feature_schema\.json"):
        load_model(world.s3, world.artifacts, "demand", V1)


def test_a_corrupt_model_file_is_a_data_check_failure(world):
    world.put_model(V1)
    key = model_version_prefix("demand", V1) + "model.ubj"
    world.s3.put_object(Bucket=world.artifacts, Key=key, Body=b"not a model")
    with pytest.raises(DataCheckError, match=r"model\.ubj"):
        load_model(world.s3, world.artifacts, "demand", V1)


def test_the_contract_features_match_with_or_without_the_label(model, features_table):
    check_feature_columns(features_table.schema, model, "features dt=2026-03-02")
    check_feature_columns(features_table.drop_columns(["units_sold"]).schema, model, "features dt=2026-03-02")


@pytest.mark.parametrize(
    ("change", "column"),
    [
        (lambda t: t.drop_columns(["lag_7"]), "lag_7"),
        (lambda t: t.drop_columns(["item_id"]), "item_id"),
        (lambda t: t.append_column("temperature", pa.array([1.0] * t.num_rows)), "temperature"),
        (lambda t: t.set_column(9, "lag_1", t["lag_1"].cast(pa.int64())), "lag_1"),
        (lambda t: t.set_column(7, "on_promotion", t["on_promotion"].cast(pa.int64())), "on_promotion"),
        (lambda t: t.set_column(0, "store_id", pa.array(range(t.num_rows))), "store_id"),
    ],
    ids=["missing", "missing-key", "extra", "retyped-double", "retyped-boolean", "retyped-key"],
)
def test_a_changed_column_is_named(model, features_table, change, column):
    with pytest.raises(DataCheckError, match=f"'{column}'"):
        check_feature_columns(change(features_table).schema, model, "features dt=2026-03-02")


def test_matrix_is_in_model_order_with_booleans_as_numbers_and_nulls_as_nan(
    world, model, rows, features_table
):
    matrix = feature_matrix(features_table, model.features)
    expected = world.expected_matrix(rows, world.model_features)
    assert matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix, expected)  # NaN positions must agree too
    promotion = [f.name for f in model.features].index("on_promotion")
    assert set(np.unique(matrix[:, promotion])) <= {0.0, 1.0}
    assert np.isnan(matrix).any()


def test_predictions_are_the_boosters_clipped_at_zero(world, model, rows, features_table):
    names = [f["name"] for f in world.model_features]
    matrix = world.expected_matrix(rows, world.model_features)
    raw = model.booster.predict(xgb.DMatrix(matrix, feature_names=names))
    predictions = predict(model, feature_matrix(features_table, model.features))
    assert (raw < 0).any(), "the test model should predict some negative values"
    assert predictions.dtype == np.float64
    np.testing.assert_array_equal(predictions, np.clip(raw.astype(np.float64), 0, None))

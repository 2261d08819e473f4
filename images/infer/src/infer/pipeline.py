"""One infer run: model + the target day's features -> the target day's predictions partition."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa

from infer.config import InferConfig
from infer.glue import mart_database, register_partition
from infer.layout import FEATURES, KEY_COLUMNS, PREDICTIONS, manifest_key, run_prefix, s3_uri
from infer.model import check_feature_columns, feature_matrix, load_model, predict, resolve_version
from infer.storage import commit_partition, delete_superseded_runs, read_partition

PREDICTIONS_SCHEMA = pa.schema(
    [
        ("store_id", pa.string()),
        ("item_id", pa.string()),
        ("prediction", pa.float64()),
        ("model_version", pa.string()),
        ("run_id", pa.string()),
    ]
)


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    target_date: date
    model_name: str
    model_version: str
    rows: int
    manifest_uri: str


def run(config: InferConfig, s3, run_id: str, glue=None) -> RunSummary:
    """`glue` (a boto3 Glue client) is needed when the config names a Glue database prefix."""
    target = config.target_date
    version = resolve_version(s3, config.artifacts_bucket, config.model_name, config.model_version)
    model = load_model(s3, config.artifacts_bucket, config.model_name, version)

    features = read_partition(s3, config.mart_bucket, FEATURES, target)
    check_feature_columns(features.data.schema, model, f"{FEATURES} partition dt={target}")
    # Sorted by key before predicting, so the same features give the same rows in the same order (same bytes).
    ordered = features.data.sort_by([(column, "ascending") for column in KEY_COLUMNS])
    predictions = predict(model, feature_matrix(ordered, model.features))

    table = predictions_table(ordered, predictions, model.version, run_id)
    commit_partition(
        s3,
        config.mart_bucket,
        PREDICTIONS,
        target,
        run_id,
        table,
        inputs=[features.lineage, *model.lineage],
        checks=[{"rule": "features_match_model_schema", "passed": True}],
    )
    # Athena's switch to the new folder comes after the commit and before the old folders go: until Glue is
    # re-pointed, Athena still reads the previous run's folder, so a refusal here must leave it in place.
    if config.glue_database_prefix:
        run_folder = s3_uri(config.mart_bucket, run_prefix(PREDICTIONS, target, run_id))
        register_partition(glue, mart_database(config.glue_database_prefix), PREDICTIONS, target, run_folder)
    delete_superseded_runs(s3, config.mart_bucket, PREDICTIONS, target, run_id)
    return RunSummary(
        run_id=run_id,
        target_date=target,
        model_name=model.name,
        model_version=model.version,
        rows=table.num_rows,
        manifest_uri=s3_uri(config.mart_bucket, manifest_key(PREDICTIONS, target)),
    )


def predictions_table(
    features: pa.Table, predictions: np.ndarray, model_version: str, run_id: str
) -> pa.Table:
    rows = features.num_rows
    return pa.table(
        {
            "store_id": features["store_id"].cast(pa.string()),
            "item_id": features["item_id"].cast(pa.string()),
            "prediction": pa.array(predictions, type=pa.float64()),
            "model_version": pa.array([model_version] * rows, type=pa.string()),
            "run_id": pa.array([run_id] * rows, type=pa.string()),
        },
        schema=PREDICTIONS_SCHEMA,
    ).combine_chunks()

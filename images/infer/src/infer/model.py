"""The model side: find the version to use, load it with its feature schema, check features, predict."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import xgboost as xgb

from infer.errors import DataCheckError, InputMissingError
from infer.layout import (
    FEATURE_SCHEMA_FILE,
    KEY_COLUMNS,
    LABEL_COLUMN,
    MODEL_FILE,
    VERSION_FILE,
    champion_key,
    model_version_prefix,
    s3_uri,
)
from infer.storage import athena_type, read_object, sha256_hex


@dataclass(frozen=True)
class Feature:
    name: str
    type: str  # Athena/Glue type name, as in the manifests' schema: bigint, double, boolean, ...


@dataclass(frozen=True)
class Model:
    name: str
    version: str
    booster: xgb.Booster
    features: tuple[Feature, ...]  # in the model's column order
    lineage: tuple[
        dict[str, str], ...
    ]  # {"uri", "sha256"} of each artifact read, for the manifest's `inputs`


def resolve_version(s3, bucket: str, model_name: str, pinned_version: str | None) -> str:
    """The pinned version if any, else the one champion.json names."""
    if pinned_version is not None:
        return pinned_version
    key = champion_key(model_name)
    body = read_object(s3, bucket, key)
    if body is None:
        raise InputMissingError(
            f"model '{model_name}' has no champion ({s3_uri(bucket, key)} does not exist); "
            "train one or pin a version with MODEL_VERSION"
        )
    try:
        return str(json.loads(body)["version"])
    except (ValueError, KeyError, TypeError):
        raise DataCheckError(f"{s3_uri(bucket, key)} names no 'version'") from None


def load_model(s3, bucket: str, model_name: str, version: str) -> Model:
    """Loads a committed version (one with `_version.json`): its booster and feature schema."""
    prefix = model_version_prefix(model_name, version)
    bodies: dict[str, bytes] = {}
    for file_name in (VERSION_FILE, MODEL_FILE, FEATURE_SCHEMA_FILE):
        body = read_object(s3, bucket, prefix + file_name)
        if body is None:
            if file_name == VERSION_FILE:
                raise InputMissingError(
                    f"model '{model_name}' version '{version}' does not exist "
                    f"(no {s3_uri(bucket, prefix + VERSION_FILE)})"
                )
            raise InputMissingError(
                f"model version is incomplete: {s3_uri(bucket, prefix + file_name)} is missing"
            )
        bodies[file_name] = body

    features = parse_feature_schema(bodies[FEATURE_SCHEMA_FILE], s3_uri(bucket, prefix + FEATURE_SCHEMA_FILE))
    booster = xgb.Booster()
    try:
        booster.load_model(bytearray(bodies[MODEL_FILE]))
    except xgb.core.XGBoostError:
        raise DataCheckError(
            f"{s3_uri(bucket, prefix + MODEL_FILE)} is not a loadable XGBoost model"
        ) from None
    names = [feature.name for feature in features]
    if booster.num_features() != len(names) or (
        booster.feature_names is not None and list(booster.feature_names) != names
    ):
        raise DataCheckError(
            f"{s3_uri(bucket, prefix + MODEL_FILE)} expects features "
            f"{booster.feature_names or booster.num_features()}, but {FEATURE_SCHEMA_FILE} lists {names}"
        )
    lineage = tuple(
        {"uri": s3_uri(bucket, prefix + name), "sha256": sha256_hex(body)} for name, body in bodies.items()
    )
    return Model(name=model_name, version=version, booster=booster, features=features, lineage=lineage)


def parse_feature_schema(body: bytes, uri: str) -> tuple[Feature, ...]:
    try:
        features = tuple(Feature(name=entry["name"], type=entry["type"]) for entry in json.loads(body))
    except (ValueError, KeyError, TypeError):
        raise DataCheckError(f'{uri} is not a list of {{"name", "type"}} objects') from None
    names = [feature.name for feature in features]
    if not features or len(set(names)) != len(names):
        raise DataCheckError(f"{uri} must list at least one feature, each once")
    return features


def check_feature_columns(schema: pa.Schema, model: Model, partition: str) -> None:
    """Features must carry the keys and exactly the model's features with the model's types (the label may
    be there too): a renamed, dropped, added or retyped column means the features changed meaning."""
    actual = {field.name: athena_type(field.type) for field in schema}
    expected = {name: "string" for name in KEY_COLUMNS} | {f.name: f.type for f in model.features}
    problems = []
    for name, expected_type in expected.items():
        if name not in actual:
            problems.append(f"column '{name}' is missing")
        elif actual[name] != expected_type:
            problems.append(f"column '{name}' is {actual[name]}, the model expects {expected_type}")
    allowed = expected.keys() | {LABEL_COLUMN}
    problems += [
        f"column '{name}' is not in the model's feature schema" for name in actual if name not in allowed
    ]
    if problems:
        raise DataCheckError(
            f"{partition} does not match the feature schema of model {model.name} {model.version}: "
            + "; ".join(problems)
        )


def feature_matrix(table: pa.Table, features: tuple[Feature, ...]) -> np.ndarray:
    """Rows x features in the model's order as float32 (XGBoost's own precision): booleans become 0/1 and
    nulls NaN, which XGBoost treats as missing."""
    matrix = np.empty((table.num_rows, len(features)), dtype=np.float32)
    for position, feature in enumerate(features):
        matrix[:, position] = table[feature.name].cast(pa.float64()).to_numpy(zero_copy_only=False)
    return matrix


def predict(model: Model, matrix: np.ndarray) -> np.ndarray:
    """Predicted units per row; demand is never negative, so predictions are clipped at 0."""
    names = [feature.name for feature in model.features]
    predictions = model.booster.predict(xgb.DMatrix(matrix, missing=np.nan, feature_names=names))
    return np.clip(predictions.astype(np.float64), 0.0, None)

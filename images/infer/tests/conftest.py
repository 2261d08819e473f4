"""A tiny world in moto: a mart and an artifacts bucket, a real XGBoost model, real features partitions."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
from dataclasses import dataclass
from datetime import date

import boto3
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xgboost as xgb
from infer.cli import main
from infer.layout import champion_key, data_key, manifest_key, model_version_prefix, new_run_id
from moto import mock_aws

MART = "batchml-test-mart"
ARTIFACTS = "batchml-test-artifacts"
RUN_DATE = date(2026, 3, 1)
TARGET = date(2026, 3, 2)

# The contract's features columns (docs/s3-layout.md), in order; the model uses all but the keys and label.
FEATURES_SCHEMA = pa.schema(
    [
        ("store_id", pa.string()),
        ("item_id", pa.string()),
        ("day_of_week", pa.int64()),
        ("day_of_month", pa.int64()),
        ("month", pa.int64()),
        ("is_holiday", pa.bool_()),
        ("unit_price", pa.float64()),
        ("on_promotion", pa.bool_()),
        ("price_ratio", pa.float64()),
        ("lag_1", pa.float64()),
        ("lag_7", pa.float64()),
        ("lag_14", pa.float64()),
        ("lag_28", pa.float64()),
        ("mean_7", pa.float64()),
        ("std_7", pa.float64()),
        ("mean_28", pa.float64()),
        ("std_28", pa.float64()),
        ("units_sold", pa.int64()),
    ]
)
ATHENA = {pa.int64(): "bigint", pa.float64(): "double", pa.bool_(): "boolean", pa.string(): "string"}
MODEL_FEATURES = [
    {"name": field.name, "type": ATHENA[field.type]}
    for field in FEATURES_SCHEMA
    if field.name not in ("store_id", "item_id", "units_sold")
]


def feature_rows(seed: int = 7, stores: int = 3, items: int = 4) -> list[dict]:
    """One row per store x item, shuffled (the unit must sort), with nulls where early history is missing."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(1, stores + 1):
        for i in range(1, items + 1):
            lag_1 = float(rng.integers(0, 20))
            rows.append(
                {
                    "store_id": f"S{s:02d}",
                    "item_id": f"I{i:03d}",
                    "day_of_week": TARGET.isoweekday(),
                    "day_of_month": TARGET.day,
                    "month": TARGET.month,
                    "is_holiday": bool(rng.integers(0, 2)),
                    "unit_price": float(rng.uniform(1, 5)),
                    "on_promotion": bool(rng.integers(0, 2)),
                    "price_ratio": float(rng.uniform(0.7, 1.1)),
                    "lag_1": lag_1,
                    "lag_7": float(rng.integers(0, 20)),
                    "lag_14": float(rng.integers(0, 20)),
                    "lag_28": None if i == 1 else float(rng.integers(0, 20)),
                    "mean_7": float(rng.uniform(0, 20)),
                    "std_7": float(rng.uniform(0, 5)),
                    "mean_28": float(rng.uniform(0, 20)),
                    "std_28": None if s == 1 else float(rng.uniform(0, 5)),
                    "units_sold": None,
                }
            )
    order = rng.permutation(len(rows))
    return [rows[k] for k in order]


def expected_matrix(rows: list[dict], features: list[dict]) -> np.ndarray:
    """The model matrix built independently of the unit: plain Python, booleans 0/1, None -> NaN."""
    return np.array(
        [[np.nan if row[f["name"]] is None else float(row[f["name"]]) for f in features] for row in rows],
        dtype=np.float32,
    )


def sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def parquet_bytes(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


class World:
    """The buckets plus helpers; tests reach the constants through it (conftest is not importable)."""

    mart = MART
    artifacts = ARTIFACTS
    run_date = RUN_DATE
    target = TARGET
    model_features = MODEL_FEATURES
    expected_matrix = staticmethod(expected_matrix)
    sha256 = staticmethod(sha256)

    def __init__(self, s3):
        self.s3 = s3

    def get_json(self, bucket: str, key: str) -> dict:
        return json.loads(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())

    def keys(self, bucket: str, prefix: str) -> list[str]:
        listing = self.s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
        return sorted(obj["Key"] for obj in listing.get("Contents", []))

    def put_model(
        self,
        version: str,
        features: list[dict] = MODEL_FEATURES,
        seed: int = 0,
        champion: bool = True,
        committed: bool = True,
    ) -> xgb.Booster:
        """Trains a small booster whose label can go negative (so clipping matters) and stores it as a
        version: model.ubj, feature_schema.json, then _version.json; optionally makes it the champion."""
        rng = np.random.default_rng(seed)
        x = rng.uniform(0, 20, size=(200, len(features))).astype(np.float32)
        x[rng.random(x.shape) < 0.1] = np.nan
        y = np.nan_to_num(x[:, 7]) * 1.5 - 8 + rng.normal(0, 1, 200)  # x[:, 7] is lag_1
        names = [f["name"] for f in features]
        booster = xgb.train(
            {"objective": "reg:squarederror", "max_depth": 3, "eta": 0.3, "seed": seed, "nthread": 1},
            xgb.DMatrix(x, label=y, feature_names=names),
            num_boost_round=15,
        )
        prefix = model_version_prefix("demand", version)
        self.s3.put_object(Bucket=ARTIFACTS, Key=prefix + "model.ubj", Body=bytes(booster.save_raw("ubj")))
        self.s3.put_object(Bucket=ARTIFACTS, Key=prefix + "feature_schema.json", Body=json.dumps(features))
        if committed:
            version_doc = {
                "model_name": "demand",
                "version": version,
                "run_date": "2026-02-28",
                "created_at": "2026-02-28T02:00:00Z",
                "promoted": champion,
                "reason": "test",
            }
            self.s3.put_object(Bucket=ARTIFACTS, Key=prefix + "_version.json", Body=json.dumps(version_doc))
        if champion:
            pointer = {
                "model_name": "demand",
                "version": version,
                "promoted_at": "2026-02-28T02:00:00Z",
                "metrics": {},
            }
            self.s3.put_object(Bucket=ARTIFACTS, Key=champion_key("demand"), Body=json.dumps(pointer))
        return booster

    def put_features(self, dt: date, table: pa.Table, files: int = 2) -> dict:
        """Commits a features partition split over `files` Parquet files, with a manifest listing them."""
        run_id = new_run_id()
        entries = []
        bounds = np.linspace(0, table.num_rows, files + 1).astype(int)
        for part, (start, stop) in enumerate(itertools.pairwise(bounds)):
            body = parquet_bytes(table.slice(start, stop - start))
            key = data_key("features", dt, run_id, part)
            self.s3.put_object(Bucket=MART, Key=key, Body=body)
            entries.append(
                {"key": key, "rows": int(stop - start), "bytes": len(body), "sha256": sha256(body)}
            )
        manifest = {
            "manifest_version": 1,
            "table": "features",
            "dt": dt.isoformat(),
            "run_id": run_id,
            "created_at": "2026-03-01T02:00:00Z",
            "producer": {"unit": "preprocess", "version": "0"},
            "files": entries,
            "rows": table.num_rows,
            "schema": [{"name": f.name, "type": ATHENA[f.type]} for f in table.schema],
            "inputs": [],
            "checks": [],
        }
        self.s3.put_object(Bucket=MART, Key=manifest_key("features", dt), Body=json.dumps(manifest))
        return manifest


@pytest.fixture
def aws_env(monkeypatch):
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN", "LOG_LEVEL", "MODEL_VERSION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")


@pytest.fixture
def world(aws_env):
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=MART)
        s3.create_bucket(Bucket=ARTIFACTS)
        yield World(s3)


@pytest.fixture
def rows() -> list[dict]:
    return feature_rows()


@pytest.fixture
def features_table(rows) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=FEATURES_SCHEMA)


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: list[str]

    @property
    def errors(self) -> list[str]:
        return [line for line in self.stderr if line.startswith("infer: error:")]

    @property
    def logs(self) -> list[dict]:
        return [json.loads(line) for line in self.stderr if line.startswith("{")]


@pytest.fixture
def run_infer(aws_env, monkeypatch, capsys):
    """Runs the console script's main() in-process, configured the way ECS does it: by environment."""

    def invoke(*args: str, **env: str) -> CliResult:
        settings = {
            "RUN_DATE": RUN_DATE.isoformat(),
            "MART_BUCKET": MART,
            "ARTIFACTS_BUCKET": ARTIFACTS,
            "LOG_FORMAT": "json",
            **env,
        }
        for name, value in settings.items():
            monkeypatch.setenv(name, value)
        capsys.readouterr()  # drop anything printed before this run
        code = main(["run", *args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err.splitlines())

    return invoke

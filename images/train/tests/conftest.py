"""Fixtures: an in-process S3 (moto) with the mart and artifacts buckets, and a synthetic `features` table
written there exactly as the contract says preprocess writes it (zstd Parquet under run=…/, manifest last).

The synthetic demand has a known signal the model can learn and seasonal naive (lag_7) cannot follow:
a per-series level, a weekday profile, and promotions that lift demand by 60% on random days.
"""

import hashlib
import io
import json
from dataclasses import dataclass
from datetime import date, timedelta

import boto3
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

MART = "test-mart"
ARTIFACTS = "test-artifacts"
RUN_DATE = date(2026, 3, 31)
WINDOW_DAYS = 28
VALIDATION_DAYS = 7
STORES = ("S01", "S02", "S03", "S04")
ITEMS = tuple(f"I{number:03d}" for number in range(1, 11))
WEEKDAY_PROFILE = (0.8, 0.85, 0.9, 1.0, 1.2, 1.5, 1.3)  # Monday .. Sunday
PROMOTION_LIFT = 1.6
HISTORY_DAYS = 28  # days of sales before the window, so that every lag and mean exists
NEW_ITEM = "I010"  # sells from 3 days before validation: its lags and means are null on the first days

FEATURES_SCHEMA = [
    ("store_id", "string", pa.string()),
    ("item_id", "string", pa.string()),
    ("day_of_week", "bigint", pa.int64()),
    ("day_of_month", "bigint", pa.int64()),
    ("month", "bigint", pa.int64()),
    ("is_holiday", "boolean", pa.bool_()),
    ("unit_price", "double", pa.float64()),
    ("on_promotion", "boolean", pa.bool_()),
    ("price_ratio", "double", pa.float64()),
    ("lag_1", "double", pa.float64()),
    ("lag_7", "double", pa.float64()),
    ("lag_14", "double", pa.float64()),
    ("lag_28", "double", pa.float64()),
    ("mean_7", "double", pa.float64()),
    ("std_7", "double", pa.float64()),
    ("mean_28", "double", pa.float64()),
    ("std_28", "double", pa.float64()),
    ("units_sold", "bigint", pa.int64()),
]


def window_dates(run_date: date = RUN_DATE, days: int = WINDOW_DAYS) -> list[date]:
    return [run_date - timedelta(days=days - 1 - offset) for offset in range(days)]


@dataclass
class Sales:
    """Simulated daily sales of every store x item, with what drove them."""

    first_day: date
    units: dict[tuple[str, str], np.ndarray]  # NaN where the series did not sell yet
    promotion: dict[tuple[str, str], np.ndarray]
    base_price: dict[str, float]

    def day_index(self, day: date) -> int:
        return (day - self.first_day).days


def simulate_sales(run_date: date, seed: int = 3) -> Sales:
    """Sales from HISTORY_DAYS before the window up to the day after the run date."""
    rng = np.random.default_rng(seed)
    last_day = run_date + timedelta(days=1)
    first_day = last_day - timedelta(days=WINDOW_DAYS + HISTORY_DAYS + 1)
    days = [first_day + timedelta(days=offset) for offset in range((last_day - first_day).days + 1)]
    weekday = np.array([WEEKDAY_PROFILE[day.weekday()] for day in days])
    new_item_start = (window_dates(run_date)[-VALIDATION_DAYS] - timedelta(days=3) - first_day).days
    units, promotion = {}, {}
    for store in STORES:
        for item in ITEMS:
            level = rng.uniform(3, 30)
            promoted = rng.random(len(days)) < 0.2
            expected = level * weekday * np.where(promoted, PROMOTION_LIFT, 1.0)
            sold = rng.poisson(expected).astype(float)
            if item == NEW_ITEM:
                sold[:new_item_start] = np.nan
            units[store, item] = sold
            promotion[store, item] = promoted
    base_price = {item: round(float(rng.uniform(1, 10)), 2) for item in ITEMS}
    return Sales(first_day, units, promotion, base_price)


def _window_stats(history: np.ndarray) -> tuple[float | None, float | None]:
    if len(history) == 0 or np.isnan(history).any():
        return None, None
    return float(history.mean()), float(history.std(ddof=1)) if len(history) > 1 else None


def features_table(sales: Sales, day: date, labelled: bool = True) -> pa.Table:
    """The `features` rows of target date `day`, computed from the sales before it, sorted by key."""
    t = sales.day_index(day)
    rows = {name: [] for name, _, _ in FEATURES_SCHEMA}
    for (store, item), units in sorted(sales.units.items()):
        if np.isnan(units[t]):
            continue  # the series does not exist yet
        promoted = bool(sales.promotion[store, item][t])
        price = sales.base_price[item] * (0.8 if promoted else 1.0)
        mean_7, std_7 = _window_stats(units[t - 7 : t])
        mean_28, std_28 = _window_stats(units[t - 28 : t])
        values = {
            "store_id": store,
            "item_id": item,
            "day_of_week": day.isoweekday(),
            "day_of_month": day.day,
            "month": day.month,
            "is_holiday": day == date(2026, 3, 17),
            "unit_price": price,
            "on_promotion": promoted,
            "price_ratio": price / sales.base_price[item],
            "mean_7": mean_7,
            "std_7": std_7,
            "mean_28": mean_28,
            "std_28": std_28,
            "units_sold": int(units[t]) if labelled else None,
        }
        for lag in (1, 7, 14, 28):
            value = units[t - lag]
            values[f"lag_{lag}"] = None if np.isnan(value) else float(value)
        for name in rows:
            rows[name].append(values[name])
    return pa.table({name: pa.array(rows[name], arrow) for name, _, arrow in FEATURES_SCHEMA})


def parquet_bytes(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


class SyntheticMart:
    """Writes `features` partitions into the mocked mart the way the contract says preprocess does."""

    run_date = RUN_DATE
    window = window_dates()
    training_dates = window[:-VALIDATION_DAYS]
    validation_dates = window[-VALIDATION_DAYS:]
    stores = STORES
    schema = FEATURES_SCHEMA

    def __init__(self, s3, bucket: str = MART):
        self.s3 = s3
        self.bucket = bucket
        self.sales = simulate_sales(RUN_DATE)
        self.runs = 0

    def table(self, day: date) -> pa.Table:
        return features_table(self.sales, day)

    def publish(
        self, day: date, table: pa.Table, manifest_schema: list[tuple[str, str]] | None = None
    ) -> bytes:
        self.runs += 1
        run_id = f"20260401T020000Z-{self.runs:08x}"
        prefix = f"features/dt={day.isoformat()}/"
        body = parquet_bytes(table)
        data_key = f"{prefix}run={run_id}/part-00000.zstd.parquet"
        self.s3.put_object(Bucket=self.bucket, Key=data_key, Body=body)
        schema = manifest_schema or [(name, glue) for name, glue, _ in FEATURES_SCHEMA]
        manifest = {
            "manifest_version": 1,
            "table": "features",
            "dt": day.isoformat(),
            "run_id": run_id,
            "created_at": "2026-04-01T02:00:07Z",
            "producer": {"unit": "preprocess", "version": "0.1.0"},
            "files": [
                {
                    "key": data_key,
                    "rows": table.num_rows,
                    "bytes": len(body),
                    "sha256": hashlib.sha256(body).hexdigest(),
                }
            ],
            "rows": table.num_rows,
            "schema": [{"name": name, "type": glue} for name, glue in schema],
            "inputs": [
                {
                    "uri": f"s3://test-warehouse/sales/dt={day.isoformat()}/_manifest.json",
                    "sha256": hashlib.sha256(day.isoformat().encode()).hexdigest(),
                }
            ],
            "checks": [],
        }
        manifest_bytes = json.dumps(manifest).encode()
        self.s3.put_object(Bucket=self.bucket, Key=f"{prefix}_manifest.json", Body=manifest_bytes)
        return manifest_bytes

    def publish_window(
        self, days: list[date] | None = None, unlabelled: tuple[date, ...] = (RUN_DATE,)
    ) -> None:
        """Every window day; the run date's own sales are not in yet, so its labels are null."""
        for day in days or window_dates():
            self.publish(day, features_table(self.sales, day, labelled=day not in unlabelled))

    def corrupt_labels(self, days: list[date], seed: int = 99) -> None:
        """Republishes `days` with their labels shuffled across rows: a broken join, say."""
        rng = np.random.default_rng(seed)
        for day in days:
            table = features_table(self.sales, day)
            labels = table["units_sold"].to_numpy()
            shuffled = pa.array(rng.permutation(labels), pa.int64())
            self.publish(
                day, table.set_column(table.schema.get_field_index("units_sold"), "units_sold", shuffled)
            )


@pytest.fixture
def aws_env(monkeypatch):
    for name in (
        "AWS_ENDPOINT_URL",
        "AWS_PROFILE",
        "RUN_DATE",
        "MART_BUCKET",
        "ARTIFACTS_BUCKET",
        "MODEL_NAME",
        "TRAIN_WINDOW_DAYS",
        "VALIDATION_DAYS",
        "SEED",
        "PROMOTION_MARGIN",
        "LOG_FORMAT",
        "LOG_LEVEL",
        "TRAIN_MEMORY_MODE",
        "TRAIN_MEMORY_LIMIT_MIB",
        "TRAIN_CACHE_DIR",
        "MODEL_VERSION",
        "FAIL_IF_NOT_PROMOTED",
        "MLFLOW_TRACKING_URI",
        "MLFLOW_EXPERIMENT_NAME",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")


@pytest.fixture
def s3(aws_env):
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        for bucket in (MART, ARTIFACTS):
            client.create_bucket(Bucket=bucket)
        yield client


@pytest.fixture
def mart(s3) -> SyntheticMart:
    return SyntheticMart(s3)


class Artifacts:
    """Reads what train wrote into the mocked artifacts bucket."""

    bucket = ARTIFACTS

    def __init__(self, s3):
        self.s3 = s3

    def bytes(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def json(self, key: str):
        return json.loads(self.bytes(key))

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))

    def versions(self, model_name: str = "demand") -> list[str]:
        """The committed versions: folders holding `_version.json`."""
        marker = "/_version.json"
        prefix = f"models/{model_name}/versions/"
        return [key[len(prefix) : -len(marker)] for key in self.keys(prefix) if key.endswith(marker)]

    def version_file(self, version: str, name: str, model_name: str = "demand") -> str:
        return f"models/{model_name}/versions/{version}/{name}"


@pytest.fixture
def artifacts(s3) -> Artifacts:
    return Artifacts(s3)


@pytest.fixture
def train_args() -> list[str]:
    """The command line of a run over the synthetic window."""
    return [
        "run",
        "--date",
        RUN_DATE.isoformat(),
        "--mart-bucket",
        MART,
        "--artifacts-bucket",
        ARTIFACTS,
        "--window-days",
        str(WINDOW_DAYS),
        "--validation-days",
        str(VALIDATION_DAYS),
        "--log-format",
        "json",
    ]

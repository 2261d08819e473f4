"""One train run: read the window, fit, compare with the baselines and the champion, publish the version."""

import contextlib
import math
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xgboost as xgb

from train import __version__, dataset, layout, logs, memory, model, registry, report, tracking
from train.config import TrainConfig
from train.dataset import FEATURE_COLUMNS, LABEL
from train.errors import DataCheckError
from train.storage import Storage, json_bytes

BASELINES = {
    "seasonal_naive": "lag_7",
    "moving_average": "mean_7",
}  # baseline -> the feature that is its forecast


@dataclass(frozen=True)
class Split:
    training_rows: int  # labelled rows trained on (held by XGBoost's matrix, in memory or on disk)
    validation: pa.Table
    evaluated: pa.Table  # the validation rows where every baseline has a forecast: all are compared on these
    dropped: int  # rows without a label


@dataclass(frozen=True)
class TrainResult:
    version: str
    promoted: bool
    reason: str
    metrics: dict
    summary: str


def _require_labelled(name: str, rows: int, dates: list[date]) -> None:
    if rows == 0:
        raise DataCheckError(f"no labelled features rows on the {name} dates {dates[0]}..{dates[-1]}")


def split_window(config: TrainConfig, training_rows: int, validation: pa.Table, dropped: int) -> Split:
    """Training days, then validation days: the model is judged on days after everything it learned from."""
    logs.info("unlabelled_dropped", f"dropped {dropped} rows whose label is not known yet", rows=dropped)
    _require_labelled("validation", validation.num_rows, config.validation_dates)
    evaluated = validation.filter(pc.and_(*(pc.is_valid(validation[c]) for c in BASELINES.values())))
    if evaluated.num_rows == 0:
        raise DataCheckError("no validation row has both baselines defined (lag_7 and mean_7 are all null)")
    return Split(training_rows, validation, evaluated, dropped)


@dataclass(frozen=True)
class TrainingMatrix:
    matrix: xgb.DMatrix
    rows: int
    dropped: int
    partitions: tuple[dataset.PartitionRead, ...]


def in_memory_training(
    config: TrainConfig, storage: Storage, reads: list[dataset.PartitionRead]
) -> TrainingMatrix:
    """The training days stacked into one table, then one float32 matrix, then XGBoost's matrix.

    The Arrow table and the float32 matrix are freed on return: only XGBoost's quantised copy stays.
    """
    window = dataset.read_window(storage, config.mart_bucket, reads)
    training, dropped = dataset.drop_unlabelled(window.table)
    _require_labelled("training", training.num_rows, config.training_dates)
    features = list(FEATURE_COLUMNS)
    matrix = model.in_memory_matrix(
        dataset.to_matrix(training, features), dataset.to_vector(training, LABEL), features
    )
    return TrainingMatrix(matrix, training.num_rows, dropped, window.partitions)


def external_training(
    config: TrainConfig, storage: Storage, reads: list[dataset.PartitionRead], folder: Path
) -> TrainingMatrix:
    """The training days staged in `folder` and streamed into XGBoost's matrix, cached in `folder` too."""
    staged = dataset.stage_partitions(storage, config.mart_bucket, reads, folder)
    _require_labelled("training", staged.rows, config.training_dates)
    logs.info(
        "training_staged",
        f"staged {staged.rows} training rows in {len(staged.files)} batches under {folder}",
        rows=staged.rows,
        batches=len(staged.files),
    )
    batches = dataset.StagedBatches(staged.files, cache_prefix=str(folder / "xgboost"))
    return TrainingMatrix(model.external_matrix(batches), staged.rows, staged.dropped, staged.partitions)


def fit_model(
    config: TrainConfig, storage: Storage, reads: list[dataset.PartitionRead], plan: memory.MemoryPlan
) -> tuple[Split, model.FitResult, tuple[dataset.PartitionRead, ...]]:
    """Reads the window in the planned mode and fits; returns the split, the fit and the partitions read."""
    training_dates = set(config.training_dates)
    training_reads = [read for read in reads if read.dt in training_dates]
    validation_reads = [read for read in reads if read.dt not in training_dates]
    features = list(FEATURE_COLUMNS)
    with contextlib.ExitStack() as cleanup:
        if plan.mode == memory.EXTERNAL:
            # The staged partitions and XGBoost's cache live only as long as the fit needs them.
            folder = cleanup.enter_context(
                tempfile.TemporaryDirectory(prefix=f"train-{config.run_id}-", dir=config.cache_dir)
            )
            training = external_training(config, storage, training_reads, Path(folder))
        else:
            training = in_memory_training(config, storage, training_reads)
        validation_window = dataset.read_window(storage, config.mart_bucket, validation_reads)
        validation, validation_dropped = dataset.drop_unlabelled(validation_window.table)
        split = split_window(config, training.rows, validation, training.dropped + validation_dropped)
        fitted = model.fit(
            training.matrix,
            dataset.to_matrix(split.validation, features),
            dataset.to_vector(split.validation, LABEL),
            features,
            config.seed,
        )
        partitions = training.partitions + validation_window.partitions
        # XGBoost deletes its cache files when its matrix is freed: that must happen before the folder goes.
        del training
    logs.info(
        "model_trained",
        f"trained {fitted.best_iteration + 1} trees (early stopping after {fitted.rounds_trained} rounds)",
        training_rows=split.training_rows,
        validation_rows=split.validation.num_rows,
        memory_mode=plan.mode,
    )
    return split, fitted, partitions


def evaluate_champion(
    storage: Storage, config: TrainConfig, evaluated: pa.Table, actual: np.ndarray
) -> dict | None:
    """The champion's metrics on the very rows the new model is judged on, or None when there is none."""
    champion = registry.read_champion(storage, config.artifacts_bucket, config.model_name)
    if champion is None:
        return None
    booster, schema = registry.load_version(
        storage, config.artifacts_bucket, config.model_name, champion.version
    )
    problems = registry.schema_problems(schema)
    if problems:
        # A champion built on other columns cannot be scored on today's features (nor used by infer): the
        # new model then only has to beat the baselines.
        logs.warning(
            "champion_not_comparable",
            f"champion {champion.version} cannot run on today's features ({problems[0]}); comparing with "
            "the baselines only",
            champion=champion.version,
        )
        return {"version": champion.version, "comparable": False, "overall": None}
    predicted = model.predict(booster, dataset.to_matrix(evaluated, [column["name"] for column in schema]))
    return {
        "version": champion.version,
        "comparable": True,
        "overall": model.error_metrics(actual, predicted),
    }


def best_baseline(overall: dict) -> str:
    """The baseline with the lowest WAPE (an undefined WAPE never wins)."""
    return min(BASELINES, key=lambda name: (math.isnan(overall[name]["wape"]), overall[name]["wape"]))


def gate(config: TrainConfig, overall: dict, champion: dict | None) -> registry.GateDecision:
    best = best_baseline(overall)
    rival = None
    if champion is not None:
        rival = (champion["version"], champion["overall"]["wape"] if champion["overall"] else math.nan)
    return registry.decide_promotion(
        overall["model"]["wape"], (best, overall[best]["wape"]), rival, config.promotion_margin
    )


def _span(dates: list[date]) -> dict:
    return {"first_date": dates[0].isoformat(), "last_date": dates[-1].isoformat(), "days": len(dates)}


def _json_safe(value):
    """NaN (an undefined metric) becomes null: JSON has no NaN."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return value


def metrics_document(config: TrainConfig, split: Split, scores: dict, champion: dict | None) -> dict:
    overall = scores["overall"]
    return _json_safe(
        {
            "model_name": config.model_name,
            "version": config.run_id,
            "training": {**_span(config.training_dates), "rows": split.training_rows},
            "validation": {
                **_span(config.validation_dates),
                "rows": split.validation.num_rows,
                "rows_evaluated": split.evaluated.num_rows,
            },
            "rows_dropped_unlabelled": split.dropped,
            "best_baseline": best_baseline(overall),
            "overall": overall,
            "per_store": scores["per_store"],
            "champion": champion,
        }
    )


def params_document(config: TrainConfig, fitted: model.FitResult, plan: memory.MemoryPlan) -> dict:
    return {
        "xgboost": fitted.params,
        "num_boost_round": model.NUM_BOOST_ROUND,
        "early_stopping_rounds": model.EARLY_STOPPING_ROUNDS,
        "best_iteration": fitted.best_iteration,
        "rounds_trained": fitted.rounds_trained,
        "features": list(FEATURE_COLUMNS),
        "label": LABEL,
        "window": _span(config.window_dates),
        "training_dates": _span(config.training_dates),
        "validation_dates": [day.isoformat() for day in config.validation_dates],
        "seed": config.seed,
        "promotion_margin": config.promotion_margin,
        "memory": plan.document(),
        "versions": {
            "train": __version__,
            "xgboost": xgb.__version__,
            "pyarrow": pa.__version__,
            "numpy": np.__version__,
        },
    }


def lineage_document(config: TrainConfig, partitions: tuple[dataset.PartitionRead, ...]) -> dict:
    """Every partition read, with the checksum of its manifest and, through the manifest, what made it."""
    return {
        "run_id": config.run_id,
        "run_date": config.run_date.isoformat(),
        "mart_bucket": config.mart_bucket,
        "partitions": [
            {
                "table": dataset.FEATURES_TABLE,
                "dt": read.dt.isoformat(),
                "manifest_key": read.manifest_key,
                "manifest_uri": f"s3://{config.mart_bucket}/{read.manifest_key}",
                "manifest_sha256": read.manifest_sha256,
                "run_id": read.run_id,
                "rows": read.rows,
                "files": list(read.files),
                "inputs": list(read.inputs),
            }
            for read in partitions
        ],
    }


def _summary(version: str, overall: dict, champion: dict | None, decision: registry.GateDecision) -> str:
    parts = [f"model WAPE {overall['model']['wape']:.4f}"]
    parts += [f"{name.replace('_', ' ')} {overall[name]['wape']:.4f}" for name in BASELINES]
    if champion and champion["overall"]:
        parts.append(f"champion {champion['version']} {champion['overall']['wape']:.4f}")
    outcome = "promoted to champion" if decision.promote else "not promoted"
    return f"version {version}: {', '.join(parts)}: {outcome}"


def run_training(config: TrainConfig, storage: Storage) -> TrainResult:
    started = time.monotonic()
    logs.info(
        "train_started",
        f"training {config.model_name} on features {config.window_dates[0]}..{config.run_date}",
        run_id=config.run_id,
        run_date=config.run_date,
        window_days=config.window_days,
        validation_days=config.validation_days,
    )
    reads = dataset.read_manifests(storage, config.mart_bucket, config.window_dates)
    plan = memory.plan_memory(config.memory_mode, sum(read.rows for read in reads), config.memory_limit_bytes)
    logs.info("memory_mode_chosen", plan.reason, **plan.document())
    split, fitted, partitions = fit_model(config, storage, reads, plan)

    features = list(FEATURE_COLUMNS)
    actual = dataset.to_vector(split.evaluated, LABEL)
    predictions = {"model": model.predict(fitted.booster, dataset.to_matrix(split.evaluated, features))}
    predictions |= {name: dataset.to_vector(split.evaluated, column) for name, column in BASELINES.items()}
    stores = np.array(split.evaluated["store_id"].to_pylist(), dtype=object)
    scores = model.evaluate(actual, predictions, stores)
    champion = evaluate_champion(storage, config, split.evaluated, actual)
    decision = gate(config, scores["overall"], champion)

    created_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    metrics = metrics_document(config, split, scores, champion)
    params = params_document(config, fitted, plan)
    lineage = lineage_document(config, partitions)
    version_record = {
        "model_name": config.model_name,
        "version": config.run_id,
        "run_date": config.run_date.isoformat(),
        "created_at": created_at,
        "promoted": decision.promote,
        "reason": decision.reason,
        "producer": {"unit": logs.UNIT, "version": __version__},
    }
    evaluation = split.evaluated.select(["store_id", "item_id", dataset.DT_COLUMN])
    for name, values in {"actual": actual, **predictions}.items():
        evaluation = evaluation.append_column(name, pa.array(values))
    importance = model.feature_importance(fitted.booster, features)
    report_files = report.build_report(metrics, params, lineage, version_record, importance, evaluation)
    files = {
        layout.MODEL_FILE: model.model_bytes(fitted.booster),
        layout.FEATURE_SCHEMA_FILE: json_bytes(registry.contract_feature_schema()),
        layout.PARAMS_FILE: json_bytes(params),
        layout.METRICS_FILE: json_bytes(metrics),
        layout.LINEAGE_FILE: json_bytes(lineage),
        **{layout.REPORT_FOLDER + name: body for name, body in report_files.items()},
    }
    registry.publish_version(
        storage, config.artifacts_bucket, config.model_name, config.run_id, files, version_record
    )
    logs.info("version_published", f"published model version {config.run_id}", version=config.run_id)
    if decision.promote:
        judged_against = champion["version"] if champion else None
        registry.promote_judged(
            storage,
            config.artifacts_bucket,
            config.model_name,
            config.run_id,
            decision.reason,
            judged_against,
        )
        logs.info("champion_promoted", decision.reason, version=config.run_id)
    else:
        logs.warning("not_promoted", decision.reason, version=config.run_id)
    tracking.track(config, version_record, params, metrics, files)

    summary = _summary(config.run_id, scores["overall"], champion, decision)
    logs.info(
        "train_finished", summary, seconds=round(time.monotonic() - started, 1), promoted=decision.promote
    )
    return TrainResult(config.run_id, decision.promote, decision.reason, metrics, summary)

"""Fitting the XGBoost model, predicting with it, and the error metrics everything is judged by."""

from dataclasses import dataclass

import numpy as np
import xgboost as xgb

# Pinned so that the same data and seed give the same model bytes on any machine (a result must not depend
# on how many cores the task happened to get).
NTHREAD = 2
NUM_BOOST_ROUND = 1000
EARLY_STOPPING_ROUNDS = 50


def training_params(seed: int) -> dict:
    return {
        # Units sold are non-negative counts, more spread out than Poisson (promotions, weather of the day):
        # Tweedie with a log link gave the lowest WAPE on the simulated retail data, ahead of count:poisson
        # and squared error (README, "Choice of objective").
        "objective": "reg:tweedie",
        "tweedie_variance_power": 1.5,
        "tree_method": "hist",
        "learning_rate": 0.05,
        "max_depth": 6,
        "min_child_weight": 1.0,
        "subsample": 0.8,
        "colsample_bytree": 0.8,
        # Early stopping watches MAE, which on a fixed set of rows ranks models exactly as WAPE does.
        "eval_metric": "mae",
        "seed": seed,
        "nthread": NTHREAD,
    }


@dataclass(frozen=True)
class FitResult:
    booster: xgb.Booster  # cut to the best iteration: every tree it holds is used to predict
    params: dict
    best_iteration: int  # 0-based index of the last tree kept
    rounds_trained: int  # how many rounds ran before early stopping


def in_memory_matrix(x: np.ndarray, y: np.ndarray, feature_names: list[str]) -> xgb.DMatrix:
    return xgb.QuantileDMatrix(x, y, feature_names=feature_names, nthread=NTHREAD)


def external_matrix(batches: xgb.DataIter) -> xgb.DMatrix:
    """XGBoost's matrix built batch by batch, its pages cached under the iterator's `cache_prefix` on disk
    and read back at every tree level instead of being held in memory."""
    return xgb.ExtMemQuantileDMatrix(batches, nthread=NTHREAD)


def fit(
    train: xgb.DMatrix,
    valid_x: np.ndarray,
    valid_y: np.ndarray,
    feature_names: list[str],
    seed: int,
) -> FitResult:
    """Trains on `train` (either matrix above), stopping early on the validation rows."""
    params = training_params(seed)
    valid = xgb.QuantileDMatrix(valid_x, valid_y, ref=train, feature_names=feature_names, nthread=NTHREAD)
    booster = xgb.train(
        params,
        train,
        num_boost_round=NUM_BOOST_ROUND,
        evals=[(valid, "validation")],
        early_stopping_rounds=EARLY_STOPPING_ROUNDS,
        verbose_eval=False,
    )
    best_iteration = booster.best_iteration
    return FitResult(
        booster=booster[: best_iteration + 1],
        params=params,
        best_iteration=best_iteration,
        rounds_trained=booster.num_boosted_rounds(),
    )


def predict(booster: xgb.Booster, x: np.ndarray) -> np.ndarray:
    return booster.inplace_predict(x).astype(np.float64)


def model_bytes(booster: xgb.Booster) -> bytes:
    return bytes(booster.save_raw(raw_format="ubj"))


def load_model(raw: bytes) -> xgb.Booster:
    booster = xgb.Booster()
    booster.load_model(bytearray(raw))
    booster.set_param({"nthread": NTHREAD})
    return booster


def feature_importance(booster: xgb.Booster, feature_names: list[str]) -> list[tuple[str, float]]:
    """Total gain per feature (features never split on get 0), largest first."""
    gains = booster.get_score(importance_type="total_gain")
    importance = [(name, float(gains.get(name, 0.0))) for name in feature_names]
    return sorted(importance, key=lambda pair: (-pair[1], pair[0]))


# Metrics. Undefined values (no rows, or nothing sold) are NaN here and null in JSON.


def rmse(actual: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.sqrt(np.mean((actual - predicted) ** 2))) if len(actual) else float("nan")


def mae(actual: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.mean(np.abs(actual - predicted))) if len(actual) else float("nan")


def wape(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Weighted absolute percentage error: sum |y - ŷ| / sum |y|."""
    total = float(np.sum(np.abs(actual)))
    return float(np.sum(np.abs(actual - predicted))) / total if total > 0 else float("nan")


def error_metrics(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float | int]:
    return {
        "rmse": rmse(actual, predicted),
        "mae": mae(actual, predicted),
        "wape": wape(actual, predicted),
        "rows": len(actual),
    }


def evaluate(actual: np.ndarray, predictions: dict[str, np.ndarray], stores: np.ndarray) -> dict:
    """Metrics of each named prediction, overall and per store, on the same rows."""
    per_store = {}
    for store in sorted(set(stores.tolist())):
        rows = stores == store
        per_store[store] = {name: error_metrics(actual[rows], p[rows]) for name, p in predictions.items()}
    return {
        "overall": {name: error_metrics(actual, p) for name, p in predictions.items()},
        "per_store": per_store,
    }

"""MLflow tracking: a copy of a train run's S3 record in an MLflow experiment, when a tracking URI is set.

The S3 version is the record of a run; the MLflow run is a view of it for people comparing experiments.
So tracking happens after the version is committed and the champion decided, and a tracking server that
fails or cannot be reached is logged (`mlflow_not_logged`, level error) without failing the run: the
monthly workflow's inference must not wait on a tracking outage.

mlflow (the `mlflow-skinny` client) is imported only here, and only when tracking is on. Its
`mlflow.xgboost` flavor needs pandas, which the skinny client does not bring, so the model is logged as an
MLflow model folder written here: `model/MLmodel` (the xgboost flavor) beside `model/model.ubj`, which
`mlflow.xgboost.load_model("runs:/{run_id}/model")` loads wherever the full mlflow is installed.
"""

import contextlib
import json
import tempfile
import time
from pathlib import Path

from train import layout, logs
from train.config import TrainConfig

MODEL_FOLDER = "model"  # the logged model's artifact path
_BATCH = 100  # MLflow takes at most 100 params per log_batch request


def flat_params(document: dict, prefix: str = "") -> dict[str, str]:
    """Nested params as MLflow params: `xgboost.max_depth` -> "6"; lists as JSON text."""
    flat = {}
    for key, value in document.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat |= flat_params(value, f"{name}.")
        else:
            flat[name] = json.dumps(value) if isinstance(value, list) else str(value)
    return flat


def overall_metrics(metrics: dict) -> dict[str, float]:
    """The overall metrics of the model, each baseline and the champion: `model_wape`,
    `seasonal_naive_rmse`, `champion_mae`... Undefined metrics (null) are left out."""
    scored = dict(metrics["overall"])
    champion = metrics.get("champion")
    if champion and champion.get("overall"):
        scored["champion"] = champion["overall"]
    return {
        f"{name}_{metric}": float(value)
        for name, values in scored.items()
        for metric, value in values.items()
        if value is not None
    }


def _write_artifacts(folder: Path, files: dict[str, bytes], run_id: str) -> None:
    """The version's files as they are in S3, except the model, which goes into an MLflow model folder."""
    import xgboost as xgb
    from mlflow.models import Model

    for name, body in files.items():
        path = folder / (f"{MODEL_FOLDER}/{name}" if name == layout.MODEL_FILE else name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    mlmodel = Model(run_id=run_id, artifact_path=MODEL_FOLDER)
    mlmodel.add_flavor(
        "xgboost",
        xgb_version=xgb.__version__,
        data=layout.MODEL_FILE,
        model_class="xgboost.core.Booster",
        model_format="ubj",
        code=None,
    )
    mlmodel.save(str(folder / MODEL_FOLDER / "MLmodel"))


def log_run(
    config: TrainConfig, version_record: dict, params: dict, metrics: dict, files: dict[str, bytes]
) -> str:
    """Logs the run to MLflow and returns the MLflow run id; raises whatever MLflow raises."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    client = MlflowClient(tracking_uri=config.mlflow_tracking_uri)
    experiment = client.get_experiment_by_name(config.mlflow_experiment)
    experiment_id = (
        experiment.experiment_id if experiment else client.create_experiment(config.mlflow_experiment)
    )
    version_prefix = layout.model_version_prefix(config.model_name, config.run_id)
    tags = {
        "model_name": config.model_name,
        "s3_version": config.run_id,
        "s3_uri": f"s3://{config.artifacts_bucket}/{version_prefix}",
        "run_date": version_record["run_date"],
        "promoted": str(version_record["promoted"]).lower(),
        "gate_reason": version_record["reason"],
    }
    run_id = client.create_run(experiment_id, run_name=config.run_id, tags=tags).info.run_id
    try:
        now = int(time.time() * 1000)
        logged_params = [Param(key, value) for key, value in flat_params(params).items()]
        for start in range(0, len(logged_params), _BATCH):
            client.log_batch(run_id, params=logged_params[start : start + _BATCH])
        client.log_batch(
            run_id, metrics=[Metric(key, value, now, 0) for key, value in overall_metrics(metrics).items()]
        )
        with tempfile.TemporaryDirectory(prefix="train-mlflow-") as folder:
            _write_artifacts(Path(folder), files, run_id)
            client.log_artifacts(run_id, folder)
    except Exception:
        with contextlib.suppress(Exception):  # the original failure is the one to report
            client.set_terminated(run_id, "FAILED")
        raise
    client.set_terminated(run_id, "FINISHED")
    return run_id


def track(
    config: TrainConfig, version_record: dict, params: dict, metrics: dict, files: dict[str, bytes]
) -> str | None:
    """Logs the run when a tracking URI is set. A failure is logged, not raised: the S3 record is complete."""
    if not config.mlflow_tracking_uri:
        return None
    try:
        run_id = log_run(config, version_record, params, metrics, files)
    except Exception as failure:  # any failure of the tracking server or client (its errors have no base)
        logs.error(
            "mlflow_not_logged",
            f"the run was not logged to MLflow (MLFLOW_TRACKING_URI); the S3 version {config.run_id} is "
            f"complete: {type(failure).__name__}: {' '.join(str(failure).split())}",
            version=config.run_id,
        )
        return None
    logs.info(
        "mlflow_logged",
        f"logged MLflow run {run_id} (experiment {config.mlflow_experiment})",
        version=config.run_id,
        mlflow_run_id=run_id,
    )
    return run_id

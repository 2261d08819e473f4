"""MLflow tracking of `train run`: what a run logs to a local MLflow file store, read back with the
MlflowClient, and an unreachable tracking server that leaves the S3 record complete."""

import json
import socket
from pathlib import Path

import xgboost as xgb
from train import tracking
from train.cli import main


def logged_events(stderr: str) -> list[dict]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def test_a_run_logs_params_metrics_artifacts_and_model_to_mlflow(
    mart, artifacts, train_args, tmp_path, monkeypatch, capsys
):
    from mlflow import MlflowClient

    # The file store needs MLflow's own opt-in since MLflow 3 (a tracking server would use a database).
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = (tmp_path / "mlruns").as_uri()
    mart.publish_window()

    assert main([*train_args, "--mlflow-tracking-uri", uri]) == 0

    [version] = artifacts.versions()
    client = MlflowClient(tracking_uri=uri)
    [run] = client.search_runs([client.get_experiment_by_name("demand").experiment_id])
    assert run.info.status == "FINISHED" and run.info.run_name == version
    assert run.data.tags["s3_version"] == version
    assert run.data.tags["promoted"] == "true"
    assert run.data.tags["s3_uri"] == f"s3://{artifacts.bucket}/models/demand/versions/{version}/"

    params = artifacts.json(artifacts.version_file(version, "params.json"))
    assert run.data.params["xgboost.objective"] == params["xgboost"]["objective"] == "reg:tweedie"
    assert run.data.params["seed"] == "42"
    assert json.loads(run.data.params["features"]) == params["features"]
    overall = artifacts.json(artifacts.version_file(version, "metrics.json"))["overall"]
    assert run.data.metrics["model_wape"] == overall["model"]["wape"]
    assert run.data.metrics["seasonal_naive_rmse"] == overall["seasonal_naive"]["rmse"]
    assert run.data.metrics["moving_average_mae"] == overall["moving_average"]["mae"]
    assert not any(name.startswith("champion_") for name in run.data.metrics)  # there was none

    run_id = run.info.run_id
    assert {artifact.path for artifact in client.list_artifacts(run_id)} == {
        "feature_schema.json",
        "params.json",
        "metrics.json",
        "lineage.json",
        "report",
        "model",
    }
    downloaded = tmp_path / "downloaded"
    downloaded.mkdir()
    local = {
        name: client.download_artifacts(run_id, name, str(downloaded))
        for name in ("lineage.json", "report/index.html", "model/model.ubj")
    }
    for name, path in local.items():
        s3_name = name.removeprefix("model/")
        assert Path(path).read_bytes() == artifacts.bytes(artifacts.version_file(version, s3_name))
    booster = xgb.Booster(model_file=local["model/model.ubj"])
    assert booster.num_features() == len(
        artifacts.json(artifacts.version_file(version, "feature_schema.json"))
    )
    mlmodel = Path(client.download_artifacts(run_id, "model/MLmodel", str(downloaded))).read_text()
    assert "xgboost:" in mlmodel and "model_format: ubj" in mlmodel and "data: model.ubj" in mlmodel
    assert any(event["event"] == "mlflow_logged" for event in logged_events(capsys.readouterr().err))


def test_an_unreachable_tracking_server_is_logged_and_the_run_completes(
    mart, artifacts, train_args, monkeypatch, capsys
):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    mart.publish_window()

    assert main([*train_args, "--mlflow-tracking-uri", f"http://127.0.0.1:{port}"]) == 0

    out, err = capsys.readouterr()
    [version] = artifacts.versions()
    assert "promoted to champion" in out
    assert artifacts.json("models/demand/champion.json")["version"] == version
    [failure] = [event for event in logged_events(err) if event["event"] == "mlflow_not_logged"]
    assert failure["level"] == "error"
    assert failure["message"].startswith(
        f"the run was not logged to MLflow (MLFLOW_TRACKING_URI); the S3 version {version} is complete: "
    )


def test_params_are_flattened_and_undefined_metrics_left_out():
    assert tracking.flat_params({"xgboost": {"eta": 0.05, "nested": {"a": 1}}, "dates": ["2026-03-01"]}) == {
        "xgboost.eta": "0.05",
        "xgboost.nested.a": "1",
        "dates": '["2026-03-01"]',
    }
    metrics = {
        "overall": {"model": {"wape": 0.4, "rows": 10}, "seasonal_naive": {"wape": None, "rows": 10}},
        "champion": {"version": "v", "comparable": True, "overall": {"wape": 0.5}},
    }
    assert tracking.overall_metrics(metrics) == {
        "model_wape": 0.4,
        "model_rows": 10.0,
        "seasonal_naive_rows": 10.0,
        "champion_wape": 0.5,
    }

"""`train run` end to end against an in-process S3 (moto) holding synthetic `features` partitions."""

import hashlib
import json

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from train.cli import main
from train.storage import Storage

ARTIFACT_FILES = {
    "model.ubj",
    "feature_schema.json",
    "params.json",
    "metrics.json",
    "lineage.json",
    "report/index.html",
    "report/feature_importance.png",
    "report/sample_series.png",
    "report/residuals.png",
    "_version.json",
}


@pytest.fixture
def recorded_puts(monkeypatch) -> list[str]:
    """The keys train PUTs, in order."""
    keys: list[str] = []
    put = Storage.put

    def recording_put(self, bucket, key, body, replaces=None):
        keys.append(key)
        put(self, bucket, key, body, replaces)

    monkeypatch.setattr(Storage, "put", recording_put)
    return keys


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("train: error:")]


def test_first_run_writes_every_artifact_and_becomes_champion(
    mart, artifacts, train_args, recorded_puts, capsys
):
    mart.publish_window()

    assert main(train_args) == 0

    out, err = capsys.readouterr()
    [version] = artifacts.versions()
    prefix = f"models/demand/versions/{version}/"
    assert {key.removeprefix(prefix) for key in artifacts.keys(prefix)} == ARTIFACT_FILES
    version_writes = [key for key in recorded_puts if key.startswith(prefix)]
    assert version_writes[-1] == prefix + "_version.json"
    # The pointer moves only once the version it names is committed, and after its history entry.
    [history_key] = artifacts.keys("models/demand/champion_history/")
    assert history_key.endswith(f"-{version}.json")
    assert (
        recorded_puts.index(prefix + "_version.json")
        < recorded_puts.index(history_key)
        < recorded_puts.index("models/demand/champion.json")
    )

    record = artifacts.json(prefix + "_version.json")
    assert record["promoted"] is True
    assert (record["model_name"], record["version"], record["run_date"]) == ("demand", version, "2026-03-31")
    champion = artifacts.json("models/demand/champion.json")
    assert champion["version"] == version
    assert champion["replaced"] is None and champion["earlier_champions"] == []
    assert champion["reason"] == record["reason"] == "no champion yet: the first version becomes champion"
    assert artifacts.json(history_key) == champion

    metrics = artifacts.json(prefix + "metrics.json")
    overall = metrics["overall"]
    assert overall["model"]["wape"] < overall["seasonal_naive"]["wape"]
    assert overall["model"]["rows"] == overall["seasonal_naive"]["rows"] == overall["moving_average"]["rows"]
    assert set(metrics["per_store"]) == set(mart.stores)
    assert (metrics["validation"]["first_date"], metrics["validation"]["last_date"]) == (
        mart.validation_dates[0].isoformat(),
        mart.validation_dates[-1].isoformat(),
    )
    # Only validation rows where both baselines have a forecast are compared (not the new item's first days).
    validation_rows = [mart.table(day) for day in mart.validation_dates if day != mart.run_date]
    assert metrics["validation"]["rows"] == sum(table.num_rows for table in validation_rows)
    assert (
        metrics["validation"]["rows_evaluated"]
        == overall["model"]["rows"]
        == sum(
            table.filter(pc.and_(pc.is_valid(table["lag_7"]), pc.is_valid(table["mean_7"]))).num_rows
            for table in validation_rows
        )
    )
    assert overall["model"]["rows"] < metrics["validation"]["rows"]
    # The run date's labels are not in yet: those rows are dropped and counted, not trained on.
    assert metrics["rows_dropped_unlabelled"] == mart.table(mart.run_date).num_rows
    assert any(json.loads(line)["event"] == "unlabelled_dropped" for line in err.splitlines())

    schema = artifacts.json(prefix + "feature_schema.json")
    assert schema[:3] == [
        {"name": "day_of_week", "type": "bigint"},
        {"name": "day_of_month", "type": "bigint"},
        {"name": "month", "type": "bigint"},
    ]
    params = artifacts.json(prefix + "params.json")
    assert [column["name"] for column in schema] == params["features"]
    # The fixture's window is far below this machine's memory: auto keeps it in memory.
    assert (params["memory"]["mode"], params["memory"]["requested"]) == ("in-memory", "auto")
    assert not {"store_id", "item_id", "units_sold"} & {column["name"] for column in schema}

    lineage = artifacts.json(prefix + "lineage.json")
    assert [entry["dt"] for entry in lineage["partitions"]] == [day.isoformat() for day in mart.window]
    first = lineage["partitions"][0]
    manifest_bytes = mart.s3.get_object(Bucket=mart.bucket, Key=first["manifest_key"])["Body"].read()
    assert first["manifest_sha256"] == hashlib.sha256(manifest_bytes).hexdigest()
    assert first["inputs"] == json.loads(manifest_bytes)["inputs"]

    page = artifacts.bytes(prefix + "report/index.html").decode()
    assert page.count('src="data:image/png;base64,') == 3
    assert artifacts.bytes(prefix + "report/residuals.png").startswith(b"\x89PNG")
    assert "promoted to champion" in out and version in out


def test_model_trained_on_corrupted_labels_is_not_promoted(mart, artifacts, train_args, capsys):
    mart.publish_window()
    assert main(train_args) == 0
    champion_before = artifacts.bytes("models/demand/champion.json")
    # Labels of the training days shuffled (a broken join upstream); the validation days are still right.
    mart.corrupt_labels(mart.training_dates)
    capsys.readouterr()

    assert main(train_args) == 0

    out, err = capsys.readouterr()
    assert artifacts.bytes("models/demand/champion.json") == champion_before
    first = json.loads(champion_before)["version"]
    [second] = [version for version in artifacts.versions() if version != first]
    record = artifacts.json(f"models/demand/versions/{second}/_version.json")
    assert record["promoted"] is False
    assert record["reason"].startswith("not promoted")
    metrics = artifacts.json(f"models/demand/versions/{second}/metrics.json")
    assert metrics["champion"]["version"] == first
    assert metrics["champion"]["overall"]["wape"] < metrics["overall"]["model"]["wape"]
    assert "not promoted" in out
    assert any(json.loads(line)["event"] == "not_promoted" for line in err.splitlines())


def test_same_data_and_seed_give_identical_model_bytes(mart, artifacts, train_args):
    mart.publish_window()

    assert main(train_args) == 0
    assert main(train_args) == 0

    first, second = artifacts.versions()
    assert first != second
    for name in ("model.ubj", "feature_schema.json", "params.json"):
        assert artifacts.bytes(artifacts.version_file(first, name)) == artifacts.bytes(
            artifacts.version_file(second, name)
        )


def test_missing_partitions_exit_4_naming_the_dates(mart, artifacts, train_args, capsys):
    missing = [mart.window[3], mart.window[10], mart.window[11]]
    mart.publish_window([day for day in mart.window if day not in missing])

    assert main(train_args) == 4

    [line] = error_lines(capsys.readouterr().err)
    assert f"{missing[0]}, {missing[1]}..{missing[2]}" in line
    assert artifacts.keys() == []


@pytest.mark.parametrize("where", ["manifest", "file"])
def test_retyped_column_exit_3_naming_the_column(mart, artifacts, train_args, capsys, where):
    mart.publish_window()
    day = mart.window[5]
    table = mart.table(day)
    retyped = table.set_column(
        table.schema.get_field_index("lag_7"), "lag_7", pa.array(["x"] * table.num_rows)
    )
    declared = [
        (name, "string" if name == "lag_7" and where == "manifest" else glue) for name, glue, _ in mart.schema
    ]
    mart.publish(day, retyped, manifest_schema=declared)

    assert main(train_args) == 3

    [line] = error_lines(capsys.readouterr().err)
    assert "'lag_7'" in line and "has type string, expected double" in line
    assert f"dt={day}" in line and where in line
    assert artifacts.keys() == []


def test_a_champion_that_cannot_read_todays_features_is_judged_by_the_baselines(mart, artifacts, train_args):
    mart.publish_window()
    assert main(train_args) == 0
    [first] = artifacts.versions()
    # The champion was trained when the features had a column they no longer have.
    schema_key = artifacts.version_file(first, "feature_schema.json")
    schema = artifacts.json(schema_key)
    schema[0]["name"] = "week_of_year"
    artifacts.s3.put_object(Bucket=artifacts.bucket, Key=schema_key, Body=json.dumps(schema).encode())

    assert main(train_args) == 0

    [second] = [version for version in artifacts.versions() if version != first]
    metrics = artifacts.json(artifacts.version_file(second, "metrics.json"))
    assert metrics["champion"] == {"version": first, "comparable": False, "overall": None}
    assert artifacts.json(artifacts.version_file(second, "_version.json"))["promoted"] is True
    assert artifacts.json("models/demand/champion.json")["version"] == second

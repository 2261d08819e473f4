"""The model registry commands against an in-process S3 (moto): `train versions`, `train promote`,
`train rollback`, the champion history they share with `train run`, and `run --fail-if-not-promoted`."""

import json

import numpy as np
import pytest
import xgboost as xgb
from train import registry
from train.cli import main
from train.errors import AlreadyRunning
from train.storage import ObjectChanged, Storage

V1, V2, V3 = "20260101T020000Z-00000001", "20260201T020000Z-00000002", "20260301T020000Z-00000003"
ABANDONED = "20260315T020000Z-0000000a"  # a run that died before its commit point
HISTORY = "models/demand/champion_history/"
CHAMPION = "models/demand/champion.json"


def commit_version(artifacts, version, *, promoted=True, wape=0.4, schema=None, model=b"") -> None:
    """A version folder as `train run` commits it, with only the files the registry reads."""
    files = {
        "feature_schema.json": json.dumps(schema or registry.contract_feature_schema()).encode(),
        "metrics.json": json.dumps({"overall": {"model": {"wape": wape, "mae": 1.5, "rmse": 2.0}}}).encode(),
        "_version.json": json.dumps(
            {
                "model_name": "demand",
                "version": version,
                "run_date": f"{version[:4]}-{version[4:6]}-{version[6:8]}",
                "created_at": f"{version[:4]}-{version[4:6]}-{version[6:8]}T02:10:00Z",
                "promoted": promoted,
                "reason": "promoted: by the gate" if promoted else "not promoted: WAPE above the champion's",
            }
        ).encode(),
    }
    if model:
        files["model.ubj"] = model
    for name, body in files.items():
        artifacts.s3.put_object(
            Bucket=artifacts.bucket, Key=f"models/demand/versions/{version}/{name}", Body=body
        )


def abandon_version(artifacts, version) -> None:
    artifacts.s3.put_object(
        Bucket=artifacts.bucket, Key=f"models/demand/versions/{version}/model.ubj", Body=b"x"
    )


def registry_command(*args: str) -> list[str]:
    return [*args, "--artifacts-bucket", "test-artifacts", "--log-format", "json"]


def error_line(stderr: str) -> str:
    [line] = [line for line in stderr.splitlines() if line.startswith("train: error:")]
    return line


def test_versions_lists_committed_versions_newest_first(artifacts, capsys):
    commit_version(artifacts, V1, wape=0.41)
    commit_version(artifacts, V2, promoted=False, wape=0.52)
    commit_version(artifacts, V3, wape=0.38)
    abandon_version(artifacts, ABANDONED)
    assert main(registry_command("promote", "--version", V1)) == 0
    capsys.readouterr()

    assert main(registry_command("versions")) == 0

    header, *lines = capsys.readouterr().out.strip().splitlines()
    assert header.split() == ["version", "run_date", "created_at", "champion", "gate", "model_wape", "reason"]
    assert [line.split()[0] for line in lines] == [V3, V2, V1]
    assert lines[1].split()[:6] == [V2, "2026-02-01", "2026-02-01T02:10:00Z", "rejected", "0.5200", "not"]
    assert lines[2].split()[:5] == [V1, "2026-01-01", "2026-01-01T02:10:00Z", "*", "promoted"]
    assert "*" not in lines[0] and "*" not in lines[1]

    assert main(registry_command("versions", "--json")) == 0

    listed = json.loads(capsys.readouterr().out)
    assert [(entry["version"], entry["champion"], entry["promoted"]) for entry in listed] == [
        (V3, False, True),
        (V2, False, False),
        (V1, True, True),
    ]
    assert listed[1]["model_wape"] == 0.52
    assert listed[1]["reason"] == "not promoted: WAPE above the champion's"


def test_promote_and_rollback_record_every_pointer_change(artifacts, capsys):
    for version in (V1, V2, V3):
        commit_version(artifacts, version, promoted=version != V2)

    for version in (V1, V2, V3):
        assert main(registry_command("promote", "--version", version)) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == f"champion of demand is now {V3} (was {V2}): promoted by hand"
    assert artifacts.json(CHAMPION)["earlier_champions"] == [V2, V1]

    assert main(registry_command("rollback")) == 0
    assert main(registry_command("rollback")) == 0

    assert capsys.readouterr().out.splitlines() == [
        f"champion of demand is now {V2} (was {V3}): rolled back from {V3}",
        f"champion of demand is now {V1} (was {V2}): rolled back from {V2}",
    ]
    champion = artifacts.json(CHAMPION)
    assert (champion["version"], champion["replaced"], champion["earlier_champions"]) == (V1, V2, [])
    assert champion["metrics"] == {"wape": 0.4, "mae": 1.5, "rmse": 2.0}
    # The history holds every pointer written, in the order of the changes; the last is the pointer.
    history = [artifacts.json(key) for key in artifacts.keys(HISTORY)]
    assert [(entry["version"], entry["replaced"], entry["reason"]) for entry in history] == [
        (V1, None, "promoted by hand"),
        (V2, V1, "promoted by hand"),
        (V3, V2, "promoted by hand"),
        (V2, V3, f"rolled back from {V3}"),
        (V1, V2, f"rolled back from {V2}"),
    ]
    assert history[-1] == champion

    assert main(registry_command("rollback")) == 4

    assert error_line(capsys.readouterr().err) == (
        f"train: error: champion {V1} of model demand has no earlier champion to roll back to "
        f"(s3://{artifacts.bucket}/{CHAMPION} lists none)"
    )
    assert artifacts.json(CHAMPION) == champion


class RivalWriter(Storage):
    """S3 where another writer promotes `rival` right after this one reads the champion pointer: a
    `train promote` or a run finishing at the same moment."""

    def __init__(self, client, rival: str):
        super().__init__(client)
        self.rival: str | None = rival

    def get_with_etag(self, bucket: str, key: str):
        found = super().get_with_etag(bucket, key)
        if key == CHAMPION and self.rival:
            rival, self.rival = self.rival, None
            registry.promote(Storage(self.client), bucket, "demand", rival, "promoted by hand")
        return found


@pytest.mark.parametrize("first", [None, V1], ids=["no-champion-yet", "a-champion"])
def test_a_pointer_change_made_meanwhile_is_never_overwritten(artifacts, first):
    for version in (V1, V2, V3):
        commit_version(artifacts, version)
    if first:
        registry.promote(Storage(artifacts.s3), artifacts.bucket, "demand", first, "promoted by hand")

    with pytest.raises(AlreadyRunning, match=f"changed while this change was being made.*{V3} not made"):
        registry.promote(RivalWriter(artifacts.s3, V2), artifacts.bucket, "demand", V3, "promoted by hand")

    assert AlreadyRunning.exit_code == 6
    assert artifacts.json(CHAMPION)["version"] == V2  # the rival's change stands
    assert artifacts.json(CHAMPION)["replaced"] == first


class LostReply(Storage):
    """S3 that carries out a conditional PUT of the champion pointer but loses the reply, so that the SDK's
    retry meets the pointer it has just written and fails its condition."""

    def put(self, bucket: str, key: str, body: bytes, replaces: str | None = None) -> None:
        super().put(bucket, key, body, replaces)
        if key == CHAMPION and replaces is not None:
            raise ObjectChanged(f"s3://{bucket}/{key} changed since it was read")


def test_a_pointer_change_whose_reply_was_lost_is_done(artifacts):
    for version in (V1, V2):
        commit_version(artifacts, version)
    registry.promote(LostReply(artifacts.s3), artifacts.bucket, "demand", V1, "promoted by hand")

    change = registry.promote(LostReply(artifacts.s3), artifacts.bucket, "demand", V2, "promoted by hand")

    assert (change.version, change.replaced, change.changed) == (V2, V1, True)
    assert artifacts.json(CHAMPION)["version"] == V2


def test_a_run_judged_against_a_champion_that_was_replaced_since_promotes_nothing(artifacts):
    for version in (V1, V2, V3):
        commit_version(artifacts, version)
    storage = Storage(artifacts.s3)
    registry.promote(storage, artifacts.bucket, "demand", V1, "promoted by hand")
    registry.promote(storage, artifacts.bucket, "demand", V2, "promoted by hand")  # while V3 trained

    with pytest.raises(AlreadyRunning, match=f"judged against {V1} \\(it is now {V2}\\)"):
        registry.promote_judged(storage, artifacts.bucket, "demand", V3, "promoted: by the gate", V1)
    assert artifacts.json(CHAMPION)["version"] == V2

    registry.promote_judged(storage, artifacts.bucket, "demand", V3, "promoted: by the gate", V2)
    assert artifacts.json(CHAMPION)["version"] == V3


def test_promoting_the_champion_changes_nothing(artifacts, capsys):
    commit_version(artifacts, V1)
    assert main(registry_command("promote", "--version", V1)) == 0
    pointer = artifacts.bytes(CHAMPION)

    assert main(registry_command("promote", "--version", V1)) == 0

    assert capsys.readouterr().out.splitlines()[-1] == (
        f"version {V1} already is the champion of demand: nothing changed"
    )
    assert artifacts.bytes(CHAMPION) == pointer
    assert len(artifacts.keys(HISTORY)) == 1


@pytest.mark.parametrize(
    ("command", "code", "message"),
    [
        (
            ["promote", "--version", ABANDONED],
            4,
            f"model version {ABANDONED} is not committed: "
            f"no s3://{{bucket}}/models/demand/versions/{ABANDONED}/_version.json",
        ),
        (
            ["promote", "--version", V3],
            4,
            f"model version {V3} is not committed: no s3://{{bucket}}/models/demand/versions/{V3}/_version.json",
        ),
        (["rollback"], 4, f"model demand has no champion to roll back: no s3://{{bucket}}/{CHAMPION}"),
        (
            ["promote", "--version", "../../other"],
            2,
            "malformed model version '../../other' (MODEL_VERSION): expected a run id such as "
            "20260301T020000Z-1a2b3c4d",
        ),
    ],
)
def test_a_missing_version_or_champion_changes_nothing(artifacts, capsys, command, code, message):
    abandon_version(artifacts, ABANDONED)

    assert main(registry_command(*command)) == code

    assert error_line(capsys.readouterr().err) == f"train: error: {message.format(bucket=artifacts.bucket)}"
    assert artifacts.keys("models/demand/champion") == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda schema: schema[1:], "feature 'day_of_week' is missing"),
        (
            lambda schema: [*schema, {"name": "week", "type": "bigint"}],
            "column 'week' is not one of the features",
        ),
        (
            lambda schema: [dict(c, type="string") if c["name"] == "lag_7" else c for c in schema],
            "column 'lag_7' is string, the features have double",
        ),
    ],
)
def test_promote_refuses_a_version_infer_could_not_use(artifacts, capsys, change, problem):
    commit_version(artifacts, V1)
    commit_version(artifacts, V2, schema=change(registry.contract_feature_schema()))
    assert main(registry_command("promote", "--version", V1)) == 0
    pointer = artifacts.bytes(CHAMPION)

    assert main(registry_command("promote", "--version", V2)) == 3

    line = error_line(capsys.readouterr().err)
    assert line.startswith(f"train: error: model version {V2} cannot be champion: its feature schema ")
    assert f"/versions/{V2}/feature_schema.json" in line and f"({problem})" in line
    assert artifacts.bytes(CHAMPION) == pointer
    assert len(artifacts.keys(HISTORY)) == 1


def test_a_rejected_version_fails_the_run_when_asked(mart, artifacts, train_args, monkeypatch, capsys):
    # The champion cannot run on today's features, so the new model must beat the best baseline by the margin,
    # which a 90% margin makes impossible.
    schema = registry.contract_feature_schema()
    schema[0]["name"] = "week_of_year"
    rng = np.random.default_rng(0)
    booster = xgb.train({"nthread": 1}, xgb.DMatrix(rng.random((20, len(schema))), label=rng.random(20)), 2)
    commit_version(artifacts, V1, schema=schema, model=bytes(booster.save_raw("ubj")))
    artifacts.s3.put_object(Bucket=artifacts.bucket, Key=CHAMPION, Body=json.dumps({"version": V1}).encode())
    mart.publish_window()
    monkeypatch.setenv("FAIL_IF_NOT_PROMOTED", "true")

    assert main([*train_args, "--promotion-margin", "0.9"]) == 5

    out, err = capsys.readouterr()
    [version] = [version for version in artifacts.versions() if version != V1]
    assert "not promoted" in out
    assert error_line(err).startswith(
        f"train: error: version {version} was published but not promoted and FAIL_IF_NOT_PROMOTED is set "
        "(not promoted: WAPE "
    )
    record = artifacts.json(artifacts.version_file(version, "_version.json"))
    assert record["promoted"] is False
    assert artifacts.json(CHAMPION) == {"version": V1}
    assert artifacts.keys(HISTORY) == []

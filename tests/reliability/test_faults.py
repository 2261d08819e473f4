"""Throttled and failing AWS calls (issue 6, item 3). Every boto3 client a unit makes gets a seeded share of
its S3 and Glue requests answered with 500 / 503 SlowDown / 400 ThrottlingException (faults.py):

- transient faults: the run succeeds through the SDK's bounded retries and publishes exactly the bytes of the
  fault-free reference run;
- persistent faults: the run exits 1 with one line naming the call (service, operation, bucket/key or Glue
  table), and what readers see is unchanged: no manifest, Glue partition or champion moves.

Athena queries that end FAILED are in test_athena_faults.py.
"""

import re

import boto3
import pytest

from tests.e2e.inprocess import Bucket
from tests.reliability.conftest import (
    ARTIFACTS,
    LAKE,
    MART,
    WAREHOUSE,
    backfill_args,
    champion,
    committed,
    glue_catalog,
    glue_locations,
    infer_args,
    manifests,
    objects,
    run_unit,
    train_args,
)
from tests.reliability.faults import Faults

RATE = 0.2  # of the requests get a transient fault (at most 2 in a row per request, within the SDK's retries)


def prediction_rows(s3, mart: str = MART) -> list[dict]:
    """The committed predictions without `run_id`, which names the run that wrote them."""
    return [{k: v for k, v in row.items() if k != "run_id"} for row in Bucket(s3, mart).rows("predictions")]


def versions(s3, artifacts: str = ARTIFACTS) -> set[str]:
    """The committed model versions: those with their `_version.json`."""
    keys = Bucket(s3, artifacts).keys("models/")
    return {key.split("/")[3] for key in keys if key.endswith("/_version.json")}


def put_to(suffix: str):
    """A persistent fault on every S3 PutObject whose key ends with `suffix`."""
    return lambda call, request: call == "s3.PutObject" and request.url.endswith(suffix)


def report(unit: str, faults: Faults) -> None:
    """The figures docs/reliability.md quotes (visible with `pytest -rP`)."""
    total, injected = sum(faults.requests.values()), sum(faults.injected.values())
    print(f"faults: {unit}: {injected} of {total} requests ({faults.share:.0%}): {dict(faults.injected)}")


# -- transient faults: the same output through retries ----------------------------------------------------


def test_preprocess_retries_through_s3_and_glue_faults_and_publishes_the_fault_free_bytes(
    world, capsys, monkeypatch
):
    buckets = {"lake": LAKE, "warehouse": "faulty-warehouse", "mart": "faulty-mart"}
    for bucket in ("faulty-warehouse", "faulty-mart"):
        world.create_bucket(Bucket=bucket)
    glue = boto3.client("glue")
    glue_catalog(glue, buckets)
    monkeypatch.setenv("GLUE_DATABASE_PREFIX", "rel")
    faults = Faults(seed=1, rate=RATE).install(monkeypatch)

    outcome = run_unit(capsys, "preprocess", backfill_args("faulty-warehouse", "faulty-mart"))

    assert outcome.exit_code == 0, outcome.stderr
    reference = committed(world, WAREHOUSE, MART)
    del reference[next(p for p in reference if p.startswith("predictions/"))]  # infer's, not preprocess's
    assert committed(world, "faulty-warehouse", "faulty-mart") == reference
    # Athena's view: every partition registered at the run folder of its committed manifest.
    warehouse = Bucket(world, "faulty-warehouse")
    for table in ("sales", "quarantine", "items"):
        expected = {m["dt"]: f"s3://faulty-warehouse/{table}/dt={m['dt']}/run={m['run_id']}/" for m in
                    warehouse.manifests(table)}  # fmt: skip
        assert glue_locations(glue, "warehouse", table) == expected
    assert set(faults.clients) == {"s3", "glue"}
    assert faults.share >= 0.1
    assert {"s3.GetObject", "s3.PutObject", "s3.ListObjectsV2", "glue.BatchCreatePartition"} <= set(
        faults.injected
    )
    report("preprocess", faults)


def test_train_retries_through_s3_faults_and_writes_the_fault_free_model(world, capsys, monkeypatch):
    world.create_bucket(Bucket="faulty-artifacts")
    faults = Faults(seed=2, rate=RATE).install(monkeypatch)

    outcome = run_unit(capsys, "train", train_args(artifacts="faulty-artifacts"))

    assert outcome.exit_code == 0, outcome.stderr
    [version] = versions(world, "faulty-artifacts")
    assert champion(world, "faulty-artifacts")["version"] == version
    reference, retried = objects(world, ARTIFACTS), objects(world, "faulty-artifacts")
    for name in ("model.ubj", "feature_schema.json", "params.json"):
        [expected] = [body for key, body in reference.items() if key.endswith(f"/{name}")]
        assert retried[f"models/demand/versions/{version}/{name}"] == expected, name
    assert faults.share >= 0.1 and {"s3.GetObject", "s3.PutObject"} <= set(faults.injected)
    report("train", faults)


def test_infer_retries_through_s3_faults_and_publishes_the_fault_free_predictions(world, capsys, monkeypatch):
    before = prediction_rows(world)
    faults = Faults(seed=3, rate=1.5 * RATE).install(monkeypatch)  # infer makes few calls: more of them fail

    outcome = run_unit(capsys, "infer", infer_args())

    assert outcome.exit_code == 0, outcome.stderr
    assert prediction_rows(world) == before
    assert faults.share >= 0.1
    report("infer", faults)


# -- persistent faults: exit 1, one line naming the call, nothing published -------------------------------


def test_preprocess_that_cannot_commit_exits_1_naming_the_object_and_moves_no_manifest(
    world, capsys, monkeypatch
):
    before = {bucket: manifests(world, bucket) for bucket in (WAREHOUSE, MART)}
    rows_before = Bucket(world, WAREHOUSE).rows("sales"), Bucket(world, MART).rows("features")
    faults = Faults(persistent=put_to("/_manifest.json")).install(monkeypatch)

    outcome = run_unit(capsys, "preprocess", backfill_args())

    assert outcome.exit_code == 1
    assert outcome.error_line.startswith("preprocess: error: aws call s3 PutObject s3://rel-")
    assert re.search(r"/_manifest\.json failed after \d+ retries: [A-Za-z]+: ", outcome.error_line)
    assert {bucket: manifests(world, bucket) for bucket in (WAREHOUSE, MART)} == before
    assert (Bucket(world, WAREHOUSE).rows("sales"), Bucket(world, MART).rows("features")) == rows_before
    assert faults.injected["s3.PutObject"] >= 5
    # The next run deletes the abandoned run folders: images/preprocess/tests/test_runs.py.


def test_an_unreachable_bucket_is_exit_1_naming_the_call_not_a_config_error(world, capsys, monkeypatch):
    Faults(persistent=lambda call, request: call == "s3.HeadBucket").install(monkeypatch)

    outcome = run_unit(capsys, "preprocess", backfill_args())

    assert outcome.exit_code == 1
    assert outcome.error_line.startswith(f"preprocess: error: aws call s3 HeadBucket s3://{LAKE}/ failed")


def test_preprocess_whose_glue_calls_fail_exits_1_naming_the_table_and_publishes_nothing(
    world, capsys, monkeypatch
):
    for bucket in ("glueless-warehouse", "glueless-mart"):
        world.create_bucket(Bucket=bucket)
    glue_catalog(boto3.client("glue"), {"lake": LAKE, "warehouse": "glueless-warehouse",
                                        "mart": "glueless-mart"}, prefix="relglue")  # fmt: skip
    monkeypatch.setenv("GLUE_DATABASE_PREFIX", "relglue")
    Faults(persistent=lambda call, request: call.startswith("glue.")).install(monkeypatch)

    outcome = run_unit(capsys, "preprocess", backfill_args("glueless-warehouse", "glueless-mart"))

    assert outcome.exit_code == 1
    assert outcome.error_line.startswith("preprocess: error: aws call glue GetTable relglue_lake.")
    assert manifests(world, "glueless-warehouse") == manifests(world, "glueless-mart") == {}


@pytest.mark.slow  # a whole training before the failing commit
def test_train_that_cannot_commit_its_version_exits_1_and_leaves_the_champion(world, capsys, monkeypatch):
    before_champion, before_versions = champion(world), versions(world)
    Faults(persistent=put_to("/_version.json")).install(monkeypatch)

    outcome = run_unit(capsys, "train", train_args())

    assert outcome.exit_code == 1
    line = outcome.error_line
    assert line.startswith(f"train: error: aws call s3 PutObject s3://{ARTIFACTS}/models/demand/versions/")
    assert re.search(r"/_version\.json failed after \d+ retries: ", line)
    assert champion(world) == before_champion and versions(world) == before_versions


@pytest.mark.parametrize(
    ("persistent", "call"),
    [
        (put_to("/_manifest.json"), "s3 PutObject s3://rel-mart/predictions/dt="),
        (lambda call, request: call == "s3.GetObject" and "/features/" in request.url,
         "s3 GetObject s3://rel-mart/features/dt="),
    ],
    ids=["commit", "read-features"],
)  # fmt: skip
def test_infer_that_cannot_read_or_commit_exits_1_naming_the_call_and_moves_no_manifest(
    world, capsys, monkeypatch, persistent, call
):
    before = manifests(world, MART)
    Faults(persistent=persistent).install(monkeypatch)

    outcome = run_unit(capsys, "infer", infer_args())

    assert outcome.exit_code == 1
    assert outcome.error_line.startswith(f"infer: error: aws call {call}")
    assert manifests(world, MART) == before

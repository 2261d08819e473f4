"""Running again changes nothing (issue 6, item 2): each unit run three times for the same date on the
simulated world (the reference run of conftest.world, then two more) gives the same bytes, no duplicate rows
and no more live files; the run folders a rerun supersedes are deleted (docs/s3-layout.md, "Publishing").

Dates run out of order are proven where the units' own tests keep them (docs/reliability.md lists them):
images/preprocess/tests/test_runs.py and tests/e2e/test_run_order.py.
"""

import pytest

from tests.e2e.inprocess import Bucket
from tests.reliability.conftest import (
    ARTIFACTS,
    LAST,
    MART,
    WAREHOUSE,
    champion,
    committed,
    exit_code,
    infer_args,
    objects,
    preprocess_args,
    train_args,
)

RERUNS = 2  # after the reference run: three runs in all


def one_run_folder_per_partition(bucket: Bucket, table: str) -> None:
    for manifest in bucket.manifests(table):
        folders = {key.split("/")[2] for key in bucket.keys(f"{table}/dt={manifest['dt']}/run=")}
        assert folders == {f"run={manifest['run_id']}"}, f"{table} dt={manifest['dt']}"


def assert_no_repeated_keys(bucket: Bucket, table: str, key: tuple[str, ...]) -> None:
    keys = [(row["dt"], *(row[column] for column in key)) for row in bucket.rows(table)]
    assert keys and len(keys) == len(set(keys)), f"{table} repeats a key"


@pytest.mark.slow  # three whole runs; tests/e2e/test_run_order.py reruns dates in any order in `make test`
def test_preprocess_run_three_times_for_a_date_publishes_the_same_bytes_and_no_more_files(world):
    reference = committed(world, WAREHOUSE, MART)
    live = {bucket: set(objects(world, bucket)) for bucket in (WAREHOUSE, MART)}
    first_run_id = Bucket(world, WAREHOUSE).manifests("sales")[-1]["run_id"]

    for _ in range(RERUNS):
        assert exit_code("preprocess", preprocess_args("run", "--date", LAST.isoformat())) == 0

        assert committed(world, WAREHOUSE, MART) == reference
        for bucket in (WAREHOUSE, MART):  # the same number of live objects: superseded folders are gone
            assert len(objects(world, bucket)) == len(live[bucket]), bucket
    warehouse, mart = Bucket(world, WAREHOUSE), Bucket(world, MART)
    assert warehouse.manifests("sales")[-1]["run_id"] != first_run_id  # republished, not skipped
    for table in ("sales", "prices", "quarantine"):
        one_run_folder_per_partition(warehouse, table)
    one_run_folder_per_partition(mart, "features")
    assert_no_repeated_keys(warehouse, "sales", ("store_id", "item_id"))
    assert_no_repeated_keys(mart, "features", ("store_id", "item_id"))


@pytest.mark.slow  # two more trainings; images/train/tests/test_train_run.py compares two in `make test`
def test_train_run_three_times_for_a_date_makes_the_same_model_bytes(world):
    for _ in range(RERUNS):
        assert exit_code("train", train_args()) == 0

    artifacts = objects(world, ARTIFACTS)
    versions = sorted({key.split("/")[3] for key in artifacts if key.endswith("/_version.json")})
    assert len(versions) == 1 + RERUNS  # a version is immutable: each run adds one, by the contract
    for name in ("model.ubj", "feature_schema.json", "params.json"):
        bodies = {artifacts[f"models/demand/versions/{version}/{name}"] for version in versions}
        assert len(bodies) == 1, f"{name} differs between runs"
    # No abandoned folder: every version folder is committed. The champion names one of them.
    folders = {key.split("/")[3] for key in artifacts if key.startswith("models/demand/versions/")}
    assert folders == set(versions)
    assert champion(world)["version"] in versions


def test_infer_run_three_times_for_a_date_publishes_the_same_predictions_and_no_more_files(world):
    mart = Bucket(world, MART)
    ignored = ("run_id", "model_version")  # which run and which (byte-identical) champion wrote the rows

    def predictions() -> list[dict]:
        return [{k: v for k, v in row.items() if k not in ignored} for row in mart.rows("predictions")]

    before, live = predictions(), len(mart.keys("predictions/"))

    for _ in range(RERUNS):
        assert exit_code("infer", infer_args()) == 0

        assert predictions() == before
        assert len(mart.keys("predictions/")) == live
    assert_no_repeated_keys(mart, "predictions", ("store_id", "item_id"))
    one_run_folder_per_partition(mart, "predictions")
    assert {row["model_version"] for row in mart.rows("predictions")} == {champion(world)["version"]}

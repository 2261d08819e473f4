"""Athena queries that end FAILED (issue 6, item 3), on preprocess's athena engine run whole through its CLI
(faults.FakeAthena; S3 and Glue get transient faults at the same time): a query whose failure Athena marks
retryable is started again and the run publishes the bytes of the embedded engine's fault-free run; one that
keeps failing, or fails for a reason that is not retryable, exits 1 naming the SQL file and the query, with
nothing published that the failed query feeds and no staged file left behind."""

import itertools

import boto3
import pytest
from preprocess.athena import QUERY_ATTEMPTS, AthenaEngine
from preprocess.config import Buckets

from tests.reliability.conftest import (
    LAKE,
    MART,
    WAREHOUSE,
    backfill_args,
    committed,
    glue_catalog,
    manifests,
    objects,
    run_unit,
)
from tests.reliability.faults import FakeAthena, Faults

SQL_FILES = ("warehouse/sales", "warehouse/prices", "warehouse/stores", "warehouse/items",
             "warehouse/holidays", "mart/features")  # fmt: skip
_names = itertools.count()


@pytest.fixture
def athena_run(data_world, monkeypatch, capsys):
    """Runs a backfill on the athena engine into fresh buckets; returns (outcome, fake, buckets, results)."""
    name = f"ath{next(_names)}"
    buckets = Buckets(LAKE, f"{name}-warehouse", f"{name}-mart")
    results = f"{name}-results"
    for bucket in (buckets.warehouse, buckets.mart, results):
        data_world.create_bucket(Bucket=bucket)
    glue_catalog(boto3.client("glue"), {"lake": LAKE, "warehouse": buckets.warehouse, "mart": buckets.mart},
                 prefix=name)  # fmt: skip
    for variable, value in {
        "ENGINE": "athena",
        "ATHENA_WORKGROUP": "wg",
        "GLUE_DATABASE_PREFIX": name,
    }.items():
        monkeypatch.setenv(variable, value)
    # The engine waits between polls and before starting a failed query again; the tests keep the attempts.
    monkeypatch.setitem(AthenaEngine.__init__.__kwdefaults__, "sleep", lambda seconds: None)

    def run(failure, rate: float = 0.2):
        faults = Faults(seed=5, rate=rate).install(monkeypatch)
        fake = FakeAthena(data_world, buckets, name, results, failure).install(monkeypatch)
        outcome = run_unit(capsys, "preprocess", backfill_args(buckets.warehouse, buckets.mart))
        return outcome, fake, faults, buckets, results

    return run


def test_queries_that_fail_retryably_run_again_and_publish_the_embedded_engine_bytes(data_world, athena_run):
    outcome, fake, faults, buckets, results = athena_run(
        lambda sql, attempt: "retryable" if attempt == 1 else None
    )

    assert outcome.exit_code == 0, outcome.stderr
    assert fake.attempts == dict.fromkeys(SQL_FILES, 2)
    assert committed(data_world, buckets.warehouse, buckets.mart) == committed(data_world, WAREHOUSE, MART)
    assert objects(data_world, results) == {}  # staged results and the failed queries' orphans deleted
    assert set(faults.clients) == {"s3", "glue", "athena"} and faults.share >= 0.1
    print(f"faults: preprocess athena: {len(fake.executions)} queries, {len(SQL_FILES)} ended FAILED; "
          f"{sum(faults.injected.values())} of {sum(faults.requests.values())} S3/Glue requests")  # fmt: skip


def test_a_query_that_keeps_failing_exits_1_naming_it_and_publishes_nothing(data_world, athena_run):
    outcome, fake, _, buckets, results = athena_run(
        lambda sql, attempt: "retryable" if sql == "warehouse/sales" else None
    )

    assert outcome.exit_code == 1
    assert fake.attempts["warehouse/sales"] == QUERY_ATTEMPTS
    assert outcome.error_line.startswith("preprocess: error: athena query query-")
    assert "(warehouse/sales.sql) failed: injected retryable error (system error)" in outcome.error_line
    assert manifests(data_world, buckets.warehouse) == manifests(data_world, buckets.mart) == {}
    assert objects(data_world, results) == {}


def test_a_query_failing_for_a_user_error_is_not_retried(data_world, athena_run):
    outcome, fake, _, buckets, results = athena_run(
        lambda sql, attempt: "user" if sql == "warehouse/sales" else None, rate=0.0
    )

    assert outcome.exit_code == 1
    assert fake.attempts["warehouse/sales"] == 1
    assert "(warehouse/sales.sql) failed: injected user error (user error)" in outcome.error_line
    assert manifests(data_world, buckets.warehouse) == manifests(data_world, buckets.mart) == {}
    assert objects(data_world, results) == {}

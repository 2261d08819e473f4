"""Two runs of the same unit and date: one runs, the other stops with exit 6 "already running" and writes
nothing. The lock is an S3 object created with a conditional PUT and held with a lease (docs/s3-layout.md,
"Locks"); each image has its own copy of `lock.py`, so every test runs against the three.

S3 checks a precondition and writes in one atomic step; moto checks, then writes, so two threads can both
pass the check. The `moto_s3` fixture gives moto's conditional PUT and DELETE S3's atomicity back, and makes
GET atomic with them too: moto closes an overwritten object's buffer, so a GET racing a PUT of the same key
could fail with "I/O operation on closed file", which S3 never does.
"""

import importlib
import json
import threading
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import boto3
import pytest
from moto import mock_aws
from moto.s3.responses import S3Response

from tests.reliability.conftest import ENV, exit_code

UNITS = ("preprocess", "train", "infer")
BUCKET, KEY = "locks-test", "_locks/unit/2026-03-01.json"
RACERS = 8


@pytest.fixture(scope="module")
def moto_s3():
    """One moto S3 for the module (a fresh one per test costs more than the tests), with the buckets and
    the lake; moto's GET, conditional PUT and DELETE made atomic, as S3's are."""
    one_at_a_time = threading.Lock()
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name in ("get_object", "put_object", "delete_object"):
            original = getattr(S3Response, name)

            def atomic(self, _original=original):  # type: ignore[no-untyped-def]
                with one_at_a_time:
                    return _original(self)

            monkeypatch.setattr(S3Response, name, atomic)
        for name, value in ENV.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
        with mock_aws():
            client = boto3.client("s3")
            for bucket in (BUCKET, LAKE, WAREHOUSE, MART, ARTIFACTS):
                client.create_bucket(Bucket=bucket)
            for key, body in LANDED.items():  # preprocess takes the lock once it has something to do
                client.put_object(Bucket=LAKE, Key=key, Body=body.encode())
            yield client


@pytest.fixture
def s3(moto_s3):
    """The module's S3, emptied after each test but for the lake."""
    yield moto_s3
    for bucket in (BUCKET, WAREHOUSE, MART, ARTIFACTS):
        for obj in moto_s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            moto_s3.delete_object(Bucket=bucket, Key=obj["Key"])


def lock_module(unit: str):
    return importlib.import_module(f"{unit}.lock")


def lock_document(owner: str, expires_in: timedelta) -> bytes:
    expires_at = (datetime.now(UTC) + expires_in).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps({"lock_version": 1, "owner": owner, "expires_at": expires_at}).encode()


def holder(s3, bucket: str = BUCKET, key: str = KEY) -> str:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())["owner"]


def race(acquire, racers: int = RACERS) -> tuple[list, list]:
    """`acquire(n)` in `racers` threads released at the same instant: (leases taken, refusals)."""
    start, taken, refused = threading.Barrier(racers), [], []

    def racer(number: int) -> None:
        start.wait()
        try:
            taken.append(acquire(number))
        except Exception as error:  # the refusal; anything else fails the assertions below
            refused.append(error)

    threads = [threading.Thread(target=racer, args=(n,)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return taken, refused


@pytest.mark.parametrize("unit", UNITS)
def test_of_runs_taking_a_free_lock_at_once_exactly_one_gets_it(s3, unit):
    lock = lock_module(unit)
    taken, refused = race(lambda n: lock.acquire(s3, BUCKET, KEY, f"run-{n}"))
    assert len(taken) == 1 and holder(s3) == taken[0].owner
    assert len(refused) == RACERS - 1 and all(isinstance(error, lock.AlreadyRunning) for error in refused)
    assert all(error.exit_code == 6 and "already running" in str(error) for error in refused)


@pytest.mark.parametrize("unit", UNITS)
def test_a_live_lease_is_not_taken_over(s3, unit):
    lock = lock_module(unit)
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=lock_document("run-alive", timedelta(minutes=4)))
    with pytest.raises(lock.AlreadyRunning) as refused:
        lock.acquire(s3, BUCKET, KEY, "run-late")
    assert f"run run-alive holds s3://{BUCKET}/{KEY} until" in str(refused.value)
    assert holder(s3) == "run-alive"


@pytest.mark.parametrize("unit", UNITS)
def test_a_lock_whose_creating_reply_was_lost_is_the_runs_own(s3, unit):
    # S3 carried out the PUT but the reply was lost: the SDK's retry then meets the lock this run made.
    lock = lock_module(unit)
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=lock_document("run-retrying", timedelta(minutes=4)))
    lease = lock.acquire(s3, BUCKET, KEY, "run-retrying")
    lease.release()
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix=KEY)


@pytest.mark.parametrize("unit", UNITS)
@pytest.mark.parametrize(
    "left_behind",
    [lock_document("run-crashed", -timedelta(seconds=1)), b"{not json"],
    ids=["expired", "unreadable"],
)
def test_an_expired_or_unreadable_lock_is_taken_over_by_exactly_one_run(s3, unit, left_behind):
    lock = lock_module(unit)
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=left_behind)
    taken, refused = race(lambda n: lock.acquire(s3, BUCKET, KEY, f"run-{n}"))
    assert len(taken) == 1 and holder(s3) == taken[0].owner
    assert len(refused) == RACERS - 1 and all(isinstance(error, lock.AlreadyRunning) for error in refused)


@pytest.mark.parametrize("unit", UNITS)
def test_a_holder_renews_its_lease_and_releases_only_its_own_lock(s3, unit):
    lock = lock_module(unit)
    lease = lock.acquire(s3, BUCKET, KEY, "run-slow", lease_seconds=60)
    first = json.loads(s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read())["expires_at"]
    lease._lease_seconds = 600  # a renewal one second later must still move the expiry: make it visible
    assert lease.renew()
    assert json.loads(s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read())["expires_at"] > first
    lease.release()
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)

    lease = lock.acquire(s3, BUCKET, KEY, "run-slow")
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=lock_document("run-next", timedelta(minutes=5)))  # took over
    assert not lease.renew()
    lease.release()
    assert holder(s3) == "run-next"


@pytest.mark.parametrize("unit", UNITS)
def test_a_run_whose_lease_was_taken_over_is_stopped_by_its_renewer(s3, unit, monkeypatch):
    lock = lock_module(unit)
    monkeypatch.setattr(lock, "RENEW_SECONDS", 0.01)
    stopped = threading.Event()
    messages = []
    lease = lock.acquire(s3, BUCKET, KEY, "run-paused", on_lost=lambda m: (messages.append(m), stopped.set()))
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=lock_document("run-next", timedelta(minutes=5)))
    lease.start()
    assert stopped.wait(timeout=30)
    lease.release()
    assert "another run took over" in messages[0] and holder(s3) == "run-next"


# -- the units' command lines --------------------------------------------------------------------------------

LAKE, WAREHOUSE, MART, ARTIFACTS = "c-lake", "c-warehouse", "c-mart", "c-artifacts"
DATE = "2026-03-01"
ARGS = {
    "preprocess": ["run", "--date", DATE, "--lake-bucket", LAKE, "--warehouse-bucket", WAREHOUSE,
                   "--mart-bucket", MART],
    "train": ["run", "--date", DATE, "--mart-bucket", MART, "--artifacts-bucket", ARTIFACTS],
    "infer": ["run", "--date", DATE, "--mart-bucket", MART, "--artifacts-bucket", ARTIFACTS],
}  # fmt: skip
LANDED = {
    f"sales/dt={DATE}/s.csv": f"sale_date,store_id,item_id,units_sold\n{DATE},S1,I1,1\n",
    f"stores/dt={DATE}/s.csv": "store_id,store_name,city,store_type\nS1,A,X,urban\n",
    f"items/dt={DATE}/i.csv": "item_id,item_name,category,base_price\nI1,Tea,d,2\n",
    f"holidays/dt={DATE}/h.csv": "holiday_date,holiday_name\n2026-03-04,Festival\n",
}
LOCKS = {"preprocess": WAREHOUSE, "train": ARTIFACTS, "infer": MART}


def outputs(s3) -> dict[str, list[str]]:
    return {
        bucket: [obj["Key"] for obj in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
        for bucket in (WAREHOUSE, MART, ARTIFACTS)
    }


@pytest.mark.parametrize("unit", UNITS)
def test_a_unit_started_while_another_run_holds_the_date_exits_6_and_writes_nothing(s3, capsys, unit):
    key = f"_locks/{unit}/{DATE}.json"
    s3.put_object(Bucket=LOCKS[unit], Key=key, Body=lock_document("run-first", timedelta(minutes=5)))
    before = outputs(s3)
    capsys.readouterr()
    assert exit_code(unit, ARGS[unit]) == 6
    [line] = [line for line in capsys.readouterr().err.splitlines() if ": error: " in line]
    assert line.startswith(
        f"{unit}: error: already running: run run-first holds s3://{LOCKS[unit]}/{key} until"
    )
    assert outputs(s3) == before


# What the stand-in of each unit's work returns to its CLI.
PREDICTED = SimpleNamespace(
    rows=1, target_date=date(2026, 3, 2), model_name="demand", model_version="v", manifest_uri="s3://m"
)
WORK = {
    "preprocess": ("preprocess.pipeline.run", {"sales": 1}),
    "train": ("train.cli.run_training", SimpleNamespace(summary="trained")),
    "infer": ("infer.pipeline.run", PREDICTED),
}


@pytest.mark.parametrize("unit", UNITS)
def test_of_two_runs_of_a_unit_started_together_one_runs_and_the_other_exits_6(s3, monkeypatch, unit):
    """The unit's work is a stand-in that lasts until the other run has ended, so the two overlap for sure;
    without the lock both would do the work."""
    target, result = WORK[unit]
    first_ended, worked = threading.Event(), []

    def work(*_, **__):  # type: ignore[no-untyped-def]
        worked.append(1)
        first_ended.wait(timeout=20)
        return result

    monkeypatch.setattr(target, work)
    codes = []

    def run() -> None:
        codes.append(exit_code(unit, ARGS[unit]))
        first_ended.set()

    _, refused = race(lambda _: run(), racers=2)
    assert not refused
    assert sorted(codes) == [0, 6] and len(worked) == 1
    assert "Contents" not in s3.list_objects_v2(Bucket=LOCKS[unit], Prefix="_locks/")  # released

"""A run killed at any point never exposes a partial partition, and the next run repairs everything.

A reader can only observe a run through its S3 writes, so the run is killed at its k-th write (a put or a
delete): that write and every later one fail, as in a dead process, threads included. Kill points are
spread over the whole rerun, from its first write to its last. After each kill, every partition a reader
finds through its manifest is complete and is either the old one or the new one; a later run then publishes
exactly what an uninterrupted run would have.
"""

import threading

import pytest
from preprocess import cli
from preprocess.storage import Storage

from .conftest import LAKE, MART, WAREHOUSE, Bucket

SALES = "sale_date,store_id,item_id,units_sold"
PRICES = "valid_on,store_id,item_id,unit_price,on_promotion"
ITEMS = "item_id,item_name,category,base_price"
DAYS = [f"2026-03-{n:02d}" for n in range(1, 7)]
# Share of the rerun's writes done before death (tests/reliability kills the process at 21 points, test-slow).
KILL_POINTS = [0.0, 0.25, 0.5, 0.75, 1.0]
WRITES = ("put_object", "delete_objects", "copy_object")


class Killed(BaseException):
    """The process died: a BaseException, so nothing in the unit can catch it and carry on."""


class DyingS3:
    """An S3 client that dies at its `die_at`-th write (1-based) and fails every write after it."""

    def __init__(self, client, die_at: int | None) -> None:
        self._client, self._die_at = client, die_at
        self._lock = threading.Lock()
        self.writes = 0

    def __getattr__(self, name: str):
        attribute = getattr(self._client, name)
        if name not in WRITES:
            return attribute

        def write(**arguments):
            with self._lock:
                self.writes += 1
                dead = self._die_at is not None and self.writes >= self._die_at
            if dead:
                raise Killed(f"killed at write {self.writes}")
            return attribute(**arguments)

        return write


def backfill(monkeypatch, s3, die_at: int | None = None) -> DyingS3:
    client = DyingS3(s3, die_at)
    monkeypatch.setattr(Storage, "connect", classmethod(lambda cls: cls(client)))
    argv = ["backfill", "--start", DAYS[0], "--end", DAYS[-1], "--log-format", "json"]
    argv += ["--lake-bucket", LAKE, "--warehouse-bucket", WAREHOUSE, "--mart-bucket", MART]
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 0
    return client


def visible(s3) -> dict[str, list[dict]]:
    """What a reader sees: `bucket/table/dt` -> the rows its manifest lists (its files must all exist)."""
    seen = {}
    for name in (WAREHOUSE, MART):
        bucket = Bucket(s3, name)
        for table in sorted({key.split("/")[0] for key in bucket.keys("")}):
            for dt in bucket.partitions(table):
                seen[f"{name}/{table}/{dt}"] = bucket.rows(table, dt)
    return seen


def snapshot(s3) -> dict[tuple[str, str], bytes]:
    return {
        (name, key): s3.get_object(Bucket=name, Key=key)["Body"].read()
        for name in (WAREHOUSE, MART)
        for key in Bucket(s3, name).keys("")
    }


def restore(s3, objects: dict[tuple[str, str], bytes]) -> None:
    for name in (WAREHOUSE, MART):
        for key in Bucket(s3, name).keys(""):
            s3.delete_object(Bucket=name, Key=key)
    for (name, key), body in objects.items():
        s3.put_object(Bucket=name, Key=key, Body=body)


def land_days(lake) -> None:
    lake.land(
        "stores", DAYS[0], "stores.csv", "store_id,store_name,city,store_type\nS01,A,X,urban\nS02,B,Y,u"
    )
    lake.land(
        "items", DAYS[0], "items.csv", "item_id,item_name,category,base_price\nI001,Tea,d,2\nI002,Rice,f,4"
    )
    lake.land("holidays", DAYS[0], "holidays.csv", "holiday_date,holiday_name\n2026-03-04,Festival")
    for n, day in enumerate(DAYS, 1):
        lake.land("sales", day, "sales.csv", f"{SALES}\n{day},S01,I001,{n}\n{day},S02,I002,{10 - n}")
        lake.land("prices", day, "prices.csv", f"{PRICES}\n2026-03-{n + 1:02d},S01,I001,{2 + n / 10},{n % 2}")


def test_a_run_killed_at_any_write_exposes_only_complete_partitions_and_the_next_run_repairs(
    lake, s3, monkeypatch
):
    land_days(lake)
    backfill(monkeypatch, s3)
    before_objects, before = snapshot(s3), visible(s3)
    # New landings change old partitions: late sales, and an item master change from the third day on.
    lake.land("sales", DAYS[-1], "late.csv", f"{SALES}\n2026-03-03,S01,I002,7\n2026-03-04,S02,I001,2")
    lake.land("items", DAYS[2], "items.csv", f"{ITEMS}\nI001,Tea,d,2.5\nI002,Rice,f,4")
    total_writes = backfill(monkeypatch, s3).writes
    after = visible(s3)
    changed = [key for key in after if before.get(key) != after[key]]
    assert len(changed) >= 5 and total_writes > 2 * len(changed)  # the rerun rewrites many partitions

    for share in KILL_POINTS:
        die_at = max(1, round(share * total_writes))
        restore(s3, before_objects)

        with pytest.raises(Killed):
            backfill(monkeypatch, s3, die_at)

        seen = visible(s3)
        assert set(seen) <= set(after) | set(before), die_at
        for key, rows in seen.items():
            assert rows in (before.get(key), after[key]), f"{key} is neither old nor new after write {die_at}"
        assert set(before) <= set(seen), f"an old partition vanished after write {die_at}"

        backfill(monkeypatch, s3)
        assert visible(s3) == after, f"the run after a kill at write {die_at} did not repair everything"

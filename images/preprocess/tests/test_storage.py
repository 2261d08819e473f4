"""The contract's publish protocol for one partition, and reading by manifest."""

from datetime import date

import pyarrow as pa
import pytest
from preprocess.errors import InputMissing
from preprocess.layout import data_key, manifest_key
from preprocess.storage import Storage
from preprocess.tables import SALES

DAY = date(2026, 3, 1)
ROWS = pa.table(
    {"store_id": ["S01", "S02"], "item_id": ["I001", "I001"], "units_sold": [3, 4]}, schema=SALES.schema
)


@pytest.fixture
def storage(s3):
    return Storage(s3)


def publish(storage: Storage, run_id: str, rows: pa.Table = ROWS):
    return storage.publish_partition("test-warehouse", SALES, DAY, run_id, rows, inputs=[], checks=[])


def test_a_published_partition_reads_back_with_the_manifest_it_committed(storage, warehouse):
    written = publish(storage, "20260301T020000Z-00000001")
    rows, manifest = storage.read_partition("test-warehouse", SALES, DAY)

    assert rows.equals(ROWS)
    assert manifest.sha256 == written.sha256
    assert manifest.content["files"][0]["key"] == data_key("sales", DAY, "20260301T020000Z-00000001", 0)
    data = data_key("sales", DAY, "20260301T020000Z-00000001", 0)
    assert sorted(warehouse.keys()) == sorted([data, manifest_key("sales", DAY)])


def test_a_run_folder_without_manifest_is_not_a_partition(storage, s3):
    s3.put_object(
        Bucket="test-warehouse", Key=data_key("sales", DAY, "20260301T020000Z-0000dead", 0), Body=b"x"
    )

    assert storage.partition_dates("test-warehouse", "sales") == []
    assert storage.read_partition("test-warehouse", SALES, DAY) is None


def test_a_reader_that_loses_the_race_with_a_new_run_reads_the_manifest_again(storage, s3):
    old = publish(storage, "20260301T020000Z-00000001")
    newer_rows = ROWS.slice(0, 1)
    publish(storage, "20260301T020000Z-00000002", newer_rows)
    s3.delete_object(Bucket="test-warehouse", Key=old.content["files"][0]["key"])  # the new run's clean-up
    manifests = iter([old, None])
    real_read_manifest = storage.read_manifest

    def stale_then_real(bucket, table, dt):
        stale = next(manifests, None)
        return stale or real_read_manifest(bucket, table, dt)

    storage.read_manifest = stale_then_real
    rows, manifest = storage.read_partition("test-warehouse", SALES, DAY)
    assert rows.equals(newer_rows)
    assert manifest.content["run_id"] == "20260301T020000Z-00000002"


def test_a_manifest_listing_files_that_are_gone_is_a_missing_input(storage, s3):
    written = publish(storage, "20260301T020000Z-00000001")
    s3.delete_object(Bucket="test-warehouse", Key=written.content["files"][0]["key"])
    with pytest.raises(InputMissing, match="lists files that do not exist"):
        storage.read_partition("test-warehouse", SALES, DAY)


def test_partition_objects_lists_every_run_folder_of_the_range(storage, s3):
    publish(storage, "20260301T020000Z-00000001")
    abandoned = data_key("sales", DAY, "20260301T030000Z-0000dead", 0)
    s3.put_object(Bucket="test-warehouse", Key=abandoned, Body=b"x")
    s3.put_object(Bucket="test-warehouse", Key=data_key("sales", date(2026, 3, 2), "r", 0), Body=b"x")

    objects = storage.partition_objects("test-warehouse", "sales", DAY, DAY)
    assert set(objects) == {DAY}
    assert abandoned in objects[DAY] and manifest_key("sales", DAY) in objects[DAY]

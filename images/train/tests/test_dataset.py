"""Reading the window from S3: the manifest is the commit point, and only the files it lists are read."""

import hashlib

import pyarrow as pa
import pytest
from train import dataset
from train.errors import DataCheckError
from train.storage import Storage


class ReplacedWhileReading(Storage):
    """S3 where another run republishes a partition just as its first data file is about to be read."""

    def __init__(self, client, mart, day):
        super().__init__(client)
        self.mart, self.day = mart, day
        self.new_manifest: bytes | None = None

    def get(self, bucket, key):
        if self.new_manifest is None and key.startswith(f"features/dt={self.day}/run="):
            self.new_manifest = self.mart.publish(self.day, self.mart.table(self.day))
            self.client.delete_object(Bucket=bucket, Key=key)  # the new run cleans up the one it superseded
        return super().get(bucket, key)


def test_a_partition_replaced_while_reading_is_read_again_from_its_new_manifest(s3, mart):
    days = mart.window[:3]
    mart.publish_window(days)
    storage = ReplacedWhileReading(s3, mart, days[1])

    window = dataset.read_window(storage, mart.bucket, dataset.read_manifests(storage, mart.bucket, days))

    replaced = window.partitions[1]
    assert replaced.manifest_sha256 == hashlib.sha256(storage.new_manifest).hexdigest()
    assert replaced.run_id == f"20260401T020000Z-{mart.runs:08x}"
    assert window.table.num_rows == sum(mart.table(day).num_rows for day in days)


def test_the_window_is_sorted_and_carries_dt_from_the_key(s3, mart):
    days = mart.window[:2]
    mart.publish_window(days)
    # The same rows, written in another order: the key sort makes them read the same.
    first = mart.table(days[0])
    mart.publish(days[0], first.take(pa.array(range(first.num_rows - 1, -1, -1))))

    storage = Storage(s3)
    table = dataset.read_window(
        storage, mart.bucket, dataset.read_manifests(storage, mart.bucket, days)
    ).table

    assert table.column_names == [name for name, _ in dataset.FEATURES_SCHEMA] + ["dt"]
    assert table["dt"].to_pylist() == [days[0]] * first.num_rows + [days[1]] * mart.table(days[1]).num_rows
    keys = list(zip(table["store_id"].to_pylist(), table["item_id"].to_pylist(), strict=True))
    assert keys[: first.num_rows] == sorted(keys[: first.num_rows])


def test_negative_labels_are_a_data_error(mart):
    table = mart.table(mart.window[0])
    labels = table["units_sold"].to_pylist()
    labels[5] = -2
    table = table.set_column(
        table.schema.get_field_index("units_sold"), "units_sold", pa.array(labels, pa.int64())
    )
    table = table.append_column("dt", pa.array([mart.window[0]] * table.num_rows, pa.date32()))

    with pytest.raises(
        DataCheckError, match=f"'units_sold' has 1 negative values, the first on dt={mart.window[0]}"
    ):
        dataset.drop_unlabelled(table)

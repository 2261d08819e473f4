"""The contract's keys (docs/s3-layout.md, "Worked examples") as preprocess builds them."""

import re
from datetime import UTC, date, datetime

from preprocess import layout

DAY = date(2026, 3, 1)
RUN_ID = "20260301T020000Z-1a2b3c4d"


def test_lake_and_partition_keys():
    assert layout.lake_prefix("sales", DAY) == "sales/dt=2026-03-01/"
    assert layout.partition_prefix("features", date(2026, 3, 2)) == "features/dt=2026-03-02/"
    assert layout.manifest_key("sales", DAY) == "sales/dt=2026-03-01/_manifest.json"
    assert (
        layout.data_key("sales", DAY, RUN_ID, 0)
        == f"sales/dt=2026-03-01/run={RUN_ID}/part-00000.zstd.parquet"
    )
    assert layout.data_key("features", DAY, RUN_ID, 12).endswith("/part-00012.zstd.parquet")


def test_keys_parse_back():
    key = layout.data_key("sales", DAY, RUN_ID, 0)
    assert layout.partition_date(key) == DAY
    assert layout.run_id_of(key) == RUN_ID
    assert layout.run_id_of(layout.manifest_key("sales", DAY)) is None
    assert layout.partition_date("sales/notes.txt") is None


def test_run_ids_are_utc_start_time_and_random_hex():
    run_id = layout.new_run_id(datetime(2026, 3, 1, 2, 0, 0, tzinfo=UTC))
    assert re.fullmatch(r"20260301T020000Z-[0-9a-f]{8}", run_id)
    assert layout.new_run_id() != layout.new_run_id()

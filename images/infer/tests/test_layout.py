import re
from datetime import UTC, date, datetime

import pytest
from infer import layout

RUN_ID = "20260301T020000Z-1a2b3c4d"


@pytest.mark.parametrize(
    ("function", "arguments", "key"),
    [
        (layout.partition_prefix, ("features", "2026-03-02"), "features/dt=2026-03-02/"),
        (layout.manifest_key, ("features", "2026-03-02"), "features/dt=2026-03-02/_manifest.json"),
        (
            layout.data_key,
            ("predictions", "2026-03-02", RUN_ID, 0),
            f"predictions/dt=2026-03-02/run={RUN_ID}/part-00000.zstd.parquet",
        ),
        (layout.manifest_key, ("predictions", "2026-03-02"), "predictions/dt=2026-03-02/_manifest.json"),
        (layout.model_version_prefix, ("demand", RUN_ID), f"models/demand/versions/{RUN_ID}/"),
        (layout.champion_key, ("demand",), "models/demand/champion.json"),
    ],
)
def test_worked_examples_of_the_contract(function, arguments, key):
    assert function(*arguments) == key


def test_dates_and_their_text_give_the_same_keys():
    assert layout.manifest_key("features", date(2026, 3, 2)) == layout.manifest_key("features", "2026-03-02")
    assert layout.partition_prefix("features", datetime(2026, 3, 2, 5, 0)) == "features/dt=2026-03-02/"


def test_data_key_numbers_parts_with_five_digits():
    assert layout.data_key("predictions", "2026-03-02", RUN_ID, 12).endswith("/part-00012.zstd.parquet")


@pytest.mark.parametrize("text", ["20260302", "2026-3-2", "2026-02-30"])
def test_a_partition_date_must_be_yyyy_mm_dd(text):
    with pytest.raises(ValueError):
        layout.partition_prefix("features", text)


def test_run_id_is_utc_start_time_and_random_hex():
    run_id = layout.new_run_id(datetime(2026, 3, 1, 2, 0, 0, tzinfo=UTC))
    assert re.fullmatch(r"20260301T020000Z-[0-9a-f]{8}", run_id)
    assert layout.RUN_ID_PATTERN.fullmatch(layout.new_run_id())
    assert layout.new_run_id() != layout.new_run_id()

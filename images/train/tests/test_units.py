"""The pure pieces: contract keys, configuration rules, the champion gate, Arrow -> matrix, schema checks."""

import re
from datetime import date, datetime

import numpy as np
import pyarrow as pa
import pytest
from train import layout
from train.config import TrainConfig, parse_run_date
from train.dataset import FEATURES_SCHEMA, check_schema, describe_dates, to_matrix
from train.errors import ConfigError, DataCheckError
from train.registry import decide_promotion

RUN_ID = "20260301T020000Z-1a2b3c4d"


def test_layout_matches_the_contract_examples():
    assert layout.partition_prefix("features", "2026-03-02") == "features/dt=2026-03-02/"
    assert layout.manifest_key("features", date(2026, 3, 2)) == "features/dt=2026-03-02/_manifest.json"
    assert layout.model_version_prefix("demand", RUN_ID) == f"models/demand/versions/{RUN_ID}/"
    assert layout.champion_key("demand") == "models/demand/champion.json"


def test_new_run_id_has_the_contract_shape():
    run_id = layout.new_run_id(datetime.fromisoformat("2026-03-01T02:00:00+00:00"))
    assert re.fullmatch(r"20260301T020000Z-[0-9a-f]{8}", run_id)
    assert layout.new_run_id() != layout.new_run_id()


def test_layout_refuses_a_malformed_date():
    with pytest.raises(ValueError):
        layout.manifest_key("features", "2026-3-2")


def config(**overrides) -> TrainConfig:
    values = {"run_date": date(2026, 3, 31), "mart_bucket": "mart", "artifacts_bucket": "artifacts"}
    return TrainConfig(**(values | overrides))


def test_window_splits_into_training_then_validation_days():
    split = config(window_days=10, validation_days=3)
    assert split.window_dates[0] == date(2026, 3, 22) and split.window_dates[-1] == date(2026, 3, 31)
    assert split.training_dates[-1] == date(2026, 3, 28)
    assert split.validation_dates == [date(2026, 3, 29), date(2026, 3, 30), date(2026, 3, 31)]


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"window_days": 14, "validation_days": 14}, "VALIDATION_DAYS"),
        ({"validation_days": 0}, "VALIDATION_DAYS"),
        ({"promotion_margin": 1.0}, "PROMOTION_MARGIN"),
        ({"promotion_margin": -0.1}, "PROMOTION_MARGIN"),
        ({"seed": -1}, "SEED"),
        ({"model_name": "../x"}, "MODEL_NAME"),
        ({"mart_bucket": ""}, "MART_BUCKET"),
    ],
)
def test_impossible_configurations_are_refused(overrides, named):
    with pytest.raises(ConfigError, match=named):
        config(**overrides)


@pytest.mark.parametrize("text", ["2026-02-30", "20260301", "2026-3-1", "yesterday", ""])
def test_malformed_run_dates_are_refused(text):
    with pytest.raises(ConfigError, match="malformed run date"):
        parse_run_date(text)


def test_gate_promotes_the_first_model_whatever_its_score():
    assert decide_promotion(0.9, ("seasonal_naive", 0.3), None, 0.0).promote


@pytest.mark.parametrize(
    ("model_wape", "champion_wape", "margin", "promote"),
    [
        (0.20, 0.25, 0.0, True),
        (0.25, 0.25, 0.0, True),  # equal to the champion is enough without a margin
        (0.26, 0.25, 0.0, False),
        (0.24, 0.25, 0.10, False),  # 0.24 > 0.25 x 0.9
        (0.22, 0.25, 0.10, True),
        (0.29, 0.40, 0.0, True),
        (0.31, 0.40, 0.0, False),  # beats the champion but not the best baseline (0.30)
    ],
)
def test_gate_needs_to_beat_champion_and_best_baseline_by_the_margin(
    model_wape, champion_wape, margin, promote
):
    decision = decide_promotion(model_wape, ("seasonal_naive", 0.30), ("v1", champion_wape), margin)
    assert decision.promote is promote
    assert decision.reason.startswith("promoted" if promote else "not promoted")


def test_gate_with_an_incomparable_champion_judges_against_the_baseline_only():
    assert decide_promotion(0.29, ("seasonal_naive", 0.30), ("v1", float("nan")), 0.0).promote
    assert not decide_promotion(0.31, ("seasonal_naive", 0.30), ("v1", float("nan")), 0.0).promote
    assert not decide_promotion(float("nan"), ("seasonal_naive", 0.30), ("v1", 0.2), 0.0).promote


def test_matrix_turns_booleans_into_0_1_and_nulls_into_nan():
    table = pa.table(
        {
            "flag": pa.chunked_array([[True, None], [False]]),
            "count": pa.chunked_array([[3, 4], [None]], pa.int64()),
            "value": pa.chunked_array([[0.5, None], [2.5]]),
        }
    )
    matrix = to_matrix(table, ["value", "flag", "count"])
    assert matrix.dtype == np.float32 and matrix.flags.c_contiguous
    expected = np.array([[0.5, 1.0, 3.0], [np.nan, np.nan, 4.0], [2.5, 0.0, np.nan]], dtype=np.float32)
    np.testing.assert_array_equal(matrix, expected)


CONTRACT = [(name, glue) for name, glue in FEATURES_SCHEMA]


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ([c for c in CONTRACT if c[0] != "mean_7"], "column 'mean_7' is missing"),
        ([(n, "bigint" if n == "unit_price" else t) for n, t in CONTRACT], "'unit_price' has type bigint"),
        ([*CONTRACT, ("extra", "double")], "unexpected column 'extra'"),
        ([CONTRACT[1], CONTRACT[0], *CONTRACT[2:]], "column 'store_id' is at position 2, expected 1"),
    ],
)
def test_schema_check_names_the_offending_column(columns, message):
    check_schema(CONTRACT, "ok")  # the contract itself passes
    with pytest.raises(DataCheckError, match=re.escape(message)):
        check_schema(columns, "file x")


def test_dates_fold_into_ranges():
    days = [date(2026, 3, d) for d in (9, 1, 4, 5, 6)]
    assert describe_dates(days) == "2026-03-01, 2026-03-04..2026-03-06, 2026-03-09"

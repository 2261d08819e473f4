"""The error metrics on examples small enough to compute by hand."""

import math

import numpy as np
import pytest
from train.model import error_metrics, evaluate, mae, rmse, wape

ACTUAL = np.array([1.0, 2.0, 3.0, 0.0])
PREDICTED = np.array([2.0, 2.0, 1.0, 1.0])  # errors -1, 0, 2, -1


def test_hand_computed_example():
    assert mae(ACTUAL, PREDICTED) == pytest.approx(4 / 4)
    assert rmse(ACTUAL, PREDICTED) == pytest.approx(math.sqrt((1 + 0 + 4 + 1) / 4))
    assert wape(ACTUAL, PREDICTED) == pytest.approx(4 / 6)


def test_wape_weights_errors_by_volume_not_by_row():
    # The same absolute error counts the same wherever it falls: sum |e| / sum |y|, not a mean of ratios.
    assert wape(np.array([1.0, 99.0]), np.array([2.0, 99.0])) == pytest.approx(1 / 100)
    assert wape(np.array([1.0, 99.0]), np.array([1.0, 100.0])) == pytest.approx(1 / 100)


def test_undefined_metrics_are_nan():
    assert math.isnan(wape(np.array([0.0, 0.0]), np.array([1.0, 0.0])))
    assert all(
        math.isnan(value) for value in (mae(np.array([]), np.array([])), rmse(np.array([]), np.array([])))
    )


def test_evaluate_overall_and_per_store_on_the_same_rows():
    stores = np.array(["S02", "S01", "S02", "S01"], dtype=object)
    naive = np.array([1.0, 2.0, 3.0, 0.0])  # a perfect forecast

    result = evaluate(ACTUAL, {"model": PREDICTED, "naive": naive}, stores)

    assert result["overall"]["model"] == error_metrics(ACTUAL, PREDICTED)
    assert result["overall"]["naive"]["wape"] == 0.0
    assert list(result["per_store"]) == ["S01", "S02"]
    s01 = result["per_store"]["S01"]["model"]  # rows 2 and 4: actual 2, 0; predicted 2, 1
    assert (s01["mae"], s01["wape"], s01["rows"]) == (pytest.approx(0.5), pytest.approx(0.5), 2)
    s02 = result["per_store"]["S02"]["model"]  # rows 1 and 3: actual 1, 3; predicted 2, 1
    assert (s02["mae"], s02["rmse"], s02["wape"]) == (
        pytest.approx(1.5),
        pytest.approx(math.sqrt(2.5)),
        pytest.approx(3 / 4),
    )

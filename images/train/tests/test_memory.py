"""Memory modes: the plan made from the manifests' row counts and the memory limit, and the external mode
(training days streamed in batches through a disk cache) giving the in-memory model's quality,
deterministically, with the same lineage."""

import json

import pyarrow as pa
import pytest
from train import dataset, model, pipeline
from train.cli import main
from train.config import TrainConfig
from train.dataset import FEATURE_COLUMNS, LABEL
from train.memory import AUTO, EXTERNAL, IN_MEMORY, MIB, detect_memory_limit, plan_memory
from train.storage import Storage

GIB = 1024 * MIB
# External memory builds its quantile sketch batch by batch, so its trees may split at slightly different
# thresholds than in memory: the two models' validation WAPE may differ by at most this (README,
# "Scale path").
WAPE_TOLERANCE = 0.01


@pytest.mark.parametrize(
    ("rows", "limit", "mode"),
    [
        # 400 MiB + 500 B per row against 80% of the limit.
        (10_000_000, 8 * GIB, IN_MEMORY),  # 5168 MiB <= 6553 MiB
        (14_000_000, 8 * GIB, EXTERNAL),  # 7075 MiB > 6553 MiB
        (150_000_000, 120 * GIB, IN_MEMORY),  # 71925 MiB <= 98304 MiB (the largest Fargate task)
        (250_000_000, 120 * GIB, EXTERNAL),  # 119609 MiB > 98304 MiB
    ],
)
def test_auto_streams_when_the_estimated_peak_exceeds_the_usable_memory(rows, limit, mode):
    plan = plan_memory(AUTO, rows, limit)

    assert plan.mode == mode
    assert plan.requested == AUTO
    assert plan.memory_limit_mib == limit // MIB
    assert plan.estimated_peak_mib == (400 * MIB + rows * 500) // MIB
    assert plan.reason.startswith(mode) and f"{plan.estimated_peak_mib} MiB" in plan.reason


def test_a_requested_mode_is_kept_whatever_the_figures_and_an_unknown_limit_means_in_memory():
    assert plan_memory(EXTERNAL, 10, 120 * GIB).mode == EXTERNAL
    assert plan_memory(IN_MEMORY, 10**9, GIB).mode == IN_MEMORY
    unknown = plan_memory(AUTO, 10**9, None)
    assert (unknown.mode, unknown.memory_limit_mib) == (IN_MEMORY, None)
    assert set(unknown.document()) == {
        "mode",
        "requested",
        "window_rows",
        "estimated_in_memory_peak_mib",
        "memory_limit_mib",
        "reason",
    }


MACHINE = 16 * GIB


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"memory.max": "2147483648\n"}, (2 * GIB, "cgroup v2 memory.max")),
        ({"memory.max": "max\n"}, (MACHINE, "machine memory")),
        ({"memory.max": f"{64 * GIB}\n"}, (MACHINE, "machine memory")),  # above the machine: no limit
        ({"memory/memory.limit_in_bytes": "1073741824\n"}, (GIB, "cgroup v1 memory.limit_in_bytes")),
        ({"memory/memory.limit_in_bytes": "9223372036854771712\n"}, (MACHINE, "machine memory")),
        ({}, (MACHINE, "machine memory")),
    ],
)
def test_memory_limit_comes_from_cgroup_v2_then_v1_then_the_machine(tmp_path, files, expected):
    for relative, text in files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text)

    assert detect_memory_limit(tmp_path, machine_bytes=MACHINE) == expected


def _wape(split: pipeline.Split, fitted: model.FitResult) -> float:
    predicted = model.predict(fitted.booster, dataset.to_matrix(split.evaluated, FEATURE_COLUMNS))
    return model.wape(dataset.to_vector(split.evaluated, LABEL), predicted)


def test_external_memory_gives_the_in_memory_quality_deterministically_with_the_same_lineage(
    mart, tmp_path, monkeypatch
):
    mart.publish_window()
    # Batches of 300 rows, so that the fixture's few hundred training rows stream as several cache pages,
    # and fewer rounds: the modes are compared with each other, not with the baselines.
    monkeypatch.setattr(dataset, "BATCH_ROWS", 300)
    monkeypatch.setattr(model, "NUM_BOOST_ROUND", 20)
    monkeypatch.setattr(model, "EARLY_STOPPING_ROUNDS", 5)
    staged: list[dataset.StagedWindow] = []
    stage_partitions = dataset.stage_partitions

    def recording_stage_partitions(*args) -> dataset.StagedWindow:
        staged.append(stage_partitions(*args))
        return staged[-1]

    monkeypatch.setattr(dataset, "stage_partitions", recording_stage_partitions)
    config = TrainConfig(
        mart.run_date,
        mart.bucket,
        "test-artifacts",
        window_days=28,
        validation_days=7,
        cache_dir=str(tmp_path),
    )
    storage = Storage(mart.s3)
    reads = dataset.read_manifests(storage, mart.bucket, config.window_dates)

    def fit(mode: str) -> tuple[pipeline.Split, model.FitResult, tuple[dataset.PartitionRead, ...]]:
        return pipeline.fit_model(config, storage, reads, plan_memory(mode, 0, None))

    first_split, first, first_reads = fit(EXTERNAL)
    _, second, second_reads = fit(EXTERNAL)
    in_memory_split, in_memory, in_memory_reads = fit(IN_MEMORY)

    assert [len(window.files) for window in staged] == [3, 3]  # 768 rows: 324, 324 and 120
    assert list(tmp_path.iterdir()) == []  # the staged batches and XGBoost's cache are removed
    assert model.model_bytes(first.booster) == model.model_bytes(second.booster)
    assert (first_split.training_rows, first_split.dropped) == (
        in_memory_split.training_rows,
        in_memory_split.dropped,
    )
    assert first_split.evaluated.equals(in_memory_split.evaluated)
    assert abs(_wape(first_split, first) - _wape(in_memory_split, in_memory)) <= WAPE_TOLERANCE
    lineage = pipeline.lineage_document(config, in_memory_reads)
    assert pipeline.lineage_document(config, first_reads) == lineage
    assert pipeline.lineage_document(config, second_reads) == lineage


def test_auto_streams_under_a_small_memory_limit_and_a_data_error_while_staging_leaves_no_cache(
    mart, artifacts, train_args, tmp_path, capsys
):
    mart.publish_window()
    day = mart.training_dates[2]
    table = mart.table(day)
    mart.publish(
        day,
        table.set_column(table.schema.get_field_index("lag_7"), "lag_7", pa.array(["x"] * table.num_rows)),
    )

    # auto with a 100 MiB limit, which the estimate exceeds: the run streams, and stops at the bad file.
    assert main([*train_args, "--memory-limit-mib", "100", "--cache-dir", str(tmp_path)]) == 3

    *logged, error = capsys.readouterr().err.splitlines()
    [plan] = [entry for entry in map(json.loads, logged) if entry["event"] == "memory_mode_chosen"]
    assert (plan["mode"], plan["requested"], plan["memory_limit_mib"]) == (EXTERNAL, AUTO, 100)
    assert plan["window_rows"] == sum(mart.table(day).num_rows for day in mart.window)
    assert error.startswith("train: error: file features/") and f"dt={day}" in error and "'lag_7'" in error
    assert list(tmp_path.iterdir()) == []
    assert artifacts.keys() == []

"""Each unit, run as a subprocess against moto's server, is SIGKILLed at seeded points spread over its run
(reading, writing, publishing). After each kill a reader of the contract sees every partition (or model) as
it was or as an uninterrupted run leaves it, complete, never partial or mixed; each Glue partition points at
a complete run folder; and the dead run's lock is still there. Once its lease has expired, the next run takes
the lock over, completes, and leaves exactly the output of an uninterrupted run.

`make test` kills preprocess once, at a seeded point while it publishes (commits, catalog, clean-up: where a
kill could expose a mix); `make test-slow` kills train and infer there too, and each unit at `SWEEP_POINTS`
points spread over its three phases, or before every call of a unit that makes fewer. A kill point costs a
subprocess and a whole run after it, and train's scenario four train runs: more would exceed `make test`'s
time budget.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest

from tests.reliability.conftest import (
    ARTIFACTS,
    GLUE_PREFIX,
    LAST,
    MART,
    START,
    TRAIN_WINDOW,
    WAREHOUSE,
    exit_code,
    preprocess_args,
)
from tests.reliability.kill_runs import (
    Snapshot,
    committed,
    data_of,
    emulated_world,
    expire_lock,
    glue_restore,
    glue_snapshot,
    kill_points,
    orphans,
    phases,
    read,
    restore,
    rows_without_run_id,
    run_folder,
    run_killed,
    snapshot,
    traced_calls,
)

SWEEP_POINTS, SEED = 21, 6
UNITS = ("preprocess", "train", "infer")
GLUE = ["--glue-database-prefix", GLUE_PREFIX]
PREPROCESS_GLUE = [(f"{GLUE_PREFIX}_warehouse", table) for table in
                   ("sales", "prices", "stores", "items", "holidays", "quarantine")]  # fmt: skip
PREPROCESS_GLUE.append((f"{GLUE_PREFIX}_mart", "features"))
PREDICTIONS = f"predictions/dt={LAST + timedelta(days=1)}"
MODEL = "models/demand/"
VERSION_FILES = ("model.ubj", "feature_schema.json", "params.json", "metrics.json", "lineage.json",
                 "report/index.html", "_version.json")  # fmt: skip


@dataclass(frozen=True)
class Scenario:
    """A run to kill: its command, what it writes, the state before it, and an uninterrupted run's calls and
    outcome as a reader sees it (`view`)."""

    unit: str
    args: list[str]
    lock: tuple[str, str]  # bucket, key
    view: Callable[[object], dict]
    glue_tables: list[tuple[str, str]]
    before: Snapshot
    glue_before: dict
    seen_before: dict
    seen_after: dict
    after: Snapshot
    calls: list[tuple[str, str]]

    @property
    def lock_taken_at(self) -> int:
        """The number of the call that creates the lock."""
        return next(n for n, (call, key) in enumerate(self.calls, 1) if key == self.lock[1])


def make_scenario(world, unit, args, lock, view, buckets, glue_tables=()) -> Scenario:
    """Runs `unit ARGS` once uninterrupted (in this process) between two snapshots, then puts the state
    before it back."""
    before, glue_before, seen_before = (
        snapshot(world.s3, *buckets),
        glue_snapshot(world.glue, glue_tables),
        view(world),
    )
    with traced_calls() as calls:
        assert exit_code(unit, args) == 0
    seen_after, after = view(world), snapshot(world.s3, *buckets)
    restore(world.s3, before)
    glue_restore(world.glue, glue_before)
    return Scenario(
        unit, args, lock, view, list(glue_tables), before, glue_before, seen_before, seen_after, after, calls
    )


# -- what a reader sees of each unit's output ----------------------------------------------------------------


def preprocess_view(world) -> dict:
    """`bucket/table/dt` -> the data files of every committed partition (checked complete)."""
    return {
        f"{bucket}/{name}": files
        for bucket in (WAREHOUSE, MART)
        for name, files in data_of(committed(world.s3, bucket)).items()
        if not name.startswith("predictions/")
    }


def version_content(files: dict[str, bytes]) -> str:
    """What a model version holds, whichever run made it: the model, its schema and parameters byte for
    byte, and its metrics without the names of runs."""
    metrics = {k: v for k, v in json.loads(files["metrics.json"]).items() if k not in ("version", "champion")}
    compared = [
        hashlib.sha256(files[name]).hexdigest()
        for name in ("model.ubj", "feature_schema.json", "params.json")
    ]
    return json.dumps([compared, metrics], sort_keys=True)


def train_view(world) -> dict:
    """The champion's content and the newest committed version's; every committed version is complete."""
    versions: dict[str, dict[str, bytes]] = {}
    for key, body in snapshot(world.s3, ARTIFACTS)[ARTIFACTS].items():
        if key.startswith(f"{MODEL}versions/"):
            version, name = key.removeprefix(f"{MODEL}versions/").split("/", 1)
            versions.setdefault(version, {})[name] = body
    committed_versions = {v: files for v, files in versions.items() if "_version.json" in files}
    for version, files in committed_versions.items():
        missing = [name for name in VERSION_FILES if name not in files]
        assert not missing, f"committed version {version} lacks {missing}"
    champion = json.loads(read(world.s3, ARTIFACTS, f"{MODEL}champion.json"))["version"]
    assert champion in committed_versions, f"the champion {champion} is not a committed version"
    return {
        "champion": version_content(committed_versions[champion]),
        "newest": version_content(committed_versions[max(committed_versions)]),
    }


def infer_view(world) -> dict:
    partitions = committed(world.s3, MART, "predictions/")
    return {name: rows_without_run_id(world.s3, MART, manifest) for name, manifest in partitions.items()}


# -- the scenarios: one module-wide emulator, the units in pipeline order ------------------------------------


@pytest.fixture(scope="module")
def world():
    with emulated_world() as emulated:
        yield emulated


@pytest.fixture(scope="module")
def preprocess_run(world) -> Scenario:
    """The last landing day on top of the committed history: its late sales rewrite older partitions."""
    history = ["--start", START.isoformat(), "--end", (LAST - timedelta(days=1)).isoformat()]
    assert exit_code("preprocess", preprocess_args("backfill", *history, *GLUE)) == 0
    args = preprocess_args("run", "--date", LAST.isoformat(), *GLUE)
    lock = (WAREHOUSE, f"_locks/preprocess/{LAST}.json")
    return make_scenario(world, "preprocess", args, lock, preprocess_view, (WAREHOUSE, MART), PREPROCESS_GLUE)


def train_args(run_date) -> list[str]:
    return [
        "run",
        "--date",
        run_date.isoformat(),
        *TRAIN_WINDOW,
        "--mart-bucket",
        MART,
        "--artifacts-bucket",
        ARTIFACTS,
    ]


@pytest.fixture(scope="module")
def train_run(world, preprocess_run) -> Scenario:
    """Training for the last day, with the champion trained the day before."""
    restore(world.s3, preprocess_run.after)
    assert exit_code("train", train_args(LAST - timedelta(days=1))) == 0
    lock = (ARTIFACTS, f"_locks/train/{LAST}.json")
    return make_scenario(world, "train", train_args(LAST), lock, train_view, (ARTIFACTS,))


@pytest.fixture(scope="module")
def infer_run(world, train_run) -> Scenario:
    """Predictions of the older model replaced by those of a run pinned to the newer one."""
    restore(world.s3, train_run.after)
    versions = sorted(
        {key.split("/")[3] for key in train_run.after[ARTIFACTS] if key.endswith("/_version.json")}
    )
    older, newer = versions[0], versions[-1]
    common = [
        "run",
        "--date",
        LAST.isoformat(),
        "--mart-bucket",
        MART,
        "--artifacts-bucket",
        ARTIFACTS,
        *GLUE,
    ]
    assert exit_code("infer", [*common, "--model-version", older]) == 0
    lock = (MART, f"_locks/infer/{LAST}.json")
    glue = [(f"{GLUE_PREFIX}_mart", "predictions")]
    return make_scenario(world, "infer", [*common, "--model-version", newer], lock, infer_view, (MART,), glue)


@pytest.fixture
def scenarios(request) -> Callable[[str], Scenario]:
    return lambda unit: request.getfixturevalue(f"{unit}_run")


# -- the checks ----------------------------------------------------------------------------------------------


def check_glue(world, run: Scenario, where: str, repaired: bool) -> None:
    """Each Glue partition points at the run folder of its committed manifest, or (before the repair) still
    at the previous one, whose files are all there."""
    for (database, table), locations in glue_snapshot(world.glue, run.glue_tables).items():
        bucket = MART if database.endswith("_mart") else WAREHOUSE
        current = {
            name.split("dt=")[1]: run_folder(bucket, m)
            for name, m in committed(world.s3, bucket, f"{table}/").items()
        }
        for dt, location in locations.items():
            previous = run.glue_before[database, table].get(dt)
            allowed = {current.get(dt)} if repaired else {current.get(dt), previous}
            assert location in allowed, f"Glue {database}.{table} dt={dt} points at {location} {where}"
            if location == previous:
                folder = location.removeprefix(f"s3://{bucket}/")
                files = [key for key in run.before[bucket] if key.startswith(folder)]
                assert files and all(read(world.s3, bucket, key) is not None for key in files), location


def kill_and_repair(world, run: Scenario, kill_at: int) -> None:
    restore(world.s3, run.before)
    glue_restore(world.glue, run.glue_before)

    run_killed(world.endpoint, run.unit, run.args, kill_at)
    where = f"after {run.unit} was killed at call {kill_at} ({run.calls[kill_at - 1][0]})"
    seen = run.view(world)
    for name, content in seen.items():
        assert content in (run.seen_before.get(name), run.seen_after.get(name)), (
            f"{name} is partial or mixed {where}"
        )
    assert set(run.seen_before) <= set(seen), f"a partition or model vanished {where}"
    check_glue(world, run, where, repaired=False)
    dead_lock = expire_lock(world.s3, *run.lock)
    assert (dead_lock is not None) == (kill_at > run.lock_taken_at), f"the lock is wrong {where}"

    assert exit_code(run.unit, run.args) == 0, f"the run {where} failed"
    assert run.view(world) == run.seen_after, f"the run {where} did not leave an uninterrupted run's output"
    check_glue(world, run, where, repaired=True)
    assert read(world.s3, *run.lock) is None, f"the lock was not released by the run {where}"
    if run.unit != "train":  # abandoned model version folders are ignored, not deleted (docs/s3-layout.md)
        for bucket in run.before:
            assert not orphans(world.s3, bucket, committed(world.s3, bucket)), f"run folders left {where}"


# train's and infer's cases need four train runs (~60 s): past `make test`'s budget, so `make test-slow`.
@pytest.mark.parametrize(
    "unit", ["preprocess", *(pytest.param(u, marks=pytest.mark.slow) for u in UNITS[1:])]
)
def test_a_unit_killed_while_publishing_exposes_nothing_partial_and_the_next_run_completes(
    world, scenarios, unit
):
    run = scenarios(unit)
    [kill_at] = kill_points(run.calls, 1, SEED, drawn_from=("publish",))
    kill_and_repair(world, run, kill_at)


@pytest.mark.slow
@pytest.mark.parametrize("unit", UNITS)
def test_a_unit_killed_at_21_points_or_every_call_exposes_nothing_partial_and_the_next_run_completes(
    world, scenarios, unit
):
    """infer makes fewer than 21 AWS calls: it is killed before each of them."""
    run = scenarios(unit)
    points = kill_points(run.calls, SWEEP_POINTS, SEED + 1)
    assert len(points) == min(SWEEP_POINTS, len(run.calls))
    assert all(set(points) & set(numbers) for numbers in phases(run.calls).values())
    for kill_at in points:
        kill_and_repair(world, run, kill_at)

"""Suite-wide pytest settings: how `make test` spreads the test files over its two workers.

`make test` runs `pytest -n 2 --dist loadfile --no-loadscope-reorder`. Each file goes whole to one worker
(its tests share module fixtures: a plan, an applied example), and the files listed together in
SAME_WORKER go to the same worker, one after the other (they share a session fixture: tests/conftest.py).
The files are sent in the order of LONGEST_FIRST: the Terraform and end-to-end files take minutes each;
sent last, they would leave one worker running alone at the end, while sent first the short files fill the
gaps. (Without --no-loadscope-reorder, xdist would send the files with the most tests first.) The order
within a file never changes: some files' tests build on each other (apply, then re-plan, then destroy).
"""

import pytest

# Roughly longest first (`pytest --durations`); a file not listed keeps its place after these.
LONGEST_FIRST = [
    "tests/delivery/test_deploy.py",
    "tests/e2e/test_demo.py",
    "tests/delivery/test_ops.py",
    "tests/terraform/test_local_env.py",
    "tests/terraform/test_emulator_cli.py",
    "tests/terraform/test_checkov.py",
    "tests/terraform/test_workflow.py",
    "tests/terraform/test_github_oidc.py",
    "tests/terraform/test_network.py",
    "images/preprocess/tests/test_runs.py",
    "images/infer/tests/test_pipeline.py",
    "images/preprocess/tests/test_cost.py",
    "images/train/tests/test_train_run.py",
    "tests/terraform/test_envs.py",
    "tests/delivery/test_local_containers.py",
]

# Files that share one applied local stack (tests/conftest.py, `local_stack`), in the order they run.
SAME_WORKER = {
    "tests/delivery/test_ops.py": "local stack",
    "tests/terraform/test_local_env.py": "local stack",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {path: position for position, path in enumerate(LONGEST_FIRST)}

    def file_rank(item: pytest.Item) -> int:
        return rank.get(item.path.relative_to(config.rootpath).as_posix(), len(rank))

    items.sort(key=file_rank)  # stable: the order within a file and among the others stays


def pytest_xdist_make_scheduler(config: pytest.Config, log):  # type: ignore[no-untyped-def]
    """`--dist loadfile`, with the files of SAME_WORKER as one unit of work."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class FileScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return SAME_WORKER.get(path, path)

    return FileScheduling(config, log)

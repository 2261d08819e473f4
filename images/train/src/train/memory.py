"""How the training window is held: stacked in memory, or streamed from a disk cache (external memory).

The choice is made before any data file is read, from the row counts the manifests commit and the memory
the task may use. `plan_memory` is pure; `detect_memory_limit` reads the machine and is called by the CLI.
"""

import os
from dataclasses import dataclass
from pathlib import Path

AUTO = "auto"
IN_MEMORY = "in-memory"
EXTERNAL = "external"
MEMORY_MODES = (AUTO, IN_MEMORY, EXTERNAL)

MIB = 2**20
# Peak resident memory of an in-memory run per row of the window: the Arrow tables, the float32 matrix,
# XGBoost's quantised copy and its training state. 330 to 372 bytes measured (README, "Scale path"), with
# a third again as margin for other data and the allocator.
IN_MEMORY_BYTES_PER_ROW = 500
# What the interpreter and the libraries (pyarrow, XGBoost, matplotlib, boto3) hold before any data.
BASE_BYTES = 400 * MIB
# Share of the memory limit the in-memory estimate may use: the estimate is an average, and the kernel
# kills the task, without a word, at the limit.
USABLE_SHARE = 0.8

_CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class MemoryPlan:
    mode: str  # IN_MEMORY or EXTERNAL: what the run does
    requested: str  # what it was asked for: AUTO, IN_MEMORY or EXTERNAL
    window_rows: int
    estimated_peak_mib: int  # of the in-memory mode
    memory_limit_mib: int | None
    reason: str

    def document(self) -> dict:
        """The plan as params.json and the log record it."""
        return {
            "mode": self.mode,
            "requested": self.requested,
            "window_rows": self.window_rows,
            "estimated_in_memory_peak_mib": self.estimated_peak_mib,
            "memory_limit_mib": self.memory_limit_mib,
            "reason": self.reason,
        }


def estimate_in_memory_peak(window_rows: int) -> int:
    """Bytes an in-memory run of `window_rows` rows is expected to reach at its peak."""
    return BASE_BYTES + window_rows * IN_MEMORY_BYTES_PER_ROW


def plan_memory(requested: str, window_rows: int, memory_limit_bytes: int | None) -> MemoryPlan:
    """In memory when asked, or under `auto` when the estimated peak fits the usable share of the limit."""
    peak = estimate_in_memory_peak(window_rows)
    limit_mib = None if memory_limit_bytes is None else memory_limit_bytes // MIB
    figures = f"estimated in-memory peak {peak // MIB} MiB for {window_rows} rows"
    if requested != AUTO:
        mode, reason = requested, f"{requested} as requested ({figures})"
    elif memory_limit_bytes is None:
        mode, reason = IN_MEMORY, f"in-memory: the memory limit is unknown ({figures})"
    else:
        usable = int(memory_limit_bytes * USABLE_SHARE)
        mode = IN_MEMORY if peak <= usable else EXTERNAL
        relation = "fits within" if mode == IN_MEMORY else "exceeds"
        reason = (
            f"{mode}: {figures} {relation} {usable // MIB} MiB "
            f"({USABLE_SHARE:.0%} of the {limit_mib} MiB limit)"
        )
    return MemoryPlan(mode, requested, window_rows, peak // MIB, limit_mib, reason)


def _read_number(path: Path) -> int | None:
    """The integer a cgroup file holds, or None when the file is absent or says `max` (no limit)."""
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def machine_memory_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def detect_memory_limit(
    cgroup_root: Path = _CGROUP_ROOT, machine_bytes: int | None = None
) -> tuple[int, str]:
    """The memory this process may use, and where that figure comes from.

    The cgroup v2 limit (what Fargate sets from the task size), else the cgroup v1 one, else the machine's
    memory; a cgroup limit above the machine's memory (v1 writes a huge number for "none") is no limit.
    """
    machine_bytes = machine_memory_bytes() if machine_bytes is None else machine_bytes
    for relative, source in (
        ("memory.max", "cgroup v2 memory.max"),
        ("memory/memory.limit_in_bytes", "cgroup v1 memory.limit_in_bytes"),
    ):
        limit = _read_number(cgroup_root / relative)
        if limit is not None and limit < machine_bytes:
            return limit, source
    return machine_bytes, "machine memory"

"""One benchmark case in a process of its own, so that its peak memory is its own.

The parent runs `python -m {module} {args}`; the child does its case and prints one JSON line last, with its
peak RSS (the kernel's high-water mark of the whole process, imports and emulator included) and its RSS
just before the measured part started, so that the memory the measured part added can be told apart.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
REPO = (
    Path(__file__).resolve().parents[1]
)  # `bench` and `scripts` are not installed: the child imports them from here


def rss_bytes() -> int:
    """The resident set of this process now."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * PAGE_BYTES


def peak_rss_bytes() -> int:
    """The high-water mark of this process's resident set since its exec. Not `ru_maxrss`: Linux carries
    that over from the parent through fork and exec, so a child of a big parent would report the parent's."""
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1]) * 1024


def report(figures: dict) -> None:
    """The child's last line: its figures plus its peak RSS."""
    print(json.dumps({**figures, "peak_rss_bytes": peak_rss_bytes()}), flush=True)


def run(module: str, *args: str) -> dict:
    """Runs one case in a child process and returns the figures it reported."""
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, check=False, env=environment
    )
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"{module} {args[0]} exited {done.returncode}:\n{tail}")
    return json.loads(done.stdout.strip().splitlines()[-1])

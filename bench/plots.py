"""PNG scaling curves of scenario 2 for docs/benchmarks.md: time and peak memory against raw rows."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # after the backend is chosen

PLOTS_FOLDER = Path("docs/benchmarks")
CASES = {"ours": "ours (preprocess backfill)", "pandas": "pandas script", "one-pass": "one DuckDB pass"}
CURVES = {  # file name -> (what is plotted, the y axis label, scale of the case's figure to that unit)
    "throughput-time.png": ("seconds", "wall time (s)", 1.0),
    "throughput-memory.png": ("peak_rss_bytes", "peak RSS (MiB)", 1 / 2**20),
}


def throughput_plots(runs: list[dict], folder: Path = PLOTS_FOLDER) -> list[Path]:
    """One PNG per curve, each case a line over the sizes; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [run["raw_rows"] for run in runs]
    written = []
    for file_name, (figure, label, unit) in CURVES.items():
        fig, axes = plt.subplots(figsize=(6.4, 4.0), dpi=100)
        for case, case_label in CASES.items():
            axes.plot(rows, [run["cases"][case][figure] * unit for run in runs], marker="o", label=case_label)
        axes.set_xscale("log")
        axes.set_ylim(bottom=0)
        axes.set_xlabel("raw rows in the lake")
        axes.set_ylabel(label)
        axes.set_title(f"lake -> mart: {label.split(' (')[0]} vs size")
        axes.grid(True, which="both", alpha=0.3)
        axes.legend()
        fig.tight_layout()
        fig.savefig(
            folder / file_name, metadata={"Software": None}
        )  # no version stamp: same figures, same bytes
        plt.close(fig)
        written.append(folder / file_name)
    return written

"""Data-quality results. The warehouse SQL files give every raw line one outcome (kept, quarantined with a
rule, duplicate, superseded); here those outcomes are counted, so every line read is accounted for, and the
table-level rules that stop a run before anything is published are evaluated: reject_ratio and row_volume."""

import statistics
from collections import Counter

import pyarrow as pa

from preprocess.tables import ROW_VOLUME_BOUNDS, ROW_VOLUME_MIN_HISTORY, Table

ROW_RULES = (
    "missing_value",
    "invalid_type",
    "out_of_range",
    "business_date_out_of_window",
    "unknown_reference",
    "conflicting_duplicate",
)


def line_checks(lines: pa.Table, late_window_days: int) -> list[dict]:
    """What became of a set of raw lines (rows_read = kept + quarantined + duplicates + superseded), then
    how many lines each row-level rule sent to quarantine."""
    outcomes = Counter(lines["outcome"].to_pylist())
    rules = Counter(lines["rule"].to_pylist())
    accounting = {
        "rule": "accounting",
        "rows_read": lines.num_rows,
        "rows_kept": outcomes["kept"],
        "rows_quarantined": outcomes["quarantined"],
        "duplicates_resolved": outcomes["duplicate"],
        "rows_superseded": outcomes["superseded"],
    }
    accounted = sum(value for name, value in accounting.items() if name not in ("rule", "rows_read"))
    checks = [
        {**accounting, "passed": accounted == lines.num_rows},
        *({"rule": rule, "passed": True, "rows_quarantined": rules[rule]} for rule in ROW_RULES),
    ]
    checks[ROW_RULES.index("business_date_out_of_window") + 1]["late_window_days"] = late_window_days
    return checks


def reject_ratio(table: Table, lines: pa.Table) -> dict:
    quarantined = lines["outcome"].to_pylist().count("quarantined")
    ratio = quarantined / lines.num_rows if lines.num_rows else 0.0
    return {
        "rule": "reject_ratio",
        "passed": ratio <= table.max_reject_ratio,
        "rows_read": lines.num_rows,
        "rows_quarantined": quarantined,
        "ratio": round(ratio, 6),
        "threshold": table.max_reject_ratio,
    }


def row_volume(rows: int, history: list[int]) -> dict:
    """A fact partition's rows against the median of the committed partitions before it."""
    if len(history) < ROW_VOLUME_MIN_HISTORY:
        return {"rule": "row_volume", "passed": True, "reason": "no history", "partitions": len(history)}
    median = float(statistics.median(history))  # a float whatever the count, so manifests read alike
    low, high = ROW_VOLUME_BOUNDS
    return {
        "rule": "row_volume",
        "passed": low * median <= rows <= high * median,
        "rows": rows,
        "trailing_median": median,
        "partitions": len(history),
        "bounds": [low, high],
    }


def describe_breach(check: dict) -> str:
    if check["rule"] == "reject_ratio":
        return (
            f"reject_ratio {check['rows_quarantined']} of {check['rows_read']} lines quarantined "
            f"({check['ratio']:.1%}) above {check['threshold']:.1%}"
        )
    if check["rule"] == "row_volume":
        low, high = check["bounds"]
        return (
            f"row_volume {check['rows']} rows, outside {low:.0%}..{high:.0%} of the trailing median "
            f"{check['trailing_median']:g} of {check['partitions']} partitions"
        )
    return f"{check['rule']} failed"

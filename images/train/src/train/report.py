"""The human report of a model version: one self-contained HTML page with its PNG plots embedded.

Plots are drawn with matplotlib's object API on the Agg canvas (no pyplot, no display needed).
"""

import base64
import html
import io
import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from matplotlib.dates import ConciseDateFormatter
from matplotlib.figure import Figure

SAMPLE_SERIES = 4
PREDICTIONS = ("model", "seasonal_naive", "moving_average")
LABELS = {
    "model": "model",
    "seasonal_naive": "seasonal naive (lag 7)",
    "moving_average": "moving average (7 days)",
}


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    return buffer.getvalue()


def importance_png(importance: list[tuple[str, float]]) -> bytes:
    names = [name for name, _ in reversed(importance)]
    gains = [gain for _, gain in reversed(importance)]
    figure = Figure(figsize=(7, 0.3 * len(names) + 1.2), layout="constrained")
    axes = figure.add_subplot()
    axes.barh(names, gains, color="#4c72b0")
    axes.set_xlabel("total gain")
    axes.set_title("Feature importance")
    return _png(figure)


def sample_series(evaluation: pa.Table, count: int = SAMPLE_SERIES) -> list[tuple[str, str]]:
    """The (store, item) series that sold most over the validation days: the ones a reader checks first."""
    totals = evaluation.group_by(["store_id", "item_id"]).aggregate([("actual", "sum")])
    totals = totals.sort_by(
        [("actual_sum", "descending"), ("store_id", "ascending"), ("item_id", "ascending")]
    )
    return list(
        zip(totals["store_id"].to_pylist()[:count], totals["item_id"].to_pylist()[:count], strict=True)
    )


def series_png(evaluation: pa.Table, series: list[tuple[str, str]]) -> bytes:
    columns = 2
    rows = max(1, math.ceil(len(series) / columns))
    figure = Figure(figsize=(11, 3.2 * rows), layout="constrained")
    for position, (store, item) in enumerate(series, start=1):
        mask = pc.and_(pc.equal(evaluation["store_id"], store), pc.equal(evaluation["item_id"], item))
        rows_of_series = evaluation.filter(mask).sort_by("dt")
        days = rows_of_series["dt"].to_pylist()
        axes = figure.add_subplot(rows, columns, position)
        axes.plot(days, rows_of_series["actual"].to_numpy(), "o-", color="black", label="actual")
        axes.plot(days, rows_of_series["model"].to_numpy(), "o-", color="#4c72b0", label=LABELS["model"])
        axes.plot(
            days,
            rows_of_series["seasonal_naive"].to_numpy(),
            "--",
            color="#999999",
            label=LABELS["seasonal_naive"],
        )
        axes.set_title(f"store {store}, item {item}")
        axes.set_ylabel("units sold")
        axes.xaxis.set_major_formatter(ConciseDateFormatter(axes.xaxis.get_major_locator()))
        if position == 1:
            axes.legend(fontsize="small")
    return _png(figure)


def residuals_png(evaluation: pa.Table) -> bytes:
    actual = evaluation["actual"].to_numpy()
    model_residuals = actual - evaluation["model"].to_numpy()
    naive_residuals = actual - evaluation["seasonal_naive"].to_numpy()
    spread = np.concatenate([model_residuals, naive_residuals])
    bins = np.linspace(spread.min(), spread.max(), 41) if len(spread) and spread.min() < spread.max() else 10
    figure = Figure(figsize=(7, 4), layout="constrained")
    axes = figure.add_subplot()
    axes.hist(naive_residuals, bins=bins, color="#999999", alpha=0.6, label=LABELS["seasonal_naive"])
    axes.hist(model_residuals, bins=bins, color="#4c72b0", alpha=0.7, label=LABELS["model"])
    axes.axvline(0, color="black", linewidth=0.8)
    axes.set_xlabel("actual - predicted (units)")
    axes.set_ylabel("rows")
    axes.set_title("Residuals on the validation rows")
    axes.legend(fontsize="small")
    return _png(figure)


def _number(value: float | int | None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,}" if isinstance(value, int) else f"{value:.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _image(name: str, png: bytes, alt: str) -> str:
    encoded = base64.b64encode(png).decode()
    image = f'<img src="data:image/png;base64,{encoded}" alt="{html.escape(alt)}">'
    return f"<figure>{image}<figcaption>{html.escape(name)}</figcaption></figure>"


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; padding: 0 1rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #f0f0f0; }
.promoted { color: #1a7f37; } .rejected { color: #b35900; }
figure { margin: 1rem 0; } img { max-width: 100%; } figcaption { color: #666; font-size: 0.85rem; }
code { font-size: 0.9rem; }
"""


def build_report(
    metrics: dict,
    params: dict,
    lineage: dict,
    version_record: dict,
    importance: list[tuple[str, float]],
    evaluation: pa.Table,
) -> dict[str, bytes]:
    """`index.html` and the PNGs it embeds, by file name. `evaluation` holds one row per validation row
    evaluated: store_id, item_id, dt, actual, and one column per prediction in PREDICTIONS."""
    series = sample_series(evaluation)
    images = {
        "feature_importance.png": importance_png(importance),
        "sample_series.png": series_png(evaluation, series),
        "residuals.png": residuals_png(evaluation),
    }
    overall = metrics["overall"]
    compared = [name for name in PREDICTIONS if name in overall]
    metric_rows = [
        [
            LABELS[name],
            *(_number(overall[name][m]) for m in ("wape", "mae", "rmse")),
            _number(overall[name]["rows"]),
        ]
        for name in compared
    ]
    champion = metrics.get("champion")
    if champion and champion.get("overall"):
        row = champion["overall"]
        metric_rows.append(
            [
                f"champion {champion['version']}",
                *(_number(row[m]) for m in ("wape", "mae", "rmse")),
                _number(row["rows"]),
            ]
        )
    store_rows = [
        [store, *(_number(by_name[name]["wape"]) for name in compared), _number(by_name["model"]["rows"])]
        for store, by_name in metrics["per_store"].items()
    ]
    importance_rows = [[name, _number(gain, 1)] for name, gain in importance]
    lineage_rows = [
        [p["dt"], p["manifest_sha256"][:16], str(p["rows"]), str(len(p["inputs"]))]
        for p in lineage["partitions"]
    ]
    validation, training = metrics["validation"], metrics["training"]
    status = "promoted" if version_record["promoted"] else "rejected"
    title = f"Model {version_record['model_name']} version {version_record['version']}"
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title><style>{_STYLE}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p>Run date {html.escape(version_record["run_date"])}, created {html.escape(version_record["created_at"])}.
<strong class="{status}">{html.escape(version_record["reason"])}</strong></p>
<p>Trained on {_number(training["rows"])} rows ({html.escape(training["first_date"])} ..
{html.escape(training["last_date"])}); validated on {_number(validation["rows"])} rows
({html.escape(validation["first_date"])} .. {html.escape(validation["last_date"])}), of which
{_number(validation["rows_evaluated"])} have both baselines defined and are the rows compared below.
Objective <code>{html.escape(params["xgboost"]["objective"])}</code>, {params["best_iteration"] + 1} trees
(early stopping after {params["rounds_trained"]} rounds).</p>
<h2>Model against baselines</h2>
{_table(["", "WAPE", "MAE", "RMSE", "rows"], metric_rows)}
<h2>WAPE per store</h2>
{_table(["store", *(LABELS[name] for name in compared), "rows"], store_rows)}
<h2>Feature importance</h2>
{_image("feature_importance.png", images["feature_importance.png"], "feature importance by total gain")}
{_table(["feature", "total gain"], importance_rows)}
<h2>Sample series</h2>
{_image("sample_series.png", images["sample_series.png"], "actual and predicted units for sample series")}
<h2>Residuals</h2>
{_image("residuals.png", images["residuals.png"], "histogram of residuals")}
<h2>Lineage</h2>
<p>Every <code>features</code> partition read from <code>s3://{html.escape(lineage["mart_bucket"])}</code>,
with the SHA-256 of its manifest (full values in <code>lineage.json</code>).</p>
{_table(["dt", "manifest sha256", "rows", "inputs"], lineage_rows)}
</body></html>
"""
    return {"index.html": page.encode(), **images}

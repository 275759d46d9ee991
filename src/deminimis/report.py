"""Figures (matplotlib, the ``plots`` extra) and a self-contained HTML report with its tables as CSV.

Each figure function returns a matplotlib Figure; ``write_report`` embeds them as base64 PNG in one
HTML file beside the tables, each written whole or not at all (fileio.staged), with the
provenance of every figure in the page and in ``provenance.json``.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import os
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import numpy as np

from .analysis import ThresholdCurve
from .audit import CLASSES, Reconciliation
from .fileio import TABLE_FORMATS, staged
from .money import exponent


def _pyplot() -> Any:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("the figures need matplotlib: pip install 'deminimis[plots]'") from None
    return plt


def _major(minor: int, currency: str) -> float:
    return float(Decimal(minor).scaleb(-exponent(currency)))  # for drawing only


def reconciliation_figure(rec: Reconciliation) -> Any:
    """Revenue difference by class (bars) in major units."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.barh(list(CLASSES), [_major(rec.totals[c], rec.currency) for c in CLASSES])
    ax.set_xlabel(f"recomputed - declared ({rec.currency})")
    ax.set_title("Reconciliation: revenue difference by class")
    fig.tight_layout()
    return fig


def threshold_curve_figure(curve: ThresholdCurve) -> Any:
    """Duty, VAT, fees and total against the threshold."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    x = [float(t) for t in curve.thresholds]
    for k in ("duty", "vat", "fees", "total"):
        ax.plot(x, [_major(v, curve.currency) for v in curve.points[k]], label=k)
    ax.set_xlabel(f"threshold ({curve.currency})")
    ax.set_ylabel(curve.currency)
    ax.legend()
    ax.set_title(f"Revenue by threshold of {', '.join(curve.relief)}")
    fig.tight_layout()
    return fig


def values_figure(values: np.ndarray, thresholds: Sequence[int], currency: str) -> Any:
    """Histogram of consignment values (minor units) around each threshold."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.5))
    top = max([*thresholds, 1]) * 2
    ax.hist([_major(int(v), currency) for v in values[values <= top]], bins=80)
    for t in thresholds:
        ax.axvline(_major(t, currency), color="red", linestyle="--")
    ax.set_xlabel(f"consignment intrinsic value ({currency})")
    ax.set_title("Distribution of values around the thresholds")
    fig.tight_layout()
    return fig


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    _pyplot().close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def write_table(path: str, rows: list[dict[str, Any]]) -> None:
    """A table of rows (the keys of the first row are the columns) as CSV or, for a path ending in
    .parquet, Parquet (integers stay int64: exact minor units), whole or not at all."""
    columns = list(rows[0]) if rows else ["empty"]
    if path.endswith(".parquet"):
        import pyarrow as pa
        import pyarrow.parquet as pq
        table = pa.table({c: [r[c] for r in rows] for c in columns}) if rows else pa.table({"empty": pa.array([])})
        with staged(path) as tmp:
            pq.write_table(table, tmp)
        return
    with staged(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def write_report(folder: str, title: str, figures: dict[str, Any], tables: dict[str, list[dict[str, Any]]],
                 provenance: dict[str, Any], *, table_format: str = "csv") -> list[str]:
    """report.html (figures embedded, tables linked) and one file per table in `folder` (CSV or
    Parquet); returns the paths."""
    if table_format not in TABLE_FORMATS:
        raise ValueError(f"table_format must be one of {TABLE_FORMATS}, got {table_format!r}")
    os.makedirs(folder, exist_ok=True)
    written = []
    for name, rows in tables.items():
        path = os.path.join(folder, f"{name}.{table_format}")
        write_table(path, rows)
        written.append(path)
    prov = json.dumps(provenance, indent=2, sort_keys=True, default=str)
    parts = [f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title><h1>{html.escape(title)}</h1>"]
    for name, fig in figures.items():
        label = html.escape(name)
        parts.append(f"<h2>{label}</h2><img alt='{label}' src='data:image/png;base64,{_png(fig)}'>")
    for name, rows in tables.items():
        head = list(rows[0]) if rows else []
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(r[h]))}</td>" for h in head) + "</tr>"
                       for r in rows[:50])  # the first 50 rows; the table's file has them all
        file = html.escape(f"{name}.{table_format}")
        parts.append(f"<h2>{html.escape(name)} (<a href='{file}'>{file}</a>, "
                     f"{len(rows)} rows)</h2><table border=1><tr>{''.join(f'<th>{html.escape(h)}</th>' for h in head)}"
                     f"</tr>{body}</table>")
    parts.append(f"<h2>Provenance of every figure</h2><pre>{html.escape(prov)}</pre>")
    for name, text in (("report.html", "\n".join(parts)), ("provenance.json", prov)):
        path = os.path.join(folder, name)
        with staged(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        written.append(path)
    return written

"""Charts for architecture reviews; each function returns a matplotlib Figure and never saves.

Figures are built without pyplot: no global state, nothing to close, and Jupyter shows a
returned Figure once.
"""

from __future__ import annotations

import io

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from sim.report import QUANTILES, latency_cdf, latency_quantiles

# Okabe & Ito (2008) colour-blind-safe palette; region set i always gets colour i.
LOG_TICKS_MS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000)
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


class Chart(Figure):
    """A Figure that Jupyter shows as a PNG, whether or not pyplot was imported."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=100)
        return buffer.getvalue()


def plot_cdf(requests: pd.DataFrame) -> Figure:
    """Latency CDF per region set on a log axis, p50 and p99 marked."""
    cdf = latency_cdf(requests)
    marks = latency_quantiles(requests, ["region_set"])
    fig = Chart(figsize=(8, 4.5), layout="constrained")
    ax = fig.subplots()
    for i, (name, curve) in enumerate(cdf.groupby("region_set", observed=True, sort=True)):
        colour = PALETTE[i % len(PALETTE)]
        p50, p99 = marks.loc[name, "p50_ms"], marks.loc[name, "p99_ms"]
        ax.plot(
            curve["total_ms"],
            curve["share"],
            color=colour,
            lw=2,
            label=f"{name}: p50 {p50:,.0f} ms, p99 {p99:,.0f} ms",
        )
        for column in ("p50_ms", "p99_ms"):
            ax.plot(marks.loc[name, column], QUANTILES[column], "o", color=colour, ms=6)
    first, best = marks.index[0], marks["p50_ms"].idxmin()
    ax.set_xscale("log")
    low, high = max(cdf["total_ms"].quantile(0.001), 1.0), cdf["total_ms"].max() * 1.05
    ax.set_xlim(low, high)
    ax.set_xticks([t for t in LOG_TICKS_MS if low <= t <= high], minor=False)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    ax.set_xlabel("request latency, user to response [ms, log scale]")
    ax.set_ylabel("share of requests")
    ax.set_ylim(0, 1.0)
    ax.grid(True, which="both", alpha=0.3)
    p50 = marks["p50_ms"]
    if best == first:
        ax.set_title(f"{first} keeps the lowest median latency ({p50[first]:,.0f} ms)")
    else:
        ax.set_title(
            f"{best} cuts the median latency from {p50[first]:,.0f} ms ({first}) "
            f"to {p50[best]:,.0f} ms"
        )
    ax.legend(loc="lower right")
    return fig


COST_ITEMS = {
    "compute_usd_month": "compute",
    "storage_usd_month": "storage",
    "egress_usd_month": "egress",
    "database_usd_month": "database",
    "ipv4_usd_month": "IPv4",
}


def plot_cost(summary: pd.DataFrame) -> Figure:
    """The monthly bill of each region set, stacked by item (compute, storage, egress,
    database, IPv4), with the total and its p50 at the end of each bar."""
    table = summary.set_index("region_set")
    fig = Chart(figsize=(8, 0.6 * len(table) + 2.2), layout="constrained")
    ax = fig.subplots()
    left = pd.Series(0.0, index=table.index)
    for i, (column, label) in enumerate(COST_ITEMS.items()):
        ax.barh(table.index, table[column], left=left, color=PALETTE[i], label=label)
        left += table[column]
    for name, total in table["monthly_cost_usd"].items():
        ax.annotate(
            f" ${total:,.2f}, p50 {table.at[name, 'p50_ms']:,.0f} ms",
            (total, name),
            va="center",
        )
    ax.invert_yaxis()
    ax.set_xlim(0, table["monthly_cost_usd"].max() * 1.45)
    ax.set_xlabel("monthly cost [USD, 30-day month]")
    total = table["monthly_cost_usd"]
    cheapest, dearest = total.idxmin(), total.idxmax()
    biggest = table[list(COST_ITEMS)].sum().idxmax()
    ax.set_title(
        f"{dearest} costs ${total[dearest] - total[cheapest]:,.2f} a month more than "
        f"{cheapest};\n{COST_ITEMS[biggest]} is the largest item over all of them"
    )
    fig.legend(loc="outside lower center", ncols=len(COST_ITEMS), fontsize="small")
    ax.grid(True, axis="x", alpha=0.3)
    return fig

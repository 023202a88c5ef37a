"""Charts for architecture reviews; each function returns a matplotlib Figure and never saves.

Figures are built without pyplot: no global state, nothing to close, and Jupyter shows a
returned Figure once.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from sim.report import QUANTILES, latency_cdf, latency_quantiles

# Okabe & Ito (2008) colour-blind-safe palette; region set i always gets colour i.
LOG_TICKS_MS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000)
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
# Latency parts, network first: blues for the network, then warm colours (Okabe & Ito again)
PART_COLOURS = ("#0072B2", "#56B4E9", "#F0E442", "#D55E00", "#009E73", "#CC79A7", "#E69F00")


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
    for name, colour in colours(dict.fromkeys(requests["region_set"])).items():
        curve = cdf[cdf["region_set"] == name]
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
    "database_compute_usd_month": "db compute",
    "database_storage_usd_month": "db storage",
    "database_transfer_usd_month": "db transfer",
    "ipv4_usd_month": "IPv4",
}


def plot_cost(summary: pd.DataFrame) -> Figure:
    """The monthly bill of each region set, stacked by item (compute, storage, egress,
    database compute, storage and transfer, IPv4), with the total and its p50 at the end of
    each bar."""
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


def colours(names) -> dict[str, str]:
    """Region set -> colour, in the order of the scenario's candidates (the log's categories)."""
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}


def pareto_front(cost: pd.Series, p99: pd.Series) -> list[str]:
    """The sets no other set beats on both cost and p99 (lower is better), by cost."""
    order = cost.sort_values(kind="stable").index
    front, best = [], float("inf")
    for name in order:
        if p99[name] < best:
            front.append(name)
            best = p99[name]
    return front


def plot_cost_latency(summary: pd.DataFrame) -> Figure:
    """p99 latency against monthly cost, one point per region set, the Pareto front drawn."""
    table = summary.set_index("region_set")
    cost, p99 = table["monthly_cost_usd"], table["p99_ms"]
    fig = Chart(figsize=(7, 4.5), layout="constrained")
    ax = fig.subplots()
    front = pareto_front(cost, p99)
    ax.plot(cost[front], p99[front], "--", color="grey", lw=1, label="Pareto front", zorder=1)
    for name, colour in colours(table.index).items():
        ax.scatter(cost[name], p99[name], s=70, color=colour, zorder=2)
        ax.annotate(f"  {name}", (cost[name], p99[name]), va="center", fontsize="small")
    ax.set_xlabel("monthly cost [USD]")
    ax.set_ylabel("p99 latency [ms]")
    ax.set_xlim(0, cost.max() * 1.35)
    ax.set_ylim(0, p99.max() * 1.15)
    ax.grid(True, alpha=0.3)
    beaten = [name for name in table.index if name not in front]
    title = f"{len(front)} of {len(table)} sets are worth a look on p99 and cost"
    if beaten:
        title += f";\n{', '.join(beaten)}: another set is cheaper and faster"
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize="small")
    return fig


def plot_continents(by_continent: pd.DataFrame) -> Figure:
    """p50 (solid) and p99 (light) per user continent, bars grouped by region set."""
    p50 = by_continent.pivot(index="continent", columns="region_set", values="p50_ms")
    p99 = by_continent.pivot(index="continent", columns="region_set", values="p99_ms")
    names = list(dict.fromkeys(by_continent["region_set"]))  # the log's order of region sets
    fig = Chart(figsize=(9, 4.5), layout="constrained")
    ax = fig.subplots()
    width = 0.8 / len(names)
    x = np.arange(len(p50.index))
    for i, (name, colour) in enumerate(colours(names).items()):
        offset = x - 0.4 + width * (i + 0.5)
        ax.bar(offset, p99[name], width, color=colour, alpha=0.35)
        ax.bar(offset, p50[name], width, color=colour, label=name)
    ax.set_xticks(x, p50.index)
    ax.set_xlabel("user continent")
    ax.set_ylabel("latency [ms]: p50 solid, p99 light")
    ax.grid(True, axis="y", alpha=0.3)
    gain = (p50[names[0]] - p50.min(axis=1)).idxmax()
    best = p50.loc[gain].idxmin()
    ax.set_title(
        f"{CONTINENT_NAMES[gain]} gains most: p50 {p50.at[gain, names[0]]:,.0f} ms with "
        f"{names[0]}, {p50.at[gain, best]:,.0f} ms with {best}"
    )
    ax.legend(fontsize="small")
    return fig


DAILY_MIN_HOURS = 3  # a shorter run has too few hours for a daily curve
CONTINENT_NAMES = {
    "AF": "Africa",
    "AS": "Asia",
    "EU": "Europe",
    "NA": "North America",
    "OC": "Oceania",
    "SA": "South America",
}
PART_NAMES = {
    "client_edge_ms": "user to edge",
    "edge_worker_ms": "edge to Machine",
    "queue_ms": "queue",
    "cold_start_ms": "cold start",
    "app_ms": "app",
    "db_ms": "database",
    "replay_ms": "replay",
}


def plot_parts(requests: pd.DataFrame) -> Figure:
    """Where the time goes: mean latency parts per user continent, one panel per region set."""
    ok = requests[requests["outcome"] == "ok"]
    means = ok.groupby(["region_set", "continent"], observed=True)[list(PART_NAMES)].mean()
    names = list(dict.fromkeys(ok["region_set"]))
    fig = Chart(figsize=(9, 2.2 * len(names) + 1), layout="constrained")
    axes = fig.subplots(len(names), 1, sharex=True, squeeze=False)[:, 0]
    for ax, name in zip(axes, names, strict=True):
        table = means.loc[name]
        left = np.zeros(len(table))
        for i, (column, label) in enumerate(PART_NAMES.items()):
            ax.barh(table.index, table[column], left=left, color=PART_COLOURS[i], label=label)
            left += table[column].to_numpy()
        ax.invert_yaxis()
        ax.set_ylabel(name)
        ax.grid(True, axis="x", alpha=0.3)
    axes[-1].set_xlabel("mean latency of ok requests [ms], by part")
    network = means[["client_edge_ms", "edge_worker_ms", "replay_ms"]].sum(axis=1)
    share = network.sum() / means.sum(axis=1).sum()
    fig.suptitle(
        f"The network is {share:.0%} of the time users wait; the rest is queue, app and database"
    )
    fig.legend(
        *axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=7, fontsize="small"
    )
    return fig


def covers_a_day(requests: pd.DataFrame) -> bool:
    """Whether the run is long enough for latency over the day (DAILY_MIN_HOURS)."""
    return float(requests["t_s"].max()) >= DAILY_MIN_HOURS * 3600


def plot_daily(requests: pd.DataFrame) -> Figure:
    """p50 and p99 per hour of the run, per region set: the daily cycle, cold starts at night."""
    if not covers_a_day(requests):
        raise ValueError(
            f"the run covers {requests['t_s'].max() / 60:.0f} min; latency over the day needs "
            f"{DAILY_MIN_HOURS} hours or more "
            "(set workload.duration_s: 24h)"
        )
    ok = requests[requests["outcome"] == "ok"]
    hour = (ok["t_s"] // 3600).astype(int)
    grouped = ok.groupby([ok["region_set"], hour], observed=True)["total_ms"]
    p50, p99 = grouped.quantile(0.5), grouped.quantile(0.99)
    fig = Chart(figsize=(9, 4.5), layout="constrained")
    ax = fig.subplots()
    for name, colour in colours(dict.fromkeys(ok["region_set"])).items():
        ax.plot(p50[name].index, p50[name], color=colour, lw=2, label=f"{name} p50")
        ax.plot(p99[name].index, p99[name], color=colour, lw=1, ls="--", label=f"{name} p99")
    ax.set_yscale("log")
    ax.set_xlabel("hour since the run started [h]")
    ax.set_ylabel("latency [ms, log scale]")
    ax.grid(True, which="both", alpha=0.3)
    worst = p99.idxmax()
    ax.set_title(f"The worst hour: p99 {p99.max():,.0f} ms for {worst[0]} in hour {worst[1]}")
    ax.legend(fontsize="small", ncols=2)
    return fig


def plot_regions_enough(best: pd.DataFrame, objective_column: str) -> Chart:
    """How many regions are enough: p50 and p99 of the best set of each size, the region each
    size adds, and the monthly cost on a second axis (sim.optimize's best sets)."""
    fig = Chart(figsize=(8, 4.5), layout="constrained")
    ax = fig.subplots()
    k = best["k"].to_numpy()
    for column, colour, label in (("p50_ms", PALETTE[0], "p50"), ("p99_ms", PALETTE[5], "p99")):
        width = 2.5 if column == objective_column else 1.5
        ax.plot(k, best[column], "o-", color=colour, lw=width, label=f"{label} [ms]")
    for size, p99, added in zip(k, best["p99_ms"], best["added"], strict=True):
        if added:
            ax.annotate(added, (size, p99), textcoords="offset points", xytext=(0, 7),
                        ha="center", fontsize="small")  # fmt: skip
    ax.set_xlabel("regions in the set (the best set of each size)")
    ax.set_ylabel("request latency [ms]")
    ax.set_xticks(k)
    ax.set_ylim(0, best["p99_ms"].max() * 1.15)
    ax.grid(True, alpha=0.3)
    cost = ax.twinx()
    cost.plot(k, best["monthly_cost_usd"], "s--", color=PALETTE[7], label="cost [USD/month]")
    cost.set_ylabel("monthly cost [USD]")
    cost.set_ylim(0, best["monthly_cost_usd"].max() * 1.3)
    gains = best["gain_ms"].to_numpy()
    label = {"p50_ms": "p50", "p99_ms": "p99", "mean_ms": "mean"}[objective_column]
    small = [size for size, gain in zip(k[1:], gains[1:], strict=True) if gain < 10]
    ax.set_title(
        f"Each added region's {label} gain; under 10 ms from {small[0]} regions"
        if small
        else f"Every added region gains 10 ms or more of {label}"
    )
    handles = ax.get_legend_handles_labels()[0] + cost.get_legend_handles_labels()[0]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize="small")
    return fig

"""Charts for architecture reviews; each function returns a matplotlib Figure and never saves.

Figures are built without pyplot: no global state, nothing to close, and Jupyter shows a
returned Figure once.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from sim.data import CONTINENT_NAMES
from sim.report import COST_ITEMS, QUANTILES, latency_cdf, latency_quantiles, ms_text

# Okabe & Ito (2008) colour-blind-safe palette; region set i always gets colour i.
LOG_TICKS_MS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000)
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
# Cost items and latency parts: a sequential ramp (viridis, sampled) that shares no colour
# with the region sets' palette, so a colour never means a region set in one chart and
# something else in another
ITEM_COLOURS = ("#440154", "#46327E", "#365C8D", "#277F8E", "#1FA187", "#4AC16D", "#A0DA39",
                "#FDE725")  # fmt: skip
# A map's regions (not region sets): Paul Tol's muted qualitative scheme, no colour shared
REGION_COLOURS = ("#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677",
                  "#882255", "#AA4499")  # fmt: skip


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
    written: set[str] = set()  # the failed shares already labelled
    for name, colour in colours(set_order(requests["region_set"])).items():
        curve = cdf[cdf["region_set"] == name]
        p50, p99 = marks.loc[name, "p50_ms"], marks.loc[name, "p99_ms"]
        failed = 1 - marks.loc[name, "ok"] / marks.loc[name, "requests"]
        label = f"{name}: p50 {ms_text(p50)}, p99 {ms_text(p99)}"
        ax.plot(
            curve["total_ms"],
            curve["share"],
            color=colour,
            lw=2,
            label=label + (f", {failed:.1%} failed" if failed else ""),
        )
        if failed and len(curve) and f"{failed:.1%}" not in written:  # one label per level
            written.add(f"{failed:.1%}")
            ax.annotate(f"{failed:.1%} failed ", (curve["total_ms"].iloc[-1], 1 - failed),
                        color=colour, fontsize="small", ha="right", va="bottom")  # fmt: skip
        for column in ("p50_ms", "p99_ms"):
            if np.isfinite(marks.loc[name, column]):
                ax.plot(marks.loc[name, column], QUANTILES[column], "o", color=colour, ms=6)
    first, best = marks.index[0], marks["p50_ms"].idxmin()
    ax.set_xscale("log")
    low, high = max(cdf["total_ms"].quantile(0.001), 1.0), cdf["total_ms"].max() * 1.05
    ax.set_xlim(low, high)
    ax.set_xticks([t for t in LOG_TICKS_MS if low <= t <= high], minor=False)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    ax.set_xlabel("request latency, user to response [ms, log scale]")
    ax.set_ylabel("share of requests (failed ones never arrive)")
    ax.set_ylim(0, 1.0)
    ax.grid(True, which="both", alpha=0.3)
    p50 = marks["p50_ms"]
    if best == first:
        ax.set_title(f"{first} keeps the lowest median latency ({ms_text(p50[first])})")
    else:
        ax.set_title(
            f"{best} cuts the median latency from {ms_text(p50[first])} ({first}) "
            f"to {ms_text(p50[best])}"
        )
    ax.legend(loc="upper left", fontsize="small")
    return fig


def plot_cost(summary: pd.DataFrame) -> Figure:
    """The monthly bill of each region set, stacked by item (compute, storage, egress,
    database compute, storage and transfer, IPv4), with the total and its p50 at the end of
    each bar."""
    table = summary.set_index("region_set")
    fig = Chart(figsize=(8, 0.6 * len(table) + 2.2), layout="constrained")
    ax = fig.subplots()
    left = pd.Series(0.0, index=table.index)
    for i, (column, label) in enumerate(COST_ITEMS.items()):
        ax.barh(table.index, table[column], left=left, color=ITEM_COLOURS[i], label=label)
        left += table[column]
    for name, total in table["monthly_cost_usd"].items():
        ax.annotate(
            f" ${total:,.2f}, p50 {ms_text(table.at[name, 'p50_ms'])}",
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


def set_order(column: pd.Series) -> list[str]:
    """The region sets of a column of the log (or of a table made from it) in the order of
    their first row, the scenario's; without walking each of a large log's rows in Python."""
    return [str(name) for name in pd.unique(column)]


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
    finite = p99[np.isfinite(p99)]
    top = (finite.max() if len(finite) else 1000.0) * 1.15
    shown = p99.where(np.isfinite(p99), top * 0.97)  # failed at p99: drawn at the top
    fig = Chart(figsize=(7, 4.5), layout="constrained")
    ax = fig.subplots()
    front = pareto_front(cost, p99)
    ax.plot(cost[front], shown[front], "--", color="grey", lw=1, label="Pareto front", zorder=1)
    for name, colour in colours(table.index).items():
        failed = not np.isfinite(p99[name])
        ax.scatter(cost[name], shown[name], s=70, color=colour, zorder=2,
                   marker="X" if failed else "o")  # fmt: skip
        note = f"  {name}" + (
            f": p99 failed ({table.at[name, 'error_rate']:.1%})" if failed else ""
        )
        ax.annotate(note, (cost[name], shown[name]), va="center", fontsize="small")
    ax.set_xlabel("monthly cost [USD]")
    ax.set_ylabel("p99 latency [ms], failures counted")
    ax.set_xlim(0, cost.max() * 1.35)
    ax.set_ylim(0, top)
    ax.grid(True, alpha=0.3)
    beaten = [name for name in table.index if name not in front]
    title = f"{len(front)} of {len(table)} sets are worth a look on p99 and cost"
    if beaten:
        title += f";\n{', '.join(beaten)}: another set is cheaper and faster"
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize="small")
    return fig


def plot_continents(by_continent: pd.DataFrame) -> Figure:
    """p50 (solid) and p99 (light) per user continent, bars grouped by region set (a quantile
    that falls on failures is marked 'failed'); the title names the continent whose users
    gain the most user-hours with the best set."""
    p50 = by_continent.pivot(index="continent", columns="region_set", values="p50_ms")
    p99 = by_continent.pivot(index="continent", columns="region_set", values="p99_ms")
    requests = by_continent.pivot(index="continent", columns="region_set", values="requests")
    mean = by_continent.pivot(index="continent", columns="region_set", values="mean_ms")
    names = set_order(by_continent["region_set"])
    fig = Chart(figsize=(9, 4.5), layout="constrained")
    ax = fig.subplots()
    width = 0.8 / len(names)
    x = np.arange(len(p50.index))
    for i, (name, colour) in enumerate(colours(names).items()):
        offset = x - 0.4 + width * (i + 0.5)
        ax.bar(offset, p99[name].where(np.isfinite(p99[name])), width, color=colour, alpha=0.35)
        ax.bar(offset, p50[name].where(np.isfinite(p50[name])), width, color=colour, label=name)
        for spot, value in zip(offset, p99[name], strict=True):
            if not np.isfinite(value):
                ax.annotate("failed", (spot, 0), rotation=90, ha="center", va="bottom",
                            fontsize="x-small", color=colour)  # fmt: skip
    ax.set_xticks(x, [CONTINENT_NAMES[code] for code in p50.index], fontsize="small")
    ax.set_xlim(-0.5, len(x) - 0.5)
    ax.set_xlabel("user continent")
    ax.set_ylabel("latency [ms]: p50 solid, p99 light")
    ax.grid(True, axis="y", alpha=0.3)
    hours = requests.mul(mean[names[0]], axis=0) - requests * mean  # ms saved x requests
    gain_set = hours.sum().idxmax()
    gain = hours[gain_set].idxmax() if hours[gain_set].max() > 0 else None
    if gain is None:
        ax.set_title(f"No continent waits less than with {names[0]}")
    else:
        ax.set_title(
            f"{CONTINENT_NAMES[gain]} gains most user-hours: p50 "
            f"{ms_text(p50.at[gain, names[0]])} with {names[0]}, "
            f"{ms_text(p50.at[gain, gain_set])} with {gain_set}"
        )
    ax.legend(fontsize="small")
    return fig


DAILY_MIN_HOURS = 3  # a shorter run has too few hours for a daily curve
PART_NAMES = {
    "client_edge_ms": "user to edge",
    "edge_worker_ms": "edge to Machine",
    "queue_ms": "queue",
    "cold_start_ms": "cold start",
    "app_ms": "app",
    "throttled_ms": "CPU throttled",
    "db_ms": "database",
    "replay_ms": "replay",
}


def plot_parts(requests: pd.DataFrame) -> Figure:
    """Where the time goes: mean latency parts per user continent, one panel per region set.

    Each panel's bars are one collection of rectangles: the seed scenario's chart took 2.2 s
    with a patch per bar (9 sets x 6 continents x 8 parts), 1.45 s so."""
    ok = requests[requests["outcome"] == "ok"]
    means = ok.groupby(["region_set", "continent"], observed=True)[list(PART_NAMES)].mean()
    names = set_order(ok["region_set"])
    fig = Chart(figsize=(9, 2.2 * len(names) + 1), layout="constrained")
    axes = fig.subplots(len(names), 1, sharex=True, squeeze=False)[:, 0]
    for ax, name in zip(axes, names, strict=True):
        table = means.loc[name].rename(index=CONTINENT_NAMES)
        ax.add_collection(stacked_bars(table.fillna(0).to_numpy(), ITEM_COLOURS))
        ax.set_yticks(range(len(table)), table.index)
        ax.set_ylim(len(table) - 0.5, -0.5)  # the first continent on top
        ax.set_ylabel(name)
        ax.grid(True, axis="x", alpha=0.3)
    axes[0].set_xlim(0, means.fillna(0).sum(axis=1).max() * 1.05)  # shared by every panel
    axes[-1].set_xlabel("mean latency of ok requests [ms], by part")
    network = means[["client_edge_ms", "edge_worker_ms", "replay_ms"]].sum(axis=1)
    share = network.sum() / means.sum(axis=1).sum()
    fig.suptitle(
        f"The network is {share:.0%} of the time users wait; the rest is queue, app and database"
    )
    handles = [Patch(color=colour, label=label) for colour, label
               in zip(ITEM_COLOURS, PART_NAMES.values(), strict=False)]  # fmt: skip
    fig.legend(handles=handles, loc="outside lower center", ncols=8, fontsize="small")
    return fig


def stacked_bars(values: np.ndarray, colours: tuple[str, ...], height: float = 0.8):
    """Horizontal stacked bars as one PolyCollection: row i of ``values`` (rows x parts) at
    y = i, part j in ``colours[j]``, each part starting where the one before ended."""
    rows, parts = values.shape
    right = np.cumsum(values, axis=1).ravel()
    left = right - values.ravel()
    y = np.repeat(np.arange(rows), parts)
    low, high = y - height / 2, y + height / 2
    corners = np.stack([[left, low], [left, high], [right, high], [right, low]])  # 4 x 2 x n
    return PolyCollection(
        corners.transpose(2, 0, 1), facecolors=np.tile(colours[:parts], rows), linewidths=0
    )


def covers_a_day(requests: pd.DataFrame) -> bool:
    """Whether the run is long enough for latency over the day (DAILY_MIN_HOURS)."""
    return float(requests["t_s"].max()) >= DAILY_MIN_HOURS * 3600


def plot_daily(requests: pd.DataFrame, start_utc_hour: float = 0.0) -> Figure:
    """p50 and p99 per hour of the run on UTC clock hours (the run starts at
    ``start_utc_hour``), per region set: the daily cycle, cold starts at night."""
    if not covers_a_day(requests):
        raise ValueError(
            f"the run covers {requests['t_s'].max() / 60:.0f} min; latency over the day needs "
            f"{DAILY_MIN_HOURS} hours or more "
            "(set workload.duration_s: 24h)"
        )
    ok = requests[requests["outcome"] == "ok"]
    hour = ((ok["t_s"] / 3600 + start_utc_hour) // 1).astype(int)  # UTC hours since midnight
    grouped = ok.groupby([ok["region_set"], hour], observed=True)["total_ms"]
    p50, p99 = grouped.quantile(0.5), grouped.quantile(0.99)
    fig = Chart(figsize=(9, 4.5), layout="constrained")
    ax = fig.subplots()
    for name, colour in colours(set_order(ok["region_set"])).items():
        ax.plot(p50[name].index, p50[name], color=colour, lw=2, label=f"{name} p50")
        ax.plot(p99[name].index, p99[name], color=colour, lw=1, ls="--", label=f"{name} p99")
    ax.set_yscale("log")
    ax.set_xlabel("hour of the day [UTC]" + (", then the next days" if hour.max() >= 24 else ""))
    ticks = np.arange(hour.min() - hour.min() % 3, hour.max() + 1, 3)
    ax.set_xticks(ticks, [f"{tick % 24:02d}:00" for tick in ticks], fontsize="small")
    ax.set_ylabel("latency [ms, log scale]")
    ax.grid(True, which="both", alpha=0.3)
    worst = p99.idxmax()
    ax.set_title(
        f"The worst hour: p99 {p99.max():,.0f} ms for {worst[0]} at {worst[1] % 24:02d}:00 UTC"
    )
    ax.legend(fontsize="small", ncols=2)
    return fig


def plot_regions_enough(best: pd.DataFrame, objective_column: str) -> Chart:
    """How many regions are enough, in two panels over the number of regions: p50 and p99 of
    the best set of each size, each point naming its set, then its monthly cost
    (sim.optimize's best sets)."""
    fig = Chart(figsize=(8, 6.5), layout="constrained")
    latency, cost = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    k = best["k"].to_numpy()
    lines = (("p50_ms", ITEM_COLOURS[2], "p50"), ("p99_ms", ITEM_COLOURS[5], "p99"))
    for column, colour, label in lines:
        width = 2.5 if column == objective_column else 1.5
        latency.plot(k, best[column], "o-", color=colour, lw=width, label=label)
    for i, (size, p99, name) in enumerate(zip(k, best["p99_ms"], best["region_set"],
                                              strict=True)):  # fmt: skip
        latency.annotate(
            name,
            (size, p99),
            textcoords="offset points",
            xytext=(0, 8 if i % 2 == 0 else -14),
            ha="center",
            fontsize="x-small",
        )  # fmt: skip, alternate above and below
    latency.set_xlim(k.min() - 0.7, k.max() + 0.7)
    latency.set_ylabel("latency of the best set [ms]")
    latency.set_ylim(0, best["p99_ms"].max() * 1.2)
    latency.grid(True, alpha=0.3)
    latency.legend(fontsize="small", loc="lower left")
    cost.bar(k, best["monthly_cost_usd"], color=ITEM_COLOURS[2], width=0.5)
    for size, usd in zip(k, best["monthly_cost_usd"], strict=True):
        cost.annotate(f"${usd:,.0f}", (size, usd), textcoords="offset points", xytext=(0, 3),
                      ha="center", fontsize="small")  # fmt: skip
    cost.set_ylabel("monthly cost [USD]")
    cost.set_ylim(0, best["monthly_cost_usd"].max() * 1.25)
    cost.set_xlabel("regions in the set (the best set of each size)")
    cost.set_xticks(k)
    cost.grid(True, axis="y", alpha=0.3)
    gains = best["gain_ms"].to_numpy()
    label = {"p50_ms": "p50", "p99_ms": "p99", "mean_ms": "mean"}[objective_column]
    small = [size for size, gain in zip(k[1:], gains[1:], strict=True) if gain < 10]
    fig.suptitle(
        f"Each added region's {label} gain; under 10 ms from {small[0]} regions"
        if small
        else f"Every added region gains 10 ms or more of {label}"
    )
    return fig

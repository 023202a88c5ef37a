"""What a review must know of each region set's CPU, in sentences: where its Machines ran out
of Fly's CPU quota, how soon, and what would keep up."""

from __future__ import annotations

import math

import pandas as pd

from sim.cpu import baseline_ms_per_s
from sim.data import machine_prices
from sim.fly_prices import machine_usd_month


def cpu_notes(machines: pd.DataFrame) -> list[str]:
    """One line per region set whose Machines were throttled (the machine table of a run:
    `sim.engine.Run.machines`), its most loaded region first, e.g. "mad on mpg: mad's
    shared-cpu-1x needs 398 ms of CPU a second, 6.4x its 62.5 ms baseline: throttled after
    15 s; shared-cpu-8x, or 7 Machines, keep up"."""
    lines = []
    for name, rows in machines.groupby("region_set", observed=True, sort=False):
        regions = rows.groupby("region", sort=False).agg(
            vm=("vm", "first"),
            machines=("vm", "size"),
            demand=("cpu_demand_ms_per_s", "first"),
            baseline=("cpu_baseline_ms_per_s", "first"),
            throttled_s=("throttled_s", "sum"),
            first_s=("first_throttled_s", "min"),
        )
        throttled = regions[regions["throttled_s"] > 0]
        if throttled.empty:
            continue
        parts = [
            region_text(region, row)
            for region, row in throttled.sort_values("demand", ascending=False).iterrows()
        ]
        lines.append(f"{name}: " + "; ".join(parts))
    return lines


def region_text(region: str, row: pd.Series) -> str:
    """A throttled region: its demand against its baseline, when it began, what keeps up."""
    times = row["demand"] / row["baseline"]
    text = (
        f"{region}'s {row['vm']} needs {row['demand']:,.0f} ms of CPU a second in the busiest "
        f"hour, {times:.1f}x its {row['baseline']:g} ms baseline: throttled after "
        f"{duration(row['first_s'])}"
    )
    bigger = cheapest_keeping_up(row["demand"], region)
    more = math.ceil(row["demand"] * row["machines"] / row["baseline"])
    if times < 1:
        return text + " (bursts above its baseline spent the balance)"
    return f"{text}; {bigger}, or {more} Machines, keep up"


def cheapest_keeping_up(demand_ms_per_s: float, region: str) -> str:
    """The cheapest preset (at its least memory) whose baseline covers ``demand_ms_per_s``."""
    presets = machine_prices().groupby("preset", sort=False).first()
    baseline = pd.Series(
        [baseline_ms_per_s(row.cpus, row.cpu_kind == "shared") for row in presets.itertuples()],
        index=presets.index,
    )
    enough = presets.index[baseline >= demand_ms_per_s]
    return min(enough, key=lambda vm: machine_usd_month(vm, None, region), default="none")


def duration(seconds: float) -> str:
    if seconds >= 5400:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 90:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"

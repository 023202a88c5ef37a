"""Replications: a scenario run on independent seeds, each metric with its 95 % confidence
interval, and which region sets are distinguishable from each other.

Replication r draws its own random streams (the scenario's SeedSequence spawned per
replication: sim.draws.draw), so replications are independent; within one, every region set
sees the same users and requests. Differences between two sets are therefore paired per
replication, which is what makes them tight: the interval of the mean difference says whether
the two are distinguishable (the interval excludes 0) or not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.scenario import Scenario
from sim.sweeps import check_options, point_rows, run_all

METRICS = {"p50_ms": "p50", "p99_ms": "p99", "mean_ms": "mean", "monthly_cost_usd": "cost"}
LEVEL = 0.95


@dataclass(frozen=True)
class Replicated:
    """Every replication's summary, each metric's mean and interval, and the paired
    differences between every two region sets."""

    runs: pd.DataFrame  # region_set, seed, METRICS
    table: pd.DataFrame  # region_set, then per metric: mean, low, high
    versus: pd.DataFrame  # region_set, against, metric, difference, low, high, distinguishable

    def sentences(self) -> list[str]:
        """Per pair of region sets, the difference of their p50 and p99, and whether it is
        more than the replications' noise."""
        lines = []
        for (name, other), rows in self.versus.groupby(["region_set", "against"], sort=False):
            parts = []
            for row in rows[rows["metric"].isin(["p50_ms", "p99_ms"])].itertuples():
                verdict = "distinguishable" if row.distinguishable else "not distinguishable"
                parts.append(
                    f"{METRICS[row.metric]} {row.difference:+,.1f} ms "
                    f"({LEVEL:.0%} CI {row.low:+,.1f} to {row.high:+,.1f}): {verdict}"
                )
            lines.append(f"{name} vs {other}: " + "; ".join(parts))
        return lines


def replicate(
    scenario: Scenario,
    replications: int,
    *,
    workers: int = 1,
    engine: str = "auto",
    progress: Callable[[int], object] | None = None,
    first: pd.DataFrame | None = None,
) -> Replicated:
    """``replications`` independent runs of ``scenario`` at its own load (replications
    0..replications-1, on ``workers`` local processes), summarised with LEVEL confidence
    intervals. ``first``, replication 0's summary (``Result.summary``) when it has run
    already (as in `globalness run`), is used instead of running it again. ``progress`` is
    called with 1 per replication."""
    check_options(replications, workers, None, engine)
    seeds = range(0 if first is None else 1, replications)
    frames = run_all([(scenario, seed, engine) for seed in seeds], workers, progress=progress)
    if first is not None:
        frames.insert(0, point_rows(first, scenario, 0))
        if progress is not None:
            progress(1)
    runs = pd.concat(frames, ignore_index=True)[["region_set", "seed", *METRICS]]
    by_set = runs.groupby("region_set", sort=False, observed=True)
    table = {"region_set": [name for name, _ in by_set]}
    for metric in METRICS:
        mean, low, high = zip(*(interval(values) for _, values in by_set[metric]), strict=True)
        table |= {metric: mean, f"{metric}_low": low, f"{metric}_high": high}
    wide = runs.pivot(index="seed", columns="region_set", values=list(METRICS))
    names, rows = list(scenario.candidates), []
    for k, name in enumerate(names):
        for other in names[:k]:
            for metric in METRICS:
                mean, low, high = interval(wide[metric][name] - wide[metric][other])
                rows.append((name, other, metric, mean, low, high, bool(low > 0 or high < 0)))
    columns = ["region_set", "against", "metric", "difference", "low", "high", "distinguishable"]
    return Replicated(runs, pd.DataFrame(table), pd.DataFrame(rows, columns=columns))


def interval(values: pd.Series) -> tuple[float, float, float]:
    """Mean and its LEVEL Student-t confidence interval (the mean itself for one value)."""
    values = np.asarray(values, dtype=float)
    mean = float(values.mean())
    if len(values) < 2 or not np.isfinite(values).all():  # one value, or failed quantiles
        return mean, mean, mean
    from scipy import stats  # only replications need it: a plain run starts without SciPy

    half = stats.t.ppf((1 + LEVEL) / 2, len(values) - 1) * values.std(ddof=1) / len(values) ** 0.5
    return mean, mean - half, mean + half

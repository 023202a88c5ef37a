"""A finished run (`Result`) and the calls that make one: `run` and its `estimate`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import pandas as pd
from matplotlib.figure import Figure

from sim import maps, plots, report
from sim.checks import ScenarioError
from sim.engine import ENGINES, simulate
from sim.footprint import Estimate, run_estimate
from sim.scenario import Scenario


@dataclass(frozen=True)
class Result:
    """A finished run: the scenario, its request log, and every table and chart derived from it."""

    scenario: Scenario
    requests: pd.DataFrame
    machines: pd.DataFrame  # per Machine: region_set, region, running_s, starts, duration_s
    engines: pd.DataFrame  # per region set: engine (des or analytic), reason

    @cached_property
    def summary(self) -> pd.DataFrame:
        return report.summary(self.requests, self.machines, self.engines, self.scenario)

    @cached_property
    def outcomes(self) -> pd.DataFrame:
        return report.outcomes(self.requests)

    @cached_property
    def by_continent(self) -> pd.DataFrame:
        return report.by_continent(self.requests, self.scenario.baseline)

    @cached_property
    def by_kind(self) -> pd.DataFrame:
        return report.by_kind(self.requests)

    def plot_cdf(self) -> Figure:
        return plots.plot_cdf(self.requests)

    def plot_cost(self) -> Figure:
        return plots.plot_cost(self.summary)

    def plot_cost_latency(self) -> Figure:
        return plots.plot_cost_latency(self.summary)

    def plot_continents(self) -> Figure:
        return plots.plot_continents(self.by_continent)

    def plot_parts(self) -> Figure:
        return plots.plot_parts(self.requests)

    def plot_daily(self) -> Figure:
        daily = self.scenario.workload.daily
        return plots.plot_daily(self.requests, daily.start_utc_hour if daily else 0.0)

    def plot_map(self, region_set: str | None = None, by: str = "p50") -> Figure:
        """Users on a world map coloured by their p50 (``by="p50"``) or by the region that
        served them (``by="region"``), for one region set (the last one if unset)."""
        name = region_set or list(self.scenario.candidates)[-1]
        return maps.plot_map(self.requests, name, by)


def estimate(
    scenario: Scenario, engine: str = "auto", *, replications: int = 1, workers: int = 1,
    charts: int = 0,
) -> Estimate:  # fmt: skip
    """About how long the run takes and how much memory it needs, before running it: with
    ``replications`` more runs on ``workers`` processes and ``charts`` charts, as `globalness
    run` counts them."""
    return run_estimate(scenario, engine, replications, workers, charts)


def run(
    scenario: Scenario,
    *,
    engine: str = "auto",
    progress: Callable[[int], object] | None = None,
    allow_large: bool = False,
) -> Result:
    """Simulate every region set of the scenario.

    ``engine``: "des" (discrete events: queues, limits, autostop, cold starts, outages),
    "analytic" (vectorised, nothing waits) or "auto": per region set, the DES when the set
    has a hard limit, autostop or outages or Erlang C says over 1 % of requests would wait,
    else the analytic engine (``result.engines`` says which ran and why). A run estimated at
    more than 10 minutes or 4 GB raises ScenarioError with the estimate unless
    ``allow_large``; ``progress`` is called with the number of requests done since its last
    call (e.g. a tqdm bar's ``update``).
    """
    if engine not in ENGINES:
        raise ScenarioError(f"engine: {engine!r} is not an engine; allowed: {', '.join(ENGINES)}")
    estimate(scenario, engine).check(large_ok=allow_large)  # never beyond the free memory
    done = simulate(scenario, progress=progress, engine=engine, allow_large=allow_large)
    return Result(scenario, done.requests, done.machines, done.engines)

"""globalness: is going multi-region worth it for this app, in milliseconds and dollars?

import sim
result = sim.run(sim.load_scenario("scenarios/fly-seed.yaml"))
result.summary          # per region set: p50/p90/p99 [ms], the bill by item [USD], verdict
result.by_continent     # p50/p90/p99 per region set and user continent, changes vs baseline
result.requests         # the request log, one row per simulated request
result.outcomes         # requests per region set and outcome (ok, failed_...)
result.machines         # per Machine: running seconds and starts (compute cost uses them)
result.engines          # per region set: the engine that ran (des or analytic) and why
result.plot_cdf()       # matplotlib Figures: also plot_cost_latency, plot_continents,
                        # plot_parts, plot_cost, plot_map(set, by), plot_daily
sim.estimate(scenario)  # about how long and how much memory a run takes
sim.run(scenario, engine="analytic")  # or "des"; "auto" (the default) picks per region set
sim.optimize(scenario, range(1, 7), "p99")  # the best region set of each size (Optimum)
sim.size(scenario)      # the cheapest Machines that keep each region set's p99 (Sizing)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from importlib.metadata import PackageNotFoundError, version

import pandas as pd
from matplotlib.figure import Figure

from sim import maps, plots, report
from sim.checks import DeprecatedRegionWarning, ScenarioError, ScenarioWarning
from sim.engine import ENGINES, Estimate, simulate
from sim.scenario import Scenario, build_scenario
from sim.scenario_files import load_scenario
from sim.search import Optimum, optimize
from sim.sizing import Sizing, size

try:
    __version__ = version("globalness")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0+unknown"

__all__ = [
    "DeprecatedRegionWarning",
    "ENGINES",
    "Optimum",
    "Result",
    "Scenario",
    "ScenarioError",
    "ScenarioWarning",
    "Sizing",
    "build_scenario",
    "estimate",
    "load_scenario",
    "optimize",
    "run",
    "size",
]


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


def estimate(scenario: Scenario, engine: str = "auto") -> Estimate:
    """About how long the run takes and how much memory it needs, before running it."""
    return Estimate.of(scenario, engine)


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

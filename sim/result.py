"""A finished run (`Result`) and the calls that make one: `run` and its `estimate`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from sim import report
from sim.choices import ENGINES
from sim.engine import simulate
from sim.errors import ScenarioError
from sim.footprint import Estimate, run_estimate
from sim.scenario import Scenario

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from sim.provenance import Provenance
    from sim.replications import Replicated


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
        from sim import plots

        return plots.plot_cdf(self.requests)

    def plot_cost(self) -> Figure:
        from sim import plots

        return plots.plot_cost(self.summary)

    def plot_cost_latency(self) -> Figure:
        from sim import plots

        return plots.plot_cost_latency(self.summary)

    def plot_continents(self) -> Figure:
        from sim import plots

        return plots.plot_continents(self.by_continent)

    def plot_parts(self) -> Figure:
        from sim import plots

        return plots.plot_parts(self.requests)

    def plot_daily(self) -> Figure:
        from sim import plots

        daily = self.scenario.workload.daily
        return plots.plot_daily(self.requests, daily.start_utc_hour if daily else 0.0)

    def plot_map(self, region_set: str | None = None, by: str = "p50") -> Figure:
        """Users on a world map coloured by their p50 (``by="p50"``) or by the region that
        served them (``by="region"``), for one region set (the last one if unset)."""
        from sim import maps

        name = region_set or list(self.scenario.candidates)[-1]
        return maps.plot_map(self.requests, name, by)

    def save(
        self,
        out: str | Path,
        *,
        charts: str = "png",
        log: str = "csv",
        replicated: Replicated | None = None,
        source: str | Path | None = None,
        provenance: Provenance | None = None,
    ) -> list[str]:
        """Write the folder `globalness run --out` writes (the same code, the same defaults)
        into ``out``, as a unit: written beside it, then renamed into place; an earlier
        output there is replaced whole, and on an error nothing is left. Returns the names.

        ``charts``: "png" (the default), "svg", "both" or "none"; ``log``: "csv" for
        requests.csv.gz (the default) or "parquet" for requests.parquet (needs the parquet
        extra: pyarrow); ``replicated`` (`sim.replicate`) adds its intervals; ``source`` is
        the scenario file the report names; ``provenance`` its opening (default: now).
        """
        from sim.outputs import write_outputs

        return write_outputs(
            self, Path(out), Path(source) if source else None, replicated, provenance,
            charts=charts, log=log,
        )  # fmt: skip

    def to_html(
        self, *, replicated: Replicated | None = None, source: str | Path | None = None
    ) -> str:
        """The report as `save` writes it to report.html, its PNG charts embedded: one HTML
        page, e.g. for ``IPython.display.HTML(result.to_html())`` in a notebook."""
        from sim.outputs import report_html

        return report_html(self, Path(source) if source else None, replicated)


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

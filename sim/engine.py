"""A run: plan each region set's requests, serve them with an engine, build the request log.

Two engines serve a plan (sim.plan) and return the same `Served`:

* ``des``, the discrete-event engine (sim.fleet, SimPy): Machines and the proxy's choice among
  them, limits and the proxy's queue and timeouts, autostop and cold starts, outages, slots,
  CPU quotas and the database's connections;
* ``analytic`` (sim.analytic): every request goes to its planned target at once and waits for
  nothing. It is what the DES gives when nothing contends.

``auto`` picks per region set (sim.contention). The request log (sim.request_log) is built
once, from each set's plan and what its engine decided.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim import fleet
from sim.analytic import analytic
from sim.checks import ScenarioError
from sim.contention import app_baseline_ms_per_s, choose_engine, cpu_demand_ms_per_s, needs_des
from sim.draws import draw
from sim.plan import plan_requests
from sim.request_log import LOG_COLUMNS, fill_log, request_log, user_columns
from sim.scenario import Scenario

ENGINES = ("auto", "des", "analytic")
REQUESTS_PER_S = {  # below what one region set alone ran at (README, Performance): 45-64 k/s in
    "des": 40_000,  # the DES, 2.5-4.2 M/s analytic; several sets share draws and run faster
    "analytic": 2_000_000,
}
PLAN_BYTES_PER_REQUEST = 100  # peak memory: draws, one set's plan and its temporaries (the
# DES's per-request arrays: 100 measured; analytic 40)
LOG_BYTES_PER_REQUEST = 65  # and the request log, per request of each set (60 measured)
LARGE_SECONDS = 600  # beyond this, or LARGE_BYTES, a run needs --yes / allow_large
LARGE_BYTES = 4e9


@dataclass(frozen=True)
class Run:
    """What a run leaves: the request log, per Machine its running time and starts, and the
    engine that served each region set, with why."""

    requests: pd.DataFrame
    machines: pd.DataFrame  # region_set, region, running_s, starts, CPU figures, duration_s
    engines: pd.DataFrame  # region_set, engine, reason


@dataclass(frozen=True)
class Estimate:
    """How long a run takes and how much memory it holds, from its requests and engines."""

    requests: int
    seconds: float
    bytes: float

    @classmethod
    def of(cls, scenario: Scenario, engine: str = "auto") -> Estimate:
        n = scenario.workload.requests
        chosen = [
            engine if engine != "auto" else ("des" if needs_des(scenario, name) else "analytic")
            for name in scenario.candidates
        ]
        requests = n * len(chosen)
        seconds = sum(n / REQUESTS_PER_S[name] for name in chosen)
        return cls(requests, seconds, n * PLAN_BYTES_PER_REQUEST + requests * LOG_BYTES_PER_REQUEST)

    @classmethod
    def per_set(cls, requests: int, engine: str, sets: int = 1) -> Estimate:
        """One run of ``sets`` region sets of ``requests`` each in ``engine``."""
        return cls(
            requests * sets, requests * sets / REQUESTS_PER_S[engine],
            requests * PLAN_BYTES_PER_REQUEST + requests * sets * LOG_BYTES_PER_REQUEST,
        )  # fmt: skip

    def times(self, runs: int, workers: int = 1) -> Estimate:
        """``runs`` such runs (replications, sweep points, sizes), ``workers`` at a time:
        the time divided among them, the memory of as many at once."""
        at_once = max(1, min(workers, runs))
        return Estimate(self.requests * runs, self.seconds * runs / at_once, self.bytes * at_once)

    def __add__(self, other: Estimate) -> Estimate:
        """Two parts run one after the other: their times add, the larger memory counts."""
        return Estimate(
            self.requests + other.requests, self.seconds + other.seconds,
            max(self.bytes, other.bytes),
        )  # fmt: skip

    def __str__(self) -> str:
        return f"{duration_text(self.seconds)} and {size_text(self.bytes)} of memory"

    def check(self, source: str = "scenario", large_ok: bool = False) -> None:
        """Refuse, naming the estimate, a run beyond LARGE_SECONDS or LARGE_BYTES unless
        ``large_ok``, and one beyond the memory the machine has available in any case."""
        free = available_bytes()
        if free is not None and self.bytes > free:
            raise ScenarioError(
                f"{source}: workload.requests: {self.requests:,} requests in all would need "
                f"about {size_text(self.bytes)} of memory and this machine has "
                f"{size_text(free)} available; reduce workload.requests, the region sets, "
                "--workers or the runs"
            )
        if large_ok:
            return
        if self.seconds > LARGE_SECONDS or self.bytes > LARGE_BYTES:
            raise ScenarioError(
                f"{source}: workload.requests: {self.requests:,} requests in all would take "
                f"about {self}; runs over {duration_text(LARGE_SECONDS)} or "
                f"{size_text(LARGE_BYTES)} need --yes (in Python: allow_large=True)"
            )


def available_bytes() -> float | None:
    """The memory this machine has available now (Linux: MemAvailable), or None unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return float(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def duration_text(seconds: float) -> str:
    for unit, size in (("years", 365 * 86_400), ("days", 86_400), ("hours", 3600), ("min", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:,.0f} {unit}"
    return f"{seconds:.0f} s"


def size_text(size_bytes: float) -> str:
    for unit, size in (("PB", 1e15), ("TB", 1e12), ("GB", 1e9)):
        if size_bytes >= size:
            return f"{size_bytes / size:,.0f} {unit}"
    return f"{size_bytes / 1e9:.1f} GB"


def simulate(
    scenario: Scenario,
    replication: int = 0,
    progress: Callable[[int], object] | None = None,
    engine: str = "auto",
    allow_large: bool = True,
) -> Run:
    """Run every region set of the scenario: the request log (one row per request), Machines,
    and the engine of each set (``engine``: auto, des or analytic).

    Every region set sees the same users, arrivals and random draws (common random numbers),
    so differences between sets come from the sets, not from sampling noise. ``progress`` is
    called with the number of requests done since its last call. Unless ``allow_large``, a
    set that auto sends to the DES for its queues (which the estimate could not know) is
    refused when the DES would make it large.
    """
    draws = draw(scenario, replication)
    names, n = list(scenario.candidates), scenario.workload.requests
    columns = {name: np.zeros(n * len(names), dtype) for name, dtype in LOG_COLUMNS.items()}
    for column, values in user_columns(draws).items():  # the same rows in every set
        columns[column].reshape(len(names), n)[:] = values
    machines, engines = [], []
    for k, name in enumerate(names):
        plan = plan_requests(scenario, name, draws)
        chosen, reason = choose_engine(plan, engine, scenario)
        if chosen == "des" and engine == "auto" and not allow_large:
            # the estimate took the analytic engine where only queues call for the DES
            Estimate(n, n / REQUESTS_PER_S["des"], 0).check()  # memory is engine-blind
        served = fleet.run(plan, progress) if chosen == "des" else analytic(plan, progress)
        rows = {column: values[k * n : (k + 1) * n] for column, values in columns.items()}
        fill_log(plan, served, scenario.database_of(name).replication_lag_ms, rows)
        machine_table = pd.DataFrame(served.machines)
        machine_table.insert(0, "region_set", name)
        demand = cpu_demand_ms_per_s(plan)[machine_table["region"]]
        machine_table["region"] = np.asarray(plan.region_set)[machine_table["region"]]
        machine_table["vm"] = plan.app.vm
        machine_table["cpu_demand_ms_per_s"] = demand  # planned, in the busiest hour
        machine_table["cpu_baseline_ms_per_s"] = app_baseline_ms_per_s(plan.app)
        machine_table["duration_s"] = served.end_ms / 1000
        machines.append(machine_table)
        engines.append({"region_set": name, "engine": chosen, "reason": reason})
        del plan, served  # before the next set's: one plan in memory at a time
    log = request_log(columns, names, draws)
    machine_table = pd.concat(machines, ignore_index=True)
    machine_table["region_set"] = pd.Categorical(machine_table["region_set"], categories=names)
    return Run(log, machine_table, pd.DataFrame(engines))

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

import numpy as np
import pandas as pd

from sim.analytic import analytic
from sim.contention import app_baseline_ms_per_s, choose_engine, cpu_demand_ms_per_s
from sim.draws import draw
from sim.footprint import REQUESTS_PER_S, Estimate
from sim.plan import Plan, Served, plan_requests
from sim.request_log import LOG_COLUMNS, fill_log, request_log, user_columns
from sim.scenario import Scenario


@dataclass(frozen=True)
class Run:
    """What a run leaves: the request log, per Machine its running time and starts, and the
    engine that served each region set, with why."""

    requests: pd.DataFrame
    machines: pd.DataFrame  # region_set, region, running_s, starts, CPU figures, duration_s
    engines: pd.DataFrame  # region_set, engine, reason


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
        served = des(plan, progress) if chosen == "des" else analytic(plan, progress)
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


def des(plan: Plan, progress: Callable[[int], object] | None) -> Served:
    """The discrete-event engine (sim.fleet) over one region set's plan; SimPy loads here,
    so that a run the analytic engine serves whole, and `validate`, never import it."""
    from sim import fleet

    return fleet.run(plan, progress)

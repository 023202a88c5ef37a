"""When a region set needs the discrete-event engine (``--engine auto``): what only the DES
models (a hard limit, autostop, outages), a CPU quota that can bind, or queues that Erlang C
says matter.

The DES is chosen when the set has a hard limit, autostop or an outage; when a region's CPU
demand in the busiest hour of the run comes within QUOTA_MARGIN of its shared vCPUs' baseline
(the analytic engine has no quota); or when Erlang C says more than WAIT_SHARE of its requests
would wait for a slot, a vCPU or a database connection in the busiest hour.
"""

from __future__ import annotations

import numpy as np

from sim.cpu import baseline_ms_per_s
from sim.deployment import deployment
from sim.plan import Plan
from sim.queueing import erlang_c
from sim.scenario import Scenario

WAIT_SHARE = 0.01  # auto: the analytic engine only while Erlang C says fewer requests wait
QUOTA_MARGIN = 0.9  # auto: the DES once CPU demand reaches this share of the baseline


def needs_des(scenario: Scenario, name: str) -> list[str]:
    """What in candidate ``name`` only the DES models: a hard limit, autostop, outages."""
    deployed = deployment(scenario, name)
    app, reasons = deployed.app, []
    if app.hard_limit is not None:
        reasons.append(f"app.hard_limit {app.hard_limit}")
    if app.auto_stop != "off":
        reasons.append(f"app.auto_stop {app.auto_stop}")
    down = sorted({fault.region for fault in scenario.faults} & deployed.places)
    if down:
        reasons.append(f"faults in {', '.join(down)}")
    return reasons


def choose_engine(plan: Plan, asked: str, scenario: Scenario) -> tuple[str, str]:
    """The engine for one region set's plan, and why (see the module's docstring)."""
    needs = needs_des(scenario, plan.name)
    if asked == "des":
        return "des", "as asked"
    if asked == "analytic":
        ignored = f"; it ignores {', '.join(needs)} and every queue" if needs else ""
        return "analytic", "as asked" + (ignored or "; it ignores every queue")
    if needs:
        return "des", ", ".join(needs)
    if plan.app.shared_cpu:
        demand = cpu_demand_ms_per_s(plan) / app_baseline_ms_per_s(plan.app)
        r = int(demand.argmax())
        if demand[r] >= QUOTA_MARGIN:
            return "des", (
                f"{plan.region_set[r]} needs {demand[r]:.1f}x its {plan.app.vm} Machines' "
                "CPU baseline in the busiest hour: the quota binds"
            )
    share, where = busiest_wait(plan)
    if share > WAIT_SHARE:
        return "des", f"Erlang C says {share:.0%} of requests would wait for {where}"
    return "analytic", (
        f"no hard limit, autostop or faults, CPU within its quota, and Erlang C says "
        f"{share:.1%} of requests would wait for a slot, a vCPU or a database connection"
    )


def app_baseline_ms_per_s(app) -> float:
    """The CPU a Machine of ``app`` sustains with no burst balance [ms of CPU a second]."""
    return baseline_ms_per_s(app.vcpus, app.shared_cpu)


def cpu_demand_ms_per_s(plan: Plan) -> np.ndarray:
    """Per region of the set, the CPU its requests ask of each of its Machines in the busiest
    window of the run [ms of CPU a second]: requests x mean CPU time (app time x cpu_share)."""
    window_ms = plan.draws.windows[0]
    cpu_ms = float(plan.draws.app_ms.mean()) * plan.app.cpu_share
    machines = np.array(plan.app.machines_in(plan.region_set))
    busiest = plan.requests_per_window[:, 1:].max(axis=0)
    return busiest * cpu_ms / window_ms * 1000 / machines


def busiest_wait(plan: Plan) -> tuple[float, str]:
    """The largest share of requests that would wait, by Erlang C, for a slot or a vCPU of
    the Machines of a region or a connection of the primary database, in the busiest hour of
    the run (the whole run when shorter), and for which. A pool's rate is its busiest hour's;
    its hold time is the mean over the run (from per-route totals: `Plan.route_totals`)."""
    routes, draws, app = plan.routes, plan.draws, plan.app
    window_ms, window = draws.windows
    requests, busy_ms, service_ms, jitter = plan.route_totals
    hourly = plan.requests_per_window
    at_database = routes.at_primary & (routes.target >= 0)
    path_ms = routes.query.floor_ms * requests + routes.query.excess_ms * jitter
    cpu_ms = (busy_ms - service_ms) * app.cpu_share  # app time x its CPU share, per route
    pools = [
        pool
        for r, (code, count) in enumerate(
            zip(plan.region_set, app.machines_in(plan.region_set), strict=True)
        )  # fmt: skip
        for pool in (
            (
                f"a slot in {code}",
                routes.target == r,
                hourly[:, r + 1],
                busy_ms + path_ms,
                count * app.concurrency,
            ),
            (f"a vCPU in {code}", routes.target == r, hourly[:, r + 1], cpu_ms, count * app.vcpus),
        )  # fmt: skip
    ]
    database_hourly = np.bincount(window[at_database[plan.route]], minlength=hourly.shape[0])
    pools.append(
        ("a database connection", at_database, database_hourly, service_ms, plan.db_connections)
    )
    worst = (0.0, "")
    for where, member, per_window, hold_ms, servers in pools:
        count = requests[member].sum()
        if count:
            offered = per_window.max() / window_ms * hold_ms[member].sum() / count
            worst = max(worst, (erlang_c(servers, offered), where))
    return worst

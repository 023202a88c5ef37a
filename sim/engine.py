"""A run: plan each region set's requests, serve them with an engine, build the request log.

Two engines serve a plan (sim.plan) and return the same `Served`:

* ``des``, the discrete-event engine (sim.fleet, SimPy): Machines and the proxy's choice among
  them, limits and the proxy's queue, autostop and cold starts, outages, slots and the
  database's connections;
* ``analytic``: every request goes to its planned target at once and waits for nothing;
  vectorised, with no Python per request. It is what the DES gives when nothing contends.

``auto`` picks per region set: the DES when the set has a hard limit, autostop or an outage,
or when Erlang C says more than WAIT_SHARE of its requests would wait for a slot or a database
connection in the busiest hour; the analytic engine otherwise. The request log is built here,
once, from the plan and what the engine decided.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim import fleet
from sim.checks import ScenarioError
from sim.data import CONTINENTS, sites
from sim.deployment import deployment
from sim.draws import Draws, draw, since_last_write
from sim.plan import OK, OUTCOMES, Plan, Served, plan_requests
from sim.queueing import erlang_c
from sim.scenario import Scenario

PARTS = (
    "client_edge_ms",
    "edge_worker_ms",
    "queue_ms",
    "cold_start_ms",
    "app_ms",
    "db_ms",
    "replay_ms",
)
LOG_COLUMNS = {  # the request log's columns (but replication) and dtypes; labels as codes
    "region_set": np.int16,
    "t_s": np.float64,
    "user_lat": np.float32,
    "user_lon": np.float32,
    "country": np.int16,
    "continent": np.int8,
    "access": np.int8,
    "kind": np.int8,
    "edge": np.int16,
    "served_region": np.int16,
    "outcome": np.int8,
    **dict.fromkeys(PARTS, np.float32),
    "total_ms": np.float32,
    "stale_read": np.bool_,
}
ENGINES = ("auto", "des", "analytic")
WAIT_SHARE = 0.01  # auto: the analytic engine only while Erlang C says fewer requests wait
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
    machines: pd.DataFrame  # region_set, region, running_s, starts, duration_s
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

    def __str__(self) -> str:
        return f"{duration_text(self.seconds)} and {size_text(self.bytes)} of memory"

    def check(self, source: str = "scenario") -> None:
        """Refuse, naming the estimate, a run beyond LARGE_SECONDS or LARGE_BYTES."""
        if self.seconds > LARGE_SECONDS or self.bytes > LARGE_BYTES:
            raise ScenarioError(
                f"{source}: workload.requests: {self.requests:,} requests in all would take "
                f"about {self}; runs over {duration_text(LARGE_SECONDS)} or "
                f"{size_text(LARGE_BYTES)} need --yes (in Python: allow_large=True)"
            )


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
        machine_table["region"] = np.asarray(plan.region_set)[machine_table["region"]]
        machine_table["duration_s"] = served.end_ms / 1000
        machines.append(machine_table)
        engines.append({"region_set": name, "engine": chosen, "reason": reason})
        del plan, served  # before the next set's: one plan in memory at a time
    log = request_log(columns, names, draws)
    machine_table = pd.concat(machines, ignore_index=True)
    machine_table["region_set"] = pd.Categorical(machine_table["region_set"], categories=names)
    return Run(log, machine_table, pd.DataFrame(engines))


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
    share, where = busiest_wait(plan)
    if share > WAIT_SHARE:
        return "des", f"Erlang C says {share:.0%} of requests would wait for {where}"
    return "analytic", (
        f"no hard limit, autostop or faults, and Erlang C says {share:.1%} of requests would "
        "wait for a slot or a database connection"
    )


def busiest_wait(plan: Plan) -> tuple[float, str]:
    """The largest share of requests that would wait, by Erlang C, for a slot of the Machines
    of a region or a connection of the primary database, in the busiest hour of the run (the
    whole run when shorter), and for which. A pool's rate is its busiest hour's; its hold time
    is the mean over the run (from per-route totals: `Plan.route_totals`)."""
    routes, draws = plan.routes, plan.draws
    window_ms, window = draws.windows
    requests, busy_ms, service_ms, jitter = plan.route_totals
    regions = len(plan.region_set)
    cells = (window[-1] + 1) * (regions + 1)
    hourly = np.bincount(window * (regions + 1) + (plan.target + 1), minlength=cells)
    hourly = hourly.reshape(-1, regions + 1)
    at_database = routes.at_primary & (routes.target >= 0)
    path_ms = routes.query.floor_ms * requests + routes.query.excess_ms * jitter
    machines = plan.app.machines_in(plan.region_set)
    pools = [
        (f"a slot in {code}", routes.target == r, hourly[:, r + 1], busy_ms + path_ms, servers)
        for r, (code, count) in enumerate(zip(plan.region_set, machines, strict=True))
        for servers in [count * plan.app.concurrency]
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


def analytic(plan: Plan, progress: Callable[[int], object] | None = None) -> Served:
    """Every request at its planned target, waiting for nothing; Machines always started."""
    end_ms = last_done_ms(plan)
    machines = [
        {"region": r, "running_s": end_ms / 1000, "starts": 0}
        for r, count in enumerate(plan.app.machines_in(plan.region_set))
        for _ in range(count)
    ]
    if progress:
        progress(len(plan.route))
    return Served(plan.failed, {}, 0.0, 0.0, 0.0, machines, end_ms)


def last_done_ms(plan: Plan) -> float:
    """When the last request that does not fail at its edge is done at its Machine [ms], with
    no waits: its arrival at the edge, then its replay, half the edge-Machine round trip, app
    and database times. Only requests sent within the longest such time before the last one
    can finish last; the longest is bounded per route with the run's largest jitters."""
    routes, draws, t_s = plan.routes, plan.draws, plan.draws.t_s
    ok = plan.failed == OK
    if not ok.any():
        return 0.0
    legs = (
        (routes.client, draws.client_jitter, 0.5),
        (routes.replay, draws.replay_jitter, 1),
        (routes.worker, draws.worker_jitter, 0.5),
        (routes.query, draws.db_jitter, 1),
    )
    longest_ms = sum(
        share * (leg.floor_ms + leg.excess_ms * jitter.max()) for leg, jitter, share in legs
    ).max() + (draws.app_ms.max() + plan.db_service_ms.max())
    last = len(ok) - 1 - int(ok[::-1].argmax())
    first = np.searchsorted(t_s, t_s[last] - (longest_ms + 1) / 1000)  # 1 ms for rounding
    rows = np.arange(first, last + 1)
    rows = rows[ok[rows]]
    done_ms = (
        t_s[rows] * 1000
        + sum(share * plan.sample(leg, jitter, rows) for leg, jitter, share in legs)
        + (draws.app_ms[rows] + plan.db_service_ms[rows])
    )
    return float(done_ms.max())


def user_columns(draws: Draws) -> dict[str, np.ndarray]:
    """The request log's columns that no region set changes: who sent each request, when,
    and its kind (labels as codes)."""
    users, user = draws.users, draws.user
    return {
        "t_s": draws.t_s,
        "user_lat": users["lat"].to_numpy(np.float32)[user],
        "user_lon": users["lon"].to_numpy(np.float32)[user],
        "country": pd.Index(countries(users)).get_indexer(users["country"])[user],
        "continent": pd.Index(CONTINENTS).get_indexer(users["continent"])[user],
        "access": (users["access"].to_numpy() == "mobile")[user],
        "kind": draws.write,
    }


def fill_log(plan: Plan, served: Served, lag_ms: float, out: dict[str, np.ndarray]) -> None:
    """Write one region set's rows of the request log into ``out`` (LOG_COLUMNS; labels as
    codes), all but `user_columns`: a failed request keeps its client-edge time and zeros
    elsewhere."""
    draws, routes, route = plan.draws, plan.routes, plan.route
    plan.sample(routes.client, draws.client_jitter, out=out["client_edge_ms"])
    plan.sample(routes.worker, draws.worker_jitter, out=out["edge_worker_ms"])
    plan.sample(routes.query, draws.db_jitter, out=out["db_ms"])
    rows = draws.replayed_rows
    out["replay_ms"][rows] = plan.sample(routes.replay, draws.replay_jitter, rows)
    at_primary = routes.at_primary[route] if lag_ms > 0 else None
    spilled = np.fromiter(served.spilled, dtype=np.intp, count=len(served.spilled))
    if spilled.size:  # served by the DES away from their target: legs from where served
        region = np.fromiter(served.spilled.values(), dtype=np.intp, count=spilled.size)
        worker_ms, at_primary_there, path_ms = plan.legs(spilled, region)
        out["edge_worker_ms"][spilled], out["db_ms"][spilled] = worker_ms, path_ms
        if at_primary is not None:
            at_primary[spilled] = at_primary_there
    out["db_ms"] += plan.db_service_ms
    out["app_ms"][:] = draws.app_ms
    waits = {"queue_ms": served.queue_ms, "cold_start_ms": served.cold_start_ms}
    for name, wait_ms in waits.items():
        if isinstance(wait_ms, np.ndarray):  # else none: the log's columns start at zero
            out[name][:] = wait_ms
    parts = [name for name in PARTS if name not in waits or isinstance(waits[name], np.ndarray)]
    if isinstance(served.db_wait_ms, np.ndarray):
        out["db_ms"] += served.db_wait_ms
    ok = served.outcome == OK
    everything_ok = ok.all()
    total_ms = out["total_ms"]
    total_ms[:] = out["client_edge_ms"]
    for name in parts[1:]:
        if not everything_ok:
            out[name] *= ok
        total_ms += out[name]
    sites_index = pd.Index(sites().index)
    edge_at = sites_index.get_indexer(plan.edges).astype(np.int16)[routes.edge]
    served_at = sites_index.get_indexer(plan.region_set).astype(np.int16)
    out["region_set"][:] = plan.index
    out["edge"][:] = edge_at[route]
    out["served_region"][:] = served_at[np.maximum(routes.target, 0)][route]
    if spilled.size:
        out["served_region"][spilled] = served_at[region]
    if not everything_ok:
        out["served_region"][~ok] = -1
        out["outcome"][:] = served.outcome
    if lag_ms > 0:
        out["stale_read"][:] = stale_reads(
            draws.t_s, draws.user, draws.write, ok, at_primary, total_ms, lag_ms
        )


def countries(users: pd.DataFrame) -> list[str]:
    return sorted(set(users["country"]))


def request_log(columns: dict[str, np.ndarray], names: list[str], draws: Draws) -> pd.DataFrame:
    """The request log from every set's columns: codes become categoricals."""
    categories = {
        "region_set": names,
        "country": countries(draws.users),
        "continent": CONTINENTS,
        "access": ["broadband", "mobile"],
        "kind": ["read", "write"],
        "edge": sites().index,
        "served_region": sites().index,
        "outcome": OUTCOMES,
    }
    for column, labels in categories.items():
        columns[column] = pd.Categorical.from_codes(
            columns[column], categories=labels, validate=False
        )
    replication = np.full(len(columns["t_s"]), draws.replication, dtype=np.int16)
    columns = {"region_set": columns.pop("region_set"), "replication": replication, **columns}
    return pd.DataFrame(columns, copy=False)


def stale_reads(t_s, user, write, ok, at_primary_db, total_ms, lag_ms: float) -> np.ndarray:
    """Reads served by a replica less than the replication lag after the same user's write
    committed at the primary (the write's commit: its arrival plus its response time)."""
    if lag_ms <= 0:
        return np.zeros(len(t_s), dtype=bool)
    since = since_last_write(t_s, user, write & ok, t_s + total_ms.astype(np.float64) / 1000)
    return ok & ~write & ~at_primary_db & (since < lag_ms / 1000)

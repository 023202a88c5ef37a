"""The discrete-event run: requests through edges, the proxy, Machines and the database.

Everything stateless is drawn in bulk with numpy before the run (users, arrivals, anycast
edges, RTT draws, app and query times); SimPy (sim.fleet) times what needs time and
contention: the proxy's choice of Machine, autostop and autostart, concurrency slots,
primary database connections and outages. The result is the request log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.checks import ScenarioError
from sim.data import CONTINENTS, regions, sites
from sim.fleet import OUTCOMES, Outages, Paths, Plan, run
from sim.geo import haversine_km, place_users
from sim.network import floor_rtt_ms, internet_rtt_ms, sample_rtt_ms
from sim.routing import (
    anycast_ranking,
    edge_sites,
    region_order,
    site_distance_km,
    site_rtt_matrix,
)
from sim.scenario import Scenario
from sim.workload import arrivals, utc_offset_hours

PARTS = (
    "client_edge_ms",
    "edge_worker_ms",
    "queue_ms",
    "cold_start_ms",
    "app_ms",
    "db_ms",
    "replay_ms",
)
STREAMS = ("users", "arrivals", "network", "service", "database", "anycast")
DES_REQUESTS_PER_S = 14_000  # seed scenario, 0.2M-0.8M requests, 2-core VM (architecture.md)
PEAK_BYTES_PER_REQUEST = 600  # peak RSS growth per request in the same runs: 440-620 B
LARGE_SECONDS = 600  # beyond this, or LARGE_BYTES, a run needs --yes / allow_large
LARGE_BYTES = 4e9
ONE_SERVER = {  # an alternative host: one server, always on, no proxy limits
    "machines_per_region": 1,
    "scale_count": None,
    "auto_stop": "off",
    "min_machines_running": 0,
    "hard_limit": None,
}


@dataclass(frozen=True)
class Run:
    """What a run leaves: the request log and, per Machine, its running time and starts."""

    requests: pd.DataFrame
    machines: pd.DataFrame  # region_set, region, running_s, starts, duration_s


@dataclass(frozen=True)
class Estimate:
    """How long a run takes and how much memory it holds, from its number of requests."""

    requests: int
    seconds: float
    bytes: float

    @classmethod
    def of(cls, scenario: Scenario) -> Estimate:
        requests = scenario.workload.requests * len(scenario.candidates)
        return cls(requests, requests / DES_REQUESTS_PER_S, requests * PEAK_BYTES_PER_REQUEST)

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
    scenario: Scenario, replication: int = 0, progress: Callable[[int], object] | None = None
) -> Run:
    """Run every region set of the scenario: the request log (one row per request) and Machines.

    Every region set sees the same users, arrivals and random draws (common random numbers),
    so differences between sets come from the sets, not from sampling noise. ``progress`` is
    called with the number of requests dispatched since its last call.
    """
    root = np.random.SeedSequence(scenario.seed).spawn(replication + 1)[replication]
    streams = dict(zip(STREAMS, root.spawn(len(STREAMS)), strict=True))
    users = place_users(
        scenario.users.placement,
        scenario.users.count,
        scenario.users.mobile_share,
        np.random.default_rng(streams["users"]),
    )
    names = list(scenario.candidates)
    runs = [
        simulate_region_set(scenario, name, codes, users, streams, progress)
        for name, codes in scenario.candidates.items()
    ]
    log = pd.concat([r.requests for r in runs], ignore_index=True)
    log["region_set"] = pd.Categorical(log["region_set"], categories=names)
    log.insert(1, "replication", np.int16(replication))
    machines = pd.concat([r.machines for r in runs], ignore_index=True)
    machines["region_set"] = pd.Categorical(machines["region_set"], categories=names)
    return Run(log, machines)


def simulate_region_set(
    scenario: Scenario,
    name: str,
    region_set: tuple[str, ...],
    users: pd.DataFrame,
    streams: dict[str, np.random.SeedSequence],
    progress: Callable[[int], object] | None = None,
) -> Run:
    """Request log and Machine table of one region set, or of an alternative host: one
    always-on server at one site, reached straight over the internet (no anycast edge, so
    handshakes cross the whole distance), with its database beside it unless the scenario's
    database is a managed one elsewhere."""
    rng = {key: np.random.default_rng(seed) for key, seed in streams.items()}
    net, app, db = scenario.network, scenario.app, scenario.database
    db_region = scenario.database_region
    replicas = scenario.replicas_in(region_set) - {db_region}
    if name in scenario.alternatives:
        table, edges, replicas = sites(), list(region_set), frozenset()
        db_region = db_region if ":" in db_region else name
        app = app.model_copy(update=ONE_SERVER | {"primary_region": name})
    else:
        table, edges = regions(), edge_sites(regions(), region_set, net.edges)
    n = scenario.workload.requests

    offsets = np.array([utc_offset_hours(tz) for tz in users["timezone"]])
    t_s, user = arrivals(
        n, scenario.workload.rate_rps, offsets, scenario.workload.daily, rng["arrivals"]
    )
    write = rng["arrivals"].random(n) < scenario.workload.write_share
    new_connection = rng["arrivals"].random(n) < net.new_connection_share
    outages = Outages.from_faults(scenario.faults)

    # Anycast: each user's edges, best first; a user whose edge is down lands on the next one.
    missed = rng["anycast"].random(len(users)) < net.anycast_miss_share
    ranked, route_km = anycast_ranking(users, table, edges, net, missed)
    edge = first_edge_up(ranked[user], edges, outages, 1000 * t_s)
    mobile = (users["access"].to_numpy() == "mobile")[user]
    user_edge_km = haversine_km(
        users["lat"].to_numpy()[user],
        users["lon"].to_numpy()[user],
        table.loc[edges, "lat"].to_numpy()[edge],
        table.loc[edges, "lon"].to_numpy()[edge],
    )

    edge_region = site_rtt_matrix(table, edges, list(region_set), net)
    order = region_order(edge_region)
    closest = np.array([regions_by_rtt[0] for regions_by_rtt in order])
    client_edge_median_ms = internet_rtt_ms(route_km[user, edge], mobile, net)
    scale = measured_scale(
        net.measured_rtt_ms,
        users["country"].to_numpy()[user],
        np.asarray(region_set)[closest[edge]],
        client_edge_median_ms + edge_region[edge, closest[edge]],
    )  # applies to the path to the closest region; a request spilled elsewhere is not scaled
    client_edge_floor_ms = floor_rtt_ms(user_edge_km)
    one_rtt_ms = sample_rtt_ms(
        np.maximum(client_edge_median_ms * scale, client_edge_floor_ms),
        client_edge_floor_ms,
        np.where(mobile, net.mobile_jitter_sigma, net.broadband_jitter_sigma),
        rng["network"],
    )
    client_edge_ms = one_rtt_ms * (1 + net.handshake_rtts * new_connection)

    places = sites()  # Fly regions and managed database regions
    region_db_km = site_distance_km(places, list(region_set), [db_region])[:, 0]
    paths = Paths(
        edge_region_ms=edge_region,
        edge_region_floor_ms=floor_rtt_ms(site_distance_km(table, edges, list(region_set))),
        region_db_ms=site_rtt_matrix(places, list(region_set), [db_region], net)[:, 0],
        region_db_floor_ms=floor_rtt_ms(region_db_km),
        region_order=order,
        has_replica=np.array([code in replicas for code in region_set]),
        sigma=net.backbone_jitter_sigma,
        same_region_ms=net.same_region_rtt_ms,
    )
    queries = np.where(write, db.queries_per_write, db.queries_per_read)
    plan = Plan(
        edge_arrival_ms=(t_s * 1000 + client_edge_ms / 2).tolist(),
        edge=edge.tolist(),
        measured_scale=scale.tolist(),
        measured_region=closest[edge].tolist(),
        write=write.tolist(),
        needs_primary=(write | reads_after_write(t_s, user, write, db.read_your_writes_s)).tolist(),
        app_ms=service_times_ms(app.service_ms, app.service_cv, n, rng["service"]).tolist(),
        db_service_ms=rng["database"].gamma(queries, db.query_ms).tolist(),
        queries=queries.tolist(),
        z_edge_worker=rng["network"].standard_normal(n).tolist(),
        z_replay=rng["network"].standard_normal(n).tolist(),
        z_db=rng["network"].standard_normal(n).tolist(),
    )
    out, machines, end_ms = run(
        plan, paths, app, db.connections, db_region, outages, region_set, progress
    )

    ok = out["outcome"] == 0
    served = out["served"].astype(int)
    codes = pd.Index(sites().index)  # the same categories for every set, so logs concatenate
    log = pd.DataFrame(
        {
            "region_set": name,
            "t_s": t_s,
            "user_lat": users["lat"].to_numpy(np.float32)[user],
            "user_lon": users["lon"].to_numpy(np.float32)[user],
            "country": pd.Categorical(
                users["country"].to_numpy()[user], categories=sorted(set(users["country"]))
            ),
            "continent": pd.Categorical(users["continent"].to_numpy()[user], categories=CONTINENTS),
            "access": pd.Categorical(
                np.where(mobile, "mobile", "broadband"), categories=["broadband", "mobile"]
            ),
            "kind": pd.Categorical(np.where(write, "write", "read"), categories=["read", "write"]),
            "edge": pd.Categorical(np.asarray(edges)[edge], categories=codes),
            "served_region": pd.Categorical(
                np.where(served >= 0, np.asarray(region_set)[np.maximum(served, 0)], None),
                categories=codes,
            ),
            "outcome": pd.Categorical.from_codes(out["outcome"].astype(int), categories=OUTCOMES),
            "client_edge_ms": client_edge_ms,
            "edge_worker_ms": out["edge_worker_ms"],
            "queue_ms": out["queue_ms"],
            "cold_start_ms": out["cold_start_ms"],
            "app_ms": out["app_ms"],
            "db_ms": out["db_ms"],
            "replay_ms": out["replay_ms"],
        }
    )
    parts = log[list(PARTS)].astype(np.float32)
    log[list(PARTS)] = parts
    log["total_ms"] = parts.sum(axis=1).astype(np.float32)
    log["stale_read"] = stale_reads(
        t_s,
        user,
        write,
        ok,
        out["at_primary_db"] > 0,
        log["total_ms"].to_numpy(np.float64),
        db.replication_lag_ms,
    )
    machine_table = pd.DataFrame(machines)
    machine_table.insert(0, "region_set", name)
    machine_table["region"] = np.asarray(region_set)[machine_table["region"]]
    machine_table["duration_s"] = end_ms / 1000
    return Run(log, machine_table)


def first_edge_up(ranked: np.ndarray, edges: list[str], outages: Outages, t_ms) -> np.ndarray:
    """Per request, the first edge of its ranking that is up when it arrives (the first when
    none is: the request then finds no region either)."""
    down = np.zeros(ranked.shape, dtype=bool)
    for code in outages.windows:
        if code in edges:
            down |= (ranked == edges.index(code)) & outages.down(code, t_ms)[:, None]
    return ranked[np.arange(len(ranked)), (~down).argmax(axis=1)]


def reads_after_write(t_s: np.ndarray, user: np.ndarray, write: np.ndarray, window_s: float):
    """Reads that come within ``window_s`` after a write by the same user (read-your-writes)."""
    if window_s <= 0:
        return np.zeros(len(t_s), dtype=bool)
    since = since_last_write(t_s, user, write, t_s)
    return ~write & (since < window_s)


def since_last_write(t_s, user, write, committed_s) -> np.ndarray:
    """Seconds from each request back to the commit of the same user's latest earlier write
    (inf when there is none)."""
    requests = pd.DataFrame({"t": t_s, "user": user, "i": np.arange(len(t_s))}).sort_values("t")
    writes = pd.DataFrame({"committed": committed_s[write], "user": user[write]})
    writes = writes.sort_values("committed")
    matched = pd.merge_asof(
        requests, writes, left_on="t", right_on="committed", by="user", direction="backward"
    ).sort_values("i")
    return (matched["t"] - matched["committed"]).fillna(np.inf).to_numpy()


def stale_reads(t_s, user, write, ok, at_primary_db, total_ms, lag_ms: float) -> np.ndarray:
    """Reads served by a replica less than the replication lag after the same user's write
    committed at the primary (the write's commit: its arrival plus its response time)."""
    if lag_ms <= 0:
        return np.zeros(len(t_s), dtype=bool)
    since = since_last_write(t_s, user, write & ok, t_s + total_ms / 1000)
    return ok & ~write & ~at_primary_db & (since < lag_ms / 1000)


def measured_scale(
    measured_ms: pd.Series | None, country: np.ndarray, region: np.ndarray, modelled_ms: np.ndarray
) -> np.ndarray:
    """Factor that brings the modelled user-to-region median to the team's measured one, where
    the measured matrix has the (country, region) pair; 1 elsewhere."""
    if measured_ms is None:
        return np.ones(len(country))
    wanted = measured_ms.reindex(pd.MultiIndex.from_arrays([country, region])).to_numpy()
    return np.where(np.isnan(wanted), 1.0, wanted / modelled_ms)


def service_times_ms(mean_ms: float, cv: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """App times [ms]: gamma with this mean and coefficient of variation (1 = exponential)."""
    if cv == 0:
        return np.full(n, mean_ms)
    shape = 1.0 / cv**2
    return rng.gamma(shape, mean_ms / shape, n)

"""The discrete-event run: requests through edges, Machines and the database -> request log.

Everything stateless is sampled in bulk with numpy before the run (users, arrivals, routes,
RTTs, app and query times); SimPy only times what contends: concurrency slots on the
Machines of each region, and connections of the primary database.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import simpy

from sim.data import CONTINENTS, regions
from sim.geo import haversine_km, place_users
from sim.network import floor_rtt_ms, internet_rtt_ms, sample_rtt_ms
from sim.routing import anycast_edge, edge_sites, serving_region, site_distance_km, site_rtt_matrix
from sim.scenario import Network, Scenario

PARTS = (
    "client_edge_ms",
    "edge_worker_ms",
    "queue_ms",
    "cold_start_ms",
    "app_ms",
    "db_ms",
    "replay_ms",
)
OUTCOMES = ("ok", "failed_region_down", "failed_queue_timeout")
STREAMS = ("users", "arrivals", "network", "service", "database", "anycast")


def simulate(scenario: Scenario, replication: int = 0) -> pd.DataFrame:
    """Run every region set of the scenario; return the request log (one row per request).

    Every region set sees the same users, arrivals and random draws (common random numbers),
    so differences between sets come from the sets, not from sampling noise.
    """
    root = np.random.SeedSequence(scenario.seed).spawn(replication + 1)[replication]
    streams = dict(zip(STREAMS, root.spawn(len(STREAMS)), strict=True))
    users = place_users(
        scenario.users.placement,
        scenario.users.count,
        scenario.users.mobile_share,
        np.random.default_rng(streams["users"]),
    )
    names = list(scenario.named_region_sets)
    logs = [
        simulate_region_set(scenario, name, codes, users, streams)
        for name, codes in scenario.named_region_sets.items()
    ]
    log = pd.concat(logs, ignore_index=True)
    log["region_set"] = pd.Categorical(log["region_set"], categories=names)
    log.insert(1, "replication", np.int16(replication))
    return log


@dataclass(frozen=True)
class Draws:
    """Per-request values sampled before the DES, all in ms except the arrival time."""

    arrival_ms: np.ndarray  # when the request reaches its Machine
    served: np.ndarray  # index of the serving region in the region set
    app_ms: np.ndarray
    db_service_ms: np.ndarray
    db_rtt_ms: np.ndarray
    at_primary_db: np.ndarray  # bool: queries go to the primary (contended) database


def simulate_region_set(
    scenario: Scenario,
    name: str,
    region_set: tuple[str, ...],
    users: pd.DataFrame,
    streams: dict[str, np.random.SeedSequence],
) -> pd.DataFrame:
    """Request log of one region set."""
    rng = {key: np.random.default_rng(seed) for key, seed in streams.items()}
    table, net, app, db = regions(), scenario.network, scenario.app, scenario.database
    n = scenario.workload.requests

    t_s = np.cumsum(rng["arrivals"].exponential(1.0 / scenario.workload.rate_rps, n))
    user = rng["arrivals"].integers(0, len(users), n)
    write = rng["arrivals"].random(n) < scenario.workload.write_share
    new_connection = rng["arrivals"].random(n) < net.new_connection_share

    # Anycast: each user lands on an edge; the proxy forwards to the closest region.
    edges = edge_sites(table, region_set, net.edges)
    missed = rng["anycast"].random(len(users)) < net.anycast_miss_share
    user_edge, user_edge_route_km = anycast_edge(users, table, edges, net, missed)
    user_edge_km = haversine_km(
        users["lat"].to_numpy(),
        users["lon"].to_numpy(),
        table.loc[edges, "lat"].to_numpy()[user_edge],
        table.loc[edges, "lon"].to_numpy()[user_edge],
    )
    edge = user_edge[user]
    mobile = (users["access"].to_numpy() == "mobile")[user]

    closest = serving_region(table, edges, region_set, net)
    first = np.array([region_set.index(closest[code]) for code in edges])[edge]
    primary = region_set.index(app.primary_region)
    replayed = write & (app.writes == "replay") & (first != primary)
    served = np.where(replayed, primary, first)

    edge_region = SiteRtt(table, edges, list(region_set), net)
    client_edge_median_ms = internet_rtt_ms(user_edge_route_km[user], mobile, net)
    scale = measured_scale(
        net.measured_rtt_ms,
        users["country"].to_numpy()[user],
        np.asarray(region_set)[served],
        client_edge_median_ms + edge_region.median_ms[edge, served],
    )
    client_edge_floor_ms = floor_rtt_ms(user_edge_km[user])
    one_rtt_ms = sample_rtt_ms(
        np.maximum(client_edge_median_ms * scale, client_edge_floor_ms),
        client_edge_floor_ms,
        np.where(mobile, net.mobile_jitter_sigma, net.broadband_jitter_sigma),
        rng["network"],
    )
    client_edge_ms = one_rtt_ms * (1 + net.handshake_rtts * new_connection)
    edge_worker_ms = edge_region.sample(edge, served, rng["network"], scale)
    replay_ms = np.where(
        replayed, edge_region.sample(edge, first, rng["network"]) + app.replay_decision_ms, 0.0
    )

    # Database: writes and reads where no replica is go to the primary; others read locally.
    replicas = scenario.replicas_in(region_set) - {scenario.database_region}
    has_replica = np.array([code in replicas for code in region_set])
    at_primary_db = write | ~has_replica[served]
    region_db = SiteRtt(table, list(region_set), [scenario.database_region], net)
    to_primary_ms = region_db.sample(served, np.zeros(n, dtype=int), rng["network"])
    queries = np.where(write, db.queries_per_write, db.queries_per_read)
    db_rtt_ms = queries * np.where(at_primary_db, to_primary_ms, net.same_region_rtt_ms)
    db_service_ms = rng["database"].gamma(queries, db.query_ms)  # q exponential queries

    draws = Draws(
        arrival_ms=t_s * 1000.0 + (client_edge_ms + replay_ms + edge_worker_ms) / 2.0,
        served=served,
        app_ms=service_times_ms(app.service_ms, app.service_cv, n, rng["service"]),
        db_service_ms=db_service_ms,
        db_rtt_ms=db_rtt_ms,
        at_primary_db=at_primary_db,
    )
    queue_ms, db_wait_ms = run_des(
        draws, len(region_set), app.machines_per_region * app.concurrency, db.connections
    )

    codes = pd.Index(table.index)
    edge_codes = np.asarray(edges)[edge]
    served_codes = np.asarray(region_set)[served]
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
            "edge": pd.Categorical(edge_codes, categories=codes),
            "served_region": pd.Categorical(served_codes, categories=codes),
            "outcome": pd.Categorical(np.full(n, "ok"), categories=OUTCOMES),
            "client_edge_ms": client_edge_ms,
            "edge_worker_ms": edge_worker_ms,
            "queue_ms": queue_ms,
            "cold_start_ms": 0.0,
            "app_ms": draws.app_ms,
            "db_ms": db_wait_ms + db_service_ms + db_rtt_ms,
            "replay_ms": replay_ms,
        }
    )
    parts = log[list(PARTS)].astype(np.float32)
    log[list(PARTS)] = parts
    log["total_ms"] = parts.sum(axis=1).astype(np.float32)
    return log


class SiteRtt:
    """Median backbone RTTs between two lists of sites, sampled per request with jitter."""

    def __init__(self, regions: pd.DataFrame, a: list[str], b: list[str], network: Network):
        self.median_ms = site_rtt_matrix(regions, a, b, network)
        self.floor_ms = floor_rtt_ms(site_distance_km(regions, a, b))
        self.sigma = network.backbone_jitter_sigma

    def sample(self, i: np.ndarray, j: np.ndarray, rng: np.random.Generator, scale=1.0):
        """RTT [ms] from site ``i`` of the first list to site ``j`` of the second, per request;
        ``scale`` multiplies the median (never below the floor)."""
        floor_ms = self.floor_ms[i, j]
        median_ms = np.maximum(self.median_ms[i, j] * scale, floor_ms)
        return sample_rtt_ms(median_ms, floor_ms, self.sigma, rng)


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


def run_des(draws: Draws, region_count: int, slots_per_region: int, db_connections: int):
    """Queue each request for a slot in its region, then for a database connection.

    Returns (queue_ms, db_wait_ms) per request. SimPy time is in ms; ties at the same time
    keep arrival order (SimPy's event counter).
    """
    n = len(draws.arrival_ms)
    queue_ms = np.zeros(n)
    db_wait_ms = np.zeros(n)
    env = simpy.Environment()
    slots = [simpy.Resource(env, capacity=slots_per_region) for _ in range(region_count)]
    database = simpy.Resource(env, capacity=db_connections)
    app_ms, db_service_ms, db_rtt_ms = draws.app_ms, draws.db_service_ms, draws.db_rtt_ms
    at_primary_db = draws.at_primary_db

    def request(i: int, slot: simpy.Resource):
        arrived = env.now
        with slot.request() as turn:
            yield turn
            queue_ms[i] = env.now - arrived
            if at_primary_db[i]:
                yield env.timeout(app_ms[i])
                asked = env.now
                with database.request() as connection:
                    yield connection
                    db_wait_ms[i] = env.now - asked
                    yield env.timeout(db_service_ms[i])
                yield env.timeout(db_rtt_ms[i])
            else:
                yield env.timeout(app_ms[i] + db_service_ms[i] + db_rtt_ms[i])

    def arrivals():
        order = np.argsort(draws.arrival_ms, kind="stable")
        times = draws.arrival_ms[order]
        served = draws.served[order]
        now = 0.0
        for i, at, region in zip(order.tolist(), times.tolist(), served.tolist(), strict=True):
            yield env.timeout(at - now)
            now = at
            env.process(request(i, slots[region]))

    env.process(arrivals())
    env.run()
    return queue_ms, db_wait_ms

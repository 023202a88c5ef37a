"""Every random draw of a run, made once in bulk with numpy and shared by its region sets.

Who sends each request and when, its kind, whether it opens a connection, its app and
database service times and every network jitter (`draw`), and the *groups* of requests that
differ only in their times and jitters (`Groups`): a region set computes its paths once per
group (sim.plan). Streams are spawned per replication, then per random source (STREAMS).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from sim.data import sites
from sim.deployment import deployment
from sim.geo import place_users
from sim.network import rtt_jitter
from sim.network_config import Network
from sim.routing import catchment_traffic, site_distance_km, site_rtt_matrix, user_route_km
from sim.scenario import Scenario
from sim.workload import arrivals, utc_offset_hours

STREAMS = ("users", "arrivals", "network", "service", "database", "anycast")


@dataclass(frozen=True)
class Draws:
    """Every random draw of a run, and what follows from its users and the places its
    candidates use (routes, backbone RTTs), made once and shared by all its region sets (common
    random numbers: differences between sets come from the sets, not from sampling noise).

    A jitter is ``exp(sigma x Z)``, the factor on an RTT's excess over its physics floor
    (network.rtt_jitter). Times and jitters are float32, arrival times float64. Requests of
    one *group* (same user, kind, need of the primary and new connection) differ only in their
    times and jitters; a region set computes its paths once per group (`plan_requests`).
    """

    replication: int
    users: pd.DataFrame  # those who send a request (`user` indexes them)
    places: list[str]  # every site the candidates use: edges, regions, database sites
    lat: np.ndarray  # of each place
    lon: np.ndarray
    continent: np.ndarray
    route_km: np.ndarray  # (users, places): from each user to each place
    site_rtt_ms: np.ndarray  # (places, places): median backbone RTT
    site_internet_ms: np.ndarray  # (places, places): median RTT over the public internet
    site_km: np.ndarray  # (places, places): great-circle distance
    missed: np.ndarray  # per user: anycast lands on a farther edge
    t_s: np.ndarray  # when the user sends it [s], ascending
    user: np.ndarray
    write: np.ndarray
    group: np.ndarray  # index into groups
    groups: Groups
    client_jitter: np.ndarray  # user to edge (the user's access network's sigma)
    worker_jitter: np.ndarray  # edge to Machine (backbone sigma)
    replay_jitter: np.ndarray  # edge to the first region, for fly-replay
    db_jitter: np.ndarray  # Machine to the primary database
    app_ms: np.ndarray
    db_service_ms: np.ndarray  # its queries' service time, all together

    def at(self, codes) -> list[int]:
        """Positions of the places ``codes`` in `places`."""
        index = {code: i for i, code in enumerate(self.places)}
        return [index[code] for code in codes]

    @cached_property
    def windows(self) -> tuple[float, np.ndarray]:
        """The windows of `sim.contention.busiest_wait`: an hour, or the whole run when shorter
        [ms], and each request's window (from 0)."""
        t_s = self.t_s
        window_s = min(3600.0, max(float(t_s[-1] - t_s[0]), 0.001))
        return window_s * 1000, ((t_s - t_s[0]) // window_s).astype(np.intp)

    @cached_property
    def group_totals(self) -> tuple[np.ndarray, ...]:
        return totals(self.group, len(self.groups.user), self)

    @cached_property
    def replayed_rows(self) -> np.ndarray:
        """The requests that need the primary's Machine (fly-replay from the edge)."""
        return np.flatnonzero(self.groups.replayed[self.group])


def totals(key: np.ndarray, size: int, draws: Draws) -> tuple[np.ndarray, ...]:
    """Per value of ``key`` (a route, or a group; in [0, size)): its requests, and the sums of
    their app plus database service times [ms], database service times [ms] and database
    jitters."""
    return (
        np.bincount(key, minlength=size),
        np.bincount(key, draws.app_ms + draws.db_service_ms, size),
        np.bincount(key, draws.db_service_ms, size),
        np.bincount(key, draws.db_jitter, size),
    )


def draw(scenario: Scenario, replication: int = 0) -> Draws:
    """The draws of one replication: the scenario's SeedSequence spawned per replication, then
    per random source (STREAMS), so that each source is independent of the others."""
    root = np.random.SeedSequence(scenario.seed).spawn(replication + 1)[replication]
    seeds = dict(zip(STREAMS, root.spawn(len(STREAMS)), strict=True))
    rng = {key: np.random.default_rng(seed) for key, seed in seeds.items()}
    net, db, workload = scenario.network, scenario.database, scenario.workload
    placement = scenario.users.placement
    if isinstance(placement, pd.Series):  # traffic by edge region: spread over its catchment
        placement = catchment_traffic(placement, net)
    users = place_users(placement, scenario.users.count, scenario.users.mobile_share, rng["users"])
    n = workload.requests
    with ThreadPoolExecutor(1) as pool:  # numpy draws without the GIL: the network's beside
        network = pool.submit(network_draws, net.backbone_jitter_sigma, rng["network"], n)
        zones, zone = np.unique(users["timezone"].to_numpy(dtype=str), return_inverse=True)
        offsets = np.array([utc_offset_hours(name) for name in zones])[zone]
        t_s, user = arrivals(n, workload.rate_rps, offsets, workload.daily, rng["arrivals"])
        write = rng["arrivals"].random(n, dtype=np.float32) < workload.write_share
        new_connection = rng["arrivals"].random(n, dtype=np.float32) < net.new_connection_share
        db_service_ms = database_service_ms(write, db, rng["database"])
        app_ms = service_times_ms(
            scenario.app.service_ms, scenario.app.service_cv, n, rng["service"]
        )
        client_z, worker_jitter, replay_jitter, db_jitter = network.result()
    missed = rng["anycast"].random(len(users)) < net.anycast_miss_share
    sending, user = distinct(user, len(users))  # only users who send a request are routed
    users, missed = users.iloc[sending].reset_index(drop=True), missed[sending]
    mobile = users["access"].to_numpy() == "mobile"
    sigma = np.where(mobile, net.mobile_jitter_sigma, net.broadband_jitter_sigma)
    client_jitter = np.exp(sigma.astype(np.float32)[user] * client_z)  # as network.rtt_jitter
    needs_primary = write | reads_after_write(t_s, user, write, db.read_your_writes_s)
    group, groups = Groups.of(user, write, needs_primary, new_connection, len(users), scenario)
    return Draws(
        replication=replication,
        users=users,
        **place_tables(users, candidate_places(scenario), net),
        missed=missed,
        t_s=t_s,
        user=user,
        write=write,
        group=group,
        groups=groups,
        client_jitter=client_jitter,
        worker_jitter=worker_jitter,
        replay_jitter=replay_jitter,
        db_jitter=db_jitter,
        app_ms=app_ms,
        db_service_ms=db_service_ms,
    )


def candidate_places(scenario: Scenario) -> list[str]:
    """Every site a candidate of the scenario uses (edges, regions, database sites), sorted."""
    places = set()
    for name in scenario.candidates:
        places |= deployment(scenario, name).places
    return sorted(places)


def place_tables(users: pd.DataFrame, places: list[str], net: Network) -> dict:
    """The `Draws` fields of ``places``: where each is, the routes from ``users`` to them, and
    the backbone and internet RTTs and distances between them."""
    table = sites().loc[places]
    return {
        "places": places,
        "lat": table["lat"].to_numpy(),
        "lon": table["lon"].to_numpy(),
        "continent": table["continent"].to_numpy(),
        "route_km": user_route_km(users, sites(), places, net),
        "site_rtt_ms": site_rtt_matrix(sites(), places, places, net),
        "site_internet_ms": site_rtt_matrix(sites(), places, places, net, internet=True),
        "site_km": site_distance_km(sites(), places, places),
    }


def network_draws(backbone_sigma: float, rng: np.random.Generator, n: int):
    """The network stream's draws, in its order: the client-edge legs' standard normals (their
    sigma is the user's access network's), then the backbone jitters of the edge-Machine,
    replay and database legs (network.rtt_jitter)."""
    client_z = rng.standard_normal(n, dtype=np.float32)
    return client_z, *(rtt_jitter(backbone_sigma, rng, n) for _ in range(3))


def database_service_ms(write: np.ndarray, db, rng: np.random.Generator) -> np.ndarray:
    """Each request's queries' service time [ms], all together: a gamma per kind, the sum of
    its queries' exponential service times."""
    service_ms = np.zeros(len(write), dtype=np.float32)
    for kind, shape in ((~write, db.queries_per_read), (write, db.queries_per_write)):
        if shape:
            service_ms[kind] = db.query_ms * standard_gamma(shape, int(kind.sum()), rng)
    return service_ms


@dataclass(frozen=True)
class Groups:
    """The groups of a run's requests (`Draws`): arrays per group."""

    user: np.ndarray
    write: np.ndarray
    needs_primary: np.ndarray  # writes, and reads under read-your-writes
    replayed: np.ndarray  # needs the primary's Machine: fly-replay from the edge
    new_connection: np.ndarray
    queries: np.ndarray  # database round trips (float32)

    @classmethod
    def of(cls, user, write, needs_primary, new_connection, users: int, scenario: Scenario):
        """Each request's group, and the groups that occur (``users``: how many there are)."""
        db = scenario.database
        flags = (write.view(np.uint8) << 2) | (needs_primary.view(np.uint8) << 1)
        code = user.astype(np.intp) * 8
        code += flags | new_connection.view(np.uint8)
        codes, group = distinct(code, 8 * users)
        write, needs_primary = (codes & 4) > 0, (codes & 2) > 0
        replay = scenario.app.writes == "replay"
        return group, cls(
            user=codes // 8,
            write=write,
            needs_primary=needs_primary,
            replayed=needs_primary & (replay | ~write),
            new_connection=(codes & 1) > 0,
            queries=np.where(write, db.queries_per_write, db.queries_per_read).astype(np.float32),
        )


def distinct(code: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of ``code`` (integers in [0, size)), ascending, and the index of
    each element's value among them: np.unique's, in linear time."""
    used = np.zeros(size, dtype=bool)
    used[code] = True
    position = np.cumsum(used) - 1
    return np.flatnonzero(used), position[code]


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


def service_times_ms(mean_ms: float, cv: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """App times [ms]: gamma with this mean and coefficient of variation (1 = exponential)."""
    if cv == 0:
        return np.full(n, mean_ms, dtype=np.float32)
    shape = 1.0 / cv**2
    return (mean_ms / shape) * standard_gamma(shape, n, rng)


def standard_gamma(shape: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` float32 draws of Gamma(shape, 1). numpy draws shape 1 with its exponential
    sampler, one value per call; asking that sampler for all at once gives the same values in
    half the time."""
    if shape == 1:
        return rng.standard_exponential(n, dtype=np.float32)
    return rng.standard_gamma(shape, n, dtype=np.float32)

"""A run's requests, drawn and planned in bulk before any simulation (numpy only).

Everything about a request that does not depend on other requests is decided here, with
vectorised numpy. Once per run (`draw`): who sends it and when, and every random draw. Per
region set (`plan_requests`): its anycast edge, its client-edge time, whether it fails at the
edge (its regions or the primary down), and where it goes when nothing is contended (the
closest region that is up, or the primary for a replayed write) with the backbone and database
round trips to it. Both engines start from a `Plan` and return `Served`: the analytic one
(sim.engine) sends every request to its target at once; the discrete-event one (sim.fleet)
lets Machines, limits, autostop and the database's connections decide, and adds the waits.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from sim.app_config import App
from sim.data import regions, sites
from sim.geo import haversine_km, place_users
from sim.network import floor_rtt_ms, internet_rtt_ms, rtt_jitter
from sim.routing import (
    anycast_ranking,
    edge_sites,
    region_order,
    site_distance_km,
    site_rtt_matrix,
    user_route_km,
)
from sim.scenario import Scenario
from sim.workload import arrivals, utc_offset_hours

OK, REGION_DOWN, PRIMARY_DOWN, QUEUE_TIMEOUT, NO_MACHINE = range(5)
OUTCOMES = (
    "ok",
    "failed_region_down",
    "failed_primary_down",
    "failed_queue_timeout",
    "failed_no_machine",
)
STREAMS = ("users", "arrivals", "network", "service", "database", "anycast")
ONE_SERVER = {  # an alternative host: one server, always on, no proxy limits
    "machines_per_region": 1,
    "scale_count": None,
    "auto_stop": "off",
    "min_machines_running": 0,
    "hard_limit": None,
}


@dataclass(frozen=True)
class Outages:
    """Windows [ms] when regions are down, by region code."""

    windows: dict[str, list[tuple[float, float]]]

    @classmethod
    def from_faults(cls, faults) -> Outages:
        windows: dict[str, list[tuple[float, float]]] = {}
        for fault in faults:
            start_ms = 1000 * fault.start_s
            windows.setdefault(fault.region, []).append(
                (start_ms, start_ms + 1000 * fault.duration_s)
            )
        return cls(windows)

    def down(self, region: str, now_ms) -> bool | np.ndarray:
        """Whether ``region`` is down at ``now_ms``: a bool for one time (the SimPy loop asks
        this for every request, so it stays plain Python), an array for an array of times."""
        if isinstance(now_ms, int | float):
            return any(start <= now_ms < end for start, end in self.windows.get(region, ()))
        now_ms = np.asarray(now_ms)
        down = np.zeros(now_ms.shape, dtype=bool)
        for start, end in self.windows.get(region, ()):
            down |= (start <= now_ms) & (now_ms < end)
        return down

    def first_up(self, ranked: np.ndarray, codes: list[str], t_ms: np.ndarray) -> np.ndarray:
        """Per row of ``ranked`` (indices into ``codes``, best first), the first index up at
        that row's time ``t_ms``; -1 where none is."""
        if not self.windows:
            return ranked[:, 0]
        down = np.zeros(ranked.shape, dtype=bool)
        for code in self.windows:
            if code in codes:
                down |= (ranked == codes.index(code)) & self.down(code, t_ms)[:, None]
        first = ranked[np.arange(len(ranked)), (~down).argmax(axis=1)]
        return np.where(down.all(axis=1), -1, first)


@dataclass(frozen=True)
class Paths:
    """Backbone RTTs [ms] from the edges to the set's regions and from those to the primary
    database, as floor + excess x jitter (network.rtt_jitter), float32 for speed."""

    edge_region_ms: np.ndarray  # (edges, regions) median
    worker_floor_ms: np.ndarray  # (edges, regions)
    worker_excess_ms: np.ndarray  # (edges, regions): median - floor
    db_floor_ms: np.ndarray  # (regions,) to the primary database
    db_excess_ms: np.ndarray
    region_order: list[list[int]]  # per edge: regions of the set, closest first
    closest: np.ndarray  # (edges,) the first of region_order
    has_replica: np.ndarray  # (regions,) bool
    same_region_ms: float


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
    users: pd.DataFrame
    places: list[str]  # every site the candidates use: edges, regions, database regions
    lat: np.ndarray  # of each place
    lon: np.ndarray
    continent: np.ndarray
    route_km: np.ndarray  # (users, places): from each user to each place
    site_rtt_ms: np.ndarray  # (places, places): median backbone RTT
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
        """The windows of `sim.engine.busiest_wait`: an hour, or the whole run when shorter
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
    users = place_users(
        scenario.users.placement, scenario.users.count, scenario.users.mobile_share, rng["users"]
    )
    n = workload.requests
    with ThreadPoolExecutor(1) as pool:  # numpy draws without the GIL: the network's beside
        network = pool.submit(network_draws, net.backbone_jitter_sigma, rng["network"], n)
        offsets = np.array([utc_offset_hours(tz) for tz in users["timezone"]])
        t_s, user = arrivals(n, workload.rate_rps, offsets, workload.daily, rng["arrivals"])
        write = rng["arrivals"].random(n, dtype=np.float32) < workload.write_share
        new_connection = rng["arrivals"].random(n, dtype=np.float32) < net.new_connection_share
        db_service_ms = database_service_ms(write, db, rng["database"])
        app_ms = service_times_ms(
            scenario.app.service_ms, scenario.app.service_cv, n, rng["service"]
        )
        client_z, worker_jitter, replay_jitter, db_jitter = network.result()
    mobile = users["access"].to_numpy() == "mobile"
    sigma = np.where(mobile, net.mobile_jitter_sigma, net.broadband_jitter_sigma)
    client_jitter = np.exp(sigma.astype(np.float32)[user] * client_z)  # as network.rtt_jitter
    needs_primary = write | reads_after_write(t_s, user, write, db.read_your_writes_s)
    group, groups = Groups.of(user, write, needs_primary, new_connection, len(users), scenario)
    places = set()
    for name, region_set in scenario.candidates.items():
        _, edges, db_region, _ = deployment(scenario, name)
        places |= {*edges, *region_set, db_region}
    places = sorted(places)
    table = sites().loc[places]
    return Draws(
        replication=replication,
        users=users,
        places=places,
        lat=table["lat"].to_numpy(),
        lon=table["lon"].to_numpy(),
        continent=table["continent"].to_numpy(),
        route_km=user_route_km(users, sites(), places, net),
        site_rtt_ms=site_rtt_matrix(sites(), places, places, net),
        site_km=site_distance_km(sites(), places, places),
        missed=rng["anycast"].random(len(users)) < net.anycast_miss_share,
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


@dataclass(frozen=True)
class Leg:
    """A round trip per route: a request's time [ms] is floor + excess x its jitter."""

    floor_ms: np.ndarray
    excess_ms: np.ndarray


@dataclass(frozen=True)
class Routes:
    """The distinct routes of a region set's requests: a group of requests (`Draws`), the edge
    anycast takes them to, and the first region up from there. Requests of one route differ
    only in their times and jitters, so every path is computed once per route here, as floor
    and excess (`Leg`; `Plan.sample` gives each request's time)."""

    group: np.ndarray  # index into Draws.groups
    edge: np.ndarray  # index into Plan.edges
    target: np.ndarray  # where it goes when nothing is contended (fly-replay: the primary)
    scale: np.ndarray | None  # measured RTT over the model's, to the closest region
    client: Leg  # user to edge, handshakes included
    replay: Leg  # edge to the first region and its fly-replay answer; 0 when not replayed, or
    # when the first region is the primary
    worker: Leg  # edge to the target's Machine
    at_primary: np.ndarray  # the queries go to the primary database (from the target)
    query: Leg  # all the queries' round trips from the target to its database


@dataclass(frozen=True)
class Plan:
    """One region set's requests before any simulation; per request, arrays in arrival order
    (derived from the routes when first asked)."""

    name: str
    index: int  # of the candidate in the scenario
    region_set: tuple[str, ...]
    edges: list[str]  # the sites anycast can land on (`Routes.edge` indexes them)
    app: App  # as deployed (an alternative host: ONE_SERVER)
    db_region: str
    db_connections: int
    paths: Paths
    outages: Outages
    draws: Draws
    routes: Routes
    route: np.ndarray  # each request's, index into routes
    failed: np.ndarray  # outcome code when it fails at its edge (regions or primary down), else OK

    def sample(self, leg: Leg, jitter, rows=slice(None), out=None) -> np.ndarray:
        """The times [ms] of ``leg`` (per route) for requests ``rows`` with their ``jitter``
        (into ``out`` if given)."""
        route = self.route[rows]
        excess = leg.excess_ms[route]
        excess *= jitter[rows]
        return np.add(leg.floor_ms[route], excess, out=excess if out is None else out)

    @cached_property
    def route_totals(self) -> tuple[np.ndarray, ...]:
        """`totals` per route."""
        if self.route is self.draws.group:  # no outages: the routes are the run's groups
            return self.draws.group_totals
        return totals(self.route, len(self.routes.target), self.draws)

    @cached_property
    def edge(self) -> np.ndarray:
        return self.routes.edge[self.route]

    @cached_property
    def target(self) -> np.ndarray:
        """Region index each request goes to when nothing is contended; -1 when it fails."""
        target = self.routes.target[self.route]
        return np.where(self.failed == OK, target, -1) if self.failed.any() else target

    @cached_property
    def replayed(self) -> np.ndarray:
        return self.draws.groups.replayed[self.routes.group[self.route]]

    @cached_property
    def client_edge_ms(self) -> np.ndarray:
        return self.sample(self.routes.client, self.draws.client_jitter)

    @cached_property
    def edge_arrival_ms(self) -> np.ndarray:
        """When each request reaches its edge [ms]."""
        return self.draws.t_s * 1000 + self.client_edge_ms / 2

    @cached_property
    def replay_ms(self) -> np.ndarray:
        return self.sample(self.routes.replay, self.draws.replay_jitter)

    @cached_property
    def db_down(self) -> np.ndarray:
        """The primary database is down when the request reaches its edge."""
        return self.outages.down(self.db_region, self.edge_arrival_ms)

    @cached_property
    def to_target(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The legs (below) of every request to its target region."""
        routes, draws = self.routes, self.draws
        return (
            self.sample(routes.worker, draws.worker_jitter),
            routes.at_primary[self.route],
            self.sample(routes.query, draws.db_jitter),
        )

    def legs(self, rows, region) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For requests ``rows`` served in ``region`` (index arrays, or one of each): the
        edge-to-Machine RTT [ms], whether the queries go to the primary database (no replica
        there, or a write, or read-your-writes), and the queries' round trips [ms]."""
        route, routes, draws = self.route[rows], self.routes, self.draws
        scale = None if routes.scale is None else routes.scale[route]
        worker_floor, worker_excess, at_primary, query_floor, query_excess = legs_toward(
            self.paths, draws.groups, routes.group[route], routes.edge[route], scale, region
        )
        return (
            worker_floor + worker_excess * draws.worker_jitter[rows],
            at_primary,
            query_floor + query_excess * draws.db_jitter[rows],
        )


def legs_toward(paths: Paths, groups: Groups, group, edge, scale, region):
    """Floor and excess [ms] of the legs of requests of ``group`` (index into ``groups``) from
    ``edge`` served in ``region`` (arrays alike; ``scale`` as `Routes.scale`): edge to Machine,
    then whether the queries go to the primary database, and all their round trips."""
    pair = edge * paths.has_replica.size + region
    worker_floor = paths.worker_floor_ms.ravel()[pair]
    worker_excess = paths.worker_excess_ms.ravel()[pair]
    if scale is not None:  # the team's measurements: the closest region's path
        median_ms = paths.edge_region_ms.ravel()[pair] * scale
        scaled = np.maximum(median_ms, worker_floor) - worker_floor
        worker_excess = np.where(region == paths.closest[edge], scaled, worker_excess)
    at_primary = groups.needs_primary[group] | ~paths.has_replica[region]
    queries = groups.queries[group]
    query_floor = queries * np.where(
        at_primary, paths.db_floor_ms[region], np.float32(paths.same_region_ms)
    )
    query_excess = queries * np.where(at_primary, paths.db_excess_ms[region], np.float32(0))
    return worker_floor, worker_excess, at_primary, query_floor, query_excess


@dataclass(frozen=True)
class Served:
    """What an engine decided for each request of a plan, and the Machines' bill. A wait is
    0.0 when the engine has none."""

    outcome: np.ndarray  # index into OUTCOMES
    spilled: dict[int, int]  # requests served, by the DES's proxy, away from their target:
    # row -> region index
    queue_ms: np.ndarray | float  # in the proxy's queue and for a slot on the Machine
    cold_start_ms: np.ndarray | float  # for its Machine to start or resume
    db_wait_ms: np.ndarray | float  # for a connection of the primary database
    machines: list[dict]  # per Machine: region index, running_s, starts
    end_ms: float  # when the last request finished


def plan_requests(scenario: Scenario, name: str, draws: Draws) -> Plan:
    """The requests of candidate ``name`` (a region set, or an alternative host: see
    `deployment`) from the run's ``draws``: their routes (edge, first region up, target) and
    every path's floor and excess per route, and whether each request fails at its edge.
    Without outages a route is a group of the draws; with them, a group's requests take
    different routes over time, so routes are the groups split by edge and first region."""
    net, users, groups = scenario.network, draws.users, draws.groups
    region_set = scenario.candidates[name]
    app, edges, db_region, replicas = deployment(scenario, name)
    outages = Outages.from_faults(scenario.faults)

    # Anycast: each user's edges, best first; a user whose edge is down lands on the next one.
    at_edge, at_region, at_db = draws.at(edges), draws.at(region_set), draws.at([db_region])
    route_km = draws.route_km[:, at_edge]
    ranked = anycast_ranking(route_km, draws.continent[at_edge], draws.missed)
    edge_region = draws.site_rtt_ms[np.ix_(at_edge, at_region)]
    order = region_order(edge_region)
    closest = np.array([regions_by_rtt[0] for regions_by_rtt in order])
    worker_floor_ms = floor_rtt_ms(draws.site_km[np.ix_(at_edge, at_region)])
    db_median_ms = draws.site_rtt_ms[at_region, at_db[0]]
    db_floor_ms = floor_rtt_ms(draws.site_km[at_region, at_db[0]])
    paths = Paths(
        edge_region_ms=edge_region.astype(np.float32),
        worker_floor_ms=worker_floor_ms.astype(np.float32),
        worker_excess_ms=(edge_region - worker_floor_ms).astype(np.float32),
        db_floor_ms=db_floor_ms.astype(np.float32),
        db_excess_ms=(db_median_ms - db_floor_ms).astype(np.float32),
        region_order=order,
        closest=closest,
        has_replica=np.array([code in replicas for code in region_set]),
        same_region_ms=net.same_region_rtt_ms,
    )

    # User to edge: median (scaled to the team's measurements) and floor per user and edge.
    mobile = users["access"].to_numpy() == "mobile"
    median_ms = internet_rtt_ms(route_km, mobile[:, None], net)
    floor_ms = floor_rtt_ms(
        haversine_km(
            users["lat"].to_numpy()[:, None],
            users["lon"].to_numpy()[:, None],
            draws.lat[at_edge],
            draws.lon[at_edge],
        )
    )
    scale = None
    if net.measured_rtt_ms is not None:  # it applies to the path to the closest region only
        scale = measured_scale(
            net.measured_rtt_ms,
            np.repeat(users["country"].to_numpy(), len(edges)),
            np.tile(np.asarray(region_set)[closest], len(users)),
            (median_ms + edge_region[np.arange(len(edges)), closest]).ravel(),
        ).astype(np.float32)
        median_ms = median_ms * scale.reshape(median_ms.shape)
    client_floor = floor_ms.astype(np.float32).ravel()
    client_excess = (np.maximum(median_ms, floor_ms) - floor_ms).astype(np.float32).ravel()
    handshakes = 1 + np.float32(net.handshake_rtts) * groups.new_connection
    user_of = groups.user

    def client_ms(group, edge):  # floor and excess of a group's requests to ``edge``
        pair, factor = user_of[group] * len(edges) + edge, handshakes[group]
        return client_floor[pair] * factor, client_excess[pair] * factor

    group = np.arange(len(groups.user))
    if outages.windows:
        edge = outages.first_up(ranked[draws.user], edges, 1000 * draws.t_s)
        edge = np.where(edge < 0, ranked[draws.user, 0], edge)  # none up: no region either
        route, group, route_edge = split_routes(draws.group, edge, len(edges))
        floor, excess = client_ms(group, route_edge)
        arrival_ms = draws.t_s * 1000 + (floor[route] + excess[route] * draws.client_jitter) / 2
        first = outages.first_up(np.array(order)[edge], list(region_set), arrival_ms)
        route, parent, first = split_routes(route, first + 1, len(region_set) + 1)
        group, edge, first = group[parent], route_edge[parent], first - 1
    else:
        route, edge = draws.group, ranked[user_of, 0]
        first = closest[edge]

    replayed = groups.replayed[group]
    primary = region_set.index(app.primary_region)
    target = np.where(first < 0, -1, np.where(replayed, primary, first))
    route_scale = None if scale is None else scale[user_of[group] * len(edges) + edge]
    worker_floor, worker_excess, at_primary, query_floor, query_excess = legs_toward(
        paths, groups, group, edge, route_scale, np.maximum(target, 0)
    )
    detour = replayed & (first != primary) & (first >= 0)
    at = edge * len(region_set) + np.maximum(first, 0)
    replay_floor = paths.worker_floor_ms.ravel()[at] + np.float32(app.replay_decision_ms)
    failed = np.zeros(len(route), dtype=np.int8)
    if outages.windows:  # fails at its edge: no region up, or the primary it needs is down
        db_down = outages.down(db_region, arrival_ms)
        primary_down = outages.down(app.primary_region, arrival_ms)
        failed[(at_primary[route] & db_down) | (replayed[route] & primary_down)] = PRIMARY_DOWN
        failed[first[route] < 0] = REGION_DOWN
    routes = Routes(
        group=group,
        edge=edge,
        target=target,
        scale=route_scale,
        client=Leg(*client_ms(group, edge)),
        replay=Leg(
            np.where(detour, replay_floor, np.float32(0)),
            np.where(detour, paths.worker_excess_ms.ravel()[at], np.float32(0)),
        ),
        worker=Leg(worker_floor, worker_excess),
        at_primary=at_primary,
        query=Leg(query_floor, query_excess),
    )
    return Plan(
        name=name,
        index=list(scenario.candidates).index(name),
        region_set=region_set,
        edges=edges,
        app=app,
        db_region=db_region,
        db_connections=scenario.database.connections,
        paths=paths,
        outages=outages,
        draws=draws,
        routes=routes,
        route=route,
        failed=failed,
    )


def split_routes(route: np.ndarray, by: np.ndarray, values: int):
    """Routes split by ``by`` (integers in [0, values)) of each request: each request's new
    route, and per new route its old route and its value of ``by``."""
    combined, split = np.unique(route * values + by, return_inverse=True)
    return split, combined // values, combined % values


def deployment(scenario: Scenario, name: str) -> tuple[App, list[str], str, frozenset[str]]:
    """How candidate ``name`` runs: its app, the edge sites anycast reaches, the database's
    region, and the regions with a read replica. An alternative host
    is ONE_SERVER with its own site as the only edge and its database on the box (unless the
    scenario's database is a managed one)."""
    region_set, db_region = scenario.candidates[name], scenario.database_region
    if name in scenario.alternatives:
        app = scenario.app.model_copy(update=ONE_SERVER | {"primary_region": name})
        return app, list(region_set), db_region if ":" in db_region else name, frozenset()
    edges = edge_sites(regions(), region_set, scenario.network.edges)
    replicas = scenario.replicas_in(region_set) - {db_region}
    return scenario.app, edges, db_region, replicas


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

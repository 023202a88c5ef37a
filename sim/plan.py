"""One region set's requests, planned in bulk from the run's draws before any simulation.

Everything about a request that does not depend on other requests is decided here, with
vectorised numpy, per region set (`plan_requests`), from the draws made once per run
(sim.draws): its anycast edge, its client-edge time, whether it fails at the edge (its regions
or the primary down), and where it goes when nothing is contended (the closest region that is
up, or the primary for a replayed write) with the backbone and database round trips to it.
Both engines start from a `Plan` and return `Served`: the analytic one (sim.engine) sends
every request to its target at once; the discrete-event one (sim.fleet) lets Machines,
limits, autostop and the database's connections decide, and adds the waits.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from sim.app_config import App
from sim.data import database_plans
from sim.database_paths import database_legs, with_resumes
from sim.deployment import deployment
from sim.draws import Draws, Groups, totals
from sim.geo import haversine_km
from sim.network import floor_rtt_ms, internet_rtt_ms
from sim.outages import Outages
from sim.routing import anycast_ranking, region_order
from sim.scenario import Scenario

OK, REGION_DOWN, PRIMARY_DOWN, TIMEOUT, NO_MACHINE = range(5)
OUTCOMES = (
    "ok",
    "failed_region_down",
    "failed_primary_down",
    "failed_timeout",
    "failed_no_machine",
)


@dataclass(frozen=True)
class Paths:
    """Backbone RTTs [ms] from the edges to the set's regions and from those to the primary
    database, as floor + excess x jitter (network.rtt_jitter), float32 for speed."""

    edge_region_ms: np.ndarray  # (edges, regions) median
    worker_floor_ms: np.ndarray  # (edges, regions)
    worker_excess_ms: np.ndarray  # (edges, regions): median - floor
    db_floor_ms: np.ndarray  # (regions,) to the primary database
    db_excess_ms: np.ndarray
    read_floor_ms: np.ndarray  # (regions,) to where the region's reads go (primary or copy)
    read_excess_ms: np.ndarray
    region_order: list[list[int]]  # per edge: regions of the set, closest first
    closest: np.ndarray  # (edges,) the first of region_order
    has_replica: np.ndarray  # (regions,) bool: its reads go to a copy, not to the primary
    connect_rtts: int  # round trips each request spends opening a connection (0: pooled)
    commit_ms: float  # added to each write's queries (Turso's diskless commits)


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
    first: np.ndarray  # the first region up from its edge (-1: none), which a replay leaves
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
    db_region: str  # the primary database's site
    db_connections: int
    db_service_ms: np.ndarray  # each request's queries' service time, with any resume [ms]
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
    def requests_per_window(self) -> np.ndarray:
        """Requests per window of the run (`Draws.windows`) and target: (windows, regions + 1),
        column 0 for the requests that fail at their edge."""
        window = self.draws.windows[1]
        regions = len(self.region_set)
        cells = (window[-1] + 1) * (regions + 1)
        hourly = np.bincount(window * (regions + 1) + (self.target + 1), minlength=cells)
        return hourly.reshape(-1, regions + 1)

    @cached_property
    def first(self) -> np.ndarray:
        return self.routes.first[self.route]

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
    trips = queries + np.float32(paths.connect_rtts) * (queries > 0)
    query_floor = trips * np.where(
        at_primary, paths.db_floor_ms[region], paths.read_floor_ms[region]
    )
    query_floor += np.float32(paths.commit_ms) * groups.write[group]
    query_excess = trips * np.where(
        at_primary, paths.db_excess_ms[region], paths.read_excess_ms[region]
    )
    return worker_floor, worker_excess, at_primary, query_floor, query_excess


@dataclass(frozen=True)
class Served:
    """What an engine decided for each request of a plan, and the Machines' bill. A wait is
    0.0 when the engine has none."""

    outcome: np.ndarray  # index into OUTCOMES
    spilled: dict[int, int]  # requests served, by the DES's proxy, away from their target:
    # row -> region index
    queue_ms: np.ndarray | float  # in the proxy's queue and for a slot on the Machine
    cold_start_ms: np.ndarray | float  # for its Machine (or the one replaying it) to start
    db_wait_ms: np.ndarray | float  # for a connection of the primary database
    app_ms: np.ndarray  # on the Machine at full speed, its vCPUs shared with other requests
    throttled_ms: np.ndarray | float  # lost to the Machine's CPU quota (sim.cpu)
    machines: list[dict]  # per Machine: region index, running_s, starts, cpu_s, throttled_s,
    # first_throttled_s (NaN: never)
    end_ms: float  # when the last request finished


def plan_requests(scenario: Scenario, name: str, draws: Draws) -> Plan:
    """The requests of candidate ``name`` (a region set, or an alternative host: see
    `deployment`) from the run's ``draws``: their routes (edge, first region up, target) and
    every path's floor and excess per route, and whether each request fails at its edge.
    Without outages a route is a group of the draws; with them, a group's requests take
    different routes over time, so routes are the groups split by edge and first region."""
    net, users, groups = scenario.network, draws.users, draws.groups
    region_set = scenario.candidates[name]
    deployed = deployment(scenario, name)
    app, edges, layout = deployed.app, deployed.edges, deployed.layout
    outages = Outages.from_faults(scenario.faults)

    # Anycast: each user's edges, best first; a user whose edge is down lands on the next one.
    at_edge, at_region = draws.at(edges), draws.at(region_set)
    route_km = draws.route_km[:, at_edge]
    ranked = anycast_ranking(route_km, draws.continent[at_edge], draws.missed)
    edge_region = draws.site_rtt_ms[np.ix_(at_edge, at_region)]
    order = region_order(edge_region)
    closest = np.array([regions_by_rtt[0] for regions_by_rtt in order])
    worker_floor_ms = floor_rtt_ms(draws.site_km[np.ix_(at_edge, at_region)])
    db_floor_ms, db_excess_ms = database_legs(
        draws, region_set, layout, [layout.primary] * len(at_region)
    )
    read_floor_ms, read_excess_ms = database_legs(draws, region_set, layout, layout.reads)
    faster = read_floor_ms + read_excess_ms < db_floor_ms + db_excess_ms  # a copy never slows
    paths = Paths(
        edge_region_ms=edge_region.astype(np.float32),
        worker_floor_ms=worker_floor_ms.astype(np.float32),
        worker_excess_ms=(edge_region - worker_floor_ms).astype(np.float32),
        db_floor_ms=db_floor_ms,
        db_excess_ms=db_excess_ms,
        read_floor_ms=read_floor_ms,
        read_excess_ms=read_excess_ms,
        region_order=order,
        closest=closest,
        has_replica=np.array([site != layout.primary for site in layout.reads]) & faster,
        connect_rtts=0 if deployed.database.pooling else deployed.database.connect_rtts,
        commit_ms=float(database_plans().at[layout.plan, "commit_ms"])
        if layout.product == "turso"
        else 0.0,
    )

    # User to edge: median (scaled to the team's measurements) and floor per user and edge.
    mobile = users["access"].to_numpy() == "mobile"
    country = users["country"].to_numpy()[:, None]
    median_ms = internet_rtt_ms(route_km, mobile[:, None], net, country)
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
        db_down = outages.down(layout.primary, arrival_ms)
        primary_down = outages.down(app.primary_region, arrival_ms)
        failed[(at_primary[route] & db_down) | (replayed[route] & primary_down)] = PRIMARY_DOWN
        failed[first[route] < 0] = REGION_DOWN
    routes = Routes(
        group=group,
        edge=edge,
        target=target,
        first=first,
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
        db_region=layout.primary,
        db_connections=deployed.database.connections,
        db_service_ms=with_resumes(draws, failed == OK, deployed.database),
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


def measured_scale(
    measured_ms: pd.Series | None, country: np.ndarray, region: np.ndarray, modelled_ms: np.ndarray
) -> np.ndarray:
    """Factor that brings the modelled user-to-region median to the team's measured one, where
    the measured matrix has the (country, region) pair; 1 elsewhere."""
    if measured_ms is None:
        return np.ones(len(country))
    wanted = measured_ms.reindex(pd.MultiIndex.from_arrays([country, region])).to_numpy()
    return np.where(np.isnan(wanted), 1.0, wanted / modelled_ms)

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
from typing import NamedTuple

import numpy as np

from sim.app_config import App
from sim.database_paths import with_resumes
from sim.deployment import deployment
from sim.draws import Draws, Groups, totals
from sim.outages import Outages
from sim.round_trips import ClientLegs, Leg, Paths, client_legs, legs_toward, region_paths
from sim.routing import anycast_ranking
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


class Legs(NamedTuple):
    """Requests' legs from where they are served: the edge-to-Machine RTT [ms], whether the
    queries go to the primary database (no replica there, or a write, or read-your-writes),
    and the queries' round trips [ms]."""

    worker_ms: np.ndarray
    at_primary: np.ndarray
    path_ms: np.ndarray


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
    def to_target(self) -> Legs:
        """The legs of every request to its target region."""
        routes, draws = self.routes, self.draws
        return Legs(
            worker_ms=self.sample(routes.worker, draws.worker_jitter),
            at_primary=routes.at_primary[self.route],
            path_ms=self.sample(routes.query, draws.db_jitter),
        )

    def legs(self, rows, region) -> Legs:
        """The legs of requests ``rows`` served in ``region`` (index arrays, or one of each)."""
        route, routes, draws = self.route[rows], self.routes, self.draws
        scale = None if routes.scale is None else routes.scale[route]
        worker_floor, worker_excess, at_primary, query_floor, query_excess = legs_toward(
            self.paths, draws.groups, routes.group[route], routes.edge[route], scale, region
        )
        return Legs(
            worker_ms=worker_floor + worker_excess * draws.worker_jitter[rows],
            at_primary=at_primary,
            path_ms=query_floor + query_excess * draws.db_jitter[rows],
        )


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
    region_set = scenario.candidates[name]
    deployed = deployment(scenario, name)
    app, edges, layout = deployed.app, deployed.edges, deployed.layout
    outages = Outages.from_faults(scenario.faults)
    paths = region_paths(draws, region_set, deployed)
    # Anycast: each user's edges, best first; a user whose edge is down lands on the next one.
    at_edge = draws.at(edges)
    route_km = draws.route_km[:, at_edge]
    ranked = anycast_ranking(route_km, draws.continent[at_edge], draws.missed)
    clients = client_legs(draws, scenario.network, route_km, edges, region_set, paths.closest)
    if outages.windows:
        route, group, edge, first, arrival_ms = routes_through_outages(
            draws, outages, ranked, clients, paths, edges, region_set
        )
    else:
        route, group, arrival_ms = draws.group, np.arange(len(draws.groups.user)), None
        edge = ranked[draws.groups.user, 0]
        first = paths.closest[edge]
    primary = region_set.index(app.primary_region)
    routes = routes_of(draws.groups, paths, clients, group, edge, first, primary, app)
    failed = failures_at_edge(routes, route, draws.groups, outages, arrival_ms, deployed)
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


def routes_through_outages(
    draws: Draws,
    outages: Outages,
    ranked: np.ndarray,
    clients: ClientLegs,
    paths: Paths,
    edges: list[str],
    region_set: tuple[str, ...],
):
    """Routes while regions go down: a request lands on the first of its user's edges
    (``ranked``) up when it is sent, and goes to the first region up from there when it
    arrives, so the groups split by edge, then by first region. Each request's route; per
    route its group, edge and first region (-1: none up); each request's edge arrival [ms]."""
    edge = outages.first_up(ranked[draws.user], edges, 1000 * draws.t_s)
    edge = np.where(edge < 0, ranked[draws.user, 0], edge)  # none up: no region either
    route, group, route_edge = split_routes(draws.group, edge, len(edges))
    client = clients.leg(group, route_edge)
    client_ms = client.floor_ms[route] + client.excess_ms[route] * draws.client_jitter
    arrival_ms = draws.t_s * 1000 + client_ms / 2
    first = outages.first_up(np.array(paths.region_order)[edge], list(region_set), arrival_ms)
    route, parent, first = split_routes(route, first + 1, len(region_set) + 1)
    return route, group[parent], route_edge[parent], first - 1, arrival_ms


def routes_of(
    groups: Groups,
    paths: Paths,
    clients: ClientLegs,
    group: np.ndarray,
    edge: np.ndarray,
    first: np.ndarray,
    primary: int,
    app: App,
) -> Routes:
    """The `Routes` of requests of ``group`` landing on ``edge`` with ``first`` the first
    region up from there (arrays per route): a replayed request targets the ``primary``
    region, after a detour through the first when that is another."""
    replayed = groups.replayed[group]
    target = np.where(first < 0, -1, np.where(replayed, primary, first))
    scale = None if clients.scale is None else clients.scale[clients.pair(group, edge)]
    worker_floor, worker_excess, at_primary, query_floor, query_excess = legs_toward(
        paths, groups, group, edge, scale, np.maximum(target, 0)
    )
    detour = replayed & (first != primary) & (first >= 0)
    first_leg = edge, np.maximum(first, 0)
    replay_floor = paths.worker_floor_ms[first_leg] + np.float32(app.replay_decision_ms)
    return Routes(
        group=group,
        edge=edge,
        target=target,
        first=first,
        scale=scale,
        client=clients.leg(group, edge),
        replay=Leg(
            np.where(detour, replay_floor, np.float32(0)),
            np.where(detour, paths.worker_excess_ms[first_leg], np.float32(0)),
        ),
        worker=Leg(worker_floor, worker_excess),
        at_primary=at_primary,
        query=Leg(query_floor, query_excess),
    )


def failures_at_edge(
    routes: Routes, route: np.ndarray, groups: Groups, outages: Outages, arrival_ms, deployed
) -> np.ndarray:
    """Per request (of ``route``, reaching its edge at ``arrival_ms``): REGION_DOWN when no
    region of the set is up from its edge, PRIMARY_DOWN when its queries need the primary
    database or it is replayed to the primary region while that is down, else OK."""
    failed = np.zeros(len(route), dtype=np.int8)
    if outages.windows:
        db_down = outages.down(deployed.layout.primary, arrival_ms)
        primary_down = outages.down(deployed.app.primary_region, arrival_ms)
        replayed = groups.replayed[routes.group][route]
        failed[(routes.at_primary[route] & db_down) | (replayed & primary_down)] = PRIMARY_DOWN
        failed[routes.first[route] < 0] = REGION_DOWN
    return failed


def split_routes(route: np.ndarray, by: np.ndarray, values: int):
    """Routes split by ``by`` (integers in [0, values)) of each request: each request's new
    route, and per new route its old route and its value of ``by``."""
    combined, split = np.unique(route * values + by, return_inverse=True)
    return split, combined // values, combined % values

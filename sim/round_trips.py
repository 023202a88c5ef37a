"""A region set's round trips, as floor + excess x jitter (network.rtt_jitter): from every
user to each edge (`client_legs`), from the edges to the set's regions and from those to the
database (`Paths`), and a group's legs toward any region (`legs_toward`). sim.plan takes them
once per route.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.data import database_plans
from sim.database_paths import database_legs
from sim.deployment import Deployment
from sim.draws import Draws, Groups
from sim.geo import haversine_km
from sim.network import floor_rtt_ms, internet_rtt_ms
from sim.network_config import Network
from sim.routing import region_order


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


def region_paths(draws: Draws, region_set: tuple[str, ...], deployed: Deployment) -> Paths:
    """The `Paths` of ``region_set`` as ``deployed``: its edges' backbone RTTs to the regions,
    the order the proxy tries them in, and each region's queries to the primary and to where
    it reads (a copy only where it is faster)."""
    layout = deployed.layout
    at_edge, at_region = draws.at(deployed.edges), draws.at(region_set)
    edge_region = draws.site_rtt_ms[np.ix_(at_edge, at_region)]
    order = region_order(edge_region)
    worker_floor_ms = floor_rtt_ms(draws.site_km[np.ix_(at_edge, at_region)])
    db_floor_ms, db_excess_ms = database_legs(
        draws, region_set, layout, [layout.primary] * len(at_region)
    )
    read_floor_ms, read_excess_ms = database_legs(draws, region_set, layout, layout.reads)
    faster = read_floor_ms + read_excess_ms < db_floor_ms + db_excess_ms  # a copy never slows
    return Paths(
        edge_region_ms=edge_region.astype(np.float32),
        worker_floor_ms=worker_floor_ms.astype(np.float32),
        worker_excess_ms=(edge_region - worker_floor_ms).astype(np.float32),
        db_floor_ms=db_floor_ms,
        db_excess_ms=db_excess_ms,
        read_floor_ms=read_floor_ms,
        read_excess_ms=read_excess_ms,
        region_order=order,
        closest=np.array([regions_by_rtt[0] for regions_by_rtt in order]),
        has_replica=np.array([site != layout.primary for site in layout.reads]) & faster,
        connect_rtts=0 if deployed.database.pooling else deployed.database.connect_rtts,
        commit_ms=float(database_plans().at[layout.plan, "commit_ms"])
        if layout.product == "turso"
        else 0.0,
    )


@dataclass(frozen=True)
class ClientLegs:
    """User-to-edge round trips per pair of a user and an edge (users x edges, flat), and per
    group of the draws its user and its handshakes."""

    floor_ms: np.ndarray  # before the handshakes
    excess_ms: np.ndarray  # median (scaled to the team's measurements) - floor
    scale: np.ndarray | None  # measured RTT over the model's, to the closest region
    edges: int
    user: np.ndarray  # per group
    handshakes: np.ndarray  # per group: 1, plus the handshakes' round trips of a new connection

    def pair(self, group, edge):
        return self.user[group] * self.edges + edge

    def leg(self, group, edge) -> Leg:
        """Floor and excess of the requests of ``group`` to ``edge``, handshakes included."""
        pair, factor = self.pair(group, edge), self.handshakes[group]
        return Leg(self.floor_ms[pair] * factor, self.excess_ms[pair] * factor)


def client_legs(
    draws: Draws,
    net: Network,
    route_km: np.ndarray,
    edges: list[str],
    region_set: tuple[str, ...],
    closest: np.ndarray,
) -> ClientLegs:
    """Every user's round trips to each of ``edges`` (``route_km``: users x edges): median over
    the internet and the physics floor; with the team's measurements, the median scaled so
    that the path to the closest region (``closest`` per edge) has the measured RTT."""
    users, at_edge = draws.users, draws.at(edges)
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
        edge_closest_ms = draws.site_rtt_ms[at_edge, np.asarray(draws.at(region_set))[closest]]
        scale = measured_scale(
            net.measured_rtt_ms,
            np.repeat(users["country"].to_numpy(), len(edges)),
            np.tile(np.asarray(region_set)[closest], len(users)),
            (median_ms + edge_closest_ms).ravel(),
        ).astype(np.float32)
        median_ms = median_ms * scale.reshape(median_ms.shape)
    return ClientLegs(
        floor_ms=floor_ms.astype(np.float32).ravel(),
        excess_ms=(np.maximum(median_ms, floor_ms) - floor_ms).astype(np.float32).ravel(),
        scale=scale,
        edges=len(edges),
        user=draws.groups.user,
        handshakes=1 + np.float32(net.handshake_rtts) * draws.groups.new_connection,
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


def measured_scale(
    measured_ms: pd.Series | None, country: np.ndarray, region: np.ndarray, modelled_ms: np.ndarray
) -> np.ndarray:
    """Factor that brings the modelled user-to-region median to the team's measured one, where
    the measured matrix has the (country, region) pair; 1 elsewhere."""
    if measured_ms is None:
        return np.ones(len(country))
    wanted = measured_ms.reindex(pd.MultiIndex.from_arrays([country, region])).to_numpy()
    return np.where(np.isnan(wanted), 1.0, wanted / modelled_ms)

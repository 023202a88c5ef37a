"""Route lengths over a graph of real backbone hubs and cable systems.

Paths detour where the fibre does: Europe to South America through the US east coast,
Europe to Asia through Egypt and the Red Sea, Africa to Asia through Europe or the Gulf
of Aden, Israel to the Gulf through Europe; the Pacific is crossed nearly straight. A point
joins the graph at its nearby hubs; a route is the shortest way through the graph, each link
counted as its great-circle length times the inflation of its medium (land or sea).
Hubs and links with their sources: data/backbone_hubs.csv, data/backbone_links.csv.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from sim.data import backbone_hubs, backbone_links
from sim.geo import haversine_km

ATTACH_SLACK_KM = 500.0  # a point joins every hub within its nearest hub's distance + this
MAX_ATTACHED_HUBS = 6
MATRIX_ROWS = 4096  # distinct points routed at once by route_km_matrix
OWN_COUNTRY_MARGIN_KM = 700.0  # how much farther a home hub may be before a foreign one serves


@dataclass(frozen=True)
class Attachment:
    """The hubs a set of points join (hub index, -1 for none) and the route km to reach them."""

    hub: np.ndarray  # (points, MAX_ATTACHED_HUBS) int
    km: np.ndarray  # (points, MAX_ATTACHED_HUBS) float, inf where hub == -1


def hub_coordinates() -> tuple[np.ndarray, np.ndarray]:
    hubs = backbone_hubs()
    return hubs["lat"].to_numpy(float), hubs["lon"].to_numpy(float)


@cache
def hub_route_km(land_inflation: float, sea_inflation: float) -> np.ndarray:
    """Shortest route [km] between every pair of hubs, links weighted by their medium."""
    hubs, links = backbone_hubs(), backbone_links()
    index = {code: i for i, code in enumerate(hubs["hub"])}
    a = links["a"].map(index).to_numpy()
    b = links["b"].map(index).to_numpy()
    lat, lon = hub_coordinates()
    inflation = np.where(links["medium"].to_numpy() == "sea", sea_inflation, land_inflation)
    weight = np.full((len(hubs), len(hubs)), np.inf)
    link_km = haversine_km(lat[a], lon[a], lat[b], lon[b]) * inflation
    np.minimum.at(weight, (a, b), link_km)
    np.minimum.at(weight, (b, a), link_km)  # links carry traffic both ways
    return dijkstra_all(weight)


def dijkstra_all(weight: np.ndarray) -> np.ndarray:
    """Shortest distances from every node to every other over a dense (nodes, nodes) matrix of
    non-negative link weights (inf: no link): Dijkstra's algorithm run from all sources at
    once, each step settling every source's nearest unsettled node and relaxing its links.
    A distance is summed link by link from its source, as a single-source Dijkstra sums it,
    so the result is the same to the last bit; the backbone has 91 hubs (a few ms)."""
    nodes = len(weight)
    distance = np.full((nodes, nodes), np.inf)
    np.fill_diagonal(distance, 0.0)
    settled = np.zeros((nodes, nodes), dtype=bool)
    sources = np.arange(nodes)
    for _ in range(nodes):
        nearest = np.where(settled, np.inf, distance).argmin(axis=1)
        settled[sources, nearest] = True
        np.minimum(distance, distance[sources, nearest][:, None] + weight[nearest], out=distance)
    return distance


def attach(lat, lon, country, land_inflation: float) -> Attachment:
    """Join each point to hubs over land: those within ATTACH_SLACK_KM of its nearest hub.

    A point whose own country has a hub within OWN_COUNTRY_MARGIN_KM of its nearest hub joins
    only its own country's hubs: traffic leaves a country through its own landings and
    exchanges (Israel does not reach the Gulf through Egypt, nor Pakistan through India).
    Points far from any hub of their country (Vancouver, Tijuana, Shenzhen) join the nearest.
    """
    hubs = backbone_hubs()
    hub_lat, hub_lon = hub_coordinates()
    distance_km = haversine_km(
        np.asarray(lat, float)[:, None], np.asarray(lon, float)[:, None], hub_lat, hub_lon
    )
    same = np.asarray(country, dtype=object)[:, None] == hubs["country"].to_numpy()[None, :]
    own_km = np.where(same, distance_km, np.inf).min(axis=1, keepdims=True)
    stay_home = own_km <= distance_km.min(axis=1, keepdims=True) + OWN_COUNTRY_MARGIN_KM
    distance_km = np.where(stay_home & ~same, np.inf, distance_km)
    order = np.argsort(distance_km, axis=1)[:, :MAX_ATTACHED_HUBS]
    km = np.take_along_axis(distance_km, order, axis=1)
    near = km <= km[:, :1] + ATTACH_SLACK_KM
    return Attachment(hub=np.where(near, order, -1), km=np.where(near, km * land_inflation, np.inf))


def route_km_pairs(
    lat1, lon1, country1, lat2, lon2, country2, land_inflation: float, sea_inflation: float
):
    """Route length [km] between point i of the first set and point i of the second; broadcasts."""
    arrays = np.broadcast_arrays(
        *(np.asarray(x, float) for x in (lat1, lon1, lat2, lon2)),
        *(np.asarray(x, dtype=object) for x in (country1, country2)),
    )
    shape = arrays[0].shape
    lat1, lon1, lat2, lon2, country1, country2 = (np.ravel(x) for x in arrays)
    a = attach(lat1.astype(float), lon1.astype(float), country1, land_inflation)
    b = attach(lat2.astype(float), lon2.astype(float), country2, land_inflation)
    direct_km = haversine_km(lat1, lon1, lat2, lon2).astype(float) * land_inflation
    hubs = hub_route_km(land_inflation, sea_inflation)
    return shortest(a, b, direct_km, hubs).reshape(shape)


def route_km_matrix(
    lat1, lon1, country1, lat2, lon2, country2, land_inflation: float, sea_inflation: float
):
    """Route length [km] from every point of the first set (rows) to every point of the second:
    `shortest`, with the graph's part from each hub to each point of the second set computed
    once rather than per pair, each distinct point of the first set once (users share their
    cities), MATRIX_ROWS of them at a time (the (points, hubs) temporaries stay bounded)."""
    lat1, lon1, lat2, lon2 = (np.asarray(x, float) for x in (lat1, lon1, lat2, lon2))
    country_names, country_code = np.unique(np.asarray(country1, dtype=str), return_inverse=True)
    points = np.column_stack([lat1, lon1, country_code.reshape(-1)])
    distinct, back = np.unique(points, axis=0, return_inverse=True)
    b = attach(lat2, lon2, country2, land_inflation)
    hubs = hub_route_km(land_inflation, sea_inflation)
    hub_to_b = (hubs[:, b.hub] + b.km).min(axis=2)  # (hubs, points of b); unjoined: inf
    joined_b = joined(b.hub, len(hubs)).T.astype(np.int32)
    out = np.empty((len(distinct), len(lat2)))
    for start in range(0, len(distinct), MATRIX_ROWS):
        lat, lon, code = distinct[start : start + MATRIX_ROWS].T
        a = attach(lat, lon, country_names[code.astype(np.intp)], land_inflation)
        via = np.full((len(lat), len(lat2)), np.inf)
        for hub, km in zip(a.hub.T, a.km.T, strict=True):
            np.minimum(via, km[:, None] + hub_to_b[hub], out=via)
        shared = (joined(a.hub, len(hubs)).astype(np.int32) @ joined_b) > 0
        direct_km = haversine_km(lat[:, None], lon[:, None], lat2, lon2) * land_inflation
        out[start : start + MATRIX_ROWS] = np.where(shared, np.minimum(direct_km, via), via)
    return out[back.reshape(-1)]


def joined(hub: np.ndarray, hubs: int) -> np.ndarray:
    """(points, hubs) bool: which hubs each point joins."""
    matrix = np.zeros((len(hub), hubs + 1), dtype=bool)  # a last column for -1, dropped
    matrix[np.arange(len(hub))[:, None], hub] = True
    return matrix[:, :hubs]


def shortest(a: Attachment, b: Attachment, direct_km: np.ndarray, hubs: np.ndarray) -> np.ndarray:
    """The shorter of: through the graph (any joined hub to any joined hub), or straight over
    land when both points join a common hub (a metro or a region's own neighbourhood)."""
    both = (a.hub[:, :, None] >= 0) & (b.hub[:, None, :] >= 0)
    via = a.km[:, :, None] + hubs[a.hub[:, :, None], b.hub[:, None, :]] + b.km[:, None, :]
    via = np.where(both, via, np.inf).min(axis=(1, 2))
    shared = ((a.hub[:, :, None] == b.hub[:, None, :]) & both).any(axis=(1, 2))
    return np.where(shared, np.minimum(direct_km, via), via)

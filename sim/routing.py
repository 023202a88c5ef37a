"""Where a request goes: anycast edge, the region that serves it, and the write path.

Fly.io's proxy (docs/model.md, "Routing"): BGP anycast lands the user on the edge nearest by
network path, except a share of users whose route lands on a farther one; the edge proxy
forwards over the backbone to the closest region of the app; a write served outside the
primary region is answered with ``fly-replay`` and replayed from the edge to the primary.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.data import cities, regions
from sim.geo import haversine_km, online_weights
from sim.network import route_km, site_rtt_ms
from sim.network_config import Network


def edge_sites(regions: pd.DataFrame, region_set: tuple[str, ...], edges: str) -> list[str]:
    """Codes of the platform's edge sites: every active region (or all), plus the app's own."""
    codes = regions.index if edges == "all" else regions.index[regions["status"] == "active"]
    return sorted(set(codes) | set(region_set))


def user_route_km(
    users: pd.DataFrame, regions: pd.DataFrame, sites: list[str], network: Network
) -> np.ndarray:
    """Route [km] from every user (rows) to every site (columns)."""
    return route_km(
        users["lat"], users["lon"], users["country"],
        regions.loc[sites, "lat"], regions.loc[sites, "lon"], regions.loc[sites, "country"],
        network, matrix=True,
    )  # fmt: skip


def anycast_ranking(km: np.ndarray, continent: np.ndarray, missed: np.ndarray) -> np.ndarray:
    """Each user's edges in the order anycast reaches them, from the route matrix ``km``
    (users x edges) and each edge's ``continent``.

    Column 0 is the edge anycast lands on: the site with the shortest route, or for users
    flagged ``missed`` the next-shortest site of that site's continent (a BGP route that is
    not the nearest but stays in the region: CDN inflation is mostly small, Koch et al. 2021;
    the nearest when the continent has one site). The other columns follow by route: where
    the user lands when the edges before are down.
    """
    users, edges = km.shape
    rows = np.arange(users)
    nearest = km.argmin(axis=1)
    same = continent[None, :] == continent[nearest][:, None]
    same[rows, nearest] = False
    second = np.where(same, km, np.inf).argmin(axis=1)
    pick = np.where(missed & same.any(axis=1), second, nearest)
    by_route = np.argsort(km, axis=1, kind="stable")
    rest = by_route[by_route != pick[:, None]].reshape(users, edges - 1)
    return np.column_stack([pick, rest])


def site_distance_km(regions: pd.DataFrame, a: list[str], b: list[str]) -> np.ndarray:
    """Great-circle distance [km] between every site of ``a`` (rows) and of ``b`` (columns)."""
    one, other = regions.loc[a], regions.loc[b]
    return haversine_km(
        one["lat"].to_numpy()[:, None], one["lon"].to_numpy()[:, None],
        other["lat"].to_numpy(), other["lon"].to_numpy(),
    )  # fmt: skip


def site_rtt_matrix(
    regions: pd.DataFrame, a: list[str], b: list[str], network: Network, internet: bool = False
):
    """Median RTT [ms] from every site of ``a`` (rows) to every site of ``b``: over the
    provider backbone, or between data centres over the public ``internet``."""
    one, other = regions.loc[a], regions.loc[b]
    return site_rtt_ms(
        one["lat"], one["lon"], one["country"], other["lat"], other["lon"], other["country"],
        network, matrix=True, internet=internet,
    )  # fmt: skip


def region_order(edge_region_ms: np.ndarray) -> list[list[int]]:
    """Per edge, the regions of the set closest first by backbone RTT: the proxy tries them
    in this order (the first is where it forwards; the next ones take spill and failover)."""
    return [list(np.argsort(row, kind="stable")) for row in edge_region_ms]


def catchment_traffic(weights: pd.Series, network: Network) -> pd.DataFrame:
    """Traffic by edge region (``weights``, e.g. from Fly's metrics) as lat, lon, weight rows:
    each region's share spread over the cities whose shortest route (as anycast takes it) is
    to that region among Fly's active regions, weighted by their people online, so that those
    users reach that edge. A region nearest to no city puts its share at its own site."""
    table, sites = cities(), regions()
    active = list(sites.index[sites["status"] == "active"])
    km = user_route_km(table, sites, active, network)
    nearest = np.asarray(active)[km.argmin(axis=1)]
    online = online_weights()
    rows = []
    for code, share in (weights / weights.sum()).items():
        mine = (nearest == code) & (online > 0)
        if mine.any():
            lat, lon = table["lat"].to_numpy()[mine], table["lon"].to_numpy()[mine]
            part = share * online[mine] / online[mine].sum()
        else:
            lat, lon = [float(sites.at[code, "lat"])], [float(sites.at[code, "lon"])]
            part = [share]
        rows.append(pd.DataFrame({"lat": lat, "lon": lon, "weight": part}))
    return pd.concat(rows, ignore_index=True)

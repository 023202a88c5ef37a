"""Where a request goes: anycast edge, the region that serves it, and the write path.

Fly.io's proxy (../docs/model.md, "Routing"): BGP anycast lands the user on the nearest edge;
the edge proxy forwards over the backbone to the closest region of the app that runs a
Machine; a write served outside the primary region is answered with ``fly-replay`` and
replayed from the edge to the primary region.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.geo import haversine_km
from sim.network import backbone_rtt_ms
from sim.scenario import Network


def edge_sites(regions: pd.DataFrame, region_set: tuple[str, ...], edges: str) -> list[str]:
    """Codes of the platform's edge sites: every active region (or all), plus the app's own."""
    codes = regions.index if edges == "all" else regions.index[regions["status"] == "active"]
    return sorted(set(codes) | set(region_set))


def nearest_site(lat, lon, regions: pd.DataFrame, sites: list[str]) -> np.ndarray:
    """Index into ``sites`` of the site nearest each point (great circle): the anycast pick."""
    site_lat = regions.loc[sites, "lat"].to_numpy()
    site_lon = regions.loc[sites, "lon"].to_numpy()
    distance_km = haversine_km(
        np.asarray(lat)[:, None], np.asarray(lon)[:, None], site_lat, site_lon
    )
    return distance_km.argmin(axis=1)


def site_distance_km(regions: pd.DataFrame, a: list[str], b: list[str]) -> np.ndarray:
    """Great-circle distance [km] between every site of ``a`` (rows) and of ``b`` (columns)."""
    la, lo = regions.loc[a, "lat"].to_numpy(), regions.loc[a, "lon"].to_numpy()
    lb, lob = regions.loc[b, "lat"].to_numpy(), regions.loc[b, "lon"].to_numpy()
    return haversine_km(la[:, None], lo[:, None], lb, lob)


def serving_region(
    regions: pd.DataFrame, edges: list[str], region_set: tuple[str, ...], network: Network
) -> dict[str, str]:
    """For each edge, the region of the set closest to it by backbone RTT (the proxy's pick)."""
    rtt = backbone_rtt_ms(site_distance_km(regions, edges, list(region_set)), network)
    return {edge: region_set[i] for edge, i in zip(edges, rtt.argmin(axis=1), strict=True)}

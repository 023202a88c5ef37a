"""Round-trip times: medians along real routes, and per-request samples with a tail.

Three kinds of path (constants, their fits and sources in docs/model.md and docs/validation.md):

* provider backbone, site to site: overhead + route km / fibre speed, both ways;
* public internet, user to edge: access latency + route km x internet inflation / fibre speed;
* public internet, data centre to data centre (a Machine to an external database): overhead +
  route km x internet inflation / fibre speed.

Routes follow the hub graph of sim.paths. Every sample is at least the physics floor,
2 x great-circle km / 200 km per ms, because no route is shorter than the great circle.
"""

from __future__ import annotations

import numpy as np

from sim.data import country_access
from sim.geo import haversine_km
from sim.network_config import Network
from sim.paths import route_km_matrix, route_km_pairs

FIBRE_KM_PER_MS = 200.0  # light in fibre, ~2/3 c; Cheshire, "It's the Latency, Stupid" (1996)
SAME_SITE_KM = 1.0  # closer than this, two places are one site: RTT is same_region_rtt_ms


def floor_rtt_ms(distance_km):
    """Fastest possible RTT [ms]: there and back along the great circle in fibre."""
    return 2.0 * np.asarray(distance_km) / FIBRE_KM_PER_MS


def backbone_rtt_ms(route_km, distance_km, network: Network):
    """Median RTT [ms] between two sites over the provider backbone, given the route [km]."""
    model = network.model
    wide = model.overhead_ms + floor_rtt_ms(route_km)
    return np.where(np.asarray(distance_km) < SAME_SITE_KM, network.same_region_rtt_ms, wide)


def datacentre_internet_rtt_ms(route_km, distance_km, network: Network):
    """Median RTT [ms] between two data centres over the public internet, given the route
    [km]: the backbone's fixed cost plus the route inflated by the internet's detours (a
    Machine querying a database at another provider). The same site: same_region_rtt_ms."""
    model = network.model
    wide = model.overhead_ms + model.internet_inflation * floor_rtt_ms(route_km)
    return np.where(np.asarray(distance_km) < SAME_SITE_KM, network.same_region_rtt_ms, wide)


def internet_rtt_ms(route_km, mobile, network: Network, country=None):
    """Median RTT [ms] from a user (mobile or broadband access, in ``country``: ISO codes
    shaped like ``mobile``) to a server, given the route [km]: the user's access network
    (`access_ms`) plus the route, inflated by the public internet's detours (fit on
    WonderProxy's pings)."""
    access = access_ms(mobile, network, country)
    return access + network.model.internet_inflation * floor_rtt_ms(route_km)


def access_ms(mobile, network: Network, country=None) -> np.ndarray:
    """A user's access RTT [ms]: with ``network.access == "country"`` and the country known,
    the country's own broadband median (M-Lab, data/country_access.csv) plus the mobile
    extra for mobile users (``mobile_access_ms - broadband_access_ms``, an assumption: M-Lab
    does not separate the two); else the global medians."""
    mobile = np.asarray(mobile)
    if country is None or network.access == "global":
        return np.where(mobile, network.mobile_access_ms, network.broadband_access_ms)
    codes = np.asarray(country)
    table = country_access()["access_ms"]
    broadband = table.reindex(codes.ravel()).fillna(network.broadband_access_ms).to_numpy()
    extra = network.mobile_access_ms - network.broadband_access_ms
    return broadband.reshape(codes.shape) + np.where(mobile, extra, 0.0)


def rtt_jitter(sigma, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` factors exp(sigma x Z), Z standard normal (float32), for an RTT's excess over its
    physics floor: a sample is ``floor + (median - floor) x jitter``, which keeps the median,
    never goes below the floor, and gives p99 / p50 of the excess = exp(2.326 sigma)."""
    z = rng.standard_normal(n, dtype=np.float32)
    return np.exp(np.asarray(sigma, dtype=np.float32) * z)


def route_km(lat1, lon1, country1, lat2, lon2, country2, network: Network, matrix: bool = False):
    """Route [km] between pairs of points (or every point of one set to every point of another)."""
    model = network.model
    measure = route_km_matrix if matrix else route_km_pairs
    return measure(
        lat1, lon1, country1, lat2, lon2, country2, model.land_inflation, model.sea_inflation
    )


def site_rtt_ms(
    lat1, lon1, country1, lat2, lon2, country2, network: Network, matrix: bool = False,
    internet: bool = False,
):  # fmt: skip
    """Median RTT [ms] between sites (pairwise, or as a matrix): over the provider backbone,
    or over the public ``internet`` (`datacentre_internet_rtt_ms`)."""
    km = route_km(lat1, lon1, country1, lat2, lon2, country2, network, matrix)
    if matrix:
        distance_km = haversine_km(
            np.asarray(lat1, float)[:, None],
            np.asarray(lon1, float)[:, None],
            np.asarray(lat2, float),
            np.asarray(lon2, float),
        )
    else:
        distance_km = haversine_km(lat1, lon1, lat2, lon2)
    if internet:
        return datacentre_internet_rtt_ms(km, distance_km, network)
    return backbone_rtt_ms(km, distance_km, network)

"""Round-trip times: medians by path and per-request samples with a tail.

Two kinds of path (constants and their sources in docs/model.md):

* public internet, user to edge: access latency + great-circle km x inflation / fibre speed;
* provider backbone, region to region: overhead + great-circle km x inflation / fibre speed.

Every sample is at least the physics floor, 2 x great-circle km / 200 km per ms.
"""

from __future__ import annotations

import numpy as np

from sim.geo import haversine_km
from sim.scenario import Network

FIBRE_KM_PER_MS = 200.0  # light in fibre, ~2/3 c; Cheshire, "It's the Latency, Stupid" (1996)
SAME_SITE_KM = 1.0  # closer than this, two places are one site: RTT is same_region_rtt_ms


def floor_rtt_ms(distance_km):
    """Fastest possible RTT [ms]: there and back along the great circle in fibre."""
    return 2.0 * np.asarray(distance_km) / FIBRE_KM_PER_MS


def backbone_rtt_ms(distance_km, network: Network):
    """Median RTT [ms] between two sites over the provider backbone.

    Fit of overhead + 2 x km x inflation / 200 on the Azure inter-region P50 matrix
    (2025-06, 1,225 pairs over 100 km apart): 6.7 ms + 1.52 x fibre.
    """
    distance_km = np.asarray(distance_km, dtype=float)
    wide = network.backbone_overhead_ms + network.backbone_inflation * floor_rtt_ms(distance_km)
    return np.where(distance_km < SAME_SITE_KM, network.same_region_rtt_ms, wide)


def internet_rtt_ms(distance_km, mobile, network: Network):
    """Median RTT [ms] from a user (broadband or mobile access) to a server over the internet.

    Access latency (Ookla medians, which already include the hop to a nearby server) plus the
    great-circle distance inflated by 1.61, the fit on WonderProxy's public-internet pings.
    """
    access_ms = np.where(mobile, network.mobile_access_ms, network.broadband_access_ms)
    return access_ms + network.internet_inflation * floor_rtt_ms(distance_km)


def sample_rtt_ms(median_ms, floor_ms, sigma, rng: np.random.Generator):
    """Per-request RTTs [ms]: the part above the physics floor is lognormal around its median.

    ``floor + (median - floor) x exp(sigma x Z)`` keeps the median, never goes below the floor,
    and gives p99 / p50 of the excess = exp(2.326 sigma).
    """
    median_ms = np.asarray(median_ms, dtype=float)
    z = rng.standard_normal(median_ms.shape)
    return floor_ms + (median_ms - floor_ms) * np.exp(np.asarray(sigma) * z)


def region_rtt_ms(lat1, lon1, lat2, lon2, network: Network):
    """Median backbone RTT [ms] between sites given by coordinates [deg]; broadcasts."""
    return backbone_rtt_ms(haversine_km(lat1, lon1, lat2, lon2), network)

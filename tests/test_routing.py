"""Anycast edge choice and the proxy's serving region: metamorphic checks."""

import numpy as np
import pytest

from sim.data import regions
from sim.geo import haversine_km
from sim.network import backbone_rtt_ms
from sim.routing import edge_sites, nearest_site, serving_region, site_distance_km
from sim.scenario import Network

DEFAULTS = Network()


@pytest.fixture(scope="module")
def table():
    return regions()


def test_edge_sites_are_the_active_regions_plus_the_set(table):
    active = set(table.index[table["status"] == "active"])
    assert len(active) == 18
    assert set(edge_sites(table, ("iad", "lhr"), "active")) == active
    assert set(edge_sites(table, ("iad", "mad", "hkg"), "active")) == active | {"mad", "hkg"}
    assert len(edge_sites(table, ("iad",), "all")) == 35


def test_adding_a_site_never_moves_a_user_farther(table):
    rng = np.random.default_rng(0)
    lat, lon = rng.uniform(-60, 70, 3000), rng.uniform(-180, 180, 3000)
    order = list(rng.permutation(table.index))
    previous_km = np.full(lat.size, np.inf)
    for k in range(1, len(order) + 1):
        sites = order[:k]
        picked = nearest_site(lat, lon, table, sites)
        site = table.loc[sites].iloc[picked]
        km = haversine_km(lat, lon, site["lat"].to_numpy(), site["lon"].to_numpy())
        assert np.all(km <= previous_km)
        previous_km = km


def test_adding_a_region_never_serves_an_edge_from_farther(table):
    edges = edge_sites(table, (), "all")
    order = list(np.random.default_rng(1).permutation(table.index))
    previous_ms = np.full(len(edges), np.inf)
    for k in range(1, len(order) + 1):
        served = serving_region(table, edges, tuple(order[:k]), DEFAULTS)
        km = np.diag(site_distance_km(table, edges, [served[e] for e in edges]))
        ms = backbone_rtt_ms(km, DEFAULTS)
        assert np.all(ms <= previous_ms)
        previous_ms = ms


def test_an_edge_in_the_set_serves_itself(table):
    region_set = ("iad", "mad", "syd", "gru")
    served = serving_region(table, edge_sites(table, region_set, "active"), region_set, DEFAULTS)
    assert all(served[code] == code for code in region_set)
    # nearest by hand (great circle): ewr -> iad (~330 km), lhr -> mad (~1,260 km), nrt -> syd
    assert (served["ewr"], served["lhr"], served["nrt"]) == ("iad", "mad", "syd")

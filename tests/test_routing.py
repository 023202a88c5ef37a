"""Anycast edge choice and the proxy's serving region: metamorphic checks."""

import numpy as np
import pandas as pd
import pytest

from sim.data import cities, regions
from sim.network_config import Network
from sim.routing import (
    anycast_ranking,
    edge_sites,
    region_order,
    site_rtt_matrix,
    user_route_km,
)

DEFAULTS = Network()


@pytest.fixture(scope="module")
def table():
    return regions()


@pytest.fixture(scope="module")
def users():
    world = cities()
    picked = np.random.default_rng(0).choice(
        len(world), 1500, p=world["population"] / world["population"].sum()
    )
    return world.iloc[picked].reset_index(drop=True)


def ranking(users, table, sites, network, missed):
    """Each user's edges by anycast, and the routes to them [km]."""
    km = user_route_km(users, table, sites, network)
    return anycast_ranking(km, table.loc[sites, "continent"].to_numpy(), missed), km


def anycast_edge(users, table, sites, network, missed):
    """The edge anycast lands each user on, and the route to it [km]."""
    ranked, km = ranking(users, table, sites, network, missed)
    return ranked[:, 0], km[np.arange(len(users)), ranked[:, 0]]


def serving_region(table, edges, region_set, network):
    """Where the proxy forwards from each edge: the first region of its order."""
    order = region_order(site_rtt_matrix(table, edges, list(region_set), network))
    return {edge: region_set[regions[0]] for edge, regions in zip(edges, order, strict=True)}


def test_edge_sites_are_the_active_regions_plus_the_set(table):
    active = set(table.index[table["status"] == "active"])
    assert len(active) == 18
    assert set(edge_sites(table, ("iad", "lhr"), "active")) == active
    assert set(edge_sites(table, ("iad", "mad", "hkg"), "active")) == active | {"mad", "hkg"}
    assert len(edge_sites(table, ("iad",), "all")) == 35


def test_adding_an_edge_never_lengthens_a_users_route(table, users):
    order = list(np.random.default_rng(1).permutation(table.index))
    none_missed = np.zeros(len(users), dtype=bool)
    previous_km = np.full(len(users), np.inf)
    for k in range(1, len(order) + 1, 3):
        _, km = anycast_edge(users, table, order[:k], DEFAULTS, none_missed)
        assert np.all(km <= previous_km + 1e-9)
        previous_km = km


def test_missed_users_land_on_another_edge_of_the_same_continent(table, users):
    sites = edge_sites(table, (), "active")
    nearest, near_km = anycast_edge(users, table, sites, DEFAULTS, np.zeros(len(users), dtype=bool))
    other, far_km = anycast_edge(users, table, sites, DEFAULTS, np.ones(len(users), dtype=bool))
    continent = table.loc[sites, "continent"].to_numpy()
    assert np.all(far_km >= near_km)
    assert np.all(continent[other] == continent[nearest])
    alone = np.isin(continent[nearest], ["SA", "AF", "OC"])  # gru, jnb, syd: alone there
    assert np.all(other[alone] == nearest[alone])
    assert np.all(other[~alone] != nearest[~alone])


def test_anycast_follows_the_route_not_the_map(table):
    # Tel Aviv is nearest Bombay... on the map; its traffic leaves through Europe
    israel = pd.DataFrame({"lat": [32.09], "lon": [34.78], "country": ["IL"]})
    sites = edge_sites(table, (), "active")
    edge, _ = anycast_edge(israel, table, sites, DEFAULTS, np.zeros(1, dtype=bool))
    assert table.loc[sites[edge[0]], "continent"] == "EU"


def test_adding_a_region_never_serves_an_edge_from_farther(table):
    edges = edge_sites(table, (), "all")
    order = list(np.random.default_rng(1).permutation(table.index))
    everything = site_rtt_matrix(table, edges, order, DEFAULTS)
    previous_ms = np.full(len(edges), np.inf)
    for k in range(1, len(order) + 1):
        served = serving_region(table, edges, tuple(order[:k]), DEFAULTS)
        ms = np.array([everything[i, order.index(served[e])] for i, e in enumerate(edges)])
        assert np.all(ms <= previous_ms)
        previous_ms = ms


def test_an_edge_in_the_set_serves_itself(table):
    region_set = ("iad", "mad", "syd", "gru")
    served = serving_region(table, edge_sites(table, region_set, "active"), region_set, DEFAULTS)
    assert all(served[code] == code for code in region_set)
    assert (served["ewr"], served["lhr"], served["nrt"]) == ("iad", "mad", "syd")


def test_when_edges_fail_users_fall_back_by_route(table, users):
    sites = edge_sites(table, (), "active")
    ranked, km = ranking(users, table, sites, DEFAULTS, np.zeros(len(users), dtype=bool))
    rows = np.arange(len(users))[:, None]
    assert np.all(np.diff(km[rows, ranked], axis=1) >= 0)
    assert np.all(np.sort(ranked, axis=1) == np.arange(len(sites)))

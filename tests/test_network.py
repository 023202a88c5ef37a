"""RTT model: physics floor, symmetry, corridors, tails, handshakes, calibration on data."""

import numpy as np
import pytest

from sim.calibration import backbone_ms, error_table, pairs_table
from sim.data import cities, measured_rtts, regions
from sim.geo import haversine_km
from sim.network import (
    backbone_rtt_ms,
    floor_rtt_ms,
    internet_rtt_ms,
    route_km,
    rtt_jitter,
    site_rtt_ms,
)
from sim.network_config import Network

DEFAULTS = Network()
Z99 = 2.3263  # standard normal 99th percentile


def test_floor_is_two_way_fibre_at_200_km_per_ms():
    # light in fibre ~200 km/ms (Cheshire 1996): 1,000 km there and back = 10 ms
    assert floor_rtt_ms(1000.0) == pytest.approx(10.0)


@pytest.fixture(scope="module")
def city_pairs():
    """2,000 random pairs of world cities, with their countries."""
    table = cities()
    rng = np.random.default_rng(0)
    a, b = (table.iloc[rng.integers(0, len(table), 2000)].reset_index(drop=True) for _ in range(2))
    return a, b


def test_routes_are_never_shorter_than_the_great_circle_and_symmetric(city_pairs):
    a, b = city_pairs
    forth = route_km(a["lat"], a["lon"], a["country"], b["lat"], b["lon"], b["country"], DEFAULTS)
    back = route_km(b["lat"], b["lon"], b["country"], a["lat"], a["lon"], a["country"], DEFAULTS)
    np.testing.assert_allclose(forth, back, rtol=1e-9)
    distance_km = haversine_km(a["lat"], a["lon"], b["lat"], b["lon"])
    assert np.all(np.isfinite(forth))
    assert np.all(forth >= distance_km * (1 - 1e-9))


def test_the_route_matrix_is_every_pair_routed_alone(city_pairs):
    """route_km_matrix computes the graph part once per destination; it must give what
    routing each pair on its own gives."""
    a, b = (pair.iloc[:300] for pair in city_pairs)
    matrix = route_km(
        a["lat"], a["lon"], a["country"], b["lat"], b["lon"], b["country"], DEFAULTS, matrix=True
    )
    rows, columns = np.repeat(np.arange(300), 300), np.tile(np.arange(300), 300)
    one, other = a.iloc[rows], b.iloc[columns]
    pairs = route_km(
        one["lat"], one["lon"], one["country"], other["lat"], other["lon"], other["country"],
        DEFAULTS,
    )  # fmt: skip
    np.testing.assert_allclose(matrix.ravel(), pairs, rtol=1e-12)


def test_nothing_beats_the_physics_floor(city_pairs):
    a, b = city_pairs
    rng = np.random.default_rng(1)
    floor = floor_rtt_ms(haversine_km(a["lat"], a["lon"], b["lat"], b["lon"]))
    km = route_km(a["lat"], a["lon"], a["country"], b["lat"], b["lon"], b["country"], DEFAULTS)
    mobile = rng.random(len(a)) < 0.5
    backbone = site_rtt_ms(
        a["lat"], a["lon"], a["country"], b["lat"], b["lon"], b["country"], DEFAULTS
    )
    for median in (internet_rtt_ms(km, mobile, DEFAULTS), backbone):
        assert np.all(median >= floor)
        sigma = rng.uniform(0, 2, len(a))
        assert np.all(floor + (median - floor) * rtt_jitter(sigma, rng, len(a)) >= floor)


@pytest.mark.parametrize("sigma", [0.1, 0.5, 1.0])
def test_samples_keep_the_median_and_the_lognormal_tail(sigma):
    # excess over the floor is lognormal: p99 / p50 = exp(z_0.99 sigma)
    median, floor = np.full(200_000, 80.0), 30.0
    samples = floor + (median - floor) * rtt_jitter(sigma, np.random.default_rng(1), len(median))
    assert np.median(samples) == pytest.approx(80.0, rel=0.01)
    excess = samples - floor
    ratio = np.quantile(excess, 0.99) / np.quantile(excess, 0.5)
    assert ratio == pytest.approx(np.exp(Z99 * sigma), rel=0.03)


def test_same_site_backbone_is_the_same_region_rtt():
    assert backbone_rtt_ms(0.0, 0.0, DEFAULTS) == DEFAULTS.same_region_rtt_ms
    assert backbone_rtt_ms(0.0, 0.0, Network(same_region_rtt_ms=0.4)) == 0.4
    iad = regions().loc["iad"]
    same = site_rtt_ms(iad["lat"], iad["lon"], "US", iad["lat"], iad["lon"], "US", DEFAULTS)
    assert same == DEFAULTS.same_region_rtt_ms


def test_hand_computed_medians():
    # overhead + route as fibre both ways; internet: access + inflation x route as fibre
    model = DEFAULTS.model
    assert backbone_rtt_ms(1000.0, 900.0, DEFAULTS) == pytest.approx(model.overhead_ms + 10)
    expected = 14.0 + model.internet_inflation * 10
    assert internet_rtt_ms(1000.0, False, DEFAULTS) == pytest.approx(expected)
    assert internet_rtt_ms(1000.0, True, DEFAULTS) == pytest.approx(expected + 32.0 - 14.0)


def rtt(a: str, b: str) -> float:
    table = regions()
    one, other = table.loc[a], table.loc[b]
    return float(
        site_rtt_ms(
            one["lat"],
            one["lon"],
            one["country"],
            other["lat"],
            other["lon"],
            other["country"],
            DEFAULTS,
        )
    )


def inflation(a: str, b: str) -> float:
    """Modelled RTT over the great-circle fibre floor."""
    table = regions()
    km = haversine_km(
        table.at[a, "lat"], table.at[a, "lon"], table.at[b, "lat"], table.at[b, "lon"]
    )
    return rtt(a, b) / float(floor_rtt_ms(km))


def test_corridors_detour_where_the_fibre_does():
    # Europe-South America and Europe-Asia detour; trans-Pacific is nearly straight
    assert inflation("fra", "gru") > 1.6  # through the US east coast
    assert inflation("fra", "sin") > 1.4  # around through Suez and the Red Sea
    assert inflation("lax", "nrt") < 1.35
    assert inflation("sjc", "syd") < 1.4
    # Europe-South America is slower than the distance-only fit (6.7 + 1.52 x floor) said
    assert rtt("fra", "gru") > 6.7 + 1.52 * float(floor_rtt_ms(9800))


def test_israel_reaches_the_gulf_through_europe():
    # Azure 2025-06: Tel Aviv-Dubai 151 ms for 2,137 km; Tel Aviv-Marseille 41 ms
    tel_aviv, dubai = (32.09, 34.78, "IL"), (25.20, 55.27, "AE")
    km = route_km(*tel_aviv, *dubai, DEFAULTS)
    assert km > 3 * 2137


@pytest.fixture(scope="module")
def azure():
    return pairs_table(measured_rtts("azure_p50_2025-06"))


def test_known_answers_from_the_azure_matrix(azure):
    # measured P50 (Azure, 2025-06): Ashburn-Amsterdam ~ 80 ms, Singapore-Tokyo ~ 70 ms
    pairs = azure
    predicted = backbone_ms(pairs, DEFAULTS)
    ape = np.abs(predicted / pairs["rtt_ms"].to_numpy() - 1)
    for a, b in [("Ashburn", "Amsterdam"), ("Singapore", "Tokyo"), ("London", "Sao Paulo")]:
        row = ((pairs["from_city"] == a) & (pairs["to_city"] == b)) | (
            (pairs["from_city"] == b) & (pairs["to_city"] == a)
        )
        assert row.sum() == 1
        assert ape[row.to_numpy()][0] < 0.12, (a, b)


def test_backbone_error_on_azure_meets_the_targets(azure):
    # docs/validation.md: in sample MdAPE 5.7 %, p90 16.3 %; left-out regions 6.2 % / 17 %
    pairs = azure
    overall = error_table(pairs, backbone_ms(pairs, DEFAULTS)).loc["all"]
    assert overall["pairs"] == 1225
    assert overall["mdape_pct"] < 9 and overall["p90_ape_pct"] < 25


def test_the_route_model_beats_distance_only_on_every_big_corridor(azure):
    pairs = azure
    ours = error_table(pairs, backbone_ms(pairs, DEFAULTS))
    distance_only = error_table(pairs, 6.7 + 1.52 * floor_rtt_ms(pairs["gc_km"].to_numpy()))
    big = ours.index[(ours["pairs"] >= 40) & (ours.index != "all")]
    assert len(big) >= 8
    assert (ours.loc[big, "mdape_pct"] <= distance_only.loc[big, "mdape_pct"] + 1).all()


def test_handshakes_by_protocol():
    # TCP 1 RTT (RFC 9293) + TLS 1.3 1 RTT (RFC 8446); TLS 1.2 2 RTT; QUIC 1 RTT (RFC 9000)
    assert Network().handshake_rtts == 2
    assert Network(protocol="tcp_tls12").handshake_rtts == 3
    assert Network(protocol="quic").handshake_rtts == 1


@pytest.mark.parametrize("inflations", [(1.0, 1.0), (1.3, 1.1), (1.234567, 1.0987)])
def test_the_hub_routes_are_scipys_dijkstra_to_the_bit(inflations):
    """paths.dijkstra_all replaces scipy's shortest_path (SciPy is not imported to route): the
    same sums in the same order, so every route is equal to the last bit, not just close."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import shortest_path

    from sim.data import backbone_hubs, backbone_links
    from sim.paths import hub_coordinates, hub_route_km

    hubs, links = backbone_hubs(), backbone_links()
    index = {code: i for i, code in enumerate(hubs["hub"])}
    a, b = links["a"].map(index).to_numpy(), links["b"].map(index).to_numpy()
    lat, lon = hub_coordinates()
    land, sea = inflations
    weight = haversine_km(lat[a], lon[a], lat[b], lon[b]) * np.where(
        links["medium"].to_numpy() == "sea", sea, land
    )
    graph = csr_matrix((weight, (a, b)), shape=(len(hubs), len(hubs)))
    expected = shortest_path(graph, method="D", directed=False)
    assert np.array_equal(hub_route_km(land, sea), expected)

"""RTT model: physics floor, tails, hand-computed values and calibration on measured matrices."""

import numpy as np
import pytest

from sim.data import measured_rtts
from sim.network import backbone_rtt_ms, floor_rtt_ms, internet_rtt_ms, region_rtt_ms, sample_rtt_ms
from sim.scenario import Network

DEFAULTS = Network()
Z99 = 2.3263  # standard normal 99th percentile


def mdape(predicted, measured):
    """Median absolute percentage error [fraction]."""
    return float(np.median(np.abs(predicted - measured) / measured))


def test_floor_is_two_way_fibre_at_200_km_per_ms():
    # light in fibre ~200 km/ms (Cheshire 1996): 1,000 km there and back = 10 ms
    assert floor_rtt_ms(1000.0) == pytest.approx(10.0)


def test_nothing_beats_the_physics_floor():
    rng = np.random.default_rng(0)
    distance_km = np.concatenate([[0.0, 0.5, 1.0], rng.uniform(0, 20_000, 5000)])
    floor = floor_rtt_ms(distance_km)
    mobile = rng.random(distance_km.size) < 0.5
    internet = internet_rtt_ms(distance_km, mobile, DEFAULTS)
    for median in (internet, backbone_rtt_ms(distance_km, DEFAULTS)):
        assert np.all(median >= floor)
        sigma = rng.uniform(0, 2, distance_km.size)
        assert np.all(sample_rtt_ms(median, floor, sigma, rng) >= floor)


@pytest.mark.parametrize("sigma", [0.1, 0.5, 1.0])
def test_samples_keep_the_median_and_the_lognormal_tail(sigma):
    # excess over the floor is lognormal: p99 / p50 = exp(z_0.99 sigma)
    median, floor = np.full(200_000, 80.0), 30.0
    samples = sample_rtt_ms(median, floor, sigma, np.random.default_rng(1))
    assert np.median(samples) == pytest.approx(80.0, rel=0.01)
    excess = samples - floor
    ratio = np.quantile(excess, 0.99) / np.quantile(excess, 0.5)
    assert ratio == pytest.approx(np.exp(Z99 * sigma), rel=0.03)


def test_same_site_backbone_is_the_same_region_rtt():
    assert backbone_rtt_ms(0.0, DEFAULTS) == DEFAULTS.same_region_rtt_ms
    assert backbone_rtt_ms(0.0, Network(same_region_rtt_ms=0.4)) == 0.4
    assert region_rtt_ms(39.02, -77.46, 39.02, -77.46, DEFAULTS) == DEFAULTS.same_region_rtt_ms


def test_monotone_in_distance():
    distance_km = np.sort(np.random.default_rng(2).uniform(0, 20_000, 2000))
    distance_km = np.concatenate([[0.0, 0.99, 1.0], distance_km])
    assert np.all(np.diff(backbone_rtt_ms(distance_km, DEFAULTS)) >= 0)
    for mobile in (False, True):
        assert np.all(np.diff(internet_rtt_ms(distance_km, mobile, DEFAULTS)) >= 0)


def test_hand_computed_medians():
    # defaults: backbone 6.7 + 1.52 x floor; internet access + 1.61 x floor; floor(1,000 km) = 10 ms
    assert backbone_rtt_ms(1000.0, DEFAULTS) == pytest.approx(6.7 + 1.52 * 10)
    assert internet_rtt_ms(1000.0, False, DEFAULTS) == pytest.approx(14.0 + 1.61 * 10)
    assert internet_rtt_ms(1000.0, True, DEFAULTS) == pytest.approx(32.0 + 1.61 * 10)


def test_backbone_calibration_on_azure_p50():
    # Azure inter-region P50 matrix, 30 days ending 2025-06-29 (data/README.md);
    # documented fit MdAPE ~13 % (sim/network.py backbone_rtt_ms)
    pairs = measured_rtts("azure_p50_2025-06").query("gc_km >= 100")
    assert len(pairs) > 1000
    predicted = backbone_rtt_ms(pairs["gc_km"].to_numpy(), DEFAULTS)
    assert mdape(predicted, pairs["rtt_ms"].to_numpy()) < 0.15


def test_internet_calibration_on_wonderproxy():
    # WonderProxy server-to-server pings (blog, 2011-02-09): no access link, fitted intercept 7.6 ms
    pairs = measured_rtts("wonderproxy_2011")
    network = Network(broadband_access_ms=7.6)
    predicted = internet_rtt_ms(pairs["gc_km"].to_numpy(), False, network)
    assert mdape(predicted, pairs["rtt_ms"].to_numpy()) < 0.15

"""Great-circle distances and user placement."""

import numpy as np
import pandas as pd
import pytest
from geopy.distance import great_circle

from sim.geo import EARTH_RADIUS_KM, haversine_km, place_users


def random_points(n, seed):
    rng = np.random.default_rng(seed)
    lat, lon = rng.uniform(-90, 90, (2, n)), rng.uniform(-180, 180, (2, n))
    return lat[0], lon[0], lat[1], lon[1]


def test_haversine_matches_geopy_great_circle():
    # geopy's great_circle (atan2 form) is the reference; same radius so only the formula is tested
    lat1, lon1, lat2, lon2 = random_points(2000, seed=1)
    expected = [
        great_circle((a, b), (c, d), radius=EARTH_RADIUS_KM).km
        for a, b, c, d in zip(lat1, lon1, lat2, lon2, strict=True)
    ]
    np.testing.assert_allclose(haversine_km(lat1, lon1, lat2, lon2), expected, rtol=1e-9)


def test_london_new_york():
    # great-circle London-New York is about 5,570 km (geopy great_circle: 5,570.2 km)
    assert haversine_km(51.5074, -0.1278, 40.7128, -74.0060) == pytest.approx(5570, abs=5)


def test_symmetric_and_zero_on_the_same_point():
    lat1, lon1, lat2, lon2 = random_points(1000, seed=2)
    there, back = haversine_km(lat1, lon1, lat2, lon2), haversine_km(lat2, lon2, lat1, lon1)
    np.testing.assert_allclose(there, back, rtol=1e-12)
    assert np.all(haversine_km(lat1, lon1, lat1, lon1) == 0.0)


@pytest.mark.parametrize(("lat", "lon"), [(0.0, 0.0), (45.0, 10.0), (-33.9, 151.2), (90.0, 0.0)])
def test_antipodes_are_half_a_circumference(lat, lon):
    antipode_lon = lon - 180.0 if lon > 0 else lon + 180.0
    half_km = np.pi * EARTH_RADIUS_KM
    assert haversine_km(lat, lon, -lat, antipode_lon) == pytest.approx(half_km, rel=1e-12)


def test_same_seed_same_users():
    first = place_users("population", 500, 0.4, np.random.default_rng(7))
    second = place_users("population", 500, 0.4, np.random.default_rng(7))
    pd.testing.assert_frame_equal(first, second)
    assert not first.equals(place_users("population", 500, 0.4, np.random.default_rng(8)))


def test_population_mix_puts_most_users_in_asia():
    # UN World Population Prospects: Asia holds ~59 % of people, far more than any other continent
    users = place_users("population", 5000, 0.5, np.random.default_rng(0))
    shares = users["continent"].value_counts(normalize=True)
    assert shares.idxmax() == "AS"
    assert shares["AS"] > 0.4


def test_continent_mix_gives_the_requested_shares():
    n = 4000
    users = place_users({"EU": 0.5, "SA": 0.5}, n, 0.5, np.random.default_rng(3))
    assert set(users["continent"]) == {"EU", "SA"}
    sd = np.sqrt(0.5 * 0.5 / n)  # binomial standard deviation of a share
    assert abs((users["continent"] == "EU").mean() - 0.5) < 4 * sd


def test_country_key_gives_only_that_country():
    users = place_users({"JP": 1}, 500, 0.5, np.random.default_rng(4))
    assert set(users["country"]) == {"JP"}
    assert set(users["continent"]) == {"AS"}


@pytest.mark.parametrize(("share", "access"), [(0.0, "broadband"), (1.0, "mobile")])
def test_mobile_share_extremes(share, access):
    users = place_users("population", 300, share, np.random.default_rng(5))
    assert set(users["access"]) == {access}


def test_traffic_table_places_users_at_its_points():
    traffic = pd.DataFrame(
        {"lat": [40.42, 35.68, -33.87], "lon": [-3.70, 139.69, 151.21], "weight": [3.0, 1.0, 0.0]}
    )  # Madrid, Tokyo, Sydney (weight 0: never drawn)
    n = 1000  # small: place_users finds the nearest city of every user, not of every point
    users = place_users(traffic, n, 0.5, np.random.default_rng(6))
    assert set(zip(users["lat"], users["lon"], strict=True)) == {(40.42, -3.70), (35.68, 139.69)}
    madrid = users[users["lat"] == 40.42]
    assert set(madrid["country"]) == {"ES"} and set(madrid["continent"]) == {"EU"}
    assert set(users.loc[users["lat"] == 35.68, "country"]) == {"JP"}
    sd = np.sqrt(0.75 * 0.25 / n)
    assert abs(len(madrid) / n - 0.75) < 4 * sd


def test_a_scan_of_the_cities_finds_the_k_d_trees_city():
    """nearest_city scans the cities for a few points (no SciPy to start `rtt`) and asks the
    tree for more: both must name the same city for every point, or a region's country
    would depend on how many points were looked up with it."""
    from sim.data import regions
    from sim.geo import SCANNED_POINTS, city_tree, nearest_city, unit_vectors

    rng = np.random.default_rng(7)
    lat = np.concatenate([rng.uniform(-90, 90, 2000), regions()["lat"].to_numpy(float)])
    lon = np.concatenate([rng.uniform(-180, 180, 2000), regions()["lon"].to_numpy(float)])
    by_tree = city_tree().query(unit_vectors(lat, lon))[1]
    starts = range(0, len(lat), SCANNED_POINTS)
    by_scan = [
        nearest_city(lat[i : i + SCANNED_POINTS], lon[i : i + SCANNED_POINTS]) for i in starts
    ]
    assert np.array_equal(np.concatenate(by_scan), by_tree)

"""Great-circle distances and where the users are.

Users are placed in real cities (GeoNames: every city of 15,000 people or
more, with its population, coordinates, country and timezone), weighted by the people online
in each country (World Bank) or by population.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

import numpy as np
import pandas as pd

from sim.data import CONTINENTS, cities, internet_users

EARTH_RADIUS_KM = 6371.009  # mean Earth radius (IUGG), the value geopy's great_circle uses
SCANNED_POINTS = 64  # nearest_city: up to this many points, a scan of the cities, not a tree


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance [km] between points given in degrees; broadcasts like numpy."""
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    dphi = phi2 - phi1
    dlmb = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dphi / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def city_weights(where: str | Mapping[str, float]) -> np.ndarray:
    """Probability of each row of ``cities()`` for a user mix.

    ``where`` is ``"internet"`` (the world's people online: each country's online people,
    `online_people`, spread over its cities by population), ``"population"`` (the world by
    city population) or a mapping from continent codes (EU, SA...) or ISO country codes
    (ES, BR...) to shares; within each key, cities are weighted by their people online.
    """
    table = cities()
    population = table["population"].to_numpy(dtype=float)
    if where == "population":
        return population / population.sum()
    online = online_weights()
    if where == "internet":
        return online / online.sum()
    weights = np.zeros(len(table))
    for key, share in where.items():
        column = "continent" if key in CONTINENTS else "country"
        in_key = (table[column] == key).to_numpy()
        weights += share * np.where(in_key, online, 0.0) / online[in_key].sum()
    return weights / weights.sum()


@cache
def online_weights() -> np.ndarray:
    """Each city's share of its country's people online (`online_people`) times them."""
    table = cities()
    population = table["population"].to_numpy(dtype=float)
    in_cities = table.groupby("country")["population"].transform("sum").to_numpy(dtype=float)
    people = online_people().reindex(table["country"]).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):  # a city of no known country: 0
        return np.nan_to_num(population / in_cities * people)


@cache
def online_people() -> pd.Series:
    """People online per country of the city table (World Bank WDI: population x the share
    using the internet). A country the World Bank does not list (Taiwan, for one) takes the
    people of its cities times its continent's median share (an assumption)."""
    table = cities()
    by_country = table.groupby("country").agg(
        continent=("continent", "first"), in_cities=("population", "sum")
    )
    wdi = internet_users().set_index("iso2")
    share = wdi["internet_share"].reindex(by_country.index)
    typical = share.groupby(by_country["continent"]).median()
    fallback = by_country["continent"].map(typical)
    people = wdi["population"].reindex(by_country.index) * share
    return people.fillna(by_country["in_cities"] * fallback)


def place_users(
    where: str | Mapping[str, float] | pd.DataFrame,
    count: int,
    mobile_share: float,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Draw ``count`` users: lat, lon [deg], country, continent, timezone, access.

    ``where`` is a user mix for :func:`city_weights`, or a table with columns lat, lon,
    weight (a team's own traffic), whose points take the country of their nearest city.
    Each user is on ``mobile`` access with probability ``mobile_share``, else ``broadband``.
    """
    table = cities()
    if isinstance(where, pd.DataFrame):
        weights = where["weight"].to_numpy(dtype=float)
        picked = rng.choice(len(where), size=count, p=weights / weights.sum())
        lat, lon = where["lat"].to_numpy(float), where["lon"].to_numpy(float)
        rows, back = np.unique(picked, return_inverse=True)  # once per point picked, not per row
        city = nearest_city(lat[rows], lon[rows])[back]
        users = pd.DataFrame({"lat": lat[picked], "lon": lon[picked]})
        for column in ("country", "continent", "timezone"):
            users[column] = table[column].to_numpy()[city]
    else:
        picked = rng.choice(len(table), size=count, p=city_weights(where))
        users = table.iloc[picked][["lat", "lon", "country", "continent", "timezone"]]
        users = users.reset_index(drop=True)
    users["access"] = np.where(rng.random(count) < mobile_share, "mobile", "broadband")
    return users


def nearest_city(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Row index in ``cities()`` of the city nearest to each point, as points on the unit
    sphere, where the nearest by straight chord is the nearest by great circle: a k-d tree of
    the cities, or for up to SCANNED_POINTS points a scan of them all (faster than importing
    SciPy and building the tree, so that `globalness rtt` starts quickly; the same squared
    chord, summed in the same order, so both find the same city)."""
    points = unit_vectors(lat, lon)
    if len(points) > SCANNED_POINTS:
        return city_tree().query(points)[1]
    every = city_vectors()
    return np.array([((every - point) ** 2).sum(axis=1).argmin() for point in points], dtype=int)


@cache
def city_vectors() -> np.ndarray:
    table = cities()
    return unit_vectors(table["lat"].to_numpy(float), table["lon"].to_numpy(float))


@cache
def city_tree():
    from scipy.spatial import cKDTree  # only routing a team's own traffic needs it

    return cKDTree(city_vectors())


def unit_vectors(lat, lon) -> np.ndarray:
    """(points, 3): each point given in degrees on the unit sphere."""
    phi, lmb = np.radians(np.asarray(lat, float)), np.radians(np.asarray(lon, float))
    return np.column_stack([np.cos(phi) * np.cos(lmb), np.cos(phi) * np.sin(lmb), np.sin(phi)])


def country_at(lat, lon) -> tuple[np.ndarray, np.ndarray]:
    """Country (ISO alpha-2) and continent of the city nearest each point."""
    table = cities()
    points, back = np.unique(np.column_stack([lat, lon]).astype(float), axis=0, return_inverse=True)
    nearest = nearest_city(points[:, 0], points[:, 1])[back.ravel()]
    return table["country"].to_numpy()[nearest], table["continent"].to_numpy()[nearest]

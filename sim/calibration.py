"""Fit the RTT model to measured round trips, and measure how far off it is.

Measurements use the columns of data/rtt/*.csv: from_lat, from_lon, to_lat, to_lon,
rtt_ms_p50, optionally rtt_ms_reverse (the two directions are averaged) and continent_pair
(the corridor used in error tables; derived from the nearest cities when absent).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import ValidationError

from sim.data import cities, country_access, mlab_medians, mlab_sites
from sim.geo import country_at, haversine_km
from sim.network import FIBRE_KM_PER_MS, floor_rtt_ms, route_km, site_rtt_ms
from sim.network_config import Network, RttModel

CO_LOCATED_KM = 100.0  # closer pairs are regions in one metro: kept out of fits and errors
PLACES = ("from_lat", "from_lon", "to_lat", "to_lon")


def pairs_table(table: pd.DataFrame, measured: bool = True) -> pd.DataFrame:
    """Pairs ready to model: adds gc_km, from/to country, corridor and (if measured) rtt_ms.

    Raises ValueError naming the first bad line or the missing columns.
    """
    needed = [*PLACES, "rtt_ms_p50"] if measured else list(PLACES)
    missing = [column for column in needed if column not in table.columns]
    if missing:
        raise ValueError(f"missing columns {', '.join(missing)}; needs {', '.join(needed)}")
    values = table[needed].apply(pd.to_numeric, errors="coerce")
    bad = values.isna().any(axis=1)
    bad |= ~values[["from_lat", "to_lat"]].abs().le(90).all(axis=1)
    bad |= ~values[["from_lon", "to_lon"]].abs().le(180).all(axis=1)
    if measured:
        bad |= values["rtt_ms_p50"] <= 0
    if bad.any():
        line = int(np.flatnonzero(bad.to_numpy())[0]) + 2
        rule = "lat in [-90, 90], lon in [-180, 180]" + (", rtt_ms_p50 > 0" if measured else "")
        raise ValueError(f"line {line}: every row needs numbers with {rule}")
    pairs = table.copy()
    pairs[needed] = values
    if measured:
        pairs["rtt_ms"] = pairs["rtt_ms_p50"]
        if "rtt_ms_reverse" in pairs:
            pairs["rtt_ms"] = pairs[["rtt_ms_p50", "rtt_ms_reverse"]].mean(axis=1)
    pairs["gc_km"] = haversine_km(
        pairs["from_lat"], pairs["from_lon"], pairs["to_lat"], pairs["to_lon"]
    )
    for end in ("from", "to"):
        country, continent = country_at(pairs[f"{end}_lat"], pairs[f"{end}_lon"])
        pairs[f"{end}_country"], pairs[f"{end}_continent"] = country, continent
    if "continent_pair" not in pairs:
        ends = np.sort(pairs[["from_continent", "to_continent"]].to_numpy(), axis=1)
        pairs["continent_pair"] = [f"{a}-{b}" for a, b in ends]
    return pairs


def backbone_ms(pairs: pd.DataFrame, network: Network) -> np.ndarray:
    """Modelled median backbone RTT [ms] for each measured pair."""
    return site_rtt_ms(
        pairs["from_lat"], pairs["from_lon"], pairs["from_country"],
        pairs["to_lat"], pairs["to_lon"], pairs["to_country"], network,
    )  # fmt: skip


def internet_ms(pairs: pd.DataFrame, network: Network, intercept_ms: float) -> np.ndarray:
    """Modelled median public-internet RTT [ms] between servers (``intercept_ms`` for access)."""
    km = route_km(
        pairs["from_lat"], pairs["from_lon"], pairs["from_country"],
        pairs["to_lat"], pairs["to_lon"], pairs["to_country"], network,
    )  # fmt: skip
    return intercept_ms + network.model.internet_inflation * floor_rtt_ms(km)


def log_error(predicted: np.ndarray, measured: np.ndarray) -> float:
    """Mean absolute log ratio: symmetric, near the mean absolute percentage error when small."""
    return float(np.mean(np.abs(np.log(predicted / measured))))


def fit_backbone(pairs: pd.DataFrame, start: RttModel) -> RttModel:
    """Fit overhead, land and sea inflation to backbone pairs over 100 km apart."""
    from scipy.optimize import minimize  # only a fit needs SciPy: `rtt` starts without it

    far = pairs[pairs["gc_km"] >= CO_LOCATED_KM]
    measured = far["rtt_ms"].to_numpy()

    def loss(x: np.ndarray) -> float:
        overhead, land, sea = x
        try:
            model = start.replace(overhead_ms=overhead, land_inflation=land, sea_inflation=sea)
        except ValidationError:  # constants the model refuses are no fit
            return np.inf
        return log_error(backbone_ms(far, Network(model=model, same_region_rtt_ms=0)), measured)

    x0 = [start.overhead_ms, start.land_inflation, start.sea_inflation]
    best = minimize(loss, x0, method="Nelder-Mead", options={"xatol": 1e-3, "fatol": 1e-6})
    overhead, land, sea = (round(float(v), 4) for v in best.x)
    return start.replace(overhead_ms=overhead, land_inflation=land, sea_inflation=sea)


def fit_internet(pairs: pd.DataFrame, start: RttModel) -> tuple[RttModel, float]:
    """Fit the internet inflation (and the servers' intercept [ms]) to public-internet pairs."""
    from scipy.optimize import minimize

    far = pairs[pairs["gc_km"] >= CO_LOCATED_KM]
    measured = far["rtt_ms"].to_numpy()
    km = route_km(
        far["from_lat"], far["from_lon"], far["from_country"],
        far["to_lat"], far["to_lon"], far["to_country"], Network(model=start),
    )  # fmt: skip

    def loss(x: np.ndarray) -> float:
        intercept, inflation = x
        if intercept < 0 or inflation < 1:
            return np.inf
        return log_error(intercept + inflation * 2 * km / FIBRE_KM_PER_MS, measured)

    best = minimize(loss, [5.0, 1.2], method="Nelder-Mead", options={"xatol": 1e-4, "fatol": 1e-7})
    intercept, inflation = (round(float(v), 4) for v in best.x)
    return start.replace(internet_inflation=inflation), intercept


def error_table(pairs: pd.DataFrame, predicted: np.ndarray) -> pd.DataFrame:
    """Median and p90 absolute percentage error [%] per corridor, then over all pairs."""
    far = pairs["gc_km"].to_numpy() >= CO_LOCATED_KM
    errors = pd.DataFrame(
        {
            "corridor": pairs["continent_pair"].to_numpy()[far],
            "ape": 100 * np.abs(predicted[far] / pairs["rtt_ms"].to_numpy()[far] - 1),
        }
    )

    def summarise(group: pd.Series) -> pd.Series:
        return pd.Series(
            {"pairs": len(group), "mdape_pct": group.median(), "p90_ape_pct": group.quantile(0.9)}
        )

    table = errors.groupby("corridor")["ape"].apply(summarise).unstack()
    table.loc["all"] = summarise(errors["ape"])
    table["pairs"] = table["pairs"].astype(int)
    return table.round(1)


MLAB_MIN_TESTS = 1000  # fewer tests in a month: the country takes its continent's access


def mlab_path_ms(network: Network, period: str) -> pd.Series:
    """Per country, the public-internet path [ms] (no access network) from its people to
    the nearest M-Lab server in production in ``period`` (2024-10 or 2025-10): over each
    city the shortest route to its three nearest sites by great circle, inflated like any
    user's path; the median over the country's cities weighted by population."""
    table, sites = cities(), mlab_sites()
    active = sites[
        (sites[f"active_{period.replace('-', '_')}"] == 1) & (sites["testing_site"] == 0)
    ]
    lat, lon = table["lat"].to_numpy(), table["lon"].to_numpy()
    site_lat, site_lon = active["lat"].to_numpy(float), active["lon"].to_numpy(float)
    nearest = np.argsort(haversine_km(lat[:, None], lon[:, None], site_lat, site_lon), axis=1)
    best = np.full(len(table), np.inf)
    for j in range(3):
        site = active.iloc[nearest[:, j]]
        km = route_km(lat, lon, table["country"].to_numpy(), site_lat[nearest[:, j]],
                      site_lon[nearest[:, j]], site["country"].to_numpy(), network)  # fmt: skip
        best = np.minimum(best, km)
    path_ms = pd.Series(network.model.internet_inflation * floor_rtt_ms(best), index=table.index)
    return weighted_medians(path_ms, table["population"], table["country"])


def access_by_country(network: Network, period: str = "2024-10") -> pd.DataFrame:
    """Each country's broadband access [ms] (country, continent, access_ms, tests, basis):
    M-Lab's median minimum RTT of its users' tests in ``period`` minus the model's path to
    the servers they reached (`mlab_path_ms`), at least 1 ms; a country with fewer than
    MLAB_MIN_TESTS tests (or none) takes its continent's median, weighted by tests."""
    table = cities()
    continent = table.groupby("country")["continent"].first()
    measured = mlab_medians()
    month = measured[measured["period"] == period].set_index("country")
    path = mlab_path_ms(network, period)
    own = (month["minrtt_ms_p50"] - path.reindex(month.index)).clip(lower=1.0).dropna()
    tests = month["tests"].reindex(own.index)
    frame = pd.DataFrame({"continent": continent.reindex(own.index), "access_ms": own,
                          "tests": tests}).dropna(subset=["continent"])  # fmt: skip
    enough = frame[frame["tests"] >= MLAB_MIN_TESTS]
    by_continent = weighted_medians(enough["access_ms"], enough["tests"], enough["continent"])
    rows = []
    for country, code in continent.items():
        if country in enough.index:
            row = enough.loc[country]
            rows.append((country, code, round(float(row["access_ms"]), 1), int(row["tests"]),
                         f"M-Lab {period} median"))  # fmt: skip
        else:
            tested = int(frame["tests"].get(country, 0))
            rows.append((country, code, round(by_continent[code], 1), tested,
                         f"{code} median (under {MLAB_MIN_TESTS:,} tests)"))  # fmt: skip
    return pd.DataFrame(rows, columns=["country", "continent", "access_ms", "tests", "basis"])


def weighted_medians(values: pd.Series, weights: pd.Series, key: pd.Series) -> pd.Series:
    """Per value of ``key``, the weighted median of ``values``: the first value, in order,
    at which the cumulative weight reaches half the key's total."""
    frame = pd.DataFrame({"key": key, "value": values, "weight": weights})
    frame = frame.loc[frame["value"].sort_values(kind="stable").index]
    by_key = frame.groupby("key")["weight"]
    reached = by_key.cumsum() >= by_key.transform("sum") / 2
    return frame[reached].groupby("key")["value"].first()


def mlab_errors(network: Network, period: str = "2025-10", min_tests: int = 10_000):
    """The model against M-Lab in ``period``, per country with ``min_tests`` tests or more:
    country, continent, tests, measured and predicted median [ms] (the packaged access plus
    the path to that month's servers) and the error (predicted / measured - 1), for both the
    country access and the global constant."""
    measured = mlab_medians()
    month = measured[(measured["period"] == period) & (measured["tests"] >= min_tests)]
    month = month.set_index("country")
    path = mlab_path_ms(network, period).reindex(month.index)
    access = country_access().reindex(month.index)
    table = pd.DataFrame({
        "continent": access["continent"], "tests": month["tests"],
        "measured_ms": month["minrtt_ms_p50"], "predicted_ms": access["access_ms"] + path,
        "global_ms": network.broadband_access_ms + path,
    }).dropna()  # fmt: skip
    table["error"] = table["predicted_ms"] / table["measured_ms"] - 1
    table["global_error"] = table["global_ms"] / table["measured_ms"] - 1
    return table

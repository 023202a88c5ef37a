"""The database catalogue: the products a Fly app can buy, where each runs, its plans, and
what a read replica in another region costs, as data/database_*.csv give them (sources and
dates in data/README.md). Nothing here simulates; it answers what can be bought, and where.

A *site* is where a database can run: a Fly region code (`lhr`) for the products that run on
Fly (Managed Postgres, Postgres on Machines, LiteFS), or a provider's region
(`neon:aws-eu-central-1`) for the external ones.
"""

from __future__ import annotations

import pandas as pd

from sim.data import (
    database_plans,
    database_products,
    database_replica_prices,
    database_sites,
    regions,
)
from sim.geo import haversine_km

LOCAL = "local"  # reads from the Machine's own SQLite file (LiteFS, Turso's embedded replica)
ON_FLY = "fly"  # the provider of the products that run on Fly Machines
REPLICA_KINDS = {  # the catalogue's `replicas`: read copies outside the primary's region
    "none": "none outside the primary's region",
    "machines": "a Machine and a volume in any Fly region",
    "every-machine": "a copy on every app Machine's volume",
    "embedded": "an embedded replica in each app Machine",
    "provider-regions": "in the provider's regions, priced per replica",
}


def product(code: str) -> pd.Series:
    """The catalogue's row of a product (``fly-mpg``, ``neon``...)."""
    return database_products().loc[code]


def on_fly(code: str) -> bool:
    """Whether the product runs on Fly Machines (its sites are Fly region codes)."""
    return product(code)["provider"] == ON_FLY


def with_replicas() -> list[str]:
    """The products that sell read copies outside the primary's region."""
    table = database_products()
    return list(table.index[table["replicas"] != "none"])


def product_of_provider(provider: str) -> str:
    """The product a provider's region implies when none is named (PlanetScale: Postgres)."""
    table = database_products()
    return str(table.index[table["provider"] == provider][0])


def plans_of(code: str) -> pd.DataFrame:
    return database_plans()[database_plans()["product"] == code]


def sites_of(code: str) -> list[str]:
    """Where a product can run: Fly region codes (on Machines: every region the app can run
    in, the deprecated ones with the app, as sim.checks warns), or the provider's active
    regions."""
    row = product(code)
    if row["provider"] == ON_FLY:
        return list(regions().index) if row["fly_regions"] == "any" else row["fly_regions"].split()
    sites = database_sites()
    return list(sites.index[(sites["provider"] == row["provider"]) & (sites["status"] == "active")])


def location(site: str) -> tuple[float, float]:
    """Latitude and longitude [deg] of a Fly region or a database site."""
    table = regions() if site in regions().index else database_sites()
    return float(table.at[site, "lat"]), float(table.at[site, "lon"])


def nearest_site(code: str, near: str) -> tuple[str, float]:
    """The site of product ``code`` nearest to the site ``near`` by great circle, and its
    distance [km]."""
    lat, lon = location(near)
    candidates = sites_of(code)
    places = [location(site) for site in candidates]
    km = haversine_km(lat, lon, [p[0] for p in places], [p[1] for p in places])
    best = int(km.argmin())
    return candidates[best], float(km[best])


def default_plan(code: str, replicas: bool) -> str:
    """The plan a product gets when none is named: the catalogue's default, or, when read
    replicas are asked for and it allows none, the cheapest of the product's plans that does."""
    plan = str(product(code)["default_plan"])
    if replicas and database_plans().at[plan, "max_replicas"] == 0:
        plans = plans_of(code)
        able = plans[plans["max_replicas"].fillna(1) > 0]
        if len(able):
            return str(able["usd_month"].idxmin())
    return plan


def replica_price(plan: str, site: str) -> pd.Series | None:
    """What one read replica of ``plan`` at ``site`` costs (usd_month, storage_factor,
    min_storage_gb, storage_usd_gb_month), or None when the provider publishes no price."""
    table = database_replica_prices()
    rows = table[(table["plan"] == plan) & table["site"].isin([site, "*"])]
    if rows.empty:
        return None
    return rows.sort_values("site", key=lambda s: s == "*").iloc[0]


def describe_site(site: str) -> str:
    """A site as people say it: `lhr` or `neon:aws-eu-central-1 (Frankfurt)`."""
    if site in database_sites().index:
        return f"{site} ({database_sites().at[site, 'city']})"
    return site

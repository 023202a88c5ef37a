"""What Fly.io lists: a Machine's monthly price in a region, a GB of private transfer out of
a region, a GB-month of volume. Prices come from dated data files (data/README.md); a month is
Fly's 30-day billing month."""

from __future__ import annotations

from functools import cache

from sim.data import egress_prices, machine_prices, rates, regions

SECONDS_PER_MONTH = 30 * 24 * 3600  # Fly.io prices a month as 30 days (fly.io/docs/about/pricing)
BYTES_PER_GB = 1e9


@cache
def machine_usd_month(vm: str, memory_mb: int | None, region: str) -> float:
    """Price of one Machine started all month [USD] in a region.

    The preset's listed price when its RAM is a listed size, else the smallest listed size
    plus extra RAM at the listed $/GB-month; times the region's price multiplier.
    """
    presets = machine_prices()
    rows = presets[presets["preset"] == vm]
    smallest = rows.loc[rows["memory_mb"].idxmin()]
    memory_mb = memory_mb or int(smallest["memory_mb"])
    listed = rows[rows["memory_mb"] == memory_mb]
    if len(listed):
        iad_usd = float(listed["usd_per_second"].iloc[0]) * SECONDS_PER_MONTH
    else:
        extra_gb = max(0, memory_mb - int(smallest["memory_mb"])) / 1024
        iad_usd = (
            float(smallest["usd_per_second"]) * SECONDS_PER_MONTH
            + extra_gb * rates()["extra_ram_gb_month"]
        )
    return iad_usd * float(regions().at[region, "price_multiplier"])


def private_usd_per_gb(region: str) -> float:
    """Fly's price of a GB that leaves ``region`` over the private network to another region
    (the rate of the region's egress group; the same region is free)."""
    return float(egress_prices().at[regions().at[region, "egress_group"], "private_usd_per_gb"])


def volume_usd_gb_month() -> float:
    return float(rates()["volume_gb_month"])

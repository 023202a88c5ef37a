"""Monthly cost of running the app in a region set: compute, egress and IPv4.

Prices come from dated data files (data/README.md); a month is Fly's 30-day billing month.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.data import egress_prices, machine_prices, rates, regions

SECONDS_PER_MONTH = 30 * 24 * 3600  # Fly.io prices a month as 30 days (fly.io/docs/about/pricing)
BYTES_PER_GB = 1e9


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


def compute_usd_month(vm: str, memory_mb: int | None, machines: dict[str, float]) -> float:
    """Compute [USD/month]: ``machines`` maps region code to Machines started on average
    (Machine count x share of the time started; Fly bills per second while started)."""
    return sum(count * machine_usd_month(vm, memory_mb, code) for code, count in machines.items())


def egress_usd_month(
    edge: np.ndarray, served: np.ndarray, requests_per_month: float, response_kb: float
) -> float:
    """Data transfer [USD/month] for responses, from the share of requests on each path.

    Each response leaves to the internet at its edge (public rate of the edge's group); when
    the serving region is not the edge's, it first crosses the private network (private rate
    of the serving region's group). ``edge`` and ``served`` hold one region code per sampled
    request.
    """
    if len(edge) == 0:
        return 0.0
    table, prices = regions(), egress_prices()
    gb_per_request = response_kb * 1000 / BYTES_PER_GB
    edge = np.asarray(edge, dtype=object)
    served = np.asarray(served, dtype=object)
    public = prices.loc[table.loc[edge, "egress_group"], "public_usd_per_gb"].to_numpy()
    private = prices.loc[table.loc[served, "egress_group"], "private_usd_per_gb"].to_numpy()
    usd_per_request = gb_per_request * (public + np.where(edge != served, private, 0.0))
    return float(usd_per_request.mean() * requests_per_month)


def monthly_cost(
    vm: str,
    memory_mb: int | None,
    machines: dict[str, float],
    dedicated_ipv4: bool,
    edge: np.ndarray,
    served: np.ndarray,
    rate_rps: float,
    response_kb: float,
) -> pd.Series:
    """Itemised monthly bill [USD]: compute, egress, IPv4 and their sum ``monthly_cost_usd``."""
    items = pd.Series(
        {
            "compute_usd_month": compute_usd_month(vm, memory_mb, machines),
            "egress_usd_month": egress_usd_month(
                edge, served, rate_rps * SECONDS_PER_MONTH, response_kb
            ),
            "ipv4_usd_month": rates()["dedicated_ipv4_month"] if dedicated_ipv4 else 0.0,
        }
    )
    items["monthly_cost_usd"] = items.sum()
    return items

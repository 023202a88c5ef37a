"""Monthly cost of a region set on Fly.io, or of an alternative host: compute, storage, egress,
database and IPv4.

Prices come from dated data files (data/README.md); a month is Fly's 30-day billing month.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from sim.data import (
    alternative_plans,
    database_plans,
    egress_prices,
    machine_prices,
    rates,
    regions,
)
from sim.scenario import Scenario

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
    request (arrays, or categorical columns of the request log).
    """
    if len(edge) == 0:
        return 0.0
    table, prices = regions(), egress_prices()
    gb_per_request = response_kb * 1000 / BYTES_PER_GB
    edge, served = pd.Categorical(edge), pd.Categorical(served)  # the paths, counted by code
    width = len(served.categories)
    counts = np.bincount(edge.codes.astype(np.intp) * width + served.codes)
    paths = np.flatnonzero(counts)
    share = counts[paths] / len(edge)
    edge = edge.categories[paths // width].to_numpy()
    served = served.categories[paths % width].to_numpy()
    public = prices.loc[table.loc[edge, "egress_group"], "public_usd_per_gb"].to_numpy()
    private = prices.loc[table.loc[served, "egress_group"], "private_usd_per_gb"].to_numpy()
    usd_per_request = gb_per_request * (public + np.where(edge != served, private, 0.0))
    return float((usd_per_request * share).sum() * requests_per_month)


def storage_usd_month(machines: pd.DataFrame, rootfs_gb: float, volume_gb: float) -> float:
    """Storage [USD/month]: each Machine's rootfs while stopped or suspended (its share of the
    run not started), and a volume per Machine, billed whether it runs or not."""
    if machines.empty:
        return 0.0
    stopped = (1 - machines["running_s"] / machines["duration_s"]).clip(0, 1).sum()
    price = rates()
    return float(
        stopped * rootfs_gb * price["rootfs_gb_month"]
        + len(machines) * volume_gb * price["volume_gb_month"]
    )


def database_usd_month(
    plan: str, storage_gb: float, replicas: int, replica_usd_month: float | None
) -> float:
    """The database plan [USD/month]: its price, storage above what it includes, and each read
    replica (the plan's price and storage again unless ``replica_usd_month`` is given)."""
    row = database_plans().loc[plan]
    one = (
        row["usd_month"]
        + max(0.0, storage_gb - row["included_storage_gb"]) * row["storage_usd_gb_month"]
    )
    return float(one + replicas * (one if replica_usd_month is None else replica_usd_month))


def database_traffic_usd_month(
    cross_region_queries_per_month: float,
    query_kb: float,
    writes_per_month: float,
    replicas: int,
    replication_kb_per_write: float,
    db_region: str,
) -> float:
    """Private-network transfer [USD/month] out of the database's region: query results to
    Machines in other regions, and each write's log to every replica. Fly bills cross-region
    private traffic (fly.md 2.5); a managed database outside Fly bills its own transfer."""
    if db_region not in regions().index:
        return 0.0
    group = regions().at[db_region, "egress_group"]
    gb = (
        (
            cross_region_queries_per_month * query_kb
            + writes_per_month * replicas * replication_kb_per_write
        )
        * 1000
        / BYTES_PER_GB
    )
    return float(gb * egress_prices().at[group, "private_usd_per_gb"])


def fly_bill(
    scenario: Scenario, region_set: tuple[str, ...], ok: pd.DataFrame, machines: pd.DataFrame
) -> pd.Series:
    """Itemised monthly bill [USD] of a region set on Fly.io, from its ok requests (a sample of
    the month's traffic) and its Machines' running time."""
    app, database, workload = scenario.app, scenario.database, scenario.workload
    per_month = workload.rate_rps * SECONDS_PER_MONTH
    started = (machines["running_s"] / machines["duration_s"]).groupby(machines["region"]).sum()
    db_region = scenario.database_region
    replicas = scenario.replicas_in(region_set) - {db_region}
    served = ok["served_region"]
    places, at = served.cat.categories.to_numpy(), served.cat.codes.to_numpy()
    write = (ok["kind"] == "write").to_numpy()
    crosses = (places != db_region)[at] & (write | ~np.isin(places, list(replicas))[at])
    queries = np.where(write, database.queries_per_write, database.queries_per_read)
    items = {
        "compute_usd_month": compute_usd_month(app.vm, app.memory_mb, started.to_dict()),
        "storage_usd_month": storage_usd_month(machines, app.rootfs_gb, app.volume_gb),
        "egress_usd_month": egress_usd_month(ok["edge"], served, per_month, workload.response_kb)
        + database_traffic_usd_month(
            per_month * float((queries * crosses).mean()) if len(ok) else 0.0,
            database.query_kb,
            per_month * workload.write_share,
            len(replicas),
            database.replication_kb_per_write,
            db_region,
        ),
        "database_usd_month": database_usd_month(
            database.plan_or_default, database.storage_gb, len(replicas), database.replica_usd_month
        ),
        "ipv4_usd_month": rates()["dedicated_ipv4_month"] if app.dedicated_ipv4 else 0.0,
    }
    return with_total(items)


def alternative_plan(site: str, memory_mb: int) -> pd.Series:
    """The cheapest plan of an alternative host at ``site`` with at least ``memory_mb`` (its
    largest plan when none has enough)."""
    provider, code = site.split(":", 1)
    plans = alternative_plans()
    offered_here = plans["sites"].str.split().map(lambda codes: code in codes)
    here = plans[(plans["provider"] == provider) & offered_here]
    fits = here[here["ram_gb"] * 1024 >= memory_mb]
    return (fits if len(fits) else here.nlargest(1, "ram_gb")).sort_values("usd_month").iloc[0]


def alternative_bill(scenario: Scenario, site: str) -> pd.Series:
    """Itemised monthly bill [USD] of one always-on server at an alternative host: its plan
    and account fee, response egress above what the plan includes, and a managed database
    when the scenario's database is outside Fly (a Fly database runs beside the app, on the
    same server, at no extra price: assumption)."""
    app, database, workload = scenario.app, scenario.database, scenario.workload
    plan = alternative_plan(site, app.ram_mb)
    egress_gb = workload.rate_rps * SECONDS_PER_MONTH * workload.response_kb * 1000 / BYTES_PER_GB
    items = {
        "compute_usd_month": float(plan["usd_month"] + plan["fee_usd_month"]),
        "storage_usd_month": 0.0,
        "egress_usd_month": max(0.0, egress_gb - plan["included_egress_gb"])
        * plan["egress_usd_gb"],
        "database_usd_month": database_usd_month(
            database.plan_or_default, database.storage_gb, 0, None
        )
        if database.provider != "fly-mpg"
        else 0.0,
        "ipv4_usd_month": 0.0,
    }
    return with_total(items)


def with_total(items: dict[str, float]) -> pd.Series:
    bill = pd.Series(items, dtype=float)
    bill["monthly_cost_usd"] = bill.sum()
    return bill

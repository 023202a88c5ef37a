"""Monthly cost of a region set on Fly.io, or of an alternative host: compute, storage, egress,
the database's compute, storage and transfer, and IPv4.

Prices come from dated data files (data/README.md); a month is Fly's 30-day billing month.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.data import egress_prices, rates, regions
from sim.database_cost import ITEMS, database_bill, use_of
from sim.databases import on_fly
from sim.deployment import alternative_plan, deployment
from sim.fly_prices import BYTES_PER_GB, SECONDS_PER_MONTH, machine_usd_month
from sim.scenario import Scenario


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


def fly_bill(scenario: Scenario, name: str, ok: pd.DataFrame, machines: pd.DataFrame) -> pd.Series:
    """Itemised monthly bill [USD] of region-set candidate ``name`` on Fly.io, from its ok
    requests (a sample of the month's traffic) and its Machines' running time; its database
    as its product prices it (sim.database_cost)."""
    app, workload = scenario.app, scenario.workload
    database = scenario.database_of(name)
    per_month = workload.rate_rps * SECONDS_PER_MONTH
    started = (machines["running_s"] / machines["duration_s"]).groupby(machines["region"]).sum()
    layout = scenario.layout(name)
    counts = machines["region"].value_counts().to_dict() if len(machines) else {}
    use = use_of(ok, layout, database, per_month, counts)
    items = {
        "compute_usd_month": compute_usd_month(app.vm, app.memory_mb, started.to_dict()),
        "storage_usd_month": storage_usd_month(machines, app.rootfs_gb, app.volume_gb),
        "egress_usd_month": egress_usd_month(
            ok["edge"], ok["served_region"], per_month, workload.response_kb
        ),
        **database_bill(database, layout, use),
        "ipv4_usd_month": rates()["dedicated_ipv4_month"] if app.dedicated_ipv4 else 0.0,
    }
    return with_total(items)


def alternative_bill(scenario: Scenario, site: str, ok: pd.DataFrame) -> pd.Series:
    """Itemised monthly bill [USD] of one always-on server at an alternative host: its plan
    and account fee, response egress above what the plan includes, and the database: none
    when it runs on the server (a Fly product's software on the box: assumption), else the
    external product's bill with every query from the server."""
    app, workload = scenario.app, scenario.workload
    plan = alternative_plan(site, app.ram_mb)
    per_month = workload.rate_rps * SECONDS_PER_MONTH
    egress_gb = per_month * workload.response_kb * 1000 / BYTES_PER_GB
    database = scenario.database_of(site)
    deployed = deployment(scenario, site)
    database_items = dict.fromkeys(ITEMS, 0.0)
    if not on_fly(database.product_code):
        use = use_of(ok, deployed.layout, database, per_month, {site: 1})
        database_items = database_bill(database, deployed.layout, use)
    items = {
        "compute_usd_month": float(plan["usd_month"] + plan["fee_usd_month"]),
        "storage_usd_month": 0.0,
        "egress_usd_month": max(0.0, egress_gb - plan["included_egress_gb"])
        * plan["egress_usd_gb"],
        **database_items,
        "ipv4_usd_month": 0.0,
    }
    return with_total(items)


def with_total(items: dict[str, float]) -> pd.Series:
    bill = pd.Series(items, dtype=float)
    bill["monthly_cost_usd"] = bill.sum()
    return bill

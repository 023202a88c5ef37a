"""The monthly bill of a database as its product prices it: compute, storage and transfer.

A month of the app's traffic (`Use`, from a region set's ok requests) meets the catalogue's
prices (sim.databases, data/README.md): Fly Managed Postgres by plan and provisioned GB;
Postgres on Fly Machines as its Machines and volumes; LiteFS as a volume per app Machine and
its replication traffic; Neon by CU-hours while active; Supabase, PlanetScale and Turso by
plan, replica and allowance. Fly's private network bills a GB that leaves a region for
another; an external provider bills what leaves it beyond its allowance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.data import database_plans, database_sites, regions
from sim.database_config import NEON_HOURS_PER_MONTH, NEON_SUSPEND_S, Database, Layout
from sim.databases import LOCAL, on_fly, replica_price
from sim.fly_prices import (
    BYTES_PER_GB,
    machine_usd_month,
    private_usd_per_gb,
    volume_usd_gb_month,
)

ITEMS = ("database_compute_usd_month", "database_storage_usd_month", "database_transfer_usd_month")


@dataclass(frozen=True)
class Use:
    """What a month of traffic asks of the database: queries per month from each region to
    each site, by kind (LOCAL: the Machine's own copy), writes per month, the app's Machines
    per region, and the share of the time some query came in the last 5 minutes."""

    queries: dict[tuple[str, str, str], float]  # (from region, to site, kind) -> per month
    writes: float
    machines: dict[str, int]
    active_share: float


def use_of(
    ok: pd.DataFrame,
    layout: Layout,
    database: Database,
    per_month: float,
    machines: dict[str, int],
) -> Use:
    """A month of the database's use from a sample of ok requests (rows of the request log:
    kind, served_region, t_s), scaled to ``per_month`` requests: writes query the primary,
    reads the site of their region in ``layout``."""
    queries: dict[tuple[str, str, str], float] = {}
    if len(ok):
        write = (ok["kind"] == "write").to_numpy()
        served = ok["served_region"].astype(str).to_numpy()
        count = np.where(write, database.queries_per_write, database.queries_per_read)
        read_site = dict(zip(layout.regions, layout.reads, strict=True))
        frame = pd.DataFrame(
            {
                "from": served,
                "to": np.where(write, layout.primary, pd.Series(served).map(read_site)),
                "kind": np.where(write, "write", "read"),
                "queries": count * per_month / len(ok),
            }
        )
        queries = frame.groupby(["from", "to", "kind"])["queries"].sum().to_dict()
    writes = per_month * float((ok["kind"] == "write").mean()) if len(ok) else 0.0
    return Use(queries, writes, machines, active_share(ok, database))


def active_share(ok: pd.DataFrame, database: Database) -> float:
    """The share of the run when the compute was active: some query came within the last
    NEON_SUSPEND_S (Neon suspends after 5 minutes idle); 1 when it never suspends."""
    if not database.suspends:
        return 1.0
    kinds = ok["kind"].to_numpy()
    queried = np.where(kinds == "write", database.queries_per_write, database.queries_per_read) > 0
    t_s = np.sort(ok["t_s"].to_numpy()[queried])
    if len(t_s) < 2 or t_s[-1] == t_s[0]:
        return 1.0
    return float(np.minimum(np.diff(t_s), NEON_SUSPEND_S).sum() / (t_s[-1] - t_s[0]))


def database_bill(database: Database, layout: Layout, use: Use) -> dict[str, float]:
    """The database's compute, storage and transfer [USD/month] (ITEMS)."""
    plan = database_plans().loc[layout.plan]
    kind = layout.product
    bill = dict.fromkeys(ITEMS, 0.0)
    if kind == "fly-postgres":
        members = [layout.primary] * int(plan["members"]) + list(layout.replicas)
        vm, memory = database.machine_vm, database.machine_memory_mb
        bill[ITEMS[0]] = sum(machine_usd_month(vm, memory, region) for region in members)
        volume_gb = max(database.storage_gb, float(plan["volume_gb"]))
        bill[ITEMS[1]] = len(members) * volume_gb * volume_usd_gb_month()
    elif kind == "litefs":
        bill[ITEMS[1]] = sum(use.machines.values()) * database.storage_gb * volume_usd_gb_month()
    else:
        bill[ITEMS[0]] = compute_usd_month(plan, use)
        bill[ITEMS[1]] = overage(database.storage_gb, plan, "storage")
        for site in layout.replicas:
            price = replica_price(layout.plan, site)
            gb = price["storage_factor"] * max(database.storage_gb, price["min_storage_gb"])
            bill[ITEMS[0]] += float(price["usd_month"])
            bill[ITEMS[1]] += gb * float(price["storage_usd_gb_month"])
    if kind == "turso":
        embedded = sum(n for region, n in use.machines.items() if embedded_in(layout, region))
        bill[ITEMS[1]] += embedded * database.storage_gb * volume_usd_gb_month()
        bill[ITEMS[0]] += turso_rows_usd_month(plan, database, use, layout)
        sync_gb = use.writes * database.replication_kb_per_write * 1000 * embedded / BYTES_PER_GB
        bill[ITEMS[2]] += max(0.0, sync_gb - plan["included_sync_gb"]) * plan["sync_usd_gb"]
    bill[ITEMS[2]] += transfer_usd_month(database, layout, use)
    return {item: float(value) for item, value in bill.items()}


def compute_usd_month(plan: pd.Series, use: Use) -> float:
    """A plan's own price: Neon's compute units for the hours active (the Free plan's
    allowance is free), any other's monthly fee."""
    if pd.isna(plan["cu"]):
        return float(plan["usd_month"])
    hours = plan["cu"] * NEON_HOURS_PER_MONTH * use.active_share
    return float(max(0.0, hours - np.nan_to_num(plan["included_cu_hours"])) * plan["usd_cu_hour"])


def overage(amount: float, plan: pd.Series, what: str) -> float:
    """What ``amount`` of storage (GB) costs above the plan's allowance."""
    extra = max(0.0, amount - np.nan_to_num(plan[f"included_{what}_gb"]))
    return float(extra * np.nan_to_num(plan[f"{what}_usd_gb_month"]))


def embedded_in(layout: Layout, region: str) -> bool:
    """Whether the app's Machines in ``region`` keep an embedded copy (Turso)."""
    return dict(zip(layout.regions, layout.reads, strict=True)).get(region) == LOCAL


def turso_rows_usd_month(plan: pd.Series, database: Database, use: Use, layout: Layout) -> float:
    """Turso's row billing beyond the plan [USD/month]: rows read at the primary (embedded
    copies read for free) and rows written, `rows_per_query` a query."""
    rows = {"read": 0.0, "write": 0.0}
    for (_, site, kind), count in use.queries.items():
        if site == layout.primary:
            rows[kind] += count * database.rows_per_query / 1e6
    extra_read = max(0.0, rows["read"] - plan["included_rows_read_millions"])
    extra_written = max(0.0, rows["write"] - plan["included_rows_written_millions"])
    return float(
        extra_read * plan["rows_read_usd_per_million"]
        + extra_written * plan["rows_written_usd_per_million"]
    )


def transfer_usd_month(database: Database, layout: Layout, use: Use) -> float:
    """Query results and replication that leave where the data is. On Fly (Managed Postgres,
    Postgres on Machines, LiteFS): each GB from one region to another at Fly's private rate
    of the region it leaves (the same region is free). An external provider: every GB it
    sends beyond its allowance, at its rate (PlanetScale's by region); Fly does not bill
    what comes in."""
    kb = database.query_kb
    if on_fly(layout.product):
        usd = sum(
            q * kb * 1000 / BYTES_PER_GB * private_usd_per_gb(site)
            for (source, site, _), q in use.queries.items()
            if site not in (LOCAL, source) and site in regions().index
        )
        copies = len(layout.replicas)
        if layout.product == "litefs":  # every Machine outside the primary's region
            copies = sum(n for region, n in use.machines.items() if region != layout.primary)
        wal_gb = use.writes * database.replication_kb_per_write * 1000 / BYTES_PER_GB
        return float(usd + wal_gb * copies * private_usd_per_gb(layout.primary))
    plan = database_plans().loc[layout.plan]
    gb = (
        sum(q for (_, site, _), q in use.queries.items() if site != LOCAL) * kb * 1e3 / BYTES_PER_GB
    )
    rate = plan["egress_usd_gb"]
    regional = database_sites()["egress_usd_gb"].get(layout.primary, np.nan)
    if pd.notna(regional):
        rate = regional
    extra = max(0.0, gb - np.nan_to_num(plan["included_egress_gb"]))
    return float(extra * np.nan_to_num(rate))  # no published rate: not billed

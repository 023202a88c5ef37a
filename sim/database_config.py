"""The `database` section of a scenario: a product of the catalogue (sim.databases), placed
and sized as it is sold, and the layout it takes in each region set (`Layout`).

A scenario can only describe a database that can be bought: Managed Postgres in its 12
regions, read replicas only where the product sells them, a plan of the product it names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import pandas as pd
from pydantic import Field, ValidationInfo, field_validator, model_validator

from sim.app_config import check_memory, machine_preset, ram_mb
from sim.checks import did_you_mean, region_code
from sim.data import database_plans, database_sites
from sim.databases import (
    LOCAL,
    default_plan,
    describe_site,
    nearest_site,
    on_fly,
    plans_of,
    product,
    product_of_provider,
    replica_price,
    sites_of,
    with_replicas,
)
from sim.fields import Kilobytes, Megabytes, NonNegativeMs, Seconds, Strict
from sim.fly_prices import SECONDS_PER_MONTH

Product = Literal[
    "fly-mpg", "fly-postgres", "litefs", "neon", "supabase", "planetscale", "planetscale-vitess",
    "turso",
]  # fmt: skip
NEON_HOURS_PER_MONTH = 730  # Neon bills per calendar month: 8,760 h / 12
NEON_SUSPEND_S = 300  # Neon suspends a compute after 5 minutes without queries
SHARED_WITH_THE_RUN = ("queries_per_read", "queries_per_write", "query_ms", "read_your_writes_s")


class Database(Strict):
    """The app's database: a product, where its primary runs, its plan and read replicas."""

    product: Product | None = Field(
        None,
        description="what the app uses (`globalness databases` lists them): `fly-mpg` (Fly "
        "Managed Postgres), `fly-postgres` (Postgres on Fly Machines, unmanaged), `litefs` "
        "(SQLite on each Machine), `neon`, `supabase`, `planetscale` (Postgres), "
        "`planetscale-vitess` (MySQL), `turso`; unset: the plan's or the region's product, "
        "else `fly-mpg`",
    )
    region: str | None = Field(
        None,
        description="where the primary runs: a Fly region (Fly products), or the provider's "
        "region such as `neon:aws-eu-central-1`; unset: app.primary_region, or the product's "
        "region nearest to it (with a warning) where the product does not run there",
    )
    plan: str | None = Field(
        None,
        description="a plan of the product (`globalness databases PRODUCT` lists them), e.g. "
        "`fly-mpg:basic`, `fly-postgres:production`, `neon:launch-0.25cu`, "
        "`supabase:pro-small`; unset: the product's default plan",
    )
    replicas: Literal["all"] | list[str] = Field(
        default_factory=list,
        description="regions of the set whose reads get a copy of the data, or `all`; only for "
        "products that sell copies outside the primary's region: a replica Machine "
        "(fly-postgres), a replica in the provider's region nearest to it (supabase, "
        "planetscale-vitess), an embedded replica in each Machine (turso); litefs keeps a copy "
        "on every Machine whatever this says",
    )
    queries_per_read: int = Field(2, ge=0, le=1000, description="database round trips per read")
    queries_per_write: int = Field(3, ge=0, le=1000, description="database round trips per write")
    query_ms: NonNegativeMs = Field(
        1.0, description="mean database time per query [ms] (assumption)"
    )
    connections: int = Field(20, ge=1, le=100_000, description="queries the primary serves at once")
    pooling: bool = Field(
        True,
        description="the app keeps a pool of database connections; false: each request opens "
        "one and pays `connect_rtts` round trips first",
    )
    connect_rtts: int = Field(
        6, ge=0, le=100,
        description="round trips to open a connection: TCP 1, SSLRequest 1, TLS 1.3 1, startup "
        "and SCRAM 3",
    )  # fmt: skip
    replication_lag_ms: NonNegativeMs = Field(
        0.0, description="how far replicas trail the primary [ms] (assumption)"
    )
    read_your_writes_s: Seconds = Field(
        0.0, ge=0, le=86_400,
        description="after a write, replay that user's reads to the primary for this long [s]; "
        "0 = off",
    )  # fmt: skip
    vm: str | None = Field(
        None, description="fly-postgres: the preset of its Machines; unset: the plan's"
    )
    memory_mb: Megabytes | None = Field(
        None, ge=256, le=131072,
        description="fly-postgres: its Machines' RAM [MB]; unset: the plan's",
    )  # fmt: skip
    scale_to_zero: bool | None = Field(
        None,
        description="neon: suspend the compute after 5 minutes without queries (billed only "
        "while active; the next query waits `resume_ms`); unset: on, as Neon's plans default",
    )
    resume_ms: NonNegativeMs = Field(
        500.0,
        description="neon: the first query after a suspend waits this long (Neon: 'a few "
        "hundred milliseconds', '500ms or less')",
    )
    storage_gb: float = Field(
        10.0, ge=0, le=1e6,
        description="database size [GB]: provisioned storage, each volume of fly-postgres and "
        "litefs (assumption)",
    )  # fmt: skip
    replication_kb_per_write: Kilobytes = Field(
        2.0, le=1e6,
        description="write-ahead log a write sends to each copy [kB] (assumption)",
    )  # fmt: skip
    query_kb: Kilobytes = Field(
        1.0, le=1e6,
        description="result of one query [kB]; billed as transfer when it leaves the "
        "database's region or provider (assumption)",
    )  # fmt: skip
    rows_per_query: int = Field(
        10, ge=1, le=1_000_000,
        description="turso: rows one query reads or writes, for its row billing (assumption)",
    )  # fmt: skip

    @field_validator("region")
    @classmethod
    def _region(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or ":" not in value:
            return None if value is None else region_code(value, info)
        sites = database_sites()
        if value not in sites.index:
            hint = did_you_mean(value, sites.index)
            raise ValueError(
                f"{value!r} is not a known database region{hint}; "
                "`globalness databases PRODUCT` lists each product's"
            )
        if sites.at[value, "status"] != "active":
            raise ValueError(f"{value!r} is no longer sold to new projects; pick an active region")
        return value

    @field_validator("plan")
    @classmethod
    def _plan(cls, value: str | None) -> str | None:
        if value is not None and value not in database_plans().index:
            hint = did_you_mean(value, database_plans().index)
            raise ValueError(
                f"{value!r} is not a known database plan{hint}; "
                "`globalness databases PRODUCT` lists each product's"
            )
        return value

    @field_validator("replicas")
    @classmethod
    def _replicas(cls, value, info: ValidationInfo):
        return value if value == "all" else [region_code(code, info) for code in value]

    @field_validator("vm")
    @classmethod
    def _vm(cls, value: str | None) -> str | None:
        return None if value is None else machine_preset(value)

    @model_validator(mode="after")
    def _sold_as_configured(self):
        code = self.product_code
        provider = product(code)["provider"]
        if self.plan and database_plans().at[self.plan, "product"] != code:
            raise ValueError(
                f"database.plan: {self.plan!r} is not a {code} plan; {code} plans: "
                f"{', '.join(plans_of(code).index)}"
            )
        if self.region is not None:
            here = "fly" if ":" not in self.region else database_sites().at[self.region, "provider"]
            if here != provider:
                where = "Fly regions" if provider == "fly" else f"{provider}:... regions"
                raise ValueError(f"database.region: {code} runs in {where}, not in {self.region!r}")
            if self.region not in sites_of(code):
                raise ValueError(
                    f"database.region: {code} is not sold in {self.region}; it runs in "
                    f"{' '.join(sites_of(code))}"
                )
        if self.replicas and product(code)["replicas"] == "none":
            raise ValueError(
                f"database.replicas: {code} sells no read replicas outside its primary's "
                f"region; products that do: {', '.join(with_replicas())}"
            )
        if self.replicas not in ([], "all") and code == "litefs":
            raise ValueError(
                "database.replicas: litefs keeps a copy on every Machine of the set; "
                "leave replicas unset or `all`"
            )
        if (self.vm is not None or self.memory_mb is not None) and code != "fly-postgres":
            raise ValueError(
                f"database.vm: only fly-postgres runs on Machines you size; not {code}"
            )
        check_memory(self.machine_vm or "shared-cpu-1x", self.memory_mb, "database.memory_mb")
        if self.scale_to_zero is not None and code != "neon":
            raise ValueError(f"database.scale_to_zero: only neon scales to zero; not {code}")
        row = database_plans().loc[self.plan_code]
        if row["hard_limits"] and self.scale_to_zero is False:
            raise ValueError(f"database.scale_to_zero: {self.plan_code} always scales to zero")
        if pd.notna(row["max_storage_gb"]) and self.storage_gb > row["max_storage_gb"]:
            raise ValueError(
                f"database.storage_gb: {self.storage_gb:g} GB is above the "
                f"{row['max_storage_gb']:g} GB {self.plan_code} allows"
            )
        return self

    @property
    def product_code(self) -> str:
        """The product: as named, else the plan's, the region's provider's, or `fly-mpg`."""
        if self.product:
            return self.product
        if self.plan:
            return str(database_plans().at[self.plan, "product"])
        if self.region and ":" in self.region:
            return product_of_provider(database_sites().at[self.region, "provider"])
        return "fly-mpg"

    @property
    def plan_code(self) -> str:
        """The plan: as named, else the product's default (one that allows replicas when
        they are asked for)."""
        return self.plan or default_plan(self.product_code, bool(self.replicas))

    @property
    def machine_vm(self) -> str | None:
        """fly-postgres: the preset of its Machines."""
        if self.product_code != "fly-postgres":
            return None
        return self.vm or str(database_plans().at[self.plan_code, "vm"])

    @property
    def machine_memory_mb(self) -> int | None:
        """fly-postgres: its Machines' RAM [MB]."""
        vm = self.machine_vm
        if vm is None:
            return None
        if self.memory_mb is not None or self.vm is not None:
            return ram_mb(vm, self.memory_mb)
        return int(database_plans().at[self.plan_code, "memory_mb"])

    @property
    def suspends(self) -> bool:
        """Neon's compute suspends when idle (on unless turned off)."""
        return self.product_code == "neon" and self.scale_to_zero is not False

    def free_tier_problem(self, rate_rps: float, write_share: float) -> str | None:
        """Why a free plan cannot carry this workload (a free tier cannot be exceeded by
        paying: Neon suspends the compute, Supabase and Turso stop), or None. Counted as if
        every query reached the primary, which is what a set without copies does."""
        row = database_plans().loc[self.plan_code]
        if not row["hard_limits"]:
            return None
        per_month = rate_rps * SECONDS_PER_MONTH
        queries = (1 - write_share) * self.queries_per_read + write_share * self.queries_per_write
        transfer_gb = per_month * queries * self.query_kb / 1e6
        reads, writes = self.queries_per_read > 0, self.queries_per_write > 0
        reaching = rate_rps * ((1 - write_share) * reads + write_share * writes)
        used = {
            "GB of transfer": (transfer_gb, row["included_egress_gb"]),
            "CU-hours": (  # active unless 5 minutes pass without a query (Poisson arrivals)
                row["cu"] * NEON_HOURS_PER_MONTH * (1 - math.exp(-reaching * NEON_SUSPEND_S)),
                row["included_cu_hours"],
            ),
            "million rows written": (
                per_month * write_share * self.queries_per_write * self.rows_per_query / 1e6,
                row["included_rows_written_millions"],
            ),
        }
        for what, (need, allowed) in used.items():
            if pd.notna(allowed) and pd.notna(need) and need > allowed:  # NaN: not limited
                paid = plans_of(self.product_code)
                paid = paid[~paid["hard_limits"]]["usd_month"].idxmin()
                return (
                    f"database.plan: {self.plan_code} allows {allowed:,g} {what} a month; this "
                    f"workload needs about {need:,.0f} ({rate_rps:g} req/s); use {paid}"
                )
        return None

    def placed(self, primary_region: str) -> tuple[str, str | None]:
        """Where the primary runs, and why when that is not where it was asked: the named
        region, else ``primary_region`` when the product runs there, else the product's site
        nearest to it (with the sentence a warning gives)."""
        code = self.product_code
        if self.region is not None:
            return self.region, None
        if on_fly(code) and primary_region in sites_of(code):
            return primary_region, None
        site, km = nearest_site(code, primary_region)
        offered = ", as interactive `fly launch` offers" if code == "fly-mpg" else ""
        why = (
            f"database: {code} is not sold in {primary_region}; the primary runs in "
            f"{describe_site(site)}, the nearest {product(code)['name']} region "
            f"({km:,.0f} km){offered}; set database.region to choose"
        )
        return site, why

    def layout(self, primary: str, region_set: tuple[str, ...]) -> Layout:
        """Where each region of ``region_set`` reads (`Layout`), with the primary at ``primary``.
        Raises ValueError when the plan cannot hold the copies asked for."""
        code, plan = self.product_code, self.plan_code
        kind = product(code)["replicas"]
        wanted = region_set if self.replicas == "all" else self.replicas
        wanted = [r for r in region_set if r in wanted]
        reads = {r: primary for r in region_set}
        replicas: dict[str, str] = {}  # replica site -> the first region it serves
        if kind == "every-machine":  # the primary Machine's file is the primary
            reads = {r: primary if r == primary else LOCAL for r in region_set}
        elif kind == "embedded":
            reads |= dict.fromkeys(wanted, LOCAL)
        elif kind == "machines":
            for region in wanted:
                if region != primary:
                    reads[region] = region
                    replicas.setdefault(region, region)
        elif kind == "provider-regions":
            for region in wanted:
                site = nearest_site(code, region)[0]
                if site != primary:
                    reads[region] = site
                    replicas.setdefault(site, region)
        limit = database_plans().at[plan, "max_replicas"]
        if pd.notna(limit) and len(replicas) > limit:  # NaN: no published limit
            asked = ", ".join(f"{site} for {region}" for site, region in replicas.items())
            raise ValueError(
                f"database.replicas: {plan} allows {int(limit)} read replicas; "
                f"{'+'.join(region_set)} needs {len(replicas)} ({asked})"
                + ("; replicas need at least supabase:pro-small" if code == "supabase" else "")
            )
        for site, region in replicas.items():
            if kind == "provider-regions" and replica_price(plan, site) is None:
                raise ValueError(
                    f"database.replicas: {product(code)['name']} publishes no price for a "
                    f"read replica of {plan} in {site} (nearest to {region})"
                )
        return Layout(
            code, plan, primary, region_set, tuple(reads[r] for r in region_set), tuple(replicas)
        )


@dataclass(frozen=True)
class Layout:
    """A database as one region set uses it: its product and plan, the primary's site, the
    site each region of the set reads from (the primary, a replica's site, or LOCAL for a copy
    in the Machine itself), and the replica sites the bill counts."""

    product: str
    plan: str
    primary: str
    regions: tuple[str, ...]  # the set's
    reads: tuple[str, ...]  # per region of the set, in its order
    replicas: tuple[str, ...]

    @property
    def path(self) -> str:
        """How Machines reach the primary: `private` (Fly's network), `public` or `local`."""
        return str(product(self.product)["path"])

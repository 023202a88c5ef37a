"""How a candidate runs: a region set on Fly.io, or an alternative host's one server, with
its database laid out as it is sold."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from sim.app_config import App
from sim.data import alternative_plans, regions
from sim.database_config import Database, Layout
from sim.databases import LOCAL, on_fly
from sim.routing import edge_sites
from sim.scenario import Scenario

ONE_SERVER = {  # an alternative host: one server, always on, no proxy limits
    "machines_per_region": 1,
    "scale_count": None,
    "auto_stop": "off",
    "min_machines_running": 0,
    "hard_limit": None,
}


def alternative_plan(site: str, memory_mb: int) -> pd.Series:
    """The cheapest plan of an alternative host at ``site`` with at least ``memory_mb`` and a
    whole vCPU (its largest plan when none has enough memory). A plan of half a vCPU
    (Render's Starter, Railway's smallest) is never chosen: the server's vCPUs run at full
    speed here, and half a vCPU run as a whole one would flatter the host; every site has a
    plan of one vCPU or more, which costs more and runs as sold."""
    provider, code = site.split(":", 1)
    plans = alternative_plans()
    offered_here = plans["sites"].str.split().map(lambda codes: code in codes)
    here = plans[(plans["provider"] == provider) & offered_here & (plans["vcpu"] >= 1)]
    fits = here[here["ram_gb"] * 1024 >= memory_mb]
    return (fits if len(fits) else here.nlargest(1, "ram_gb")).sort_values("usd_month").iloc[0]


@dataclass(frozen=True)
class Deployment:
    """A candidate as it runs: its app, the edge sites anycast reaches, its database and the
    database's layout in its regions."""

    app: App
    edges: list[str]
    database: Database
    layout: Layout

    @property
    def places(self) -> set[str]:
        """Every site it uses: edges, regions, the database's primary and replicas."""
        reads = {site for site in self.layout.reads if site != LOCAL}
        return {*self.edges, self.layout.primary, *self.layout.replicas, *reads}


def deployment(scenario: Scenario, name: str) -> Deployment:
    """How candidate ``name`` runs. An alternative host is ONE_SERVER with its own site as the
    only edge, its plan's vCPUs at full speed (no Fly quota: assumption); a database of a Fly
    product runs on the server itself (assumption: the same software on the box), an external
    one where the scenario places it, without replicas."""
    region_set, database = scenario.candidates[name], scenario.database_of(name)
    if name in scenario.alternatives:
        cores = int(alternative_plan(name, scenario.app.ram_mb)["vcpu"])  # no Fly quota there
        fast = {"primary_region": name, "vm": f"performance-{cores}x", "memory_mb": None}
        # Built, not validated: the server's site is no Fly region, which App's checks refuse.
        app = App.model_construct(**(dict(scenario.app) | ONE_SERVER | fast))
        code, plan = database.product_code, database.plan_code
        primary = name if on_fly(code) else database.placed(scenario.app.primary_region)[0]
        layout = Layout(code, plan, primary, (name,), (primary,), ())
        return Deployment(app, [name], database, layout)
    edges = edge_sites(regions(), region_set, scenario.network.edges)
    return Deployment(scenario.app, edges, database, scenario.layout(name))

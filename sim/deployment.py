"""How a candidate runs: a region set on Fly.io, or an alternative host's one server, with
its database laid out as it is sold."""

from __future__ import annotations

from dataclasses import dataclass

from sim.app_config import App
from sim.data import regions
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
    only edge; a database of a Fly product runs on the server itself (assumption: the same
    software on the box), an external one where the scenario places it, without replicas."""
    region_set, database = scenario.candidates[name], scenario.database_of(name)
    if name in scenario.alternatives:
        app = scenario.app.model_copy(update=ONE_SERVER | {"primary_region": name})
        code, plan = database.product_code, database.plan_code
        primary = name if on_fly(code) else database.placed(scenario.app.primary_region)[0]
        layout = Layout(code, plan, primary, (name,), (primary,), ())
        return Deployment(app, [name], database, layout)
    edges = edge_sites(regions(), region_set, scenario.network.edges)
    return Deployment(scenario.app, edges, database, scenario.layout(name))

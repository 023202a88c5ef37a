"""How a candidate runs: a region set on Fly.io, or an alternative host's one server."""

from __future__ import annotations

from sim.app_config import App
from sim.data import regions
from sim.routing import edge_sites
from sim.scenario import Scenario

ONE_SERVER = {  # an alternative host: one server, always on, no proxy limits
    "machines_per_region": 1,
    "scale_count": None,
    "auto_stop": "off",
    "min_machines_running": 0,
    "hard_limit": None,
}


def deployment(scenario: Scenario, name: str) -> tuple[App, list[str], str, frozenset[str]]:
    """How candidate ``name`` runs: its app, the edge sites anycast reaches, the database's
    region, and the regions with a read replica. An alternative host
    is ONE_SERVER with its own site as the only edge and its database on the box (unless the
    scenario's database is a managed one)."""
    region_set, db_region = scenario.candidates[name], scenario.database_region
    if name in scenario.alternatives:
        app = scenario.app.model_copy(update=ONE_SERVER | {"primary_region": name})
        return app, list(region_set), db_region if ":" in db_region else name, frozenset()
    edges = edge_sites(regions(), region_set, scenario.network.edges)
    replicas = scenario.replicas_in(region_set) - {db_region}
    return scenario.app, edges, db_region, replicas

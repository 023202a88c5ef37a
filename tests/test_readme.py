"""The README's set-up commands are the ones CI runs, and its example output is current."""

import warnings
from pathlib import Path

import sim
from sim.tables import format_summary

ROOT = Path(__file__).parents[1]


def test_ci_runs_the_readme_commands():
    readme = ROOT.joinpath("README.md").read_text()
    commands = [line for line in readme.splitlines() if line.startswith("python3 -m venv")]
    assert len(commands) == 2
    ci = ROOT.joinpath(".ci", "run").read_text()
    for command in commands:
        assert f"{command} || exit 1" in ci


def test_readme_example_is_the_seed_runs_real_output():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sim.DeprecatedRegionWarning)
        result = sim.run(sim.load_scenario(ROOT / "scenarios" / "fly-seed.yaml"))
    assert format_summary(result) in ROOT.joinpath("README.md").read_text()

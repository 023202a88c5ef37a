"""Shared fixtures: small scenarios that run in well under a second. Their app time is
waiting, not CPU work (cpu_share 0), so that tests of other dynamics see no CPU quota;
tests of the quota (test_cpu.py) set it."""

import warnings

import pytest

from sim import ScenarioWarning, build_scenario

SMALL = {
    "seed": 1,
    "users": {"where": "population", "count": 500},
    "workload": {"requests": 3000, "rate_rps": 20, "write_share": 0.2},
    "app": {"primary_region": "iad", "cpu_share": 0},  # no CPU work: the quota never binds
    "database": {"product": "fly-postgres", "replicas": "all"},
    "region_sets": [["iad"], ["iad", "fra", "sin"]],
}


def small_scenario(**sections):
    """SMALL with some top-level sections replaced or merged (one level deep)."""
    data = {
        key: (dict(value) if isinstance(value, dict) else value) for key, value in SMALL.items()
    }
    for key, value in sections.items():
        data[key] = (
            {**data.get(key, {}), **value}
            if isinstance(value, dict) and key != "region_sets"
            else value
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScenarioWarning)
        return build_scenario(data)


@pytest.fixture
def scenario():
    return small_scenario()

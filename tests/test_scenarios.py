"""Every shipped scenario validates and runs, and the seed answers its question."""

import warnings
from pathlib import Path

import pytest

import sim

FOLDER = Path(__file__).parents[1] / "scenarios"
SCENARIOS = sorted([*FOLDER.glob("*.yaml"), *FOLDER.glob("*.toml")])


def test_there_are_scenarios():
    names = {p.name for p in SCENARIOS}
    assert names >= {"fly-seed.yaml", "fly-seed.toml", "saas-api.yaml", "internal-tool.yaml"}


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_scenario_runs(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sim.DeprecatedRegionWarning)
        scenario = sim.load_scenario(path)
        # A tenth of the requests keeps the suite quick; the shape of the answer is the same.
        workload = {**scenario.workload.model_dump(), "requests": scenario.workload.requests // 10}
        small = sim.build_scenario({**scenario.model_dump(), "workload": workload})
    result = sim.run(small)
    assert list(result.summary["region_set"]) == list(scenario.candidates)
    assert (result.summary["requests"] == small.workload.requests).all()
    assert (result.summary["monthly_cost_usd"] > 0).all()


def test_seed_three_regions_help_only_with_a_copy_of_the_data_beside_them():
    with pytest.warns(sim.DeprecatedRegionWarning, match="region mad is deprecated.*cdg"):
        result = sim.run(
            sim.load_scenario(Path(__file__).parents[1] / "scenarios" / "fly-seed.yaml")
        )
    p50 = result.by_continent.pivot(index="region_set", columns="continent", values="p50_ms")
    cost = result.summary.set_index("region_set")["monthly_cost_usd"]
    for copies in ("postgres-flex", "litefs"):  # a replica or a copy in gru and sin
        for continent in ("SA", "AS"):
            assert (
                p50.loc[f"mad+gru+sin on {copies}", continent]
                < 0.8 * p50.loc[f"mad on {copies}", continent]
            )
        assert cost[f"mad+gru+sin on {copies}"] > cost[f"mad on {copies}"]
    for remote in ("mpg", "neon-fra"):  # every read from gru and sin crosses to Europe
        for continent in ("SA", "AS"):
            assert (
                p50.loc[f"mad+gru+sin on {remote}", continent]
                > p50.loc[f"mad on {remote}", continent]
            )


def test_the_outage_verdict_names_the_failures_first():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sim.ScenarioWarning)
        result = sim.run(sim.load_scenario(FOLDER / "iad-outage.yaml"))
    summary = result.summary.set_index("region_set")
    replicas = summary.loc["iad+ord+lhr on postgres-flex"]
    assert replicas["verdict"].startswith(
        "iad+ord+lhr on postgres-flex: fails 6.2% of requests against 59.8%"
    )
    assert summary.loc["iad on mpg", "p50_ms"] == float("inf")  # 60 % failed: so is the median

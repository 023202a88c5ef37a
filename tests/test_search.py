"""The optimizer: known best sets on constructed cases, its search, budget and inputs."""

import pandas as pd
import pytest
from conftest import small_scenario

from sim import search
from sim.cli import main
from sim.errors import ScenarioError
from sim.search import optimize
from sim.tables import format_optimum

JAPAN = {
    "users": {"where": {"JP": 1.0}, "count": 200},
    "workload": {"requests": 2000, "rate_rps": 20},
    "database": {"product": "fly-postgres", "replicas": "all"},
}


@pytest.fixture(scope="module")
def japan():
    """Every user in Japan, the primary in Ashburn: the second region must be Tokyo (one
    replication: the DES re-runs the search's own draws)."""
    return optimize(small_scenario(**JAPAN), [1, 2], "p50", replications=1)


def test_users_in_one_country_get_the_region_beside_them(japan):
    best = japan.best.set_index("k")
    assert best.at[1, "region_set"] == "iad"
    assert best.at[2, "region_set"] == "iad+nrt"
    assert best.at[2, "added"] == "+nrt"
    assert best.at[2, "gain_ms"] > 100  # a Pacific crossing saved on every request
    assert (best["search"] == "exhaustive").all()
    assert len(japan.evaluated) == 1 + 17  # iad alone, and iad with each other active region


def test_the_winner_has_the_des_figures_and_a_table_for_the_csv(japan):
    assert list(japan.table().columns[:5]) == [
        "k", "region_set", "p50_ms", "p99_ms", "monthly_cost_usd",
    ]  # fmt: skip
    best = japan.best.set_index("region_set")
    analytic = japan.evaluated.set_index("region_set")
    # at this load nothing queues: the DES re-run agrees with the analytic search
    assert best.at["iad+nrt", "p50_ms"] == pytest.approx(analytic.at["iad+nrt", "p50_ms"], rel=0.01)


def test_greedy_growth_finds_it_too(monkeypatch):
    monkeypatch.setattr(search, "EXHAUSTIVE_UP_TO", 1)
    found = optimize(small_scenario(**JAPAN), [1, 2], "p50")
    best = found.best.set_index("k")
    assert best.at[2, "region_set"] == "iad+nrt"
    assert best.at[2, "search"] == "greedy + local search"


def test_must_include_and_budget_bound_the_sets():
    scenario = small_scenario(**JAPAN)
    kept = optimize(scenario, [2, 3], "p50", must_include=["fra"]).best.set_index("k")
    assert kept.at[2, "region_set"] == "iad+fra"
    assert kept.at[3, "region_set"] == "iad+fra+nrt"
    alone = optimize(scenario, [1], "p50").best["monthly_cost_usd"].iloc[0]
    cheap = optimize(scenario, [1, 2], "p50", budget_usd=alone + 0.01)
    assert list(cheap.best["k"]) == [1]  # every second region costs a Machine more


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"objective": "p95"}, "--objective"),
        ({"sizes": [0, 1]}, "--k"),
        ({"sizes": [40]}, "--k"),
        ({"must_include": ["xyz"]}, "--must-include"),
    ],
)
def test_bad_options_name_the_option(arguments, field):
    with pytest.raises(ScenarioError, match=field):
        optimize(small_scenario(**JAPAN), **{"sizes": [1], **arguments})


def test_sizes_that_would_leave_the_primary_below_min_machines_running_are_refused():
    """scale_count 4 spread over 4 regions leaves 1 Machine in the primary, fewer than the 2
    min_machines_running keeps there: refused before anything runs, naming the largest size
    (it was a pydantic ValidationError from the middle of the search)."""
    app = {"scale_count": 4, "min_machines_running": 2}
    with pytest.raises(ScenarioError, match=r"^--k: sets of 4 regions .* allowed: --k up to 3$"):
        optimize(small_scenario(app=app, **JAPAN), sizes=[1, 4])


def test_the_command_prints_the_best_sets_and_writes_the_csv_and_chart(tmp_path, capsys):
    path = tmp_path / "japan.yaml"
    path.write_text(
        "app: {primary_region: iad, cpu_share: 0}\nusers: {where: {JP: 1.0}, count: 200}\n"
        "workload: {requests: 2000}\ndatabase: {product: fly-postgres, replicas: all}\n"
        "region_sets: [[iad]]\n"
    )
    out = tmp_path / "out"
    assert (
        main(["optimize", str(path), "--k", "1..2", "--objective", "p50", "--out", str(out)]) == 0
    )
    printed = capsys.readouterr().out
    assert "iad+nrt" in printed and "searched 18 region sets" in printed
    table = pd.read_csv(out / "optimize.csv")
    assert list(table["region_set"]) == ["iad", "iad+nrt"]
    assert {"optimize.png", "optimize.svg"} <= {p.name for p in out.iterdir()}
    assert main(["optimize", str(path), "--k", "two"]) == 2
    assert "--k" in capsys.readouterr().err


def test_two_sets_that_cannot_be_told_apart_are_a_tie_broken_by_cost_then_p50():
    values = pd.DataFrame({0: [300.0, 300.0], 1: [310.0, 310.0]}, index=["a", "b"])
    figures = pd.DataFrame(
        {"p99_ms": [305.0, 305.0], "monthly_cost_usd": [50.0, 40.0], "p50_ms": [100.0, 90.0]},
        index=["a", "b"],
    )
    winner, how = search.pick(["a", "b"], values, figures, "p99_ms")
    assert winner == "b" and how.startswith("a and b tie on p99 (+0.0 ms") and "$10 cheaper" in how
    figures["monthly_cost_usd"] = 40.0
    winner, how = search.pick(["a", "b"], values, figures, "p99_ms")
    assert winner == "b" and how.endswith("b, a better p50")
    apart = pd.DataFrame({0: [300.0, 340.0], 1: [310.0, 352.0]}, index=["a", "b"])
    assert search.pick(["a", "b"], apart, figures.assign(p99_ms=[305.0, 346.0]), "p99_ms") == (
        "a",
        "best p99",
    )


def test_finalists_get_an_interval_over_replications():
    found = optimize(small_scenario(**JAPAN), [2], "p99", replications=3)
    row = found.table().iloc[0]
    assert row["ci_low"] <= row["p99_ms"] <= row["ci_high"] and row["ci_low"] < row["ci_high"]
    assert found.replications == 3 and "3 replications" in format_optimum(found)

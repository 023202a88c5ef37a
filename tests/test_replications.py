"""Replications: intervals from independent seeds, and paired differences between sets."""

import io

import pandas as pd
import pytest
from conftest import small_scenario

import sim
import sim.sweeps as sweep_module
from sim.cli import main
from sim.replications import interval, replicate


def test_the_interval_is_students_t():
    # mean 2, s = 1, t(0.975, 2) = 4.3027 (any t table): half-width 4.3027 / sqrt(3)
    mean, low, high = interval([1.0, 2.0, 3.0])
    assert mean == 2.0
    assert high - mean == pytest.approx(4.3027 / 3**0.5, rel=1e-4)
    assert mean - low == pytest.approx(high - mean)
    assert interval([5.0]) == (5.0, 5.0, 5.0)


def test_intervals_shrink_as_replications_grow():
    scenario = small_scenario(workload={"requests": 1000})
    few, many = (replicate(scenario, n).table.set_index("region_set") for n in (3, 12))
    for metric in ("p50_ms", "p99_ms"):
        width = (few[f"{metric}_high"] - few[f"{metric}_low"]).mean()
        assert (many[f"{metric}_high"] - many[f"{metric}_low"]).mean() < width


def test_the_same_regions_are_not_distinguishable_and_far_ones_are():
    scenario = small_scenario(
        workload={"requests": 1000},
        region_sets={"one": ["iad"], "same": ["iad"], "three": ["iad", "fra", "sin"]},
    )
    versus = replicate(scenario, 4).versus.set_index(["region_set", "against", "metric"])
    same = versus.loc[("same", "one", "p50_ms")]
    assert same["difference"] == 0 and not same["distinguishable"]
    assert versus.loc[("three", "one", "p50_ms"), "distinguishable"]


def test_run_with_replications_prints_and_writes_the_intervals(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(
        "app: {primary_region: iad}\nworkload: {requests: 1000}\nregion_sets: [[iad], [iad, fra]]\n"
    )
    assert main(["run", str(path), "--replications", "3", "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert "3 replications (independent seeds)" in printed
    assert "iad+fra vs iad: p50" in printed
    assert (tmp_path / "out" / "replications.csv").exists()
    assert (tmp_path / "out" / "replication_pairs.csv").exists()


def test_replications_leave_csv_output_parseable(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text("app: {primary_region: iad}\nworkload: {requests: 500}\nregion_sets: [[iad]]\n")
    assert main(["run", str(path), "--replications", "2", "--format", "csv"]) == 0
    captured = capsys.readouterr()
    assert list(pd.read_csv(io.StringIO(captured.out))["region_set"]) == ["iad"]
    assert "2 replications" in captured.err


def test_replication_0_already_run_is_used_not_run_again(monkeypatch):
    """`globalness run --replications N` runs replication 0 once: the run it prints."""
    scenario = small_scenario(workload={"requests": 1000})
    every = replicate(scenario, 3)
    seeds_run = []
    point = sweep_module.run_point

    def counted(scenario, seed, engine):
        seeds_run.append(seed)
        return point(scenario, seed, engine)

    monkeypatch.setattr(sweep_module, "run_point", counted)
    again = replicate(scenario, 3, first=sim.run(scenario).summary)
    assert seeds_run == [1, 2]
    pd.testing.assert_frame_equal(again.runs, every.runs)
    pd.testing.assert_frame_equal(again.table, every.table)

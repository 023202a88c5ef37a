"""The estimate: what each command counts (requests, sets, engines, users, traffic points,
runs, workers, charts) and what it refuses. Its constants against measured peaks:
benchmarks/memory.py."""

import pytest
from conftest import SMALL, small_scenario

import sim
from sim import footprint
from sim.cli import main
from sim.footprint import PROCESS_BYTES, Estimate, run_estimate
from sim.search import search_estimate
from sim.sizing import size_estimate
from sim.sweeps import sweep_estimate


@pytest.fixture(autouse=True)
def plenty_of_memory(monkeypatch):
    monkeypatch.setattr(footprint, "available_bytes", lambda: None)  # the limits, not the machine


def test_the_estimate_grows_with_requests_and_refuses_beyond_the_limits():
    small = sim.estimate(small_scenario(), "des")
    big = sim.estimate(small_scenario(workload={"requests": 10**9}), "des")
    assert big.seconds / small.seconds == pytest.approx(10**9 / 3000)
    assert small.check() is small
    with pytest.raises(sim.ScenarioError, match="need --yes .* or reduce workload.requests"):
        big.check()
    big.check(large_ok=True)


def test_the_estimate_knows_the_engines():
    scenario = small_scenario(workload={"requests": 10**6})
    assert sim.estimate(scenario, "analytic").seconds < sim.estimate(scenario, "des").seconds / 10
    assert sim.estimate(scenario).seconds == sim.estimate(scenario, "analytic").seconds


def test_users_region_sets_and_traffic_points_each_add_memory(tmp_path):
    base = sim.estimate(small_scenario())
    assert sim.estimate(small_scenario(users={"count": 10**6})).bytes > base.bytes + 300e6
    three_sets = small_scenario(region_sets=[["iad"], ["iad", "fra"], ["iad", "fra", "sin"]])
    assert sim.estimate(three_sets).bytes > base.bytes
    traffic = tmp_path / "traffic.csv"
    traffic.write_text(
        "lat,lon,weight\n" + "".join(f"{i % 80},{i % 170},1\n" for i in range(10**4))
    )
    points = sim.estimate(small_scenario(users={"where": str(traffic)}))
    assert points.bytes == pytest.approx(base.bytes + 10**4 * footprint.POINT_BYTES)


def test_workers_hold_a_run_each_beside_this_process():
    one = sim.estimate(small_scenario())
    assert one.times(4).bytes == one.bytes  # one after another, in this process
    assert one.times(4).seconds == pytest.approx(4 * one.seconds)
    two = one.times(4, workers=2)
    assert two.bytes == pytest.approx(PROCESS_BYTES + 2 * one.bytes)
    assert two.seconds == pytest.approx(2 * one.seconds)
    assert one.times(1, workers=8).bytes == pytest.approx(PROCESS_BYTES + one.bytes)


def test_replications_keep_the_first_run_and_charts_come_after():
    scenario = small_scenario()
    one = Estimate.of(scenario)
    replicated = run_estimate(scenario, replications=3, workers=1)
    assert replicated.requests == 4 * one.requests
    assert replicated.bytes == pytest.approx(2 * one.bytes - PROCESS_BYTES)
    charted = run_estimate(scenario, charts=7)
    assert charted.seconds > one.seconds and charted.bytes > one.bytes
    assert sim.estimate(scenario, replications=3, charts=7).bytes > replicated.bytes


def test_a_sweep_counts_each_load_and_a_duration_grows_with_it():
    scenario = sim.build_scenario({**SMALL, "workload": {"rate_rps": 10, "duration_s": 600}})
    one = sweep_estimate(scenario, [10], 1, 1, "des")
    both = sweep_estimate(scenario, [10, 30], 2, 1, "des")
    assert both.requests == 2 * (6000 + 18000) * len(scenario.candidates)
    assert both.seconds == pytest.approx(one.seconds * 2 * 4)


def test_optimize_and_size_count_their_runs():
    scenario = small_scenario()
    assert (
        search_estimate(scenario, [1, 2], [], 3).requests
        > search_estimate(scenario, [1, 2], [], 1).requests
    )
    assert size_estimate(scenario, workers=2).bytes > size_estimate(scenario).bytes


def test_validate_prints_what_a_run_would_take(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text("app: {primary_region: iad}\nregion_sets: [[iad]]\nusers: {count: 50}\n")
    assert main(["validate", str(path)]) == 0
    assert "estimate: a run takes about 0 s and " in capsys.readouterr().out


@pytest.mark.parametrize(
    ("size", "text"),
    [(379e6, "379 MB"), (1.26e9, "1.3 GB"), (12.6e9, "13 GB"), (3e12, "3.0 TB")],
)
def test_sizes_read_in_megabytes_below_a_gigabyte(size, text):
    assert footprint.size_text(size) == text

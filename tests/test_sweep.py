"""Sweeps: one row per region set, load and seed; the same table wherever the runs ran."""

import importlib
import importlib.util
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import small_scenario

import sim
from sim.cli import main
from sim.engine import simulate
from sim.errors import ScenarioError
from sim.replications import replicate
from sim.report import summary
from sim.scenario import Sweep
from sim.sweeps import COLUMNS, at_load, sweep

LOADS = [10, 40]
SEEDS = 2


@pytest.fixture(scope="module")
def scenario():
    return small_scenario(workload={"requests": 2000})


@pytest.fixture(scope="module")
def table(scenario):
    return sweep(scenario, loads=LOADS, seeds=SEEDS)


def test_one_row_per_set_load_and_seed_in_order(table):
    assert list(table.columns) == COLUMNS
    assert len(table) == len(LOADS) * SEEDS * 2
    assert table["rate_rps"].tolist() == [10.0] * 4 + [40.0] * 4
    assert table["seed"].tolist() == [0, 0, 1, 1] * 2
    assert table["region_set"].astype(str).tolist() == ["iad", "iad+fra+sin"] * 4


def test_a_run_is_a_plain_simulation_of_the_variant(scenario, table):
    variant = scenario.replace(workload=scenario.workload.replace(rate_rps=10.0))
    run = simulate(variant, replication=0)
    expected = summary(run.requests, run.machines, run.engines, variant)
    rows = table[(table["rate_rps"] == 10) & (table["seed"] == 0)].reset_index(drop=True)
    shared = ["region_set", "p50_ms", "p99_ms", "mean_ms", "monthly_cost_usd", "engine"]
    pd.testing.assert_frame_equal(rows[shared], expected[shared])


def test_seeds_are_independent_replications(table):
    by_seed = table[table["rate_rps"] == 10].groupby("seed")["p50_ms"].apply(list)
    assert by_seed[0] != by_seed[1]


def timed(scenario, duration_s):
    """The scenario counting its requests by a duration instead (both given must agree)."""
    requests = round(scenario.workload.rate_rps * duration_s)
    workload = scenario.workload.replace(duration_s=duration_s, requests=requests)
    return scenario.replace(workload=workload)


def test_a_duration_keeps_its_length_at_every_load(scenario):
    assert at_load(timed(scenario, 100.0), 30).workload.requests == 3000
    year = timed(scenario, 366 * 86_400.0)
    with pytest.raises(ScenarioError, match=r"^--loads: 1e\+06: workload.duration_s: "):
        at_load(year, 1e6)  # 3e13 requests


def test_two_workers_give_the_same_table(scenario, table):
    done = []
    parallel = sweep(scenario, loads=LOADS[::-1], seeds=SEEDS, workers=2, progress=done.append)
    pd.testing.assert_frame_equal(parallel, table)
    assert done == [1] * 4


def test_a_dask_cluster_gives_the_same_table(scenario, table):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",  # None still opens port 8787
    ) as cluster:
        remote = sweep(scenario, loads=LOADS, seeds=SEEDS, scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(remote, table)


def test_an_unreachable_scheduler_is_one_line(scenario, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr(importlib.import_module("sim.sweeps"), "CONNECT_TIMEOUT", "1s")
    with pytest.raises(ScenarioError, match="--scheduler: cannot reach tcp://127.0.0.1:1: "):
        sweep(scenario, scheduler="tcp://127.0.0.1:1")
    with pytest.raises(ScenarioError, match="--scheduler: 'nonsense': missing port"):
        sweep(scenario, scheduler="nonsense")


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"loads": [10, 0]}, "--loads: 0"),
        ({"loads": [-5.0]}, "--loads: -5.0"),
        ({"loads": ["50"]}, "--loads: '50'"),
        ({"loads": [2e6]}, "--loads: 2e\\+06: rate_rps"),
        ({"loads": []}, "--loads: none given"),
        ({"seeds": 0}, "--seeds: 0"),
        ({"seeds": 1.5}, "--seeds: 1.5"),
        ({"workers": 0}, "--workers: 0"),
        ({"engine": "fast"}, "--engine: 'fast'"),
        ({"scheduler": ""}, "--scheduler: ''"),
        ({"scheduler": "tcp://127.0.0.1:1", "workers": 2}, "--workers: 2 with --scheduler"),
    ],
)
def test_bad_options_name_themselves(scenario, options, named):
    with pytest.raises(ScenarioError, match=f"^{named}"):
        sweep(scenario, **options)


def test_the_command_takes_loads_and_seeds_from_the_scenario(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(
        "app: {primary_region: iad}\nworkload: {requests: 500}\n"
        "sweep: {loads: [10, 40], seeds: 2}\nregion_sets: [[iad], [iad, fra]]\n"
    )
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "-q"]) == 0
    table = pd.read_csv(tmp_path / "out" / "sweep.csv")
    assert len(table) == 2 * 2 * 2
    capsys.readouterr()
    assert main(["sweep", str(path), "--seeds", "1", "--loads", "5", "-q"]) == 0  # options win
    assert len(capsys.readouterr().out.strip().splitlines()) == 1 + 2


def test_a_bad_sweep_section_is_one_line(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text("app: {primary_region: iad}\nsweep: {loads: [-5]}\nregion_sets: [[iad]]\n")
    assert main(["sweep", str(path)]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "sweep.loads" in error


def test_sigterm_during_a_sweep_on_a_cluster_closes_the_client_and_its_runs(tmp_path):
    """The command leaves nothing on the cluster: its client gone, its runs released."""
    distributed = pytest.importorskip("distributed")
    scenario = Path(__file__).parents[1] / "scenarios" / "worldwide.yaml"
    with distributed.LocalCluster(
        n_workers=1, processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0"
    ) as cluster:
        scheduler = cluster.scheduler
        command = [sys.executable, "-m", "sim", "sweep", str(scenario), "--seeds", "20",
                   "--loads", "10,20", "--engine", "des", "--yes", "-q",
                   "--scheduler", cluster.scheduler_address]  # fmt: skip
        process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
        for _ in range(600):  # until its runs are on the cluster
            if scheduler.tasks or process.poll() is not None:
                break
            time.sleep(0.1)
        assert scheduler.tasks, "the runs never reached the cluster"
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
        assert process.returncode == 143 and "Traceback" not in err
        for _ in range(100):  # the scheduler forgets a closed client's runs
            if not scheduler.tasks:
                break
            time.sleep(0.1)
        assert not scheduler.tasks
        assert set(scheduler.clients) <= {"fire-and-forget"}


def test_a_scheduler_without_dask_names_the_extra(scenario, monkeypatch):
    found = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "distributed" else found(name)
    )
    with pytest.raises(ScenarioError, match=r"pip install 'globalness\[cluster\]'"):
        sweep(scenario, scheduler="tcp://127.0.0.1:8786")


def test_the_scenarios_sweep_section_is_the_default_in_python_as_on_the_command_line(scenario):
    swept = scenario.replace(sweep=Sweep(loads=[10, 40], seeds=2))
    pd.testing.assert_frame_equal(sweep(swept), sweep(scenario, loads=LOADS, seeds=SEEDS))
    assert sim.sweep is sweep and sim.replicate is replicate

"""Machines as Fly meters and runs them: CPU quotas and burst balance, autostop by excess
capacity, fly-replay from a stopped Machine, timeouts. Known answers from Fly's numbers
(fly.io/docs/machines/cpu-performance: 5 ms of every 80 ms per shared vCPU, a 5 s balance at
start) and the fluid model's arithmetic (docs/model.md, 8b)."""

import numpy as np
import pytest
import simpy
from conftest import small_scenario

import sim
from sim.app_config import App
from sim.cpu import SHARED_BASELINE, Cpu
from sim.cpu_notes import cpu_notes
from sim.request_log import LOG_COLUMNS


def finish_times(cpu_ms, starts_ms, vcpus=1, shared=True, balance_ms=5000.0):
    """When each CPU job (work, start) ends on one Machine's CPU, its throttled time, the CPU."""
    env = simpy.Environment()
    cpu = Cpu(env, vcpus, shared, balance_ms)
    ends, lost = [0.0] * len(cpu_ms), [0.0] * len(cpu_ms)

    def job(k):
        yield env.timeout(starts_ms[k])
        done, lost_at = cpu.run(cpu_ms[k])
        yield done
        ends[k], lost[k] = env.now, cpu.lost - lost_at

    for k in range(len(cpu_ms)):
        env.process(job(k))
    env.run()
    return np.array(ends), np.array(lost), cpu


def test_at_full_speed_requests_share_the_vcpus_equally():
    ends, lost, _ = finish_times([100, 100], [0, 0])
    np.testing.assert_allclose(ends, [200, 200])  # processor sharing on one vCPU
    ends, _, _ = finish_times([100, 100], [0, 0], vcpus=2)
    np.testing.assert_allclose(ends, [100, 100])  # one vCPU each
    assert not lost.any()


@pytest.mark.parametrize(("vcpus", "wall_ms"), [(1, 160.0), (2, 80.0), (8, 20.0)])
def test_with_no_balance_a_shared_machine_runs_at_its_pooled_baseline(vcpus, wall_ms):
    """10 ms of CPU at 5 ms per 80 ms per vCPU, pooled: 160 ms on 1x, 80 on 2x, 20 on 8x."""
    ends, lost, cpu = finish_times([10], [0], vcpus=vcpus, balance_ms=0)
    np.testing.assert_allclose(ends, [wall_ms])
    np.testing.assert_allclose(lost, [wall_ms - 10])
    assert cpu.first_throttled_ms == 0


def test_a_busy_machine_is_throttled_when_the_balance_arithmetic_says():
    """One long job from a 5 s balance: full speed until 5 s / (1 - 1/16) = 5,333 ms."""
    ends, lost, cpu = finish_times([10_000], [0])
    burst_ms = 5000 / (1 - SHARED_BASELINE)
    assert cpu.first_throttled_ms == pytest.approx(burst_ms)
    assert ends[0] == pytest.approx(burst_ms + (10_000 - burst_ms) / SHARED_BASELINE)


def test_a_steady_load_above_the_baseline_drains_the_balance_at_its_excess():
    """19 ms of CPU every 100 ms (190 ms a second, 3.04x the baseline): the balance falls by
    19 x 15/16 - 81 / 16 = 12.75 ms per 100 ms, so it is gone after 39.2 s."""
    starts = np.arange(0, 60_000, 100.0)
    _, lost, cpu = finish_times([19] * len(starts), starts)
    assert cpu.first_throttled_ms == pytest.approx(39_216, rel=0.01)
    assert not lost[starts < 39_000].any() and lost[starts > 40_000].all()


def test_below_its_baseline_a_shared_machine_never_throttles():
    starts = np.arange(0, 600_000, 200.0)  # 10 ms every 200 ms: 50 ms a second, baseline 62.5
    _, lost, cpu = finish_times([10] * len(starts), starts)
    assert cpu.throttled_ms == pytest.approx(0, abs=1e-6) and not lost.any()


def test_performance_vcpus_never_throttle():
    starts = np.arange(0, 60_000, 10.0)  # 9 ms every 10 ms: 90 % of a core
    _, lost, cpu = finish_times([9] * len(starts), starts, shared=False, balance_ms=0)
    assert cpu.throttled_ms == 0 and not lost.any()


BUSY = {
    "users": {"where": {"US": 1}, "count": 300},
    "workload": {"requests": 6000, "rate_rps": 20, "write_share": 0},
    "region_sets": [["iad"]],
}


def busy(**app):
    return sim.run(small_scenario(**BUSY, app={"primary_region": "iad", "cpu_share": 1, **app}))


def test_a_throttled_machine_shows_in_the_log_the_summary_and_a_note():
    result = busy()  # 20 req/s x 20 ms: 400 ms of CPU a second, 6.4x the baseline
    log, summary = result.requests, result.summary.iloc[0]
    assert result.engines["engine"].iloc[0] == "des"
    assert "quota binds" in result.engines["reason"].iloc[0]
    assert summary["throttled_share"] > 0.1 and summary["error_rate"] > 0.5  # most time out
    parts = [c for c in LOG_COLUMNS if c.endswith("_ms") and c != "total_ms"]
    np.testing.assert_allclose(log[parts].sum(axis=1), log["total_ms"], rtol=1e-4, atol=0.01)
    (line,) = cpu_notes(result.machines)
    assert line.startswith("iad: iad's shared-cpu-1x needs ")
    assert "6.4x its 62.5 ms baseline" in line and "keep up" in line


def slowed(result) -> float:
    """The share of requests throttled or failed."""
    log = result.requests
    return float(((log["throttled_ms"] > 0) | (log["outcome"] != "ok")).mean())


def test_more_or_bigger_machines_never_raise_throttling():
    shares = [slowed(busy(machines_per_region=m)) for m in (1, 3, 8)]
    assert shares == sorted(shares, reverse=True) and shares[0] > 0.9 and shares[-1] == 0
    fast = busy(vm="performance-1x").summary.iloc[0]
    assert fast["throttled_share"] == 0 and fast["error_rate"] == 0


def test_no_request_waits_past_its_timeout():
    result = busy(request_timeout_s=5)
    log = result.requests
    ok = log[log["outcome"] == "ok"]
    assert (ok["queue_ms"] + ok["cold_start_ms"]).max() <= 5000 + 1e-3
    assert (log["outcome"] == "failed_timeout").sum() > 0
    assert len(log) == 6000  # every request ends in exactly one outcome


def test_without_cpu_work_the_quota_never_binds():
    result = busy(cpu_share=0)
    assert result.engines["engine"].iloc[0] == "analytic"
    assert result.summary["throttled_share"].iloc[0] == 0


QUIET = {
    "users": {"where": {"US": 1}, "count": 50},
    "workload": {"requests": 7200, "rate_rps": 1, "write_share": 0},
    "region_sets": [["iad"]],
}


def test_autostop_stops_one_machine_per_pass_while_the_region_has_excess_capacity():
    """Three Machines in one region at 1 req/s for 2 h, a pass every 5 min: Fly's rule stops
    one per pass while machines - (over soft_limit + 1) >= 1; the last keeps its traffic."""
    app = {"auto_stop": "stop", "autostop_interval_s": 300, "machines_per_region": 3}
    result = sim.run(small_scenario(**QUIET, app=app))
    running = np.sort(result.machines["running_s"].to_numpy())
    np.testing.assert_allclose(running[:2], [300, 600])
    assert running[2] > 7000
    assert result.summary["cold_starts"].iloc[0] == 0


def test_min_machines_running_applies_to_the_primary_region_only():
    app = App(primary_region="iad", min_machines_running=2)
    assert app.machines_in(("iad", "fra", "sin")) == [2, 1, 1]


SPARSE_EU = {
    "users": {"where": {"DE": 1}, "count": 50},
    "workload": {"requests": 400, "rate_rps": 0.005, "write_share": 1.0},
    "region_sets": [["iad", "fra"]],
}


def test_a_write_replayed_from_a_stopped_machine_pays_its_start():
    """German users land on fra, whose Machine auto-stops; iad (the primary) keeps one."""
    app = {"auto_stop": "stop", "autostop_interval_s": 60, "min_machines_running": 1}
    log = sim.run(small_scenario(**SPARSE_EU, app=app)).requests
    writes = log[(log["outcome"] == "ok") & (log["served_region"] == "iad")]
    assert (writes["replay_ms"] > 0).all()
    # fra's Machine starts (2 s) as the write reaches it (half its replay leg after the edge)
    assert (writes["cold_start_ms"] >= 1900).mean() > 0.5


def test_spilling_to_a_running_region_trades_cold_starts_for_distance():
    app = {"auto_stop": "stop", "autostop_interval_s": 60, "min_machines_running": 1}
    reads = {**SPARSE_EU, "workload": {**SPARSE_EU["workload"], "write_share": 0}}
    started = sim.run(small_scenario(**reads, app=app)).requests
    spilled = sim.run(small_scenario(**reads, app={**app, "stopped_region": "spill"})).requests
    assert (started["cold_start_ms"] > 0).sum() > 200
    assert (spilled["cold_start_ms"] > 0).sum() == 0
    assert (spilled.loc[started["cold_start_ms"] > 0, "served_region"] == "iad").all()
    assert spilled["total_ms"].mean() < started["total_ms"].mean()  # 2 s against ~90 ms

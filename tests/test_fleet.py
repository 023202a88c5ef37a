"""Platform dynamics, checked against what they must do (oracles, not snapshots)."""

import numpy as np
import pytest
from conftest import small_scenario

import sim
from sim.plan import OUTCOMES

ALWAYS_NEW = {"anycast_miss_share": 0.0}


def run(**sections):
    return sim.run(small_scenario(**sections))


def test_every_request_ends_in_exactly_one_outcome():
    result = run(
        workload={"requests": 4000, "rate_rps": 400, "write_share": 0.3},
        app={
            "primary_region": "iad",
            "concurrency": 1,
            "hard_limit": 2,
            "soft_limit": 1,
            "request_timeout_s": 0.05,
        },
        faults=[{"region": "iad", "start_s": 2.0, "duration_s": 3.0}],
    )
    counts = result.outcomes
    assert list(counts.columns) == list(OUTCOMES)
    assert (counts.sum(axis=1) == 4000).all()
    assert counts["failed_timeout"].sum() > 0 and counts["failed_primary_down"].sum() > 0
    summary = result.summary.set_index("region_set")
    np.testing.assert_allclose(summary["error_rate"], 1 - counts["ok"] / 4000)


def test_without_a_hard_limit_nothing_spills_and_with_one_overload_does():
    busy = {"requests": 3000, "rate_rps": 300, "write_share": 0}
    sets = {"region_sets": [["iad", "ord"]]}
    users = {"users": {"where": {"US": 1}, "count": 300}}
    free = run(**sets, **users, workload=busy, app={"primary_region": "iad", "concurrency": 2})
    limited = run(
        **sets, **users, workload=busy,
        app={"primary_region": "iad", "concurrency": 2, "soft_limit": 2, "hard_limit": 2},
    )  # fmt: skip

    def spilled(result):
        log = result.requests
        return ((log["edge"] == "iad") & (log["served_region"] == "ord")).mean()

    assert spilled(free) == 0
    assert spilled(limited) > 0.01


AUTOSTOP = {
    "primary_region": "iad",
    "auto_stop": "stop",
    "autostop_interval_s": 60,
    "machines_per_region": 2,
}
SPARSE = {"requests": 1500, "rate_rps": 0.05, "write_share": 0}


def cold_starts(result) -> int:
    return int(result.summary["cold_starts"].sum())


def test_idle_machines_stop_and_the_next_request_pays_a_cold_start():
    result = run(workload=SPARSE, app=AUTOSTOP)
    log = result.requests
    cold = log[log["cold_start_ms"] > 0]
    assert len(cold) > 0
    assert cold["cold_start_ms"].max() <= 2000 + 1e-6  # cold_start_s default 2 s
    always_on = run(workload=SPARSE, app={"primary_region": "iad", "machines_per_region": 2})
    assert cold_starts(always_on) == 0
    assert (result.summary["compute_usd_month"] < always_on.summary["compute_usd_month"]).all()


def test_suspend_resumes_faster_than_stop():
    stopped = run(workload=SPARSE, app=AUTOSTOP).requests
    suspended = run(workload=SPARSE, app={**AUTOSTOP, "auto_stop": "suspend"}).requests
    assert suspended["cold_start_ms"].max() <= 400 + 1e-6 < stopped["cold_start_ms"].max()


def test_a_longer_autostop_interval_never_adds_cold_starts():
    counts = [
        cold_starts(run(workload=SPARSE, app={**AUTOSTOP, "autostop_interval_s": interval}))
        for interval in (30, 120, 600, 3600)
    ]
    assert counts == sorted(counts, reverse=True)
    assert counts[0] > counts[-1]


def test_min_machines_running_removes_cold_starts_in_the_primary():
    sets = {"region_sets": [["iad", "fra"]]}
    result = run(**sets, workload=SPARSE, app={**AUTOSTOP, "min_machines_running": 1})
    log = result.requests
    cold = log[log["cold_start_ms"] > 0]
    assert len(cold) > 0
    assert (cold["served_region"] == "fra").all()


def test_more_machines_never_raise_p99():
    p99 = [
        run(
            workload={"requests": 6000, "rate_rps": 300, "write_share": 0.1},
            app={
                "primary_region": "iad",
                "concurrency": 2,
                "soft_limit": 2,
                "machines_per_region": m,
            },
            region_sets=[["iad"]],
        )
        .summary["p99_ms"]
        .iloc[0]
        for m in (1, 2, 4)
    ]
    assert p99 == sorted(p99, reverse=True)


def test_a_day_shows_night_cold_starts_and_none_at_the_peak():
    """Users in Japan; Machines auto-stop: cold starts cluster in the local night."""
    result = run(
        users={"where": {"JP": 1}, "count": 500},
        workload={
            "requests": 8000,
            "rate_rps": 0.09,
            "write_share": 0,
            "daily": {"peak_to_trough": 8},
        },
        app={"primary_region": "nrt", "auto_stop": "stop", "autostop_interval_s": 120},
        region_sets=[["nrt"]],
    )
    log = result.requests
    assert log["t_s"].max() > 86_400
    local_hour = ((log["t_s"] / 3600 + 9) % 24).astype(int)  # Japan is UTC+9
    cold = log["cold_start_ms"] > 0
    by_hour = cold.groupby(local_hour).sum()
    assert by_hour.loc[[2, 3, 4, 5, 6]].sum() >= 5  # the trough is at 05:00 local
    assert by_hour.loc[[18, 19, 20, 21, 22]].sum() == 0  # the peak is at 21:00


def test_an_outage_moves_users_to_the_next_region():
    sets = {"region_sets": [["iad", "ord", "lhr"]]}
    window = {"region": "ord", "start_s": 60.0, "duration_s": 60.0}
    plain = run(
        **sets,
        users={"where": {"US": 1}, "count": 400},
        workload={"requests": 6000, "rate_rps": 30, "write_share": 0},
        app={"primary_region": "iad"},
        network=ALWAYS_NEW,
    )
    down = run(
        **sets,
        users={"where": {"US": 1}, "count": 400},
        workload={"requests": 6000, "rate_rps": 30, "write_share": 0},
        app={"primary_region": "iad"},
        network=ALWAYS_NEW,
        faults=[window],
    )
    a, b = plain.requests, down.requests
    during = (a["t_s"] >= 61) & (a["t_s"] < 119)
    moved = during & (a["served_region"] == "ord")
    assert moved.sum() > 100
    assert (b.loc[moved, "served_region"] != "ord").all()
    assert (b.loc[moved, "outcome"] == "ok").all()
    # users on the ord edge land on their next edge: they wait longer by the extra RTT alone
    network = ["client_edge_ms", "edge_worker_ms", "replay_ms"]
    extra_total = b.loc[moved, "total_ms"] - a.loc[moved, "total_ms"]
    extra_rtt = b.loc[moved, network].sum(axis=1) - a.loc[moved, network].sum(axis=1)
    assert extra_total.median() > 3
    assert (extra_total - extra_rtt).abs().median() < 1.0
    outside = ~((a["t_s"] >= 59) & (a["t_s"] < 121))
    np.testing.assert_array_equal(a.loc[outside, "served_region"], b.loc[outside, "served_region"])


def test_a_primary_outage_fails_writes_but_replicas_keep_reading():
    result = run(
        workload={"requests": 3000, "rate_rps": 30, "write_share": 0.3},
        faults=[{"region": "iad", "start_s": 20.0, "duration_s": 40.0}],
        network=ALWAYS_NEW,
    )
    log = result.requests
    during = (log["t_s"] > 21) & (log["t_s"] < 59) & (log["region_set"] == "iad+fra+sin")
    writes = log[during & (log["kind"] == "write")]
    reads = log[during & (log["kind"] == "read")]
    assert (writes["outcome"] == "failed_primary_down").all()
    assert set(reads.loc[reads["outcome"] == "ok", "served_region"]) <= {"fra", "sin"}
    assert (reads["outcome"] == "ok").mean() > 0.3


LAGGY = {
    "users": {"count": 20},
    "workload": {"requests": 3000, "rate_rps": 20, "write_share": 0.3},
    "region_sets": [["iad", "fra"]],
}


def test_replica_lag_makes_reads_stale_unless_read_your_writes():
    stale = run(**LAGGY, database={"replicas": "all", "replication_lag_ms": 2000})
    assert stale.summary["stale_reads"].iloc[0] > 10
    fresh = run(
        **LAGGY, database={"replicas": "all", "replication_lag_ms": 2000, "read_your_writes_s": 5}
    )
    assert fresh.summary["stale_reads"].iloc[0] == 0
    no_lag = run(**LAGGY, database={"replicas": "all"})
    assert no_lag.summary["stale_reads"].iloc[0] == 0


@pytest.mark.parametrize("auto_stop", ["stop", "suspend"])
def test_autostop_never_costs_more_than_always_on(auto_stop):
    on = run(workload=SPARSE, app={"primary_region": "iad"}).summary["compute_usd_month"]
    off = run(workload=SPARSE, app={**AUTOSTOP, "machines_per_region": 1, "auto_stop": auto_stop})
    assert (off.summary["compute_usd_month"] <= on).all()


def test_without_autostart_a_stopped_app_fails_requests():
    """auto_start_machines = false and no running Machine: the request fails
    (https://fly.io/docs/reference/fly-proxy-autostop-autostart/)."""
    result = run(workload=SPARSE, app={**AUTOSTOP, "auto_start": False}, region_sets=[["iad"]])
    counts = result.outcomes.iloc[0]
    assert counts["failed_no_machine"] > 0
    assert counts.sum() == SPARSE["requests"]
    assert result.summary["cold_starts"].iloc[0] == 0


def test_direct_writes_survive_an_app_region_outage_when_the_database_is_elsewhere():
    result = run(
        app={"primary_region": "iad", "writes": "direct"},
        database={"region": "fra", "replicas": "all"},
        faults=[{"region": "iad", "start_s": 0.0, "duration_s": 1e6}],
        region_sets=[["iad", "fra"]],
    )
    writes = result.requests[result.requests["kind"] == "write"]
    assert (writes["outcome"] == "ok").all()
    assert set(writes["served_region"]) == {"fra"}

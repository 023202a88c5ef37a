"""The engine: request log schema, conservation, determinism, queueing theory, routing."""

import math

import numpy as np
import pandas as pd
import pytest
from conftest import small_scenario

import sim
from sim.contention import busiest_wait
from sim.draws import draw
from sim.engine import simulate
from sim.plan import OUTCOMES, plan_requests
from sim.request_log import PARTS


def requests(scenario, engine="des"):
    return simulate(scenario, engine=engine).requests


COLUMNS = [
    "region_set",
    "replication",
    "t_s",
    "user_lat",
    "user_lon",
    "country",
    "continent",
    "access",
    "kind",
    "edge",
    "served_region",
    "outcome",
    *PARTS,
    "total_ms",
    "stale_read",
]


@pytest.fixture(scope="module")
def log():
    return requests(small_scenario())


def test_request_log_has_the_design_columns_and_compact_types(log):
    assert list(log.columns) == COLUMNS
    floats = {*PARTS, "total_ms", "user_lat", "user_lon"}
    for column in set(COLUMNS) - floats - {"t_s", "replication", "stale_read"}:
        assert isinstance(log[column].dtype, pd.CategoricalDtype), column
    for column in floats:
        assert log[column].dtype == np.float32, column
    assert log.memory_usage(deep=True).sum() / len(log) < 100  # bytes per request


def test_every_request_has_one_outcome(log):
    assert len(log) == 2 * 3000
    assert log["outcome"].isin(OUTCOMES).all()
    assert log.groupby("region_set", observed=True).size().tolist() == [3000, 3000]


def test_parts_add_up_to_total(log):
    parts = log[list(PARTS)].to_numpy(dtype=np.float64).sum(axis=1)
    np.testing.assert_allclose(log["total_ms"], parts, rtol=1e-5)
    assert (log[list(PARTS)] >= 0).all().all()


def test_same_seed_same_log_and_other_seed_differs():
    a, b = simulate(small_scenario(), engine="des"), simulate(small_scenario(), engine="des")
    pd.testing.assert_frame_equal(a.machines, b.machines)
    a, b = a.requests, b.requests
    pd.testing.assert_frame_equal(a, b)
    c = requests(small_scenario(seed=2))
    assert not np.array_equal(a["total_ms"], c["total_ms"])


def test_region_sets_share_users_and_arrivals(log):
    """Common random numbers: each set sees the same requests, only their routes differ."""
    one, three = (group for _, group in log.groupby("region_set", observed=True))
    np.testing.assert_array_equal(one["t_s"], three["t_s"])
    np.testing.assert_array_equal(one["user_lat"], three["user_lat"])
    np.testing.assert_array_equal(one["client_edge_ms"], three["client_edge_ms"])


def test_single_region_serves_everything_and_replays_nothing(log):
    one = log[log["region_set"] == "iad"]
    assert (one["served_region"] == "iad").all()
    assert (one["replay_ms"] == 0).all()


def test_writes_replay_to_the_primary(log):
    three = log[log["region_set"] == "iad+fra+sin"]
    writes = three[three["kind"] == "write"]
    assert (writes["served_region"] == "iad").all()
    far = writes[writes["edge"].isin(["fra", "sin", "ams", "nrt"])]
    assert len(far) and (far["replay_ms"] > 0).all()
    reads = three[three["kind"] == "read"]
    assert set(reads["served_region"]) == {"iad", "fra", "sin"}


def test_direct_writes_cross_to_the_primary_per_query():
    log = requests(small_scenario(app={"primary_region": "iad", "writes": "direct"}))
    writes = log[(log["region_set"] == "iad+fra+sin") & (log["kind"] == "write")]
    assert (writes["replay_ms"] == 0).all()
    in_sin = writes[writes["served_region"] == "sin"]
    # 3 queries x the sin-iad backbone RTT (~250 ms each) dominate the database time.
    assert in_sin["db_ms"].median() > 3 * 200


def test_extra_regions_help_far_users_with_replicas(log):
    p50 = log.groupby(["region_set", "continent"], observed=True)["total_ms"].median().unstack()
    assert p50.loc["iad+fra+sin", "EU"] < p50.loc["iad", "EU"] - 40
    assert p50.loc["iad+fra+sin", "AS"] < p50.loc["iad", "AS"] - 80


def test_without_replicas_extra_regions_make_reads_slower():
    """Reads served far from the only database pay an ocean per query: the classic trap."""
    log = requests(small_scenario(database={"replicas": []}))
    reads = log[(log["kind"] == "read") & (log["continent"] == "AS")]
    p50 = reads.groupby("region_set", observed=True)["total_ms"].median()
    assert p50["iad+fra+sin"] > p50["iad"]


def erlang_c_wait_ms(servers: int, arrival_per_ms: float, mean_service_ms: float) -> float:
    """Mean wait in queue of M/M/c (Erlang C): W_q = C(c, a) / (c mu - lambda)."""
    a = arrival_per_ms * mean_service_ms
    top = a**servers / math.factorial(servers) * servers / (servers - a)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(servers)) + top)
    return p_wait / (servers / mean_service_ms - arrival_per_ms)


QUEUE_ONLY = {
    "users": {"where": {"SG": 1}, "count": 50, "mobile_share": 0},
    "network": {
        "broadband_jitter_sigma": 0,
        "backbone_jitter_sigma": 0,
        "new_connection_share": 0,
        "anycast_miss_share": 0,
    },
    "database": {"queries_per_read": 0, "queries_per_write": 0, "query_ms": 0},
    "region_sets": [["sin"]],
}


@pytest.mark.parametrize(("servers", "load"), [(1, 0.7), (3, 0.85)])
def test_machine_queue_matches_erlang_c(servers, load):
    """One region, one Machine with c slots, exponential app time: an M/M/c queue."""
    service_ms = 20.0
    rate_rps = 1000 * load * servers / service_ms
    log = requests(
        small_scenario(
            **QUEUE_ONLY,
            workload={"requests": 100_000, "rate_rps": rate_rps, "write_share": 0},
            app={
                "primary_region": "sin",
                "concurrency": servers,
                "soft_limit": 1000,
                "service_ms": service_ms,
            },
        )
    )
    expected = erlang_c_wait_ms(servers, rate_rps / 1000, service_ms)
    assert log["queue_ms"].iloc[10_000:].mean() == pytest.approx(expected, rel=0.08)


def test_more_capacity_never_raises_waiting():
    waits = []
    for machines in (1, 2, 3):
        log = requests(
            small_scenario(
                **QUEUE_ONLY,
                workload={"requests": 20_000, "rate_rps": 120, "write_share": 0},
                app={
                    "primary_region": "sin",
                    "concurrency": 2,
                    "machines_per_region": machines,
                    "soft_limit": 1,
                },
            )
        )
        waits.append((log["queue_ms"].mean(), log["total_ms"].quantile(0.99)))
    assert waits == sorted(waits, reverse=True)
    assert waits[0][0] > 0


def test_overload_builds_a_queue():
    busy = requests(
        small_scenario(workload={"rate_rps": 2000}, app={"primary_region": "iad", "concurrency": 1})
    )
    calm = requests(small_scenario(app={"primary_region": "iad", "concurrency": 1}))
    assert busy["queue_ms"].mean() > 10 * max(calm["queue_ms"].mean(), 0.1)


def test_handshakes_cost_round_trips_by_protocol():
    """New connections pay 1 (QUIC), 2 (TCP + TLS 1.3) or 3 (TCP + TLS 1.2) extra RTTs."""
    every = {"new_connection_share": 1.0}
    means = {
        protocol: requests(small_scenario(network={**every, "protocol": protocol}))[
            "client_edge_ms"
        ].mean()
        for protocol in ("quic", "tcp_tls13", "tcp_tls12")
    }
    assert means["quic"] * 3 / 2 == pytest.approx(means["tcp_tls13"], rel=1e-5)
    assert means["quic"] * 4 / 2 == pytest.approx(means["tcp_tls12"], rel=1e-5)


def test_anycast_misses_never_shorten_the_way_to_the_edge():
    exact = requests(small_scenario(network={"anycast_miss_share": 0.0}))
    missed = requests(small_scenario(network={"anycast_miss_share": 1.0}))
    assert missed["client_edge_ms"].median() > exact["client_edge_ms"].median()
    assert (missed["edge"] != exact["edge"]).mean() > 0.5


def test_a_measured_matrix_overrides_the_model_where_it_has_data(tmp_path):
    (tmp_path / "measured.csv").write_text("country,region,rtt_ms\nUS,iad,300\n")
    exact = {
        "broadband_jitter_sigma": 0,
        "mobile_jitter_sigma": 0,
        "backbone_jitter_sigma": 0,
        "new_connection_share": 0,
    }
    plain = requests(small_scenario(network=exact))
    measured = requests(
        small_scenario(network={**exact, "measured": str(tmp_path / "measured.csv")})
    )
    path = ["client_edge_ms", "edge_worker_ms"]
    hit = ((measured["country"] == "US") & (measured["served_region"] == "iad")).to_numpy()
    assert hit.sum() > 100
    np.testing.assert_allclose(measured.loc[hit, path].sum(axis=1), 300.0, rtol=1e-5)
    pd.testing.assert_frame_equal(measured.loc[~hit, path], plain.loc[~hit, path])


def test_an_external_database_is_a_place_like_any_other():
    """Neon in AWS us-east-1 (northern Virginia) sits beside iad; Frankfurt is an ocean away."""
    near = requests(
        small_scenario(database={"product": "neon", "region": "neon:aws-us-east-1", "replicas": []})
    )
    far = requests(
        small_scenario(
            database={"product": "neon", "region": "neon:aws-eu-central-1", "replicas": []}
        )
    )
    iad = (near["region_set"] == "iad") & (near["kind"] == "read")
    assert near.loc[iad, "db_ms"].median() < 30
    assert far.loc[iad, "db_ms"].median() > 2 * 70  # two queries across the Atlantic


@pytest.mark.parametrize("engine", ["des", "analytic"])
def test_progress_hears_of_every_request_once(engine):
    scenario = small_scenario(faults=[{"region": "iad", "start_s": 10, "duration_s": 20}])
    done = []
    sim.run(scenario, engine=engine, progress=done.append)
    assert sum(done) == scenario.workload.requests * len(scenario.named_region_sets)


def test_an_alternative_host_has_no_edge_so_handshakes_cross_the_whole_path():
    """A single server (Hetzner in Falkenstein) against Fly in Frankfurt, for users in Asia:
    every Fly user meets an edge near home; the server's users go all the way for each
    handshake round trip: a baseline without an edge is the same pipeline with the server as
    the only site."""

    def p50(share: float) -> pd.Series:
        result = sim.run(
            small_scenario(
                users={"where": {"AS": 1.0}},
                app={"primary_region": "fra"},
                region_sets=[["fra"]],
                alternatives=["hetzner:fsn1"],
                network={"new_connection_share": share},
            )
        )
        log = result.requests
        alone = log[log["region_set"] == "hetzner:fsn1"]
        assert (alone["edge"] == "hetzner:fsn1").all()
        assert (alone["served_region"] == "hetzner:fsn1").all()
        assert (alone["replay_ms"] == 0).all()
        return result.summary.set_index("region_set")["p50_ms"]

    reused, fresh = p50(0.0), p50(1.0)
    # with every connection new, the server's users pay 2 more round trips to Germany
    assert fresh["hetzner:fsn1"] - fresh["fra"] > 100
    assert abs(reused["hetzner:fsn1"] - reused["fra"]) < 0.25 * reused["fra"]


WORLDWIDE_LOW_LOAD = {
    "users": {"where": "population", "count": 3000},
    "workload": {"requests": 40_000, "rate_rps": 20, "write_share": 0.1},
    "region_sets": [["iad"], ["iad", "fra", "sin"], ["iad", "fra", "sin", "gru", "syd"]],
}


def continent_quantiles(log: pd.DataFrame) -> pd.DataFrame:
    ok = log[log["outcome"] == "ok"].groupby(["region_set", "continent"], observed=True)
    return ok["total_ms"].quantile([0.5, 0.99]).unstack()


@pytest.mark.parametrize(
    ("rate_rps", "concurrency", "waiting"),
    [(20, 20, (0, 0)), (100, 6, (0.005, 0.03))],  # (20 slots idle; 6 slots, 1.5 % wait)
)
def test_the_engines_agree_at_low_load_without_limits(rate_rps, concurrency, waiting):
    """Same seed, no hard limit, autostop or faults, low load: p50 and p99 per continent of
    the DES are within 2 % of the analytic engine's, which queues nothing."""
    scenario = small_scenario(
        **{**WORLDWIDE_LOW_LOAD, "workload": {"requests": 40_000, "rate_rps": rate_rps}},
        app={"primary_region": "iad", "concurrency": concurrency},
    )
    des_log = requests(scenario, "des")
    assert waiting[0] <= (des_log["queue_ms"] > 0).mean() <= waiting[1]
    des = continent_quantiles(des_log)
    analytic = continent_quantiles(requests(scenario, "analytic"))
    assert len(des) == 3 * 6
    np.testing.assert_allclose(analytic, des, rtol=0.02)


@pytest.mark.parametrize(("rate_rps", "concurrency"), [(100, 6), (100, 5), (60, 4)])
def test_erlang_c_predicts_the_share_of_requests_that_wait(rate_rps, concurrency):
    """One region, one Machine: the share auto's rule predicts (Erlang C on the plan's load)
    against the share that waits for a slot in the DES (4 %, 12 %, 7 %)."""
    scenario = small_scenario(
        users=WORLDWIDE_LOW_LOAD["users"],
        workload={"requests": 40_000, "rate_rps": rate_rps, "write_share": 0.1},
        app={"primary_region": "iad", "concurrency": concurrency},
        region_sets=[["iad"]],
    )
    predicted, where = busiest_wait(plan_requests(scenario, "iad", draw(scenario)))
    assert where == "a slot in iad"
    assert (requests(scenario, "des")["queue_ms"] > 0).mean() == pytest.approx(predicted, rel=0.1)


FEATURES = {
    "worldwide": WORLDWIDE_LOW_LOAD,
    "one request": {"workload": {"requests": 1}},
    "only reads": {"workload": {"write_share": 0.0}},
    "only writes": {"workload": {"write_share": 1.0}},
    "no queries": {"database": {"queries_per_read": 0, "queries_per_write": 0}},
    "daily": {"workload": {"requests": 3000, "rate_rps": 0.2, "daily": {}}},
    "direct writes": {"app": {"primary_region": "iad", "writes": "direct"}},
    "read-your-writes": {"database": {"replicas": "all", "read_your_writes_s": 5}},
    "replica lag": {"database": {"replicas": "all", "replication_lag_ms": 500}},
    "outages": {
        "faults": [
            {"region": "iad", "start_s": 20, "duration_s": 60},
            {"region": "fra", "start_s": 30, "duration_s": 30},
        ]
    },
    "alternative host": {
        "alternatives": ["hetzner:fsn1"],
        "database": {"product": "neon", "region": "neon:aws-us-east-1", "replicas": []},
    },
}


@pytest.mark.parametrize("sections", FEATURES.values(), ids=FEATURES.keys())
def test_the_analytic_engine_is_the_des_without_its_waits(sections):
    """At low load every feature the plan carries comes out the same from both engines."""
    scenario = small_scenario(**sections)
    des, analytic = requests(scenario, "des"), requests(scenario, "analytic")
    assert (analytic[["queue_ms", "cold_start_ms"]] == 0).all().all()
    same = [c for c in des.columns if c not in ("queue_ms", "db_ms", "total_ms")]
    pd.testing.assert_frame_equal(analytic[same], des[same])
    waited = des["db_ms"] - analytic["db_ms"]  # only a wait for a database connection
    assert (waited >= -1e-3).all()


def test_the_analytic_log_is_as_compact():
    log = requests(small_scenario(**WORLDWIDE_LOW_LOAD), "analytic")
    assert log.memory_usage(deep=True).sum() / len(log) < 100  # bytes per request
    assert list(log.columns) == COLUMNS


@pytest.mark.parametrize(
    ("sections", "engine", "reason"),
    [
        ({}, "analytic", "no hard limit, autostop or faults"),
        ({"app": {"primary_region": "iad", "hard_limit": 25}}, "des", "app.hard_limit 25"),
        ({"app": {"primary_region": "iad", "auto_stop": "stop"}}, "des", "app.auto_stop stop"),
        (
            {"faults": [{"region": "fra", "start_s": 10, "duration_s": 5}]},
            "des",
            "faults in fra",
        ),
        (
            {"workload": {"rate_rps": 1500}, "app": {"primary_region": "iad", "concurrency": 20}},
            "des",
            "of requests would wait for",
        ),
    ],
)
def test_auto_picks_the_des_for_what_only_it_models(sections, engine, reason):
    result = sim.run(small_scenario(**sections))
    assert (result.engines["engine"] == engine).all()
    assert result.engines["reason"].str.contains(reason, regex=False).all()
    assert (result.summary["engine"] == engine).all()


def test_auto_decides_per_region_set():
    """An alternative host is one always-on server: autostop on Fly does not concern it."""
    result = sim.run(
        small_scenario(
            app={"primary_region": "iad", "auto_stop": "stop"}, alternatives=["hetzner:ash"]
        )
    )
    engines = result.engines.set_index("region_set")["engine"]
    assert engines.to_dict() == {"iad": "des", "iad+fra+sin": "des", "hetzner:ash": "analytic"}


def test_a_forced_analytic_run_says_what_it_ignores():
    result = sim.run(
        small_scenario(app={"primary_region": "iad", "auto_stop": "suspend"}), engine="analytic"
    )
    assert (
        result.engines["reason"] == "as asked; it ignores app.auto_stop suspend and every queue"
    ).all()
    assert (result.requests["cold_start_ms"] == 0).all()


def test_an_unknown_engine_is_refused():
    with pytest.raises(
        sim.ScenarioError, match="engine: 'fast' is not an engine; allowed: auto, des, analytic"
    ):
        sim.run(small_scenario(), engine="fast")

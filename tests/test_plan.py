"""The plan: groups of requests, their routes, and what is computed per route rather than per
request (it must equal the per-request answer)."""

import numpy as np
import pytest
from conftest import small_scenario

from sim.analytic import last_done_ms
from sim.contention import busiest_wait
from sim.draws import distinct, draw, standard_gamma
from sim.plan import OK, plan_requests, split_routes
from sim.queueing import erlang_c

OUTAGES = [
    {"region": "iad", "start_s": 20, "duration_s": 60},
    {"region": "fra", "start_s": 30, "duration_s": 30},
]


def test_distinct_is_numpys_unique():
    code = np.random.default_rng(0).integers(0, 50, 1000) * 3
    values, index = distinct(code, 150)
    expected_values, expected_index = np.unique(code, return_inverse=True)
    np.testing.assert_array_equal(values, expected_values)
    np.testing.assert_array_equal(index, expected_index)


def test_split_routes_tells_each_new_route_its_old_one_and_value():
    route, by = np.array([0, 1, 0, 1, 2]), np.array([3, 0, 3, 1, 0])
    new, old, value = split_routes(route, by, 4)
    np.testing.assert_array_equal(old[new], route)
    np.testing.assert_array_equal(value[new], by)
    assert len(old) == 4  # (0, 3), (1, 0), (1, 1), (2, 0)


def test_each_requests_group_holds_its_user_and_kind():
    draws = draw(small_scenario(database={"replicas": "all", "read_your_writes_s": 5}))
    groups, group = draws.groups, draws.group
    np.testing.assert_array_equal(groups.user[group], draws.user)
    np.testing.assert_array_equal(groups.write[group], draws.write)
    reads_after_writes = groups.needs_primary[group] & ~draws.write
    assert reads_after_writes.any()  # read-your-writes sends some reads to the primary
    assert (groups.needs_primary[group][draws.write]).all()


def test_an_outage_elsewhere_splits_the_routes_but_changes_no_request():
    """A fault in a region no candidate can reach (a deprecated one) gives a plan with outages
    (routes split by edge and first region) that must equal the plan of groups."""
    plain = small_scenario()
    elsewhere = small_scenario(faults=[{"region": "atl", "start_s": 10, "duration_s": 60}])
    for name in plain.candidates:
        one, other = (plan_requests(s, name, draw(s)) for s in (plain, elsewhere))
        assert other.route is not other.draws.group
        for field in ("edge", "target", "client_edge_ms", "replay_ms", "to_target"):
            np.testing.assert_array_equal(getattr(one, field), getattr(other, field))
        for total, split in zip(one.route_totals, other.route_totals, strict=True):
            assert split.sum() == pytest.approx(total.sum(), rel=1e-9)


@pytest.mark.parametrize("faults", [[], OUTAGES], ids=["no outages", "outages"])
def test_the_last_request_done_is_found_among_all(faults):
    scenario = small_scenario(faults=faults)
    draws = draw(scenario)
    for name in scenario.candidates:
        plan = plan_requests(scenario, name, draws)
        worker_ms, _, path_ms = plan.to_target
        done_ms = plan.edge_arrival_ms + (
            plan.replay_ms + worker_ms / 2 + draws.app_ms + draws.db_service_ms + path_ms
        )
        ok = plan.failed == OK
        assert last_done_ms(plan) == pytest.approx(done_ms[ok].max(), abs=1e-3)  # float32 parts


def test_busiest_wait_is_erlang_c_on_each_pools_busiest_hour():
    """Per-route totals against the same rule computed request by request: a daily pattern,
    so that each region's busiest hour is its own."""
    scenario = small_scenario(
        workload={"requests": 20_000, "rate_rps": 0.5, "daily": {}},
        app={"primary_region": "iad", "concurrency": 1},
        database={"replicas": ["fra"], "connections": 1},
        region_sets=[["iad", "fra", "sin"]],
    )
    plan = plan_requests(scenario, "iad+fra+sin", draw(scenario))
    draws, t_s = plan.draws, plan.draws.t_s
    window = ((t_s - t_s[0]) // 3600).astype(int)
    _, at_primary, path_ms = plan.to_target
    expected = []
    for r, code in enumerate(plan.region_set):
        mine = plan.target == r
        hold_ms = (draws.app_ms + draws.db_service_ms + path_ms)[mine].mean()
        rate = np.bincount(window[mine]).max() / 3_600_000
        expected.append((erlang_c(1, rate * hold_ms), f"a slot in {code}"))
    mine = at_primary & (plan.target >= 0)
    rate = np.bincount(window[mine]).max() / 3_600_000
    expected.append((erlang_c(1, rate * draws.db_service_ms[mine].mean()), "a database connection"))
    share, where = busiest_wait(plan)
    assert where == max(expected)[1]
    assert share == pytest.approx(max(expected)[0], rel=1e-6)
    assert share > 0.01  # the test has something to compare


def test_gamma_of_shape_one_is_numpys_own_draws():
    """draws.standard_gamma takes numpy's exponential sampler for shape 1: the same values."""
    for shape in (1, 2.5):
        expected = np.random.default_rng(7).standard_gamma(shape, 1000, dtype=np.float32)
        drawn = standard_gamma(shape, 1000, np.random.default_rng(7))
        np.testing.assert_array_equal(drawn, expected)

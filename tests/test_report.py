"""The summary's verdict: changes against the baseline, user-hours saved, dollars per
user-hour, SLO attainment and the sentence, all derived from the request log."""

import numpy as np
import pytest
from conftest import small_scenario

import sim


@pytest.fixture(scope="module")
def worldwide():
    return sim.run(small_scenario(database={"replicas": "all"}))


def test_the_baseline_row_has_no_change(worldwide):
    base = worldwide.summary.set_index("region_set").loc["iad"]
    assert base["p50_change_ms"] == base["cost_change_usd_month"] == 0
    assert base["user_hours_saved_month"] == 0
    assert base["verdict"].startswith("iad: the baseline, p50 ")


def test_user_hours_and_dollars_per_user_hour_follow_from_the_means(worldwide):
    table = worldwide.summary.set_index("region_set")
    base, multi = table.loc["iad"], table.loc["iad+fra+sin"]
    per_month = 20 * 30 * 86_400  # SMALL's rate_rps x a 30-day month
    saved = per_month * (base["mean_ms"] - multi["mean_ms"]) / 3_600_000
    assert multi["user_hours_saved_month"] == pytest.approx(saved)
    assert saved > 0 and multi["cost_change_usd_month"] > 0
    assert multi["usd_per_user_hour_saved"] == pytest.approx(multi["cost_change_usd_month"] / saved)
    assert f"{saved:,.0f} user-hours a month" in multi["verdict"]
    assert "per user-hour saved" in multi["verdict"]


def test_the_sentence_names_the_continent_that_gains_most_user_hours(worldwide):
    """Not the most ms per request (a continent of few requests), but the most user-hours:
    requests x mean ms saved."""
    table = worldwide.by_continent.set_index(["region_set", "continent"])
    base, multi = table.loc["iad"], table.loc["iad+fra+sin"]
    hours = multi["requests"] * (base["mean_ms"] - multi["mean_ms"])
    people = {"AS": "Asian", "EU": "European", "OC": "Oceanian", "AF": "African"}
    best = hours.idxmax()
    verdict = worldwide.summary.set_index("region_set").at["iad+fra+sin", "verdict"]
    assert f"{people.get(best, best)} users gain most " in verdict
    assert f"{-multi.at[best, 'p50_change_ms']:.0f} ms less at p50" in verdict


def test_a_failing_set_hears_its_failures_first_and_a_worse_p99_by_name():
    result = sim.run(
        small_scenario(faults=[{"region": "iad", "start_s": 20.0, "duration_s": 60.0}])
    )
    summary = result.summary.set_index("region_set")
    alone, multi = summary.loc["iad"], summary.loc["iad+fra+sin"]
    assert alone["error_rate"] > 0.1 and alone["p99_ms"] == np.inf  # 10 %+ failed: p99 failed
    assert multi["verdict"].startswith(
        f"iad+fra+sin: fails {multi['error_rate']:.1%} of requests against "
        f"{alone['error_rate']:.1%}"
    )
    assert multi["error_rate_change"] == pytest.approx(multi["error_rate"] - alone["error_rate"])
    assert multi["p99_ok_ms"] <= multi["p99_ms"]
    assert summary["slo_attainment"].max() <= 1 - summary["error_rate"].min()


def test_identical_region_sets_are_the_same_in_every_figure():
    result = sim.run(small_scenario(region_sets={"a": ["iad", "fra"], "b": ["iad", "fra"]}))
    a, b = result.summary.set_index("region_set").loc[["a", "b"]].itertuples(index=False)
    assert a.p99_ms == b.p99_ms and a.error_rate == b.error_rate
    assert "b: users wait no less on average" in result.summary["verdict"].iloc[1]


def test_regions_far_from_a_one_continent_user_base_are_not_worth_it():
    result = sim.run(
        small_scenario(
            users={"where": {"EU": 1.0}},
            app={"primary_region": "fra"},
            region_sets=[["fra"], ["fra", "sin", "gru"]],
            verdict={"usd_per_user_hour": 0.5},  # below the ~$0.76 it costs
        )
    )
    table = result.summary.set_index("region_set")
    far = table.loc["fra+sin+gru"]
    assert abs(far["p50_change_ms"]) < 0.5  # Europe's median user is served from fra either way
    # only Russia's far east gains (served from sin): about a millisecond on average
    waiting_hours = table.at["fra", "mean_ms"] * 20 * 30 * 86_400 / 3_600_000
    assert 0 < far["user_hours_saved_month"] < 0.02 * waiting_hours
    assert far["usd_per_user_hour_saved"] > 0.5
    assert "ms less on average" in far["verdict"]
    assert far["verdict"].endswith("per user-hour saved, not worth it at $0.50 a user-hour")


def test_a_slower_cheaper_set_is_priced_per_user_hour_lost():
    result = sim.run(small_scenario(verdict={"baseline": "iad+fra+sin", "usd_per_user_hour": 1}))
    iad = result.summary.set_index("region_set").loc["iad"]
    assert iad["user_hours_saved_month"] < 0 and np.isnan(iad["usd_per_user_hour_saved"])
    saved = -iad["cost_change_usd_month"] / -iad["user_hours_saved_month"]
    assert f"less: ${saved:,.2f} saved per user-hour lost" in iad["verdict"]
    assert iad["verdict"].endswith("not worth it at $1.00 a user-hour")


def test_a_slower_dearer_set_is_not_worth_it():
    result = sim.run(
        small_scenario(
            users={"where": {"NA": 1.0}},
            region_sets=[["iad"], ["iad", "sin"]],
            database={"replicas": []},
            verdict={"baseline": "iad"},
        )
    )
    far = result.summary.set_index("region_set").loc["iad+sin"]
    assert far["cost_change_usd_month"] > 0 and far["user_hours_saved_month"] <= 0
    assert far["verdict"].startswith("iad+sin: users wait no less on average")
    assert far["verdict"].endswith("not worth it")


def test_slo_attainment_counts_requests_within_the_objective():
    loose, tight = (
        sim.run(small_scenario(verdict={"slo_ms": slo})).summary["slo_attainment"]
        for slo in (600_000, 1)
    )
    assert (loose == 1.0).all() and (tight == 0.0).all()


def test_a_named_baseline():
    result = sim.run(small_scenario(verdict={"baseline": "iad+fra+sin"}))
    table = result.summary.set_index("region_set")
    assert table.at["iad+fra+sin", "p50_change_ms"] == 0
    assert table.at["iad", "p50_change_ms"] > 0

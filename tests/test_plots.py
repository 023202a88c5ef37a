"""Charts carry their content: one line per region set, labelled axes, a title with the finding."""

import numpy as np
import pandas as pd
import pytest
from conftest import small_scenario

import sim
from sim.engine import simulate
from sim.plots import PALETTE, PART_NAMES, pareto_front, plot_cdf


def test_cdf_has_one_line_per_region_set_on_a_log_axis():
    figure = plot_cdf(simulate(small_scenario()).requests)
    ax = figure.axes[0]
    labelled = [line for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert [line.get_label().split(":")[0] for line in labelled] == ["iad", "iad+fra+sin"]
    assert [line.get_color() for line in labelled] == list(PALETTE[:2])
    assert ax.get_xscale() == "log"
    assert (
        "[ms" in ax.get_xlabel()
        and ax.get_ylabel() == "share of requests (failed ones never arrive)"
    )
    assert "iad+fra+sin cuts the median latency" in ax.get_title()


def test_cost_chart_stacks_each_item_per_region_set():
    result = sim.run(small_scenario(alternatives=["hetzner:fsn1"]))
    ax = result.plot_cost().axes[0]
    bars = ax.patches
    assert len(bars) == 7 * 3  # seven items x (two region sets + one alternative)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["iad", "iad+fra+sin", "hetzner:fsn1"]
    widths = np.array([bar.get_width() for bar in bars]).reshape(7, 3).sum(axis=0)
    assert np.allclose(widths, result.summary["monthly_cost_usd"])
    assert "USD" in ax.get_xlabel() and "a month more than hetzner:fsn1" in ax.get_title()


@pytest.fixture(scope="module")
def small_run():
    return sim.run(small_scenario(alternatives=["hetzner:fsn1"]))


def test_cost_latency_has_a_point_per_set_and_the_pareto_front(small_run):
    ax = small_run.plot_cost_latency().axes[0]
    points = [c for c in ax.collections if len(c.get_offsets()) == 1]
    assert len(points) == 3
    assert {t.get_text().strip() for t in ax.texts} == {"iad", "iad+fra+sin", "hetzner:fsn1"}
    assert (
        ax.get_xlabel() == "monthly cost [USD]"
        and ax.get_ylabel() == "p99 latency [ms], failures counted"
    )
    summary = small_run.summary.set_index("region_set")
    front = pareto_front(summary["monthly_cost_usd"], summary["p99_ms"])
    (line,) = [line for line in ax.get_lines() if line.get_label() == "Pareto front"]
    assert len(line.get_xdata()) == len(front)


def test_pareto_front_keeps_only_sets_nothing_beats():
    cost = pd.Series({"a": 10.0, "b": 20.0, "c": 30.0, "d": 25.0})
    p99 = pd.Series({"a": 900.0, "b": 500.0, "c": 300.0, "d": 600.0})
    assert pareto_front(cost, p99) == ["a", "b", "c"]  # d costs more than b and is slower


def test_continents_chart_groups_p50_and_p99_bars_by_set(small_run):
    ax = small_run.plot_continents().axes[0]
    continents = small_run.by_continent["continent"].nunique()
    assert len(ax.patches) == 2 * 3 * continents  # p50 and p99 bar per set and continent
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(
        small_run.scenario.candidates
    )
    assert "[ms]" in ax.get_ylabel() and "gains most" in ax.get_title()


def test_parts_chart_stacks_every_latency_part_per_continent(small_run):
    figure = small_run.plot_parts()
    assert len(figure.axes) == 3  # one panel per region set or alternative
    labels = figure.legends[0].get_texts()
    assert [t.get_text() for t in labels] == list(PART_NAMES.values())
    assert "of the time users wait" in figure._suptitle.get_text()


def test_daily_chart_needs_hours_and_draws_p50_and_p99_per_set():
    with pytest.raises(ValueError, match="needs 3 hours or more"):
        sim.run(small_scenario()).plot_daily()
    day = small_scenario(workload={"requests": 4000, "rate_rps": 0.2, "write_share": 0.2})
    ax = sim.run(day).plot_daily().axes[0]
    assert [line.get_label() for line in ax.get_lines()] == [
        "iad p50", "iad p99", "iad+fra+sin p50", "iad+fra+sin p99",
    ]  # fmt: skip
    assert ax.get_yscale() == "log" and "hour" in ax.get_xlabel()


def test_every_chart_gives_a_set_the_same_colour(small_run):
    names = list(small_run.scenario.candidates)  # iad, iad+fra+sin, hetzner:fsn1
    cdf = small_run.plot_cdf().axes[0]
    by_label = {
        line.get_label().rsplit(": p50", 1)[0]: line.get_color()
        for line in cdf.get_lines()
        if not line.get_label().startswith("_")
    }
    assert by_label == {name: PALETTE[i] for i, name in enumerate(names)}
    points = small_run.plot_cost_latency().axes[0].collections
    assert [tuple(c.get_facecolor()[0][:3]) for c in points] == [
        tuple(int(PALETTE[i][k : k + 2], 16) / 255 for k in (1, 3, 5)) for i in range(3)
    ]


def test_a_failing_set_ends_its_cdf_below_one_and_every_map_shares_one_scale():
    result = sim.run(
        small_scenario(faults=[{"region": "iad", "start_s": 20.0, "duration_s": 60.0}])
    )
    ax = result.plot_cdf().axes[0]
    ends = {line.get_label().split(":")[0]: line.get_ydata()[-1] for line in ax.get_lines()
            if ":" in line.get_label()}  # fmt: skip
    failed = 1 - result.summary.set_index("region_set")["ok"] / 3000
    assert ends["iad"] == pytest.approx(1 - failed["iad"]) and ends["iad"] < 0.9
    scales = {
        name: result.plot_map(name).axes[0].collections[0].norm.vmax
        for name in result.summary["region_set"]
    }
    assert len(set(scales.values())) == 1


def test_no_region_set_colour_means_anything_else():
    from sim.plots import ITEM_COLOURS, PALETTE, REGION_COLOURS

    assert not set(PALETTE) & set(ITEM_COLOURS) and not set(PALETTE) & set(REGION_COLOURS)

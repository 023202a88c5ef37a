"""Charts carry their content: one line per region set, labelled axes, a title with the finding."""

import numpy as np
from conftest import small_scenario

import sim
from sim.engine import simulate
from sim.plots import PALETTE, plot_cdf


def test_cdf_has_one_line_per_region_set_on_a_log_axis():
    figure = plot_cdf(simulate(small_scenario()).requests)
    ax = figure.axes[0]
    labelled = [line for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert [line.get_label().split(":")[0] for line in labelled] == ["iad", "iad+fra+sin"]
    assert [line.get_color() for line in labelled] == list(PALETTE[:2])
    assert ax.get_xscale() == "log"
    assert "[ms" in ax.get_xlabel() and ax.get_ylabel() == "share of requests"
    assert "iad+fra+sin cuts the median latency" in ax.get_title()


def test_cost_chart_stacks_each_item_per_region_set():
    result = sim.run(small_scenario(alternatives=["hetzner:fsn1"]))
    ax = result.plot_cost().axes[0]
    bars = ax.patches
    assert len(bars) == 5 * 3  # five items x (two region sets + one alternative)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["iad", "iad+fra+sin", "hetzner:fsn1"]
    widths = np.array([bar.get_width() for bar in bars]).reshape(5, 3).sum(axis=0)
    assert np.allclose(widths, result.summary["monthly_cost_usd"])
    assert "USD" in ax.get_xlabel() and "a month more than hetzner:fsn1" in ax.get_title()

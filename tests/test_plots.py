"""Charts carry their content: one line per region set, labelled axes, a title with the finding."""

from conftest import small_scenario

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

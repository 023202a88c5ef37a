"""Calibration: fits recover known constants; error tables; the packaged fit is reproducible."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.calibration import (
    backbone_ms,
    error_table,
    fit_backbone,
    fit_internet,
    internet_ms,
    pairs_table,
)
from sim.data import measured_rtts, regions
from sim.network_config import Network, RttModel

KNOWN = RttModel(overhead_ms=4.0, land_inflation=1.4, sea_inflation=1.1, internet_inflation=1.3)
START = RttModel(overhead_ms=6.0, land_inflation=1.6, sea_inflation=1.25, internet_inflation=1.1)


@pytest.fixture(scope="module")
def region_pairs():
    """Every pair of active Fly regions, as a measurement table without RTTs yet."""
    table = regions()
    codes = table.index[table["status"] == "active"]
    a, b = np.triu_indices(len(codes), k=1)
    one, other = table.loc[codes[a]], table.loc[codes[b]]
    return pd.DataFrame(
        {
            "from_lat": one["lat"].to_numpy(),
            "from_lon": one["lon"].to_numpy(),
            "to_lat": other["lat"].to_numpy(),
            "to_lon": other["lon"].to_numpy(),
        }
    )


def test_backbone_fit_recovers_the_constants_it_was_made_from(region_pairs):
    pairs = pairs_table(region_pairs, measured=False)
    pairs["rtt_ms"] = backbone_ms(pairs, Network(model=KNOWN, same_region_rtt_ms=0))
    fitted = fit_backbone(pairs, START)
    assert fitted.overhead_ms == pytest.approx(KNOWN.overhead_ms, abs=0.2)
    assert fitted.land_inflation == pytest.approx(KNOWN.land_inflation, abs=0.03)
    assert fitted.sea_inflation == pytest.approx(KNOWN.sea_inflation, abs=0.02)
    assert fitted.internet_inflation == START.internet_inflation  # the other path is kept


def test_internet_fit_recovers_inflation_and_intercept(region_pairs):
    pairs = pairs_table(region_pairs, measured=False)
    pairs["rtt_ms"] = internet_ms(pairs, Network(model=KNOWN), intercept_ms=9.0)
    fitted, intercept_ms = fit_internet(pairs, KNOWN.replace(internet_inflation=1.0))
    assert fitted.internet_inflation == pytest.approx(1.3, abs=0.01)
    assert intercept_ms == pytest.approx(9.0, abs=0.3)


def test_error_table_by_corridor_and_overall():
    pairs = pd.DataFrame(
        {
            "continent_pair": ["EU-NA", "EU-NA", "AS-EU"],
            "gc_km": [6000.0, 5000.0, 50.0],
            "rtt_ms": [100.0, 80.0, 3.0],
        }
    )
    table = error_table(pairs, np.array([110.0, 80.0, 30.0]))
    assert list(table.index) == ["EU-NA", "all"]  # the co-located pair is left out
    assert table.loc["EU-NA", "mdape_pct"] == pytest.approx(5.0)
    assert table.loc["all", "pairs"] == 2


def test_measured_directions_are_averaged_and_bad_rows_named():
    table = pd.DataFrame(
        {
            "from_lat": [51.5],
            "from_lon": [-0.1],
            "to_lat": [40.7],
            "to_lon": [-74.0],
            "rtt_ms_p50": [70.0],
            "rtt_ms_reverse": [74.0],
        }
    )
    assert pairs_table(table)["rtt_ms"].iloc[0] == 72.0
    assert pairs_table(table)["continent_pair"].iloc[0] == "EU-NA"
    with pytest.raises(ValueError, match="line 2"):
        pairs_table(table.assign(to_lat=[95.0]))
    with pytest.raises(ValueError, match="missing columns rtt_ms_p50"):
        pairs_table(table.drop(columns="rtt_ms_p50"))


def test_packaged_errors_match_docs_validation():
    """`globalness rtt --pairs` on the Azure file prints the in-sample row of docs/validation.md."""
    docs = Path(__file__).parents[1] / "docs" / "validation.md"
    row = re.search(r"\| Azure, in sample \| (\d+) \| ([\d.]+) \| ([\d.]+) \|", docs.read_text())
    pairs = pairs_table(measured_rtts("azure_p50_2025-06"))
    overall = error_table(pairs, backbone_ms(pairs, Network())).loc["all"]
    assert (overall["pairs"], overall["mdape_pct"], overall["p90_ape_pct"]) == tuple(
        float(x) for x in row.groups()
    )

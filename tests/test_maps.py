"""The world map: Natural Earth outlines that put cities in their countries, and a chart that
draws every user of a set once, with the set's regions labelled."""

import io

import numpy as np
import pytest
from conftest import small_scenario
from matplotlib.path import Path

import sim
from sim.chart_files import DPI
from sim.data import world_outlines
from sim.maps import LatencyMap, plot_map

BERLIN = (13.40, 52.52)  # lon, lat [deg]
MASERU = (27.48, -29.31)  # capital of Lesotho, a hole in South Africa's polygon


@pytest.fixture(scope="module")
def requests():
    return sim.run(small_scenario()).requests


def countries_at(lon: float, lat: float) -> set[str]:
    """Names of the countries whose outline (less its holes) contains the point."""
    return {
        polygon["name"]
        for polygon in world_outlines()
        if Path(polygon["rings"][0]).contains_point((lon, lat))
        and not any(Path(hole).contains_point((lon, lat)) for hole in polygon["rings"][1:])
    }


def signed_area(ring) -> float:
    x, y = np.array(ring).T
    return float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]) / 2)


def test_outlines_are_natural_earth_110m_countries():
    outlines = world_outlines()
    assert 170 <= len({p["name"] for p in outlines}) <= 180  # Natural Earth 110m: 177
    assert {p["continent"] for p in outlines} == {"AF", "AN", "AS", "EU", "NA", "OC", "SA"}
    points = np.concatenate([np.array(ring) for p in outlines for ring in p["rings"]])
    assert points[:, 0].min() >= -180 and points[:, 0].max() <= 180
    assert points[:, 1].min() >= -90 and points[:, 1].max() <= 90
    assert all(ring[0] == ring[-1] and len(ring) >= 4 for p in outlines for ring in p["rings"])


def test_rings_wind_as_in_geojson_so_holes_stay_open():
    # RFC 7946 section 3.1.6: outlines counter-clockwise, holes clockwise
    rings = [(i, ring) for p in world_outlines() for i, ring in enumerate(p["rings"])]
    assert all((signed_area(ring) > 0) == (i == 0) for i, ring in rings)
    assert any(i > 0 for i, _ in rings)  # South Africa has Lesotho as a hole


def test_capitals_lie_in_their_country_and_no_other():
    assert countries_at(*BERLIN) == {"Germany"}
    assert countries_at(*MASERU) == {"Lesotho"}
    germany = [p for p in world_outlines() if p["iso_a2"] == "DE"]
    assert len(germany) == 1 and germany[0]["continent"] == "EU"


def test_p50_map_draws_each_user_once_coloured_by_their_median(requests):
    name = "iad+fra+sin"
    figure = plot_map(requests, name)
    ax = figure.axes[0]
    assert len(ax.collections) == 1
    points = ax.collections[0]
    rows = requests[requests["region_set"] == name]
    users = rows.groupby(["user_lat", "user_lon"], observed=True).ngroups
    assert len(points.get_offsets()) == users
    ok = rows[rows["outcome"] == "ok"]
    medians = ok.groupby(["user_lat", "user_lon"], observed=True)["total_ms"].median()
    drawn = np.asarray(points.get_array(), dtype=float)
    assert np.allclose(np.sort(drawn[np.isfinite(drawn)]), np.sort(medians.to_numpy(float)))
    assert figure.axes[1].get_ylabel() == "p50 latency [ms]"
    assert {"iad", "fra", "sin"} <= {text.get_text() for text in ax.texts}
    assert ax.get_title().startswith(f"{name}: half of the requests are answered within")
    assert ax.get_xlabel() == "longitude [°]" and ax.get_ylabel() == "latitude [°]"
    assert ax.get_xlim() == (-180, 180) and ax.get_ylim() == (-60, 80)


def test_region_map_has_a_legend_entry_per_serving_region(requests):
    name = "iad+fra+sin"
    ax = plot_map(requests, name, by="region").axes[0]
    rows = requests[requests["region_set"] == name]
    served = set(rows.loc[rows["outcome"] == "ok", "served_region"].dropna().astype(str))
    entries = [text.get_text().split(":")[0] for text in ax.get_legend().get_texts()]
    assert set(entries) - {"no ok request"} == served
    assert len(entries) == len(set(entries))
    users = rows.groupby(["user_lat", "user_lon"], observed=True).ngroups
    assert sum(len(points.get_offsets()) for points in ax.collections) == users
    assert ax.get_title().startswith(f"{name}: ")


def test_users_with_no_ok_request_are_drawn_and_counted(requests):
    rows = requests[requests["region_set"] == "iad+fra+sin"].copy()
    south = rows["user_lat"] < 0
    rows.loc[south, "outcome"] = "failed_no_machine"
    rows.loc[south, "served_region"] = None
    place = ["user_lat", "user_lon"]
    failed = rows[south].groupby(place, observed=True).ngroups
    assert failed > 0
    ax = plot_map(rows, "iad+fra+sin").axes[0]
    assert len(ax.collections[0].get_offsets()) == rows.groupby(place, observed=True).ngroups
    assert np.isnan(np.asarray(ax.collections[0].get_array(), dtype=float)).sum() == failed
    assert (
        ax.get_legend().get_texts()[0].get_text() == f"no ok request ({failed:,} places of users)"
    )
    ax = plot_map(rows, "iad+fra+sin", by="region").axes[0]
    assert (
        ax.get_legend().get_texts()[-1].get_text() == f"no ok request: {failed:,} places of users"
    )


def test_single_region_set_gets_its_own_marker(requests):
    ax = plot_map(requests, "iad").axes[0]
    assert [text.get_text() for text in ax.texts] == ["iad"]


def test_unknown_set_or_colouring_is_refused(requests):
    with pytest.raises(ValueError, match=r"'mad' is not in the log; region sets: iad, iad\+fra"):
        plot_map(requests, "mad")
    with pytest.raises(ValueError, match="by='country'"):
        plot_map(requests, "iad", by="country")


def test_a_latency_map_redrawn_for_another_set_is_that_sets_map(requests):
    """LatencyMap reuses one figure: after showing a set, the next set's map has only its own
    points, sites and title, as a map drawn afresh has."""
    world = LatencyMap(requests)
    world.show("iad+fra+sin")
    ax = world.show("iad").axes[0]
    fresh = plot_map(requests, "iad").axes[0]
    assert [t.get_text() for t in ax.texts] == [t.get_text() for t in fresh.texts] == ["iad"]
    assert len(ax.collections) == 1
    assert np.array_equal(ax.collections[0].get_offsets(), fresh.collections[0].get_offsets())
    assert ax.get_title() == fresh.get_title()


def test_a_latency_maps_painted_pixels_are_savefigs(requests):
    """`pixels` paints the set's artists over the rest painted once; the result is, pixel for
    pixel, what savefig paints from scratch, for each set in turn (a set with a legend too)."""
    rows = requests.copy()
    south = (rows["region_set"] == "iad") & (rows["user_lat"] < 0)
    rows.loc[south, "outcome"] = "failed_no_machine"  # a legend of places with no answer
    world = LatencyMap(rows)
    for name in ("iad", "iad+fra+sin", "iad"):
        figure = world.show(name)
        painted = world.pixels(DPI)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="rgba", dpi=DPI)
        full = np.frombuffer(buffer.getvalue(), np.uint8).reshape(*painted.shape[:2], 4)
        assert np.array_equal(painted, full[:, :, :3]), name
        assert (figure.axes[0].get_legend() is not None) == (name == "iad")

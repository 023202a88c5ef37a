"""What a run leaves is safe to open and complete: one file per set, names escaped."""

from conftest import small_scenario

import sim
from sim.outputs import unique_stems, write_outputs


def test_region_sets_whose_names_collide_keep_a_map_each(tmp_path):
    result = sim.run(
        small_scenario(region_sets={"a b": ["iad"], "a-b": ["iad", "fra"]}, alternatives=[])
    )
    write_outputs(result, tmp_path, source=tmp_path / "x.yaml")
    maps = sorted(path.name for path in tmp_path.glob("map_*.png"))
    assert maps == ["map_a-b-2.png", "map_a-b.png"]


def test_stems_are_unique_whatever_the_case_and_in_order():
    stems = unique_stems(["hetzner:fsn1", "hetzner-fsn1", "HETZNER-FSN1"])
    assert list(stems.values()) == ["hetzner-fsn1", "hetzner-fsn1-2", "HETZNER-FSN1-3"]


def test_html_in_a_region_set_name_stays_text(tmp_path):
    name = "<img src=x onerror=alert(1)>"
    result = sim.run(small_scenario(region_sets={name: ["iad"], "b": ["iad", "fra"]}))
    write_outputs(result, tmp_path, source=tmp_path / "x.yaml")
    page = (tmp_path / "report.html").read_text()
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page

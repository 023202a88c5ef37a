"""What a run leaves is safe to open and complete: one file per set, names escaped."""

from pathlib import Path

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


def run_small(tmp_path, out, *extra):
    from sim.cli import main

    path = tmp_path / "small.yaml"
    if not path.exists():
        import yaml
        from conftest import SMALL

        path.write_text(yaml.safe_dump({**SMALL, "workload": {"requests": 500}}))
    return main(["run", str(path), "-q", "--out", str(out), *extra])


def test_out_is_checked_before_anything_is_simulated(tmp_path, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("mine")
    for out, message in [("", "is empty"), (a_file, "is a file"), (foreign, "did not write")]:
        assert run_small(tmp_path, out) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1
        assert "simulating" not in err
    assert (foreign / "thesis.tex").read_text() == "mine" and len(list(foreign.iterdir())) == 1


def test_a_second_run_replaces_the_folder_whole(tmp_path):
    out = tmp_path / "out"
    assert run_small(tmp_path, out, "--replications", "2") == 0
    assert (out / "replications.csv").exists() and (out / ".globalness").exists()
    stale = tmp_path / ".out.abc123.tmp"  # left by an interrupted run
    stale.mkdir()
    assert run_small(tmp_path, out) == 0
    assert not (out / "replications.csv").exists()  # nothing of the earlier run is mixed in
    assert not stale.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out")) == []


def test_a_failed_write_leaves_the_earlier_folder_as_it_was(tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    assert run_small(tmp_path, out) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real, written = Path.write_bytes, []

    def full_disk(self, data):
        if len(written) == 3:
            raise OSError(28, "No space left on device")
        written.append(self)
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    assert run_small(tmp_path, out) == 1
    err = capsys.readouterr().err
    assert "No space left on device" in err and "nothing of this run was written" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]

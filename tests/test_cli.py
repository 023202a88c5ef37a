"""The command line: outputs, exit codes, one-line errors, nothing half-written."""

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import SMALL

import sim
from sim import footprint
from sim.cli import main


@pytest.fixture
def scenario_file(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(SMALL))
    return path


def test_run_prints_the_comparison_and_writes_the_outputs(scenario_file, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(scenario_file), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "p50 ms" in printed and "$/month" in printed and "iad+fra+sin" in printed
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary["region_set"]) == ["iad", "iad+fra+sin"]
    assert {"requests", "p50_ms", "p90_ms", "p99_ms", "monthly_cost_usd"} <= set(summary.columns)
    assert (summary["p99_ms"] >= summary["p90_ms"]).all() and (
        summary["p90_ms"] >= summary["p50_ms"]
    ).all()
    by_continent = pd.read_csv(out / "by_continent.csv")
    assert {"region_set", "continent", "requests", "p50_ms", "p99_ms"} <= set(by_continent.columns)
    log = pd.read_csv(out / "requests.csv.gz")
    assert len(log) == 2 * SMALL["workload"]["requests"]
    assert (out / "latency_cdf.png").read_bytes()[:4] == b"\x89PNG"
    assert "| iad+fra+sin |" in (out / "report.md").read_text()
    assert not list(out.glob(".*.tmp"))
    umask = os.umask(0)
    os.umask(umask)
    assert (out / "summary.csv").stat().st_mode & 0o777 == 0o666 & ~umask


def test_overrides_replace_seed_and_region_sets(scenario_file, tmp_path):
    out = tmp_path / "out"
    assert (
        main(
            [
                "run",
                str(scenario_file),
                "--out",
                str(out),
                "--seed",
                "3",
                "--regions",
                "iad",
                "--regions",
                "iad,syd",
            ]
        )
        == 0
    )
    assert list(pd.read_csv(out / "summary.csv")["region_set"]) == ["iad", "iad+syd"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"app": {"primary_region": "mda"}}, "did you mean 'mad'"),
        ({"workload": {"requests": 0, "rate_rps": 1}}, "workload.requests"),
        ({"region_sets": [["fra"]]}, "lacks app.primary_region"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, change, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({**SMALL, **change}))
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and expected in err[0]
    assert str(path) in err[0]
    assert not out.exists()


def test_bad_region_override_exits_2(scenario_file, tmp_path, capsys):
    assert main(["run", str(scenario_file), "--regions", "iad,zzz"]) == 2
    assert "'zzz' is not a Fly region" in capsys.readouterr().err


def test_usage_errors_exit_2_in_one_line(capsys):
    assert main(["run"]) == 2
    assert main(["frobnicate"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("error: ") for line in lines)


def test_missing_scenario_file_exits_2(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert "cannot read the file" in capsys.readouterr().err


def test_validate_reports_the_sets(scenario_file, capsys):
    assert main(["validate", str(scenario_file)]) == 0
    out = capsys.readouterr().out
    assert "ok: 3,000 requests x 2 region sets (iad, iad+fra+sin)" in out
    assert "engine (auto): analytic for iad, iad+fra+sin, unless the CPU quota binds" in out
    assert main(["validate", str(scenario_file), "--set", "app.auto_stop=suspend"]) == 0
    assert (
        "engine (auto): des for iad, iad+fra+sin: app.auto_stop suspend" in capsys.readouterr().out
    )


def test_run_says_which_engine_served_each_set(scenario_file, capsys):
    assert main(["run", str(scenario_file), "--engine", "des"]) == 0
    assert "engine des for iad, iad+fra+sin: as asked" in capsys.readouterr().err
    assert main(["run", str(scenario_file), "--format", "csv"]) == 0
    captured = capsys.readouterr()
    assert "engine analytic for iad, iad+fra+sin: no hard limit" in captured.err
    assert captured.out.splitlines()[0].endswith(",engine")
    assert main(["run", str(scenario_file), "--engine", "fast"]) == 2


def test_rtt_between_regions_and_coordinates(capsys):
    assert main(["rtt", "iad", "iad"]) == 0
    assert float(capsys.readouterr().out) == pytest.approx(1.0)  # same site
    assert main(["rtt", "lhr", "40.71,-74.01"]) == 0
    median = float(capsys.readouterr().out)
    # Above the fibre floor (55.7 ms) and near what London-New York measures (~70-76 ms)
    assert 5570 * 2 / 200 < median < 80
    assert main(["rtt", "lhr", "40.71,-74.01", "--access", "mobile"]) == 0
    assert float(capsys.readouterr().out) > median


def test_rtt_bad_place_exits_2(capsys):
    assert main(["rtt", "lhr", "95,0"]) == 2
    assert main(["rtt", "lhr", "narnia"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 2


def test_rtt_pairs_on_measurements_adds_model_and_error(capsys):
    shipped = Path(__file__).parents[1] / "data" / "rtt" / "wonderproxy_2011.csv"
    assert main(["rtt", "--pairs", str(shipped)]) == 0
    captured = capsys.readouterr()
    out = pd.read_csv(io.StringIO(captured.out))
    assert len(out) == 44 and {"rtt_ms_p50", "model_rtt_ms_p50", "error_pct"} <= set(out.columns)
    assert "all" in captured.err and "mdape_pct" in captured.err


def test_calibrate_writes_a_model_a_scenario_can_use(tmp_path, capsys):
    shipped = Path(__file__).parents[1] / "data" / "rtt" / "wonderproxy_2011.csv"
    model = tmp_path / "model.json"
    assert main(["calibrate", str(shipped), "--path", "internet", "--out", str(model)]) == 0
    printed = capsys.readouterr().out
    assert "mdape_pct_before" in printed and "mdape_pct_after" in printed
    fitted = json.loads(model.read_text())
    assert fitted["path"] == "internet" and fitted["pairs"] == 44
    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump({**SMALL, "network": {"calibration": "model.json"}}))
    assert main(["validate", str(scenario)]) == 0


def test_calibrate_refuses_bad_measurements(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("from_lat,from_lon,to_lat,to_lon\n1,2,3,4\n")
    out = tmp_path / "model.json"
    assert main(["calibrate", str(bad), "--out", str(out)]) == 2
    assert "missing columns rtt_ms_p50" in capsys.readouterr().err
    assert not out.exists()


def test_rtt_pairs_adds_a_column(tmp_path, capsys):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(
        "from_lat,from_lon,to_lat,to_lon\n51.5,-0.13,40.71,-74.01\n1.3,103.8,1.3,103.8\n"
    )
    assert main(["rtt", "--pairs", str(pairs)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].endswith(",rtt_ms_p50") and len(lines) == 3
    bad = tmp_path / "bad.csv"
    bad.write_text("from_lat,from_lon\n1,2\n")
    assert main(["rtt", "--pairs", str(bad)]) == 2


def test_regions_lists_active_and_all(capsys):
    assert main(["regions"]) == 0
    active = capsys.readouterr().out
    assert "gru" in active and "mad" not in active
    assert main(["regions", "--all"]) == 0
    assert "cdg" in capsys.readouterr().out


def test_version_and_help(capsys):
    assert main(["--version"]) == 0
    assert "globalness" in capsys.readouterr().out
    assert main(["--help"]) == 0
    assert "globalness run scenarios/fly-seed.yaml" in capsys.readouterr().out


def test_python_dash_m_sim_works_from_any_directory(tmp_path):
    """Data ships with the package: the command finds it outside the checkout."""
    done = subprocess.run(
        [sys.executable, "-m", "sim", "rtt", "mad", "sin"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) > 2 * 10_000 / 200


FLY_TOML = Path(__file__).parent / "fixtures" / "fly-toml" / "009-openstatusHQ-openstatus.toml"
QUICK = ["--set", "workload.requests=2000", "--set", "users.count=200"]


def test_run_a_fly_toml_over_region_sets_with_a_machine_count(tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["run", str(FLY_TOML), "--regions", "ams", "--regions", "ams,iad,sin", "--count", "3"]
    assert main([*argv, *QUICK, "--out", str(out)]) == 0
    assert list(pd.read_csv(out / "summary.csv")["region_set"]) == ["ams", "ams+iad+sin"]
    machines = capsys.readouterr()
    assert "ams+iad+sin" in machines.out


@pytest.mark.parametrize("format_", ["csv", "json"])
def test_machine_readable_formats(scenario_file, capsys, format_):
    assert main(["run", str(scenario_file), "--format", format_, "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""  # --quiet: no notes, no progress
    if format_ == "csv":
        table = pd.read_csv(io.StringIO(captured.out))
    else:
        table = pd.DataFrame(json.loads(captured.out)["summary"])
    assert list(table["region_set"]) == ["iad", "iad+fra+sin"]
    assert (table["p99_ms"] >= table["p50_ms"]).all()


def test_version_and_help_with_examples(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("globalness, version ")
    for command in ([], ["run"], ["validate"], ["rtt"], ["calibrate"], ["regions"]):
        assert main([*command, "--help"]) == 0
        assert "Examples:" in capsys.readouterr().out


def test_strict_refuses_deprecated_regions(scenario_file, capsys):
    assert main(["validate", str(scenario_file), "--regions", "iad,waw"]) == 0
    assert "warning: region waw is deprecated" in capsys.readouterr().err
    assert main(["validate", str(scenario_file), "--regions", "iad,waw", "--strict"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "region_sets: 'waw' was deprecated by Fly.io in 2025 (replacement: ams)" in err[0]


def test_a_huge_run_is_refused_with_an_estimate(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(footprint, "available_bytes", lambda: None)  # the limits, not the memory
    path = tmp_path / "huge.yaml"
    path.write_text(yaml.safe_dump({**SMALL, "workload": {"requests": 10**12}}))
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "workload.requests: 2,000,000,000,000 requests in all would take about" in err[0]
    assert "12 days and 520 TB of memory" in err[0] and "need --yes" in err[0]
    assert err[0].startswith(f"error: {path}: ")
    assert not out.exists()


def test_set_overrides_any_key_and_names_a_bad_one(scenario_file, capsys):
    assert main(["validate", str(scenario_file), "--set", "workload.requests=12000"]) == 0
    assert "12,000 requests x 2 region sets" in capsys.readouterr().out
    assert main(["validate", str(scenario_file), "--set", "app.colour=blue"]) == 2
    assert "app.colour: unknown key in app; allowed: primary_region" in capsys.readouterr().err
    assert main(["validate", str(scenario_file), "--set", "novalue"]) == 2
    assert "is not KEY=VALUE" in capsys.readouterr().err


def test_a_region_set_name_cannot_escape_the_output_folder(tmp_path, capsys):
    path = tmp_path / "escape.yaml"
    path.write_text(yaml.safe_dump({**SMALL, "region_sets": {"../../etc/passwd": ["iad"]}}))
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    assert "region_sets: '../../etc/passwd' is not a usable name" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["escape.yaml"]


def test_regions_in_each_format(capsys):
    assert main(["regions", "--format", "csv"]) == 0
    active = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert len(active) == 18 and set(active["status"]) == {"active"}
    assert main(["regions", "--all", "--format", "json"]) == 0
    every = pd.DataFrame(json.loads(capsys.readouterr().out))
    assert len(every) == 35 and "mad" in set(every["code"])


def test_each_chart_as_png_and_svg_and_one_self_contained_html(scenario_file, tmp_path):
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        assert main(["run", str(scenario_file), "--out", str(out), "-q", "--charts", "both"]) == 0
    charts = ["latency_cdf", "cost_latency", "continents", "latency_parts", "cost_breakdown"]
    charts += ["map_iad", "map_iad+fra+sin"]  # a map per region set, named after it
    for stem in charts:
        assert (outs[0] / f"{stem}.png").read_bytes()[:4] == b"\x89PNG"
        assert b"<svg" in (outs[0] / f"{stem}.svg").read_bytes()[:400]
    assert not (outs[0] / "latency_daily.png").exists()  # 150 s of traffic: no daily curve
    page = (outs[0] / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == len(charts)
    assert 'src="' + "latency_cdf.png" not in page and "<table>" in page
    assert "<h2>Verdict</h2>" in page and "<h2>Assumptions</h2>" in page
    # the same seed gives the same files, byte for byte, but the report's time of the run
    files = ["summary.csv", "scenario.yaml", "requests.csv.gz"]
    for name in [*files, *(f"{stem}.{kind}" for stem in charts for kind in ("png", "svg"))]:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    when = re.compile(r"run \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC with [^:]+: <code>[^<]+</code>")
    pages = [when.sub("run WHEN", (out / "report.html").read_text()) for out in outs]
    assert pages[0] == pages[1] and len(when.findall(page)) == 1


def test_the_resolved_scenario_reproduces_every_csv_byte_for_byte(scenario_file, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    args = ["--set", "workload.rate_rps=40", "--regions", "iad", "--regions", "iad,fra", "-q"]
    assert main(["run", str(scenario_file), *args, "--out", str(first)]) == 0
    assert main(["run", str(first / "scenario.yaml"), "-q", "--out", str(second)]) == 0
    for name in ("summary.csv", "by_continent.csv", "by_kind.csv"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    report = (first / "report.md").read_text()
    assert f"--set workload.rate_rps=40 --regions iad --regions iad,fra -q --out {first}" in report
    assert f"globalness {sim.__version__}" in report and "seed 1;" in report


def test_defaults_a_fly_toml_leaves_unset_are_said_aloud(tmp_path, capsys):
    fly = Path(__file__).parents[1] / "scenarios" / "fly-seed.toml"
    assert main(["run", str(fly), "--out", str(tmp_path), "-q"]) == 0
    err = capsys.readouterr().err
    (line,) = [line for line in err.splitlines() if "not set in the file" in line]
    assert "users, workload and database not set in the file, so assumed: 2,000 users" in line
    report = (tmp_path / "report.md").read_text()
    assert "## Assumed, not from your files" in report and "- fly-mpg in lhr" in report
    assert f"- warning: {line.removeprefix('warning: ')}" in report

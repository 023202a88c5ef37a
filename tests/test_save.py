"""`Result.save` writes what `globalness run --out` writes, by the same code and defaults;
`Result.to_html` is its report.html; --charts and --log choose the files; the files made on
two processes are the same as on one, and a failure or a signal there leaves nothing."""

import inspect
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import SMALL, small_scenario

import sim
from sim import fork_pool, outputs
from sim.cli import main, run

ROOT = Path(__file__).parents[1]
SEED = ROOT / "scenarios" / "fly-seed.yaml"
PROVENANCE = re.compile(r"^(- |<li>)(run |warning: |no warnings).*\n", re.MULTILINE)  # when, how


@pytest.fixture(scope="module")
def seed_result():
    with pytest.warns(sim.ScenarioWarning):
        return sim.run(sim.load_scenario(SEED))


@pytest.fixture(scope="module")
def small_result():
    return sim.run(small_scenario())


@pytest.fixture
def small_file(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump({**SMALL, "workload": {"requests": 600}}))
    return path


def test_save_writes_what_run_out_writes(seed_result, tmp_path):
    saved = seed_result.save(tmp_path / "saved", source=SEED)
    assert main(["run", str(SEED), "-q", "--out", str(tmp_path / "cli")]) == 0
    names = sorted(p.name for p in (tmp_path / "cli").iterdir())
    assert sorted(p.name for p in (tmp_path / "saved").iterdir()) == names
    assert sorted(saved) == [name for name in names if name != ".globalness"]
    assert "requests.csv.gz" in names and not [n for n in names if n.endswith(".svg")]
    for name in names:  # all the same but the report's provenance: when, the command, warnings
        ours, theirs = ((tmp_path / where / name).read_bytes() for where in ("saved", "cli"))
        if name.startswith("report."):
            ours, theirs = (PROVENANCE.sub("", data.decode()) for data in (ours, theirs))
        assert ours == theirs, name


def test_the_command_line_and_save_share_their_defaults():
    save = inspect.signature(sim.Result.save).parameters
    options = {parameter.name: parameter.default for parameter in run.params}
    assert save["charts"].default == options["chart_format"] == outputs.DEFAULT_CHARTS == "png"
    assert save["log"].default == options["log_format"] == outputs.DEFAULT_LOG == "csv"


def test_to_html_is_the_report_page(small_result, tmp_path):
    page = small_result.to_html()
    assert page.startswith("<!DOCTYPE html>\n<html")
    assert "<h2>Verdict</h2>" in page and "<table>" in page and "<td>iad+fra+sin</td>" in page
    assert page.count('src="data:image/png;base64,') == len(outputs.captions(small_result))
    small_result.save(tmp_path / "out")
    written = (tmp_path / "out" / "report.html").read_text()
    assert PROVENANCE.sub("", page) == PROVENANCE.sub("", written)


def test_charts_none_writes_no_chart_and_no_image_in_the_report(small_file, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(small_file), "--out", str(out), "--charts", "none"]) == 0
    names = {p.name for p in out.iterdir()}
    assert not {n for n in names if n.endswith((".png", ".svg"))}
    assert "![" not in (out / "report.md").read_text()
    assert "<img" not in (out / "report.html").read_text()
    wrote = capsys.readouterr().err.strip().splitlines()[-1]
    assert wrote.startswith("wrote scenario.yaml") and " charts (" not in wrote


def test_charts_svg_alone_is_what_the_report_shows(small_result, tmp_path):
    small_result.save(tmp_path / "out", charts="svg")
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert "latency_cdf.svg" in names and not {n for n in names if n.endswith(".png")}
    assert "](latency_cdf.svg)" in (tmp_path / "out" / "report.md").read_text()
    page = (tmp_path / "out" / "report.html").read_text()
    assert page.count('src="data:image/svg+xml;base64,') == len(outputs.captions(small_result))


def test_log_parquet_round_trips(small_file, tmp_path):
    pytest.importorskip("pyarrow")
    out = tmp_path / "out"
    assert main(["run", str(small_file), "-q", "--out", str(out), "--log", "parquet"]) == 0
    assert not (out / "requests.csv.gz").exists()
    log = pd.read_parquet(out / "requests.parquet")
    assert len(log) == 2 * 600 and str(log["region_set"].iloc[-1]) == "iad+fra+sin"


def test_a_bad_choice_from_python_is_one_line(small_result, tmp_path):
    for options, message in [({"charts": "gif"}, "--charts: 'gif'"), ({"log": "xls"}, "--log")]:
        with pytest.raises(sim.ScenarioError, match=message):
            small_result.save(tmp_path / "out", **options)
    assert not (tmp_path / "out").exists()


def test_two_processes_make_the_same_files_as_one(small_result, monkeypatch):
    forked = outputs.run_files(small_result, charts="both")
    monkeypatch.setattr(fork_pool, "forks", lambda: False)
    alone = outputs.run_files(small_result, charts="both")
    assert list(forked) == list(alone)
    for name in forked:
        if not name.startswith("report."):  # the provenance has the time, to the second
            assert forked[name] == alone[name], name


def slow_here_failing_in_the_fork(parent: int):
    def job():
        if os.getpid() == parent:
            time.sleep(0.3)  # so that the fork takes jobs too
            return {}
        raise ValueError("a chart failed")

    return job


def test_an_error_in_the_fork_is_raised_here_and_nothing_is_written(small_result, monkeypatch,
                                                                      tmp_path):  # fmt: skip
    if not fork_pool.forks():
        pytest.skip("needs Linux and two CPUs")
    job = slow_here_failing_in_the_fork(os.getpid())
    monkeypatch.setattr(outputs, "chart_jobs", lambda result, kinds: [job] * 4)
    with pytest.raises(ValueError, match="a chart failed"):
        small_result.save(tmp_path / "out")
    assert not (tmp_path / "out").exists() and not list(tmp_path.iterdir())


def test_a_fork_that_dies_is_an_error(monkeypatch):
    if not fork_pool.forks():
        pytest.skip("needs Linux and two CPUs")
    parent = os.getpid()

    def job():
        if os.getpid() != parent:
            os._exit(3)
        time.sleep(0.3)
        return {}

    with pytest.raises(fork_pool.JobFailed, match="ended with status"):
        fork_pool.run_jobs([job] * 4)


def children_of(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


@pytest.mark.parametrize(("signal_number", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_while_the_charts_are_drawn_leaves_nothing(tmp_path, signal_number, code):
    """SIGTERM to the command alone; SIGINT to its process group, as Ctrl-C sends it."""
    if not fork_pool.forks():
        pytest.skip("needs Linux and two CPUs")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "sim", "run", str(SEED), "--out", str(out), "--charts",
               "both"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)  # fmt: skip
    for line in process.stdout:  # the verdict is printed before the files are made
        if line.startswith("hetzner:fsn1: p99"):
            break
    forks: set[int] = set()
    for _ in range(200):
        forks = children_of(process.pid)
        if forks:
            break
        time.sleep(0.05)
    assert forks, "the charts were never drawn on two processes"
    if signal_number == signal.SIGINT:
        os.killpg(process.pid, signal_number)
    else:
        process.send_signal(signal_number)
    _, err = process.communicate(timeout=60)
    assert process.returncode == code, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].endswith("no output of this run was written")
    assert not out.exists() and not list(tmp_path.glob(".out.*"))
    assert all(not Path(f"/proc/{pid}").exists() for pid in forks)

"""What a run leaves is safe to open and complete: one file per set, names escaped."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import small_scenario

import sim
from sim.chart_files import unique_stems
from sim.data import cities
from sim.outputs import write_outputs


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


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("users: {count: " + "9" * 5000 + "}\n", "a number of more than 4,300 digits"),
        ("workload: {rate_rps: .nan}\n", "workload.rate_rps"),
        ("workload: {rate_rps: 2024-01-01}\n", "workload.rate_rps"),
        ("database: {query_ms: .inf}\n", "database.query_ms: inf is not a duration"),
    ],
)
def test_every_bad_value_is_exit_2_with_its_field(tmp_path, capsys, text, message):
    from sim.cli import main

    path = tmp_path / "s.yaml"
    path.write_text("app: {primary_region: iad}\nregion_sets: [[iad]]\n" + text)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "internal error" not in err


def test_wrong_types_inside_fly_toml_tables_are_exit_2(tmp_path, capsys):
    from sim.cli import main

    path = tmp_path / "fly.toml"
    path.write_text('primary_region = "iad"\n[http_service]\ninternal_port = 8080\n'
                    "[[vm]]\nprocesses = 5\n")  # fmt: skip
    assert main(["validate", str(path)]) == 2
    assert "vm.processes: 5 is not a list of process group names" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("budget", "message"),
    [("nan", "--budget: nan: allowed a number of dollars"), ("0.5", "fits no set")],
)
def test_a_budget_that_is_no_number_or_fits_nothing_is_exit_2(tmp_path, capsys, budget, message):
    from sim.cli import main

    path = tmp_path / "s.yaml"
    path.write_text("app: {primary_region: iad}\nregion_sets: [[iad]]\nworkload: {requests: 300}\n")
    assert main(["optimize", str(path), "--k", "1", "--budget", budget, "-q"]) == 2
    err = capsys.readouterr().err
    assert message in err and len([line for line in err.splitlines() if "error" in line]) == 1


@pytest.mark.parametrize("where", ["/dev/zero", "link", "folder"])
def test_an_input_that_is_no_regular_file_is_refused_at_once(tmp_path, capsys, where):
    from sim.cli import main

    target = {"/dev/zero": Path("/dev/zero"), "link": tmp_path / "z.yaml",
              "folder": tmp_path / "traffic.csv"}[where]  # fmt: skip
    if where == "link":
        target.symlink_to("/dev/zero")
    if where == "folder":
        target.mkdir()
        scenario = tmp_path / "s.yaml"
        scenario.write_text(f"users: {{where: {target}}}\napp: {{primary_region: iad}}\n"
                            "region_sets: [[iad]]\n")  # fmt: skip
        target = scenario
    assert main(["validate", str(target)]) == 2
    assert "not a regular file" in capsys.readouterr().err


def test_a_million_country_rows_expand_once_per_country(tmp_path):
    from sim.userfiles import read_traffic

    path = tmp_path / "traffic.csv"
    path.write_text("country,weight\n" + "US,1\n" * 200_000 + "DE,1\n")
    table = read_traffic(path)
    assert len(table) == sum(cities()["country"].isin(["US", "DE"]))
    shares = table.groupby(table["lon"] > -30)["weight"].sum()
    assert shares[False] / shares.sum() == pytest.approx(200_000 / 200_001)


@pytest.mark.parametrize(("signal_number", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_ends_a_run_with_one_line_and_nothing_written(tmp_path, signal_number, code):
    out = tmp_path / "out"
    scenario = Path(__file__).parents[1] / "scenarios" / "worldwide.yaml"
    command = [sys.executable, "-m", "sim", "run", str(scenario), "--engine", "des",
               "--set", "workload.requests=400000", "--yes", "--out", str(out)]  # fmt: skip
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    for line in process.stderr:  # past the imports and the checks, into the simulation
        if line.startswith("simulating"):
            break
    process.send_signal(signal_number)
    rest = process.stderr.read()
    process.wait(timeout=30)
    assert process.returncode == code
    assert "Traceback" not in rest
    assert rest.strip().splitlines()[-1].endswith("no output of this run was written")
    assert not out.exists() and not list(tmp_path.glob(".out.*"))


@pytest.mark.parametrize(
    "command",
    [["sweep", "--loads", "10,20", "--seeds", "3"], ["optimize", "--k", "1..2"], ["size"],
     ["run", "--replications", "3"]],
)  # fmt: skip
def test_every_command_estimates_and_a_large_one_needs_yes(tmp_path, capsys, command):
    from sim.cli import main

    path = tmp_path / "huge.yaml"
    path.write_text("app: {primary_region: iad}\nregion_sets: [[iad], [iad, fra]]\n"
                    "workload: {requests: 30000000}\n")  # fmt: skip
    assert main([command[0], str(path), *command[1:], "-q"]) == 2
    err = capsys.readouterr().err
    assert "requests in all would" in err and ("need --yes" in err or "available" in err)


def test_beyond_the_free_memory_even_yes_is_refused(tmp_path, capsys, monkeypatch):
    from sim import footprint
    from sim.cli import main

    monkeypatch.setattr(footprint, "available_bytes", lambda: 50e6)
    path = tmp_path / "s.yaml"
    path.write_text("app: {primary_region: iad}\nregion_sets: [[iad]]\n"
                    "workload: {requests: 1000000}\n")  # fmt: skip
    assert main(["run", str(path), "--yes", "-q"]) == 2
    assert "this machine has 50 MB available" in capsys.readouterr().err


def children_of(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` (Linux /proc)."""
    found = set()
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat_file.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("delay_s", [0.1, 0.3, 0.8])
@pytest.mark.parametrize(("signal_number", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_at_start_up_ends_with_one_line_too(tmp_path, signal_number, code, delay_s):
    """From the first moment: while Python starts, while the command's modules import,
    while the scenario is read."""
    scenario = Path(__file__).parents[1] / "scenarios" / "worldwide.yaml"
    command = [sys.executable, "-m", "sim", "run", str(scenario), "--out", str(tmp_path / "o")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(delay_s)
    process.send_signal(signal_number)
    out, err = process.communicate(timeout=60)
    assert "Traceback" not in err, err
    if process.returncode == 0:  # only if it was done before the signal came
        return
    assert process.returncode == code, err
    assert out == "" and err.strip().splitlines()[-1].endswith("no output of this run was written")
    assert not (tmp_path / "o").exists()


def test_sigterm_during_a_sweep_on_workers_leaves_no_process_behind(tmp_path):
    scenario = Path(__file__).parents[1] / "scenarios" / "worldwide.yaml"
    command = [sys.executable, "-m", "sim", "sweep", str(scenario), "--loads", "10,20,30,40",
               "--seeds", "2", "--workers", "2", "--engine", "des", "--yes", "-q",
               "--set", "workload.requests=200000"]  # fmt: skip
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    workers: set[int] = set()
    for _ in range(600):  # until both workers run (spawned: a resource tracker and two)
        workers = children_of(process.pid)
        if len(workers) >= 3 or process.poll() is not None:
            break
        time.sleep(0.1)
    assert len(workers) >= 3, "the workers never started"
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143 and "Traceback" not in err
    time.sleep(1)  # orphans, if any, would still be alive now
    assert not [pid for pid in workers if alive(pid)]


def run_as_module(script: Path) -> subprocess.CompletedProcess:
    """As `python -m sim` runs (only a module run dies by CPython's unhandled-interrupt mark)."""
    command = [sys.executable, "-m", script.stem]
    return subprocess.run(command, cwd=script.parent, capture_output=True, text=True, timeout=60)


def test_a_signal_caught_in_a_finalizer_still_ends_the_command(tmp_path):
    """Python prints an exception raised in a ``__del__`` as "Exception ignored" and goes on;
    the entry point raises the signal again, so the command still ends with one line."""
    script = tmp_path / "bomb.py"
    script.write_text(
        "import sys, time, types\n"
        "class Bomb:\n"
        "    def __del__(self):\n"
        "        raise KeyboardInterrupt\n"
        "def command(argv):\n"
        "    Bomb()\n"
        "    time.sleep(5)\n"
        "    return 0\n"
        "sys.modules['sim.cli'] = types.SimpleNamespace(main=command)\n"
        "from sim.entry import main\n"
        "sys.exit(main())\n"
    )
    done = run_as_module(script)
    assert done.returncode == 130 and "Traceback" not in done.stderr
    assert done.stderr == "interrupted; no output of this run was written\n"


@pytest.mark.parametrize("caught_by", ["the command", "the entry point"])
def test_an_interrupt_escaping_an_exec_while_importing_still_exits_130(tmp_path, caught_by):
    """Dataclasses build their methods with ``exec``; CPython marks a KeyboardInterrupt that
    escapes one as unhandled, even if caught later, and would exit by SIGINT (-2)."""
    caught = "    except KeyboardInterrupt:\n        return 130\n"
    catch = caught if caught_by == "the command" else "    finally:\n        pass\n"
    script = tmp_path / "interrupted_import.py"
    script.write_text(
        "import sys, types\n"
        "def command(argv):\n"
        "    try:\n"
        "        exec('raise KeyboardInterrupt')\n"
        + catch
        + "sys.modules['sim.cli'] = types.SimpleNamespace(main=command)\n"
        "from sim.entry import main\n"
        "sys.exit(main())\n"
    )
    done = run_as_module(script)
    assert done.returncode == 130 and "Traceback" not in done.stderr

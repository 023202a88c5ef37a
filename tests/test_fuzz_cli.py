"""The command line's flags hold the contract on any values (a property-based suite,
hypothesis): exit 0, or exit 2 with one `error:` line and nothing written; never exit 1,
never a traceback. Also the lat,lon and city,country shapes of a traffic CSV."""

import contextlib
import io
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from test_fuzz_readers import NUMBERS, contract

from sim.cli import main

FUZZ = settings(derandomize=True, database=None, deadline=None, max_examples=40)
SCENARIO = (
    "seed: 1\nusers: {count: 20}\nworkload: {requests: 200, rate_rps: 5}\n"
    "app: {primary_region: iad}\ndatabase: {product: fly-postgres}\n"
    "region_sets: [[iad], [iad, fra]]\n"
)
VALUES = st.one_of(NUMBERS, st.sampled_from(["iad", "iad,fra", "fra", "xyz", "", "-", "--"]))
SETTINGS = st.tuples(
    st.sampled_from(["workload.rate_rps", "users.count", "app.vm", "seed", "nothing.here", ""]),
    VALUES,
).map(lambda pair: f"{pair[0]}={pair[1]}")
RUN_FLAGS = st.one_of(
    st.tuples(st.sampled_from(["--regions", "--primary", "--count", "--seed"]), VALUES),
    st.tuples(st.just("--set"), SETTINGS),
    st.tuples(st.just("--engine"), st.sampled_from(["auto", "des", "analytic", "fast", ""])),
    st.tuples(st.just("--format"), st.sampled_from(["table", "csv", "json", "xml"])),
    st.tuples(st.just("--replications"), st.sampled_from(["1", "2", "0", "-3", "x", "1e3"])),
    st.tuples(st.sampled_from(["--strict", "--quiet", "--yes", "--bogus"])),
)
STUDY_FLAGS = {
    "optimize": st.one_of(
        st.tuples(st.just("--k"), st.sampled_from(["1", "0", "2..1", "a", "1..2", "-1", ""])),
        st.tuples(st.just("--budget"), NUMBERS),
        st.tuples(st.just("--must-include"), VALUES),
        st.tuples(st.just("--objective"), st.sampled_from(["p99", "p50", "p100"])),
        st.tuples(st.just("--replications"), st.sampled_from(["1", "0", "x"])),
    ),
    "sweep": st.one_of(
        st.tuples(st.just("--loads"), st.sampled_from(["5", "5,10", "0", "-1", "nan", "inf", "a"])),
        st.tuples(st.just("--seeds"), st.sampled_from(["1", "2", "0", "x"])),
        st.tuples(st.just("--scheduler"), st.sampled_from(["", " ", "nonsense"])),
    ),
}


def holds(command: str, flags: list[tuple[str, ...]]) -> None:
    """Run ``globalness COMMAND scenario FLAGS --out OUT`` and check the contract."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        scenario, out = folder / "scenario.yaml", folder / "out"
        scenario.write_text(SCENARIO)
        argv = [command, str(scenario), *(part for flag in flags for part in flag)]
        if command != "validate":
            argv += ["--out", str(out)]
        stderr = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(stderr):
            code = main(argv)
        err = stderr.getvalue()
        assert code in (0, 2), (argv, err)
        assert "Traceback" not in err and "internal error" not in err, (argv, err)
        if code == 2:
            assert len([line for line in err.splitlines() if line.startswith("error:")]) == 1
            assert sorted(p.name for p in folder.iterdir()) == ["scenario.yaml"], argv


@FUZZ
@given(st.sampled_from(["run", "validate"]), st.lists(RUN_FLAGS, max_size=4))
def test_run_and_validate_flags_hold_the_contract(command, flags):
    holds(command, flags)


@FUZZ
@given(st.sampled_from(sorted(STUDY_FLAGS)).flatmap(
    lambda command: st.tuples(st.just(command), st.lists(STUDY_FLAGS[command], max_size=3))
))  # fmt: skip
def test_study_flags_hold_the_contract(command_and_flags):
    command, flags = command_and_flags
    if command == "optimize" and not any(flag[0] == "--k" for flag in flags):
        flags = [*flags, ("--k", "1")]  # the default 1..6 searches for minutes
    holds(command, flags)


@FUZZ
@given(st.lists(st.tuples(NUMBERS, NUMBERS, NUMBERS), max_size=5))
def test_a_lat_lon_traffic_csv_holds_the_contract(rows):
    text = "lat,lon,weight\n" + "".join(f"{a},{b},{w}\n" for a, b, w in rows)
    contract("traffic.csv", text.encode())


CITIES = st.sampled_from(["Paris", "paris", "São Paulo", "Nowhere", "", "Lyon,FR", '"x"'])
COUNTRIES = st.sampled_from(["FR", "BR", "fr", "XX", "", "FRA"])


@FUZZ
@given(st.lists(st.tuples(CITIES, COUNTRIES, NUMBERS), max_size=5))
def test_a_city_traffic_csv_holds_the_contract(rows):
    text = "city,country,weight\n" + "".join(f"{c},{k},{w}\n" for c, k, w in rows)
    contract("traffic.csv", text.encode())

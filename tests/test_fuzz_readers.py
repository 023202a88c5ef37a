"""The readers of the files a scenario names hold the CLI's contract on any content (a
property-based suite, hypothesis): `validate` ends with exit 0, or exit 2 and one `error:`
line; never exit 1, never a traceback."""

import contextlib
import io
import json
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from sim.cli import main

FUZZ = settings(derandomize=True, database=None, deadline=None, max_examples=40)
REGIONS = st.sampled_from(["iad", "fra", "nrt", "atl", "xyz", "", "IAD", "fra ", "1"])
NUMBERS = st.one_of(
    st.integers(-10, 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "nan", "inf", "-1", "1e999", "lots", "0x10", "1,5", "9" * 5000]),
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6),
                                                                       children, max_size=3),
    max_leaves=10,
)  # fmt: skip


def contract(name: str, content: bytes, scenario_text: str | None = None) -> int:
    """`globalness validate` on a scenario naming a file of ``content``: its exit code, after
    checking the one-line contract."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        if scenario_text is None:
            scenario = Path(folder) / "scenario.yaml"
            scenario.write_text(
                f"users: {{where: {name}}}\napp: {{primary_region: iad}}\nregion_sets: [[iad]]\n"
            )
        else:
            scenario = path
        stderr = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(stderr):
            code = main(["validate", str(scenario)])
    err = stderr.getvalue()
    assert code in (0, 2), err
    assert "Traceback" not in err and "internal error" not in err, err
    if code == 2:
        assert len([line for line in err.splitlines() if line.startswith("error:")]) == 1, err
    return code


@FUZZ
@given(st.lists(st.tuples(REGIONS, NUMBERS), max_size=6))
def test_a_region_weight_csv_holds_the_contract(rows):
    text = "region,weight\n" + "".join(f"{region},{weight}\n" for region, weight in rows)
    contract("traffic.csv", text.encode())


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["US", "DE", "XX", "", "us"]), NUMBERS), max_size=6))
def test_a_country_weight_csv_holds_the_contract(rows):
    text = "country,weight\n" + "".join(f"{country},{weight}\n" for country, weight in rows)
    contract("traffic.csv", text.encode())


@FUZZ
@given(
    st.sampled_from(["success", "error", None, 3]),
    st.sampled_from(["vector", "matrix", None]),
    st.lists(st.tuples(REGIONS, NUMBERS), max_size=5),
    JSON_VALUES,
)
def test_fly_metrics_json_holds_the_contract(status, kind, rows, extra):
    document = {
        "status": status,
        "data": {
            "resultType": kind,
            "result": [{"metric": {"region": r}, "value": [1, v]} for r, v in rows],
        },
        "extra": extra,
    }
    contract("traffic.json", json.dumps(document).encode())


@FUZZ
@given(JSON_VALUES)
def test_any_json_document_holds_the_contract(document):
    contract("traffic.json", json.dumps(document).encode())


@FUZZ
@given(st.binary(max_size=200))
def test_any_bytes_as_a_traffic_file_hold_the_contract(content):
    contract("traffic.csv", content)


FLY_KEYS = st.sampled_from(
    ['size = "shared-cpu-1x"', "cpus = 3", "cpus = \"x\"", 'memory = "12 parsecs"', "memory_mb = 0",
     "processes = 5", 'processes = ["app"]', "gpu_kind = \"a10\"", 'cpu_kind = "gpu"', "size = 7"]
)  # fmt: skip
SERVICE_KEYS = st.sampled_from(
    ["auto_stop_machines = \"stop\"", "auto_stop_machines = 3", "min_machines_running = -1",
     "min_machines_running = \"two\"", "auto_start_machines = 1", "internal_port = 8080"]
)  # fmt: skip


@FUZZ
@given(st.lists(SERVICE_KEYS, max_size=3), st.lists(FLY_KEYS, max_size=3))
def test_a_fly_toml_with_wrong_types_holds_the_contract(service, vm):
    text = 'primary_region = "iad"\n[http_service]\ninternal_port = 8080\n'
    text += "".join(f"{line}\n" for line in service if "internal_port" not in line)
    text += "[[vm]]\n" + "".join(f"{line}\n" for line in dict.fromkeys(vm)) if vm else ""
    contract("fly.toml", text.encode(), scenario_text="")

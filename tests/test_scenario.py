"""Scenario validation: every mistake is one ScenarioError naming the field and the value."""

import json
import warnings

import pytest
import yaml
from conftest import SMALL, small_scenario

from sim import DeprecatedRegionWarning, ScenarioError, build_scenario, load_scenario


def error_for(text: str) -> str:
    with pytest.raises(ScenarioError) as caught, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecatedRegionWarning)
        build_scenario(yaml.safe_load(text))
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "app: {primary_region: mda}\nregion_sets: [[mad]]",
            "app.primary_region: 'mda' is not a Fly region (did you mean 'mad'?)",
        ),
        ("app: {primary_region: iad}\nregion_sets: [[iad, xyz]]", "'xyz' is not a Fly region"),
        (
            "app: {primary_region: iad, colour: red}\nregion_sets: [[iad]]",
            "app.colour: unknown key in app; allowed: primary_region",
        ),
        (
            "app: {primary_region: iad}\nregion_sets: [[iad]]\nworkload: {rate_rps: -1}",
            "workload.rate_rps: Input should be greater than 0 (got -1)",
        ),
        (
            "app: {primary_region: iad}\nregion_sets: [[iad]]\nworkload: {write_share: 1.5}",
            "workload.write_share",
        ),
        ("region_sets: [[iad]]", "app: required key is missing"),
        (
            "app: {primary_region: iad}\nregion_sets: [[fra]]",
            "'fra' lacks app.primary_region 'iad'",
        ),
        ("app: {primary_region: iad}\nregion_sets: [[iad, iad]]", "lists a region twice"),
        ("app: {primary_region: iad}\nregion_sets: []", "at least one region set"),
        (
            "app: {primary_region: iad, vm: shared-cpu-3x}\nregion_sets: [[iad]]",
            "app.vm: 'shared-cpu-3x' is not a Fly Machine preset",
        ),
        (
            "app: {primary_region: iad, memory_mb: 4096}\nregion_sets: [[iad]]",
            "4096 is not allowed for shared-cpu-1x",
        ),
        (
            "app: {primary_region: iad}\nregion_sets: [[iad]]\nusers: {where: {XX: 1}}",
            "users.where: 'XX' is neither a continent",
        ),
        ("app: {primary_region: iad}\nregion_sets: [[iad]]\nusers: {where: moon}", "users.where"),
        (
            "app: {primary_region: iad}\nregion_sets: [[iad]]\nnetwork: {handshake_rtts: 9}",
            "network.handshake_rtts",
        ),
        (
            "app: {primary_region: iad, vm: performance-1x, memory_mb: 3072}\nregion_sets: [[iad]]",
            "app.memory_mb: 3072 is not allowed for performance-1x; use a multiple of 2048",
        ),
        (
            "app: {primary_region: iad}\nregion_sets: [[iad]]\nusers: {where: {TK: 1}}",
            "'TK' is neither a continent",
        ),
        (
            "app: {primary_region: iad}\nregion_sets: [[iad]]\nnetwork: {same_region_rtt_ms: 9}",
            "network.same_region_rtt_ms: 9.0 exceeds",
        ),
        (
            "app: {primary_region: iad}\nregion_sets: [[iad]]\n"
            "database: {region: 'neon:aws-us-east-9'}",
            "'neon:aws-us-east-9' is not a known database region (did you mean",
        ),
        (
            "app: {primary_region: iad, vm: performance-2x, auto_stop: suspend}\n"
            "region_sets: [[iad]]",
            "app.auto_stop: 'suspend' needs at most 2048 MB",
        ),
        ("- just\n- a list", "the top level must be a mapping"),
    ],
)
def test_bad_values_name_the_field(text, expected):
    assert expected in error_for(text)


def test_deprecated_region_warns_with_its_replacement():
    with pytest.warns(DeprecatedRegionWarning, match="region mad is deprecated.*replacement: cdg"):
        build_scenario({"app": {"primary_region": "mad"}, "region_sets": [["mad"]]})


def test_region_sets_are_labelled_by_their_codes_or_names():
    listed = small_scenario()
    assert list(listed.named_region_sets) == ["iad", "iad+fra+sin"]
    named = small_scenario(region_sets={"home": ["iad"], "world": ["iad", "syd"]})
    assert named.named_region_sets == {"home": ("iad",), "world": ("iad", "syd")}


def test_defaults_fill_what_the_file_leaves_out():
    minimal = build_scenario({"app": {"primary_region": "iad"}, "region_sets": [["iad"]]})
    assert minimal.layout("iad").primary == "iad"  # Managed Postgres beside the app
    assert minimal.app.concurrency == 20  # Fly's default soft_limit
    assert minimal.network.handshake_rtts == 2  # TCP + TLS 1.3


def test_scenario_is_frozen(scenario):
    with pytest.raises(Exception, match="frozen"):
        scenario.seed = 5


def test_traffic_csv_is_read_relative_to_the_scenario(tmp_path):
    (tmp_path / "traffic.csv").write_text("lat,lon,weight\n40.42,-3.70,3\n-34.6,-58.4,1\n")
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({**SMALL, "users": {"where": "traffic.csv", "count": 100}}))
    loaded = load_scenario(path)
    assert loaded.users.traffic["weight"].tolist() == [3.0, 1.0]


TRAFFIC, MEASURED = ("users", "where"), ("network", "measured")


@pytest.mark.parametrize(
    ("field", "csv", "expected"),
    [
        (TRAFFIC, "lat,lon\n1,2\n", "lacks columns ['weight']"),
        (TRAFFIC, "lat,lon,weight\n10,0,1\n91,0,1\n", "line 3"),
        (TRAFFIC, "lat,lon,weight\n10,x,1\n", "line 2"),
        (TRAFFIC, "lat,lon,weight\n10,0,0\n", "some weight > 0"),
        (TRAFFIC, "", "cannot read"),
        (MEASURED, "country,region\nUS,iad\n", "lacks columns ['rtt_ms']"),
        (
            MEASURED,
            "country,region,rtt_ms\nUS,iad,20\nXX,iad,20\n",
            "line 3: 'XX' is not an ISO country",
        ),
        (
            MEASURED,
            "country,region,rtt_ms\nUS,ida,20\n",
            "'ida' is not a Fly region (did you mean 'iad'?)",
        ),
        (MEASURED, "country,region,rtt_ms\nUS,iad,-1\n", "line 2: rtt_ms must be a number > 0"),
    ],
)
def test_a_bad_csv_the_scenario_names_is_one_clear_line(tmp_path, field, csv, expected):
    section, key = field
    (tmp_path / "table.csv").write_text(csv)
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({**SMALL, section: {key: "table.csv"}}))
    with pytest.raises(ScenarioError, match=f"{section}.{key}") as caught:
        load_scenario(path)
    assert expected in str(caught.value)


def test_calibration_is_read_relative_to_the_scenario(tmp_path):
    model = {
        "overhead_ms": 3.0,
        "land_inflation": 1.3,
        "sea_inflation": 1.1,
        "internet_inflation": 1.2,
    }
    (tmp_path / "model.json").write_text(json.dumps({"model": model}))
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({**SMALL, "network": {"calibration": "model.json"}}))
    loaded = load_scenario(path)
    assert loaded.network.model.model_dump() == model
    assert load_scenario(path, seed=9).network.model == loaded.network.model


def test_bad_calibration_is_one_clear_line(tmp_path):
    (tmp_path / "model.json").write_text("{not json")
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({**SMALL, "network": {"calibration": "model.json"}}))
    with pytest.raises(ScenarioError, match="network.calibration: cannot read a model from"):
        load_scenario(path)


def test_unreadable_and_malformed_files(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read the file"):
        load_scenario(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("app: [1\n")
    with pytest.raises(ScenarioError, match=r"broken.yaml: line \d+"):
        load_scenario(broken)


def test_yaml_object_tags_are_refused(tmp_path):
    evil = tmp_path / "evil.yaml"
    evil.write_text("seed: !!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(ScenarioError):
        load_scenario(evil)


@pytest.mark.parametrize(
    ("section", "key", "written", "value"),
    [
        ("app", "cold_start_s", "1.5s", 1.5),
        ("app", "request_timeout_s", "2m", 120.0),
        ("app", "autostop_interval_s", "1h30m", 5400.0),
        ("app", "service_ms", "0.1s", 100.0),
        ("app", "service_ms", 35, 35.0),
        ("app", "memory_mb", "1gb", 1024),
        ("workload", "response_kb", "1.5mb", 1500.0),
        ("database", "replication_lag_ms", "250ms", 250.0),
        ("database", "read_your_writes_s", "5s", 5.0),
    ],
)
def test_durations_and_sizes_take_units(section, key, written, value):
    loaded = small_scenario(**{section: {**SMALL.get(section, {}), key: written}})
    assert getattr(getattr(loaded, section), key) == value


def test_duration_sets_the_requests():
    workload = {"rate_rps": 20, "duration_s": "10m"}
    assert build_scenario({**SMALL, "workload": workload}).workload.requests == 12_000
    with pytest.raises(ScenarioError, match="is 12,000 requests, but requests says 5; give one"):
        build_scenario({**SMALL, "workload": {**workload, "requests": 5}})


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"workload": {"requests": True}}, "workload.requests: Input should be a valid integer"),
        ({"workload": {"rate_rps": "50"}}, "workload.rate_rps: Input should be a valid number"),
        ({"app": {"primary_region": "iad", "cold_start_s": "soon"}}, "app.cold_start_s: 'soon' is"),
        ({"app": {"primary_region": "iad", "memory_mb": "lots"}}, "app.memory_mb: 'lots' is not"),
    ],
)
def test_no_silent_coercion(change, expected):
    with pytest.raises(ScenarioError, match=expected):
        build_scenario({**SMALL, **change})


def test_billion_laughs_is_refused_quickly(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ScenarioError, match=r"line \d+: aliases expand to more than 100,000"):
        load_scenario(path)


def test_duplicate_keys_and_recursive_aliases_are_refused(tmp_path):
    path = tmp_path / "twice.yaml"
    path.write_text("seed: 1\napp: {primary_region: iad}\nseed: 2\n")
    with pytest.raises(ScenarioError, match="line 3: key 'seed' appears twice"):
        load_scenario(path)
    path.write_text("app: &loop {primary_region: iad, inner: *loop}\n")
    with pytest.raises(ScenarioError, match="alias"):
        load_scenario(path)


def test_a_huge_file_is_refused(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text("# padding\n" * 200_000)
    with pytest.raises(ScenarioError, match="2.0 MB; such files are at most 1 MB"):
        load_scenario(path)


def test_scale_count_spreads_round_robin_from_the_first_region():
    loaded = small_scenario(app={"primary_region": "iad", "scale_count": 4})
    assert loaded.app.machines_in(("iad",)) == [4]
    assert loaded.app.machines_in(("iad", "fra", "sin")) == [2, 1, 1]


def test_deep_nesting_is_refused_in_one_line(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("seed: " + "[" * 20_000 + "]" * 20_000 + "\n")
    with pytest.raises(ScenarioError, match="nested too deeply"):
        load_scenario(path)
    path = tmp_path / "fly.toml"
    path.write_text("a = " + "[" * 5_000 + "]" * 5_000 + "\n")
    with pytest.raises(ScenarioError, match="nested too deeply"):
        load_scenario(path)


@pytest.mark.parametrize(
    ("text", "rows", "madrid_share"),
    [
        ("lat,lon,weight\n40.4165,-3.70256,5\n-23.5475,-46.63611,3\n1.29,103.85,2\n", 3, 0.5),
        ("city,country,weight\nMadrid,ES,5\nsao paulo,BR,3\nSingapore,SG,2\n", 3, 0.5),
    ],
)
def test_traffic_by_coordinates_or_by_city(tmp_path, text, rows, madrid_share):
    (tmp_path / "traffic.csv").write_text(text)
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({**SMALL, "users": {"where": "traffic.csv"}}))
    traffic = load_scenario(path).users.traffic
    assert len(traffic) == rows
    assert traffic.at[0, "lat"] == pytest.approx(40.4165, abs=0.01)  # Madrid, by GeoNames
    assert traffic["weight"].iloc[0] / traffic["weight"].sum() == pytest.approx(madrid_share)


def test_traffic_by_country_spreads_over_its_cities_by_population(tmp_path):
    (tmp_path / "traffic.csv").write_text("country,weight\nES,3\nSG,1\n")
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({**SMALL, "users": {"where": "traffic.csv"}}))
    traffic = load_scenario(path).users.traffic
    assert len(traffic) > 100  # Spain's cities of 15,000+ people, and Singapore
    in_spain = traffic["lon"].between(-19, 5) & traffic["lat"].between(27, 44)
    assert traffic.loc[in_spain, "weight"].sum() == pytest.approx(3.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("city,country,weight\nMadrd,ES,5\n", "line 2: 'Madrd' is not a city of 15,000\\+ people"),
        ("country,weight\nES,5\nXX,1\n", "line 3: 'XX' is not the ISO code of a country"),
        ("place,weight\nMadrid,5\n", "needs columns lat,lon,weight or city,country,weight"),
    ],
)
def test_bad_traffic_names_the_line(tmp_path, text, message):
    (tmp_path / "traffic.csv").write_text(text)
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({**SMALL, "users": {"where": "traffic.csv"}}))
    with pytest.raises(ScenarioError, match=f"users.where: .*{message}"):
        load_scenario(path)

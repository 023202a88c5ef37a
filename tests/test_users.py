"""Users as they are: each country's own access network (M-Lab), people online (World Bank),
and an app's own edge traffic from Fly's metrics."""

import json

import numpy as np
import pandas as pd
import pytest
from conftest import small_scenario

import sim
from sim.calibration import mlab_errors
from sim.cli import main
from sim.data import cities, country_access
from sim.geo import city_weights, online_people, place_users
from sim.network import access_ms
from sim.network_config import Network


@pytest.fixture(scope="module")
def errors():
    return mlab_errors(Network(), "2025-10")


@pytest.mark.parametrize(
    ("country", "bound"),
    [("CO", 0.10), ("MX", 0.10), ("TR", 0.10), ("US", 0.10), ("SG", 0.10), ("GB", 0.20)],
)
def test_named_countries_are_within_their_error_bound_out_of_time(errors, country, bound):
    """Calibrated on October 2024, checked on October 2025 (M-Lab medians: CO 111 ms, MX 58,
    TR 81, US 15, SG 6, GB 10)."""
    assert abs(errors.at[country, "error"]) < bound


def test_the_countries_with_many_tests_meet_the_goal(errors):
    assert errors["error"].abs().median() <= 0.15
    assert errors.groupby("continent")["error"].median().abs().max() <= 0.15
    assert errors["global_error"].abs().median() > 0.3  # the constant it replaces


def test_access_by_country_with_a_fallback_and_the_mobile_extra():
    network = Network()
    table = country_access()
    assert set(cities()["country"]) <= set(table.index)  # every country has a value
    colombia = access_ms(np.array([False, True]), network, np.array(["CO", "CO"]))
    assert colombia[0] == table.at["CO", "access_ms"]
    assert colombia[1] - colombia[0] == network.mobile_access_ms - network.broadband_access_ms
    flat = access_ms(np.array([False]), Network(access="global"), np.array(["CO"]))
    assert flat[0] == network.broadband_access_ms
    assert table.loc[table["tests"] < 1000, "basis"].str.contains("median").all()


def test_rtt_from_a_place_uses_its_countrys_access(capsys):
    assert main(["rtt", "4.6,-74.1", "bog", "--access", "broadband"]) == 0  # Bogota
    bogota = float(capsys.readouterr().out)
    assert main(["rtt", "52.37,4.9", "ams", "--access", "broadband"]) == 0  # Amsterdam
    amsterdam = float(capsys.readouterr().out)
    assert bogota > 80 and amsterdam < 12


def test_users_online_weights_sum_to_one_and_match_the_shares_online():
    weights = city_weights("internet")
    assert weights.sum() == pytest.approx(1.0)
    users = place_users("internet", 20_000, 0.5, np.random.default_rng(0))
    drawn = users["country"].value_counts(normalize=True)
    online = online_people() / online_people().sum()
    total_variation = 0.5 * drawn.reindex(online.index, fill_value=0).sub(online).abs().sum()
    assert total_variation < 0.05
    assert online["IN"] == pytest.approx(0.152, abs=0.005)  # India: 15.1 % of people online


def test_internet_is_the_default_placement():
    minimal = {"app": {"primary_region": "iad"}, "region_sets": [["iad"]]}
    assert sim.build_scenario(minimal).users.where == "internet"


def metrics(tmp_path, counts, **document):
    body = {
        "status": "success",
        "isPartial": False,
        "data": {
            "resultType": "vector",
            "result": [
                {"metric": {"region": code, "app": "x"}, "value": [1782864000, str(count)]}
                for code, count in counts.items()
            ],
        },
        **document,
    }
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(body))
    return path


def test_an_app_with_90_percent_of_its_edge_traffic_in_fra_gets_it_there(tmp_path):
    path = metrics(tmp_path, {"fra": 900, "iad": 100})
    result = sim.run(
        small_scenario(
            users={"where": str(path), "count": 2000},
            network={"anycast_miss_share": 0.0},
            region_sets=[["iad"]],
        )
    )
    edges = result.requests["edge"].value_counts(normalize=True)
    assert edges["fra"] == pytest.approx(0.9, abs=0.03)
    assert edges["iad"] == pytest.approx(0.1, abs=0.03)


def test_a_region_weight_csv_works_alike(tmp_path):
    path = tmp_path / "regions.csv"
    path.write_text("region,weight\nsyd,3\nnrt,1\n")
    users = sim.build_scenario(
        {"users": {"where": str(path)}, "app": {"primary_region": "iad"}, "region_sets": [["iad"]]}
    ).users.placement
    assert isinstance(users, pd.Series) and users.to_dict() == {"nrt": 1.0, "syd": 3.0}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"status": "error"}, "status 'error'; allowed: 'success'"),
        ({"data": {"resultType": "matrix", "result": []}}, "resultType 'matrix'"),
        ({"data": {"resultType": "vector", "result": []}}, "data.result is empty"),
    ],
)
def test_the_importer_refuses_what_is_not_edge_traffic(tmp_path, capsys, change, message):
    path = metrics(tmp_path, {"fra": 1}, **change)
    assert run_with(tmp_path, path) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        ({"xyz": 5}, "'xyz' is not a Fly region"),
        ({"atl": 5}, "'atl' is a deprecated Fly region"),
        ({"fra": "lots"}, 'is not [time, "count"]'),
        ({"fra": 0}, "every count is 0"),
    ],
)
def test_the_importer_refuses_bad_regions_and_counts(tmp_path, capsys, counts, message):
    path = metrics(tmp_path, counts)
    assert run_with(tmp_path, path) == 2
    assert message in capsys.readouterr().err


def run_with(tmp_path, where) -> int:
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(
        f"users: {{where: {where}}}\napp: {{primary_region: iad}}\nregion_sets: [[iad]]\n"
    )
    return main(["validate", str(scenario)])

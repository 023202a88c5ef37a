"""Variants: `replace` validates a changed copy as loading the edited file would, and nothing
writes into a frozen model."""

import copy
import re
import warnings
from pathlib import Path

import pytest
import yaml
from conftest import SMALL, small_scenario
from pydantic import ValidationError

import sim
from sim import ScenarioError, ScenarioWarning, build_scenario, load_scenario
from sim.checks import one_line
from sim.scenario import Scenario

SOURCE = Path(sim.__file__).parent
TIMED = {**SMALL, "workload": {"duration_s": "10m", "rate_rps": 5}}


def loaded(tmp_path: Path, data: dict) -> Scenario:
    """``data`` written as a scenario YAML and read back."""
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScenarioWarning)
        return load_scenario(path)


def edited(data: dict, section: str, **changes) -> dict:
    """``data`` with ``changes`` in ``section`` (a section of its own, or the top level)."""
    data = copy.deepcopy(data)
    (data.setdefault(section, {}) if section else data).update(changes)
    return data


@pytest.mark.parametrize(
    ("base", "section", "changes", "variant"),
    [
        (SMALL, "", {"seed": 7}, lambda s: s.replace(seed=7)),
        (
            SMALL, "", {"region_sets": [["iad", "fra"]]},
            lambda s: s.replace(region_sets=[["iad", "fra"]]),
        ),
        (SMALL, "app", {"concurrency": 5}, lambda s: s.replace(app=s.app.replace(concurrency=5))),
        (
            SMALL, "workload", {"rate_rps": 40},
            lambda s: s.replace(workload=s.workload.replace(rate_rps=40)),
        ),
        (  # requests follows the duration at the new rate: 10 minutes at 8 req/s
            TIMED, "workload", {"rate_rps": 8},
            lambda s: s.replace(workload=s.workload.replace(rate_rps=8)),
        ),
    ],
    ids=["seed", "region sets", "app", "rate", "rate with a duration"],
)  # fmt: skip
def test_a_change_equals_loading_the_edited_file(tmp_path, base, section, changes, variant):
    made = variant(loaded(tmp_path, base))
    expected = loaded(tmp_path, edited(base, section, **changes))
    assert made == expected
    assert made.model_fields_set == expected.model_fields_set
    assert made.workload.model_fields_set == expected.workload.model_fields_set


def test_a_duration_gives_requests_as_a_field(tmp_path):
    workload = loaded(tmp_path, TIMED).workload
    assert workload.requests == 3000
    assert workload.replace(duration_s=60.0).requests == 300
    assert workload.replace(duration_s=None).requests == 50_000  # the default, as in a file


@pytest.mark.parametrize(
    ("variant", "message"),
    [
        (lambda s: s.workload.replace(rate_rps=-1), "rate_rps: Input should be greater than 0"),
        (lambda s: s.app.replace(hard_limit=5), "app.hard_limit: 5 is below soft_limit 20"),
        (
            lambda s: s.workload.replace(duration_s=60.0),  # requests says 3000, not 1200
            "workload.duration_s: 60 s at 20 req/s is 1,200 requests, but requests says 3,000",
        ),
        (
            lambda s: s.replace(region_sets=[["fra"]]),
            "region_sets: 'fra' lacks app.primary_region 'iad'",
        ),
    ],
    ids=["field", "app's cross-field check", "workload's", "scenario's"],
)
def test_an_invalid_change_raises_naming_the_field(variant, message):
    scenario = small_scenario()
    with pytest.raises(ValidationError) as caught:
        variant(scenario)
    assert message in one_line(caught.value, Scenario)


def test_an_invalid_variant_fails_as_the_edited_file_does():
    with pytest.raises(ValidationError) as caught:
        small_scenario().replace(region_sets=[["fra"]])
    with pytest.raises(ScenarioError) as at_load:
        build_scenario({**SMALL, "region_sets": [["fra"]]})
    assert str(at_load.value) == f"scenario: {one_line(caught.value, Scenario)}"


def test_replace_returns_a_new_scenario_and_leaves_the_original():
    scenario = small_scenario()
    before = scenario.model_dump()
    variant = scenario.replace(seed=2, workload=scenario.workload.replace(rate_rps=30))
    assert variant is not scenario
    assert (variant.seed, variant.workload.rate_rps) == (2, 30)
    assert scenario.model_dump() == before
    assert variant.users is scenario.users  # an unchanged section is taken as validated
    with pytest.raises(ValidationError, match="frozen"):
        variant.seed = 3


def test_a_variant_does_not_read_the_traffic_file_again(tmp_path, monkeypatch):
    traffic = tmp_path / "traffic.csv"
    traffic.write_text("lat,lon,weight\n40.7,-74.0,2\n51.5,-0.1,1\n")
    scenario = small_scenario(users={"where": str(traffic)})
    traffic.unlink()  # a variant that read it again would fail
    variant = scenario.replace(seed=2)
    assert variant.users.traffic is scenario.users.traffic


def test_nothing_copies_a_model_unvalidated_or_writes_into_one():
    for path in sorted(SOURCE.glob("*.py")):
        text = path.read_text()
        assert not re.search(r"model_copy\([^)]*\bupdate\s*=", text), path.name
        assert "__dict__[" not in text, path.name

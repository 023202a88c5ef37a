"""--format on every command that prints a table: CSV and JSON hold the same rows as the file
the command writes (or as its table), and stdout is one document."""

import io
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import SMALL

from sim.cli import cli, main

SHIPPED = Path(__file__).parents[1] / "data" / "rtt" / "wonderproxy_2011.csv"
WITHOUT_TABLE = {"validate", "rtt"}  # a description; one number (its --pairs prints CSV)


@pytest.fixture
def small_file(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(SMALL))
    return path


def test_every_command_that_prints_a_table_has_format():
    for name, command in cli.commands.items():
        options = {option for param in command.params for option in param.opts}
        assert ("--format" in options) != (name in WITHOUT_TABLE), name


def printed(capsys, argv: list[str]) -> str:
    assert main(argv) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "written"),
    [
        (["sweep", "{scenario}", "--loads", "10,20", "--seeds", "1"], "sweep.csv"),
        (["size", "{scenario}", "--slo-ms", "60000"], "size.csv"),
        (["optimize", "{scenario}", "--k", "1", "--replications", "1"], "optimize.csv"),
    ],
    ids=["sweep", "size", "optimize"],
)
def test_a_study_prints_the_rows_it_writes(small_file, tmp_path, capsys, argv, written):
    argv = [part.format(scenario=small_file) for part in argv] + ["-q"]
    out = tmp_path / "out"
    table_text = printed(capsys, [*argv, "--out", str(out)])
    expected = pd.read_csv(out / written)
    as_csv = pd.read_csv(io.StringIO(printed(capsys, [*argv, "--format", "csv"])))
    as_json = pd.DataFrame(json.loads(printed(capsys, [*argv, "--format", "json"])))
    pd.testing.assert_frame_equal(as_csv, expected)
    assert list(as_json.columns) == list(expected.columns) and len(as_json) == len(expected)
    assert table_text.strip() and not table_text.startswith(",".join(expected.columns))


def test_calibrate_prints_its_error_table_in_each_format(tmp_path, capsys):
    argv = ["calibrate", str(SHIPPED), "--out", str(tmp_path / "model.json")]
    as_csv = pd.read_csv(io.StringIO(printed(capsys, [*argv, "--format", "csv"])))
    assert as_csv.columns[0] != "Unnamed: 0" and "all" in set(as_csv.iloc[:, 0])
    assert {"mdape_pct_before", "mdape_pct_after"} <= set(as_csv.columns)
    records = json.loads(printed(capsys, [*argv, "--format", "json"]))
    assert len(records) == len(as_csv) and records[0].keys() == set(as_csv.columns)


def test_regions_keep_their_codes_in_csv_and_json(capsys):
    as_csv = pd.read_csv(io.StringIO(printed(capsys, ["regions", "--format", "csv"])))
    records = json.loads(printed(capsys, ["regions", "--format", "json"]))
    assert as_csv.columns[0] == "code" and "iad" in set(as_csv["code"])
    assert [row["code"] for row in records] == list(as_csv["code"])

"""The request log as a file: requests.csv.gz reads back as the log (to its decimals), byte for
byte the same for the same log; Parquet only with pyarrow, refused before anything runs."""

import gzip
import io
import sys

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import SMALL, small_scenario

import sim
from sim.cli import main
from sim.log_file import DECIMALS, MS_DECIMALS, csv_gz, log_file
from sim.output_folder import check_log


@pytest.fixture(scope="module")
def log():
    return sim.run(small_scenario()).requests


def read_back(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), compression="gzip", keep_default_na=False,
                       na_values=[""])  # fmt: skip


def test_the_csv_reads_back_as_the_log_to_its_decimals(log):
    back = read_back(csv_gz(log))
    assert list(back.columns) == list(log.columns) and len(back) == len(log)
    for column in log.columns:
        ours = log[column]
        if ours.dtype.kind == "f":
            decimals = DECIMALS.get(column, MS_DECIMALS)
            rounded = np.round(ours.to_numpy(np.float64), decimals)
            assert np.allclose(back[column], rounded, rtol=0, atol=10.0**-decimals / 2), column
        elif isinstance(ours.dtype, pd.CategoricalDtype):
            expected = ours.astype(object).where(ours.notna(), "").astype(str)
            assert (back[column].fillna("").astype(str) == expected).all(), column
        else:
            assert (back[column].to_numpy() == ours.to_numpy()).all(), column


def test_the_csv_is_the_same_bytes_for_the_same_log_and_has_no_time(log):
    first, second = csv_gz(log), csv_gz(log.copy())
    assert first == second
    assert first[4:8] == b"\0\0\0\0"  # gzip's MTIME field: none


def test_every_kind_of_cell_is_written_as_pandas_reads_it():
    frame = pd.DataFrame(
        {
            "name": pd.Categorical.from_codes([0, 1, 2, -1, 0, 1], ["a", 'b, "c"', "d\ne"]),
            "count": np.array([-3, 0, 7, 12345678901234, -1, 5], dtype=np.int64),
            "ms": [np.nan, np.inf, -np.inf, -0.0004, 2.5, 3.0],
            "t_s": [0.1234567, 1e6, 0.0, 86_400.5, 1e-7, 2.0],
            "large": [1e300, 1.0, 2.0, 3.0, 4.0, 5.0],  # beyond whole numbers: as text
            "flag": [True, False, True, False, True, False],
            "text": pd.Series(["x", None, "y,z", "x", "", "w"], dtype="str"),
        }
    )
    text = gzip.decompress(csv_gz(frame)).decode()
    assert text.splitlines()[:5] == [
        "name,count,ms,t_s,large,flag,text",
        "a,-3,,0.123457,1e+300,True,x",
        '"b, ""c""",0,inf,1000000,1.0,False,',
        '"d',
        'e",7,-inf,0,2.0,True,"y,z"',
    ]
    back = read_back(csv_gz(frame))
    assert list(back["count"]) == list(frame["count"])
    assert back["ms"].tolist()[1:] == [np.inf, -np.inf, -0.0, 2.5, 3.0]  # -0.0004 to 3 places
    assert list(back["t_s"]) == [0.123457, 1e6, 0.0, 86400.5, 0.0, 2.0]
    assert back["large"].iloc[0] == 1e300 and list(back["flag"]) == list(frame["flag"])
    assert back["name"].fillna("").tolist() == ["a", 'b, "c"', "d\ne", "", "a", 'b, "c"']


def test_an_empty_log_is_its_header():
    frame = pd.DataFrame({"t_s": np.array([], float), "kind": pd.Categorical([], ["read"])})
    assert gzip.decompress(csv_gz(frame)) == b"t_s,kind\n"


def test_parquet_round_trips_with_pyarrow(log):
    pytest.importorskip("pyarrow")
    ((name, data),) = log_file(log, "parquet").items()
    assert name == "requests.parquet"
    back = pd.read_parquet(io.BytesIO(data))
    pd.testing.assert_frame_equal(back, log.reset_index(drop=True))


def test_parquet_without_pyarrow_is_refused_before_anything_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if not installed: nothing imports it
    with pytest.raises(sim.ScenarioError, match=r"pip install 'globalness\[parquet\]'"):
        check_log("parquet")
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(SMALL))
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--log", "parquet"]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "error: --log parquet: needs pyarrow, an extra: pip install 'globalness[parquet]'"
    ]
    assert "simulating" not in err and not out.exists()

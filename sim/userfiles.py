"""CSV files a scenario names: the team's own traffic, and measured RTTs to regions.

Each reader returns a checked table or raises ValueError naming the file, the line and what
is allowed; scenario validation turns that into a one-line ScenarioError.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.checks import did_you_mean
from sim.data import countries, regions


def read_columns(path: Path, columns: list[str], **options) -> pd.DataFrame:
    """The named columns of a CSV the scenario names; ValueError saying what is wrong."""
    try:
        table = pd.read_csv(path, **options)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise ValueError(f"cannot read {path}: {error}") from None
    missing = set(columns) - set(table.columns)
    if missing:
        raise ValueError(f"{path} lacks columns {sorted(missing)}; needs {', '.join(columns)}")
    return table[columns]


def read_traffic(path: Path) -> pd.DataFrame:
    """A traffic CSV with columns lat, lon [deg] and weight, checked row by row."""
    table = read_columns(path, ["lat", "lon", "weight"]).apply(pd.to_numeric, errors="coerce")
    bad = ~(
        table["lat"].between(-90, 90) & table["lon"].between(-180, 180) & (table["weight"] >= 0)
    )
    if bad.any() or not table["weight"].sum() > 0:
        line = int(bad.to_numpy().argmax()) + 2 if bad.any() else 2
        raise ValueError(
            f"{path} line {line}: lat in [-90, 90], lon in [-180, 180], weight >= 0 "
            "(and some weight > 0)"
        )
    return table


def read_measured(path: Path) -> pd.Series:
    """A measured matrix: country (ISO alpha-2), region (Fly code), rtt_ms (median, > 0)."""
    table = read_columns(path, ["country", "region", "rtt_ms"], keep_default_na=False)
    rtt_ms = pd.to_numeric(table["rtt_ms"], errors="coerce")
    known = countries()
    for line, (country, region, value) in enumerate(
        zip(table["country"], table["region"], rtt_ms, strict=True), start=2
    ):
        if country not in known:
            raise ValueError(
                f"{path} line {line}: {country!r} is not an ISO country code with cities"
            )
        if region not in regions().index:
            hint = did_you_mean(region, regions().index)
            raise ValueError(f"{path} line {line}: {region!r} is not a Fly region{hint}")
        if not value > 0:
            raise ValueError(f"{path} line {line}: rtt_ms must be a number > 0")
    return pd.Series(
        rtt_ms.to_numpy(float), index=pd.MultiIndex.from_arrays([table["country"], table["region"]])
    )

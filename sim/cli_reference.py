"""The commands that need no scenario: `rtt` and `calibrate` (the latency model), `regions`
(the Fly.io region table) and `databases` (the database catalogue); registered on the
`globalness` group by sim.cli."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sim.cli_options import FORMAT, echo_table
from sim.errors import ScenarioError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from sim.network_config import Network


@click.command()
@click.argument("origin", required=False, metavar="FROM")
@click.argument("target", required=False, metavar="TO")
@click.option(
    "--pairs",
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV with from_lat,from_lon,to_lat,to_lon; adds rtt_ms_p50",
)
@click.option(
    "--access",
    type=click.Choice(["broadband", "mobile"]),
    help="add a user's access network at FROM (its country's, measured by M-Lab)",
)
def rtt(origin: str | None, target: str | None, pairs: Path | None, access: str | None) -> None:
    """Median round trip [ms] between two places (region codes or LAT,LON).

    Server to server over the provider backbone, as inter-region ping tables measure it;
    --access adds a user's access network and public-internet path at FROM. With --pairs on a
    file that already holds measured rtt_ms_p50, adds model_rtt_ms_p50 and error_pct instead,
    and prints the error table per corridor on stderr.

    \b
    Examples:
      globalness rtt mad sin
      globalness rtt 40.42,-3.70 gru --access mobile
      globalness rtt --pairs my-pings.csv > compared.csv
    """
    import numpy as np
    import pandas as pd

    from sim import calibration
    from sim.network_config import Network

    network = Network()
    if pairs is not None:
        if origin or target:
            raise click.UsageError("give FROM TO or --pairs, not both")
        table = read_csv(pairs)
        measured = "rtt_ms_p50" in table.columns
        try:
            pairs_ = calibration.pairs_table(table, measured=measured)
        except ValueError as error:
            raise ScenarioError(f"{pairs}: {error}") from None
        predicted = median_rtt_ms(pairs_, access, network)
        if measured:
            table["model_rtt_ms_p50"] = np.round(predicted, 1)
            table["error_pct"] = np.round(100 * (predicted / pairs_["rtt_ms"] - 1), 1)
            click.echo(calibration.error_table(pairs_, predicted).to_string(), err=True)
        else:
            table["rtt_ms_p50"] = np.round(predicted, 1)
        sys.stdout.write(table.to_csv(index=False))
        return
    if not (origin and target):
        raise click.UsageError("give FROM and TO (region code or LAT,LON), or --pairs PAIRS.csv")
    (lat1, lon1), (lat2, lon2) = place(origin, "FROM"), place(target, "TO")
    one = pd.DataFrame({"from_lat": [lat1], "from_lon": [lon1], "to_lat": [lat2], "to_lon": [lon2]})
    one = calibration.pairs_table(one, measured=False)
    median = float(median_rtt_ms(one, access, network)[0])
    click.echo(f"{median:.1f}")
    click.echo(
        f"{origin} -> {target}: {one['gc_km'].iloc[0]:,.0f} km great circle, "
        f"median RTT {median:.1f} ms ({access or 'server to server'})",
        err=True,
    )


def median_rtt_ms(pairs: pd.DataFrame, access: str | None, network: Network) -> np.ndarray:
    """Backbone median per pair, or with ``access`` a user's internet median from FROM."""
    import numpy as np

    from sim import calibration
    from sim.network import internet_rtt_ms, route_km

    if access is None:
        return calibration.backbone_ms(pairs, network)
    km = route_km(
        pairs["from_lat"], pairs["from_lon"], pairs["from_country"],
        pairs["to_lat"], pairs["to_lon"], pairs["to_country"], network,
    )  # fmt: skip
    mobile = np.full(len(pairs), access == "mobile")
    return internet_rtt_ms(km, mobile, network, pairs["from_country"].to_numpy())


def place(text: str, field: str) -> tuple[float, float]:
    """A region code or `LAT,LON` -> (lat, lon) [deg]."""
    from sim.data import regions

    table = regions()
    if text in table.index:
        return float(table.at[text, "lat"]), float(table.at[text, "lon"])
    try:
        lat, lon = (float(part) for part in text.split(","))
    except ValueError:
        raise ScenarioError(
            f"{field}: {text!r} is neither a Fly region code nor LAT,LON (e.g. 40.4,-3.7)"
        ) from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ScenarioError(
            f"{field}: {text!r} is off the globe; lat in [-90, 90], lon in [-180, 180]"
        )
    return lat, lon


def read_csv(path: Path) -> pd.DataFrame:
    import io

    import pandas as pd

    from sim.checks import MAX_TABLE_BYTES, read_bounded

    try:
        return pd.read_csv(io.BytesIO(read_bounded(path, MAX_TABLE_BYTES)))
    except ValueError as error:  # not a regular file, too big, unreadable, not CSV
        raise ScenarioError(f"{path}: cannot read ({error})") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise ScenarioError(f"{path}: cannot read ({error})") from None


@click.command()
@click.argument("measurements", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
    help="model JSON to write; use it with `network: {calibration: FILE}`",
)  # fmt: skip
@click.option(
    "--path", "kind", type=click.Choice(["backbone", "internet"]), default="backbone",
    show_default=True, help="fit server-to-server backbone pairs, or public-internet pairs",
)  # fmt: skip
@click.option(
    "--start", type=click.Path(dir_okay=False, path_type=Path),
    help="model JSON to start from and keep the other path's constants (default: packaged)",
)  # fmt: skip
@FORMAT
def calibrate(measurements: Path, out: Path, kind: str, start: Path | None, format_: str) -> None:
    """Fit the RTT model to MEASUREMENTS.csv (from_lat,from_lon,to_lat,to_lon,rtt_ms_p50).

    Prints the error table per corridor before and after the fit (with --format csv or json,
    the fitted constants go to stderr) and writes the model JSON.

    \b
    Examples:
      globalness calibrate my-pings.csv --out model.json
      globalness calibrate user-pings.csv --path internet --start model.json --out model2.json
    """
    import json

    from sim import calibration
    from sim.network_config import Network
    from sim.output_folder import write_atomic

    base = Network() if start is None else load_calibration(start)
    try:
        pairs = calibration.pairs_table(read_csv(measurements), measured=True)
    except ValueError as error:
        raise ScenarioError(f"{measurements}: {error}") from None
    if kind == "backbone":
        fitted = calibration.fit_backbone(pairs, base.model)
        network = base.replace(calibration=None, model=fitted)  # else --start's model wins
        before, after = (calibration.backbone_ms(pairs, n) for n in (base, network))
        intercept_ms = None
    else:
        fitted, intercept_ms = calibration.fit_internet(pairs, base.model)
        network = base.replace(calibration=None, model=fitted)  # else --start's model wins
        before = calibration.internet_ms(pairs, base, intercept_ms)
        after = calibration.internet_ms(pairs, network, intercept_ms)
    table = calibration.error_table(pairs, before).join(
        calibration.error_table(pairs, after), lsuffix="_before", rsuffix="_after"
    )
    echo_table(table.drop(columns="pairs_after").rename(columns={"pairs_before": "pairs"}), format_)
    constants = ", ".join(f"{k} {v:g}" for k, v in fitted.model_dump().items())
    click.echo(f"\n{constants}", err=format_ != "table")
    overall = table.loc["all"]
    document = {
        "model": fitted.model_dump(),
        "fitted_on": measurements.name,
        "path": kind,
        "pairs": int(overall["pairs_before"]),
        "mdape_pct": float(overall["mdape_pct_after"]),
        "p90_ape_pct": float(overall["p90_ape_pct_after"]),
    }
    if intercept_ms is not None:
        document["server_access_ms"] = intercept_ms
    write_atomic(out, (json.dumps(document, indent=2) + "\n").encode())
    click.echo(f"wrote {out}", err=True)


def load_calibration(path: Path) -> Network:
    from pydantic import ValidationError

    from sim.checks import one_line
    from sim.network_config import Network

    try:
        return Network.model_validate({"calibration": path})
    except ValidationError as error:
        raise ScenarioError(f"--start: {one_line(error, Network)}") from None


@click.command(name="regions")
@click.option("--all", "show_all", is_flag=True, help="include the 17 regions deprecated in 2025")
@FORMAT
def regions_command(show_all: bool, format_: str) -> None:
    """The Fly.io region table: code, city, continent, status, price multiplier.

    \b
    Examples:
      globalness regions
      globalness regions --all --format csv > regions.csv
    """
    from sim.data import regions

    table = regions()
    if not show_all:
        table = table[table["status"] == "active"]
    columns = ["city", "country", "continent", "status", "replacement", "price_multiplier"]
    shown = table[[*columns, "egress_group"]].fillna("")
    echo_table(shown, format_)


@click.command(name="databases")
@click.argument("product_code", required=False, metavar="PRODUCT")
@FORMAT
def databases_command(product_code: str | None, format_: str) -> None:
    """The databases a Fly app can buy: where each runs, its read replicas, plans and prices.

    With PRODUCT, its plans, then (on stderr for csv and json) where it runs.

    \b
    Examples:
      globalness databases
      globalness databases neon
      globalness databases supabase --format csv > supabase-plans.csv
    """
    from sim.checks import did_you_mean
    from sim.data import database_products, database_replica_prices
    from sim.databases import REPLICA_KINDS, plans_of, sites_of

    table = database_products()
    if product_code is None:
        shown = catalogue_table()
    elif product_code not in table.index:
        hint = did_you_mean(product_code, table.index)
        raise ScenarioError(
            f"PRODUCT: {product_code!r} is not a database product{hint}; "
            f"allowed: {', '.join(table.index)}"
        )
    else:
        plans = plans_of(product_code).dropna(axis=1, how="all")
        shown = plans.drop(columns=["product", "source", "notes", "date"])
    echo_table(shown, format_)
    if product_code is not None:
        row = table.loc[product_code]
        click.echo(
            f"\n{row['name']}: runs in {' '.join(sites_of(product_code))}\n"
            f"read replicas in other regions: {REPLICA_KINDS[row['replicas']]}\n"
            f"idle: {row['scale_to_zero']}; free tier: {row['free_tier']}; {row['support']}\n"
            f"prices as of {plans_of(product_code)['date'].max()}; sources: data/README.md",
            err=format_ != "table",
        )
        replicas = database_replica_prices()
        replicas = replicas[replicas["plan"].isin(plans_of(product_code).index)]
        if len(replicas):
            click.echo(
                "\none read replica in another region [USD/month]:\n"
                + replicas.drop(columns=["source", "notes", "date"]).to_string(index=False),
                err=format_ != "table",
            )


def catalogue_table() -> pd.DataFrame:
    """One row per product: where it runs, its read replicas, its cheapest always-on plan."""
    import re

    import pandas as pd

    from sim.data import database_products
    from sim.databases import REPLICA_KINDS, plans_of, sites_of

    rows = {}
    for code, row in database_products().iterrows():
        plans = plans_of(code)
        paid = plans[~plans["hard_limits"]]
        cheapest = paid["usd_month"].idxmin()
        where = {"fly": "Fly regions"}.get(row["provider"], f"{row['provider']} regions")
        places = (
            "any Fly region" if row["fly_regions"] == "any" else f"{len(sites_of(code))} {where}"
        )
        rows[code] = {
            "runs in": places,
            "replicas elsewhere": REPLICA_KINDS[row["replicas"]],
            "cheapest paid plan": f"{cheapest} ${paid.at[cheapest, 'usd_month']:,.2f}",
            "free plan": "yes" if plans["hard_limits"].any() else "no",
            "support": re.split(r"[,;(]", row["support"])[0].strip(),  # its first clause
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("product")

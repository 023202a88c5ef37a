"""The `globalness` command: the only place that reads argv, prints, or writes files.

Exit codes: 0 ok, 2 bad input (one line on stderr naming the field), 1 internal error.
"""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
import warnings
from pathlib import Path

import click
import numpy as np
import pandas as pd
from pydantic import ValidationError

import sim
from sim import calibration, report
from sim.data import regions
from sim.network import internet_rtt_ms, route_km
from sim.scenario import Network, ScenarioError, load_scenario, one_line

SHOWN = {
    "region_set": "region set",
    "requests": "requests",
    "p50_ms": "p50 ms",
    "p90_ms": "p90 ms",
    "p99_ms": "p99 ms",
    "monthly_cost_usd": "$/month",
    "p50_change_ms": "Δp50 ms",
    "p99_change_ms": "Δp99 ms",
    "cost_change_usd_month": "Δ$/month",
}
DYNAMICS = {"error_rate": "failed %", "cold_starts": "cold starts", "stale_reads": "stale reads"}


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code instead of raising SystemExit."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", sim.DeprecatedRegionWarning)
            try:
                cli.main(args=argv, prog_name="globalness", standalone_mode=False)
            finally:
                for message in dict.fromkeys(str(w.message) for w in caught):
                    click.echo(f"warning: {message}", err=True)
    except ScenarioError as error:
        click.echo(f"error: {error}", err=True)
        return 2
    except click.ClickException as error:
        click.echo(f"error: {error.format_message()}", err=True)
        return 2
    except click.exceptions.Exit as done:
        return done.exit_code
    except (click.Abort, KeyboardInterrupt):
        click.echo("interrupted; no output was written past the last complete file", err=True)
        return 1
    except Exception as error:  # noqa: BLE001 - last resort: one line, exit 1
        click.echo(f"internal error: {type(error).__name__}: {error}", err=True)
        return 1
    return 0


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(sim.__version__, prog_name="globalness")
def cli() -> None:
    """Multi-region latency and cost for a Fly.io app: is globalness real for us?

    \b
    Examples:
      globalness run scenarios/fly-seed.yaml --out out/seed
      globalness run scenarios/fly-seed.yaml --regions mad --regions mad,gru,sin,iad
      globalness rtt mad sin
      globalness calibrate my-pings.csv --out model.json
      globalness regions --all
    """


@cli.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="folder for the CSVs, request log, chart and report",
)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="override the scenario's seed")
@click.option(
    "--regions",
    "region_sets",
    multiple=True,
    metavar="a,b,c",
    help="a region set (repeat for more); replaces the scenario's",
)
def run(scenario: Path, out: Path | None, seed: int | None, region_sets: tuple[str, ...]) -> None:
    """Simulate each region set of SCENARIO and print p50/p90/p99 and monthly cost."""
    loaded = load_scenario(scenario)
    if seed is not None or region_sets:
        sets = [[code.strip() for code in s.split(",") if code.strip()] for s in region_sets]
        loaded = loaded.with_overrides(seed=seed, region_sets=sets or None)
    click.echo(
        f"simulating {loaded.workload.requests:,} requests x {len(loaded.named_region_sets)} "
        f"region sets (seed {loaded.seed})...",
        err=True,
    )
    result = sim.run(loaded)
    click.echo(format_summary(result))
    if out is not None:
        written = write_outputs(result, out, source=scenario)
        click.echo(f"\nwrote {', '.join(written)} to {out}/", err=True)


def format_summary(result: sim.Result) -> str:
    """The terminal view: one row per region set, then p50 per continent."""
    table = shown(result.summary).set_index("region set")
    continents = report.continent_p50(result.requests)
    continents = continents.rename_axis(index="p50 ms by continent", columns=None)
    return "\n".join(
        [
            table.to_string(formatters=_formats(table)),
            "",
            continents.to_string(float_format=lambda v: f"{v:,.0f}"),
        ]
    )


def shown(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary columns people read: latency, cost, changes, and the dynamics that occurred
    (failures as a percentage, cold starts, stale reads) when any region set has them."""
    table = summary[list(SHOWN)].rename(columns=SHOWN)
    for column, title in DYNAMICS.items():
        if (summary[column] > 0).any():
            table[title] = summary[column] * (100 if column == "error_rate" else 1)
    return table


def _formats(table: pd.DataFrame) -> dict:
    def signed(v):
        return f"{v:+,.0f}"

    formats = {c: (lambda v: f"{v:,.0f}") for c in table.columns}
    formats["$/month"] = lambda v: f"{v:,.2f}"
    formats["Δ$/month"] = lambda v: f"{v:+,.2f}"
    formats["failed %"] = lambda v: f"{v:.2f}"
    for column in ("Δp50 ms", "Δp99 ms"):
        formats[column] = signed
    return formats


def write_outputs(result: sim.Result, out: Path, source: Path) -> list[str]:
    """Write each output atomically (temp file, then rename) into ``out``; return the names."""
    out.mkdir(parents=True, exist_ok=True)
    content = {
        "summary.csv": result.summary.to_csv(index=False).encode(),
        "by_continent.csv": result.by_continent.to_csv(index=False).encode(),
        "by_kind.csv": result.by_kind.to_csv(index=False).encode(),
        "requests.parquet": _parquet(result.requests),
        "latency_cdf.png": _png(result.plot_cdf()),
        "report.md": markdown_report(result, source).encode(),
    }
    for name, data in content.items():
        write_atomic(out / name, data)
    return list(content)


def write_atomic(path: Path, content: bytes) -> None:
    """Write ``content`` to a temp file beside ``path``, then rename it into place."""
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)  # mkstemp makes 0600; outputs get the usual mode
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=150)
    return buffer.getvalue()


def markdown_report(result: sim.Result, source: Path) -> str:
    """A short report.md: what ran, the summary, p50 per continent, and the chart."""
    summary = shown(result.summary)
    continents = report.continent_p50(result.requests).reset_index()
    workload, app, users = result.scenario.workload, result.scenario.app, result.scenario.users
    return "\n".join(
        [
            f"# globalness: {source.name}",
            "",
            f"{workload.requests:,} requests per region set at {workload.rate_rps:g} req/s, "
            f"{workload.write_share:.0%} writes; {users.count:,} users placed by `{users.where}`; "
            f"primary region `{app.primary_region}`, writes by `{app.writes}`; "
            f"seed {result.scenario.seed}.",
            "",
            "## Latency and cost per region set",
            "",
            markdown_table(summary),
            "",
            "## p50 [ms] by user continent",
            "",
            markdown_table(continents),
            "",
            "![latency CDF](latency_cdf.png)",
            "",
        ]
    )


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub markdown table: dollars to the cent, everything else to the unit."""

    def cell(column: str, value) -> str:
        if isinstance(value, int | float | np.number) and not isinstance(value, bool):
            return f"{value:,.2f}" if "$" in column else f"{value:,.0f}"
        return str(value)

    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = [
        "| " + " | ".join(cell(c, v) for c, v in zip(frame.columns, row, strict=True)) + " |"
        for row in frame.itertuples(index=False)
    ]
    return "\n".join([header, rule, *rows])


@cli.command()
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
    help="add a user's access network at FROM",
)
def rtt(origin: str | None, target: str | None, pairs: Path | None, access: str | None) -> None:
    """Median round trip [ms] between two places (region codes or LAT,LON).

    Server to server over the provider backbone, as inter-region ping tables measure it;
    --access adds a user's access network and public-internet path at FROM. With --pairs on a
    file that already holds measured rtt_ms_p50, adds model_rtt_ms_p50 and error_pct instead,
    and prints the error table per corridor on stderr.
    """
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
    if access is None:
        return calibration.backbone_ms(pairs, network)
    km = route_km(
        pairs["from_lat"], pairs["from_lon"], pairs["from_country"],
        pairs["to_lat"], pairs["to_lon"], pairs["to_country"], network,
    )  # fmt: skip
    return internet_rtt_ms(km, access == "mobile", network)


def place(text: str, field: str) -> tuple[float, float]:
    """A region code or `LAT,LON` -> (lat, lon) [deg]."""
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
    try:
        return pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise ScenarioError(f"{path}: cannot read ({error})") from None


@cli.command()
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
def calibrate(measurements: Path, out: Path, kind: str, start: Path | None) -> None:
    """Fit the RTT model to MEASUREMENTS.csv (from_lat,from_lon,to_lat,to_lon,rtt_ms_p50).

    Prints the error table per corridor before and after the fit and writes the model JSON.
    """
    base = Network() if start is None else load_calibration(start)
    try:
        pairs = calibration.pairs_table(read_csv(measurements), measured=True)
    except ValueError as error:
        raise ScenarioError(f"{measurements}: {error}") from None
    if kind == "backbone":
        fitted = calibration.fit_backbone(pairs, base.model)
        network = base.model_copy(update={"model": fitted})
        before, after = (calibration.backbone_ms(pairs, n) for n in (base, network))
        intercept_ms = None
    else:
        fitted, intercept_ms = calibration.fit_internet(pairs, base.model)
        network = base.model_copy(update={"model": fitted})
        before = calibration.internet_ms(pairs, base, intercept_ms)
        after = calibration.internet_ms(pairs, network, intercept_ms)
    table = calibration.error_table(pairs, before).join(
        calibration.error_table(pairs, after), lsuffix="_before", rsuffix="_after"
    )
    click.echo(
        table.drop(columns="pairs_after").rename(columns={"pairs_before": "pairs"}).to_string()
    )
    click.echo("\n" + ", ".join(f"{k} {v:g}" for k, v in fitted.model_dump().items()))
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
    try:
        return Network.model_validate({"calibration": path})
    except ValidationError as error:
        raise ScenarioError(f"--start: {one_line(error)}") from None


@cli.command(name="regions")
@click.option("--all", "show_all", is_flag=True, help="include the 17 regions deprecated in 2025")
def regions_command(show_all: bool) -> None:
    """The Fly.io region table: code, city, continent, status, price multiplier."""
    table = regions()
    if not show_all:
        table = table[table["status"] == "active"]
    shown = table[
        [
            "city",
            "country",
            "continent",
            "status",
            "replacement",
            "price_multiplier",
            "egress_group",
        ]
    ]
    click.echo(shown.fillna("").to_string())


@cli.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
def validate(scenario: Path) -> None:
    """Check SCENARIO and print what it describes, without running it."""
    loaded = load_scenario(scenario)
    sets = ", ".join(loaded.named_region_sets)
    click.echo(
        f"{scenario}: ok: {loaded.workload.requests:,} requests x "
        f"{len(loaded.named_region_sets)} region sets ({sets})"
    )

"""The `globalness` command: the only place that reads argv, prints, or writes files.

Exit codes: 0 ok, 2 bad input (one line on stderr naming the field), 1 internal error.
"""

from __future__ import annotations

import signal
import sys
import warnings
from pathlib import Path

import click

import sim
from sim.choices import ENGINES
from sim.cli_options import (
    FORMAT,
    OutFolder,
    checked,
    provenance_here,
    read_scenario,
    scenario_options,
)  # fmt: skip
from sim.cli_reference import calibrate, databases_command, regions_command, rtt
from sim.cli_studies import optimize, size, sweep
from sim.errors import ScenarioError, ScenarioWarning
from sim.signals import INTERRUPTED, TERMINATED, Terminated, on_sigterm


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code instead of raising SystemExit."""
    shown: list[str] = []  # in order: the reports list them (sim.provenance)

    def show_once(message, *_) -> None:
        if str(message) not in shown:
            shown.append(str(message))
            click.echo(f"warning: {message}", err=True)

    previous = on_sigterm()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", ScenarioWarning)
            warnings.showwarning = show_once
            typed = list(sys.argv[1:] if argv is None else argv)
            cli.main(
                args=argv, prog_name="globalness", standalone_mode=False,
                obj={"argv": typed, "warnings": shown},
            )  # fmt: skip
    except ScenarioError as error:
        click.echo(f"error: {error}", err=True)
        return 2
    except click.ClickException as error:
        click.echo(f"error: {error.format_message()}", err=True)
        return 2
    except click.exceptions.Exit as done:
        return done.exit_code
    except OSError as error:  # a full disk, a folder gone: nothing of the run was left
        click.echo(f"error: could not write: {error}; nothing of this run was written", err=True)
        return 1
    except (click.Abort, KeyboardInterrupt):
        click.echo(INTERRUPTED, err=True)
        return 130
    except Terminated:
        click.echo(TERMINATED, err=True)
        return 143
    except Exception as error:  # noqa: BLE001 - last resort: one line, exit 1
        click.echo(f"internal error: {type(error).__name__}: {error}", err=True)
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0


def show_version(context: click.Context, parameter, given: bool) -> None:
    """--version: read from the installed package only when asked (it takes a scan of the
    installed distributions, which every other command would pay at start)."""
    if given and not context.resilient_parsing:
        click.echo(f"globalness, version {sim.__version__}")
        context.exit()


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=show_version,
              help="Show the version and exit.")  # fmt: skip
def cli() -> None:
    """Multi-region latency and cost for a Fly.io app: is globalness real for us?

    \b
    Examples:
      globalness run scenarios/fly-seed.yaml --out out/seed
      globalness run scenarios/fly-seed.yaml --regions mad --regions mad,gru,sin,iad
      globalness run fly.toml --regions ord --regions ord,fra,sin --count 3
      globalness validate fly.toml --strict
      globalness optimize scenarios/worldwide.yaml --k 1..6
      globalness size scenarios/fly-seed.yaml --slo-ms 250
      globalness sweep scenarios/worldwide.yaml --loads 10,50,200 --seeds 3 --workers 2
      globalness rtt mad sin
      globalness calibrate my-pings.csv --out model.json
      globalness regions --all
    """


def checked_log(context: click.Context, parameter: click.Parameter, log: str) -> str:
    """--log: parquet refused before anything is simulated when pyarrow is not installed."""
    from sim.output_folder import check_log

    return check_log(log)


@cli.command()
@scenario_options
@click.option(
    "--out",
    type=OutFolder(),
    help="folder for the CSVs, request log, chart and report",
)
@FORMAT
@click.option(
    "--engine", type=click.Choice(ENGINES), default="auto", show_default=True,
    help="des: discrete events (queues, limits, autostop, outages); analytic: vectorised, "
    "nothing waits; auto: per region set, the DES when it has any of those or queues would form",
)  # fmt: skip
@click.option(
    "--replications", type=click.IntRange(1), default=1, show_default=True, metavar="N",
    help="also run N independent seeds and give each metric a 95 %% confidence interval",
)  # fmt: skip
@click.option("--workers", type=click.IntRange(1), default=1, show_default=True, metavar="N",
              help="local processes for the replications")  # fmt: skip
@click.option(
    "--charts", "chart_format", type=click.Choice(("png", "svg", "both", "none")),
    default="png", show_default=True,
    help="the charts in --out: PNG (the report shows them), SVG, both, or none",
)  # fmt: skip
@click.option(
    "--log", "log_format", type=click.Choice(("csv", "parquet")), default="csv",
    show_default=True, callback=checked_log,
    help="the request log in --out: requests.csv.gz, or requests.parquet (the parquet extra)",
)  # fmt: skip
@click.option("--yes", is_flag=True, help="run even when the estimate says it is large")
@click.option("-q", "--quiet", is_flag=True, help="no progress or notes on stderr")
def run(
    scenario: Path,
    region_sets: tuple[str, ...],
    out: Path | None,
    format_: str,
    engine: str,
    replications: int,
    workers: int,
    chart_format: str,
    log_format: str,
    yes: bool,
    quiet: bool,
    **overrides,
) -> None:
    """Simulate each region set of SCENARIO (a scenario YAML or a fly.toml) and print
    p50/p90/p99 latency and monthly cost.

    \b
    Examples:
      globalness run scenarios/fly-seed.yaml --out out/seed
      globalness run scenarios/saas-api.yaml --regions iad --regions iad,fra --format csv
      globalness run fly.toml --regions ord --regions ord,fra,sin --count 3
      globalness run scenarios/night-cold-starts.yaml --engine analytic
      globalness run scenarios/worldwide.yaml --replications 10 --workers 2
    """
    from sim.output_folder import check_out

    loaded = read_scenario(scenario, region_sets, **overrides)
    check_out(out)  # before any simulation
    note = (lambda text: None) if quiet else (lambda text: click.echo(text, err=True))
    charts = charts_drawn(loaded, out, chart_format)
    checked(
        sim.estimate(loaded, engine, replications=replications, workers=workers, charts=charts),
        scenario, yes, quiet,
        f"simulating {loaded.workload.requests:,} requests x {len(loaded.candidates)} "
        f"region sets and alternatives (seed {loaded.seed})",
    )  # fmt: skip
    result = simulated(loaded, engine, yes, quiet)
    print_result(result, format_, note)
    replicated = None
    if replications > 1:
        replicated = replicated_runs(result, replications, workers, engine, quiet)
        from sim.tables import format_replicated

        shown = format_replicated(replicated, replications)
        if format_ == "table":
            click.echo(f"\n{shown}")
        else:  # stdout stays one CSV or JSON document
            note(f"\n{shown}")
    if out is not None:
        written = result.save(
            out, charts=chart_format, log=log_format, replicated=replicated, source=scenario,
            provenance=provenance_here(),
        )  # fmt: skip
        note(wrote_line(written, chart_format, out))


def charts_drawn(loaded: sim.Scenario, out: Path | None, chart_format: str) -> int:
    """How many charts --out draws (the estimate counts their time)."""
    if out is None or chart_format == "none":
        return 0
    from sim.outputs import chart_count

    return chart_count(loaded)


def bar(total: int, unit: str, quiet: bool):
    """A progress bar on stderr, shown after a second (none with -q)."""
    from tqdm import tqdm

    return tqdm(
        total=total, unit=unit, unit_scale=True, delay=1, disable=True if quiet else None,
        file=sys.stderr, leave=False,
    )  # fmt: skip


def simulated(loaded: sim.Scenario, engine: str, yes: bool, quiet: bool) -> sim.Result:
    """`sim.run` with a progress bar over every request of every region set."""
    with bar(loaded.workload.requests * len(loaded.candidates), " requests", quiet) as shown:
        return sim.run(loaded, engine=engine, progress=shown.update, allow_large=yes)


def print_result(result: sim.Result, format_: str, note) -> None:
    """The engine and database notes on stderr, the summary on stdout as ``format_``."""
    from sim import tables
    from sim.cpu_notes import cpu_notes
    from sim.database_notes import database_notes

    note(tables.engine_note(result))
    for line in database_notes(result.scenario) + cpu_notes(result.machines):
        note(line)
    if format_ == "csv":
        click.echo(tables.summary_csv(result), nl=False)
    elif format_ == "json":
        click.echo(tables.summary_json(result))
    else:
        click.echo(tables.format_summary(result))


def replicated_runs(result: sim.Result, replications: int, workers: int, engine: str, quiet):
    """`sim.replicate` over ``replications`` seeds, reusing the run already made as the first."""
    from sim.replications import replicate

    with bar(replications, " replications", quiet) as shown:
        return replicate(
            result.scenario, replications, workers=workers, engine=engine,
            progress=shown.update, first=result.summary,
        )  # fmt: skip


def wrote_line(written: list[str], chart_format: str, out: Path) -> str:
    """What --out wrote, in one line: the files by name, the charts counted."""
    files = [name for name in written if not name.endswith((".png", ".svg"))]
    drawn = {name.rsplit(".", 1)[0] for name in written if name.endswith((".png", ".svg"))}
    kinds = {"png": "PNG", "svg": "SVG", "both": "PNG and SVG"}
    charts_text = f" and {len(drawn)} charts ({kinds[chart_format]})" if drawn else ""
    return f"\nwrote {', '.join(files)}{charts_text} to {out}/"


@cli.command()
@scenario_options
def validate(scenario: Path, region_sets: tuple[str, ...], **overrides) -> None:
    """Check SCENARIO (a scenario YAML or a fly.toml) and print what it describes, without
    running it.

    \b
    Examples:
      globalness validate scenarios/fly-seed.yaml
      globalness validate fly.toml --primary ord --regions ord,fra --strict
    """
    from sim import tables

    loaded = read_scenario(scenario, region_sets, **overrides)
    sets = ", ".join(loaded.named_region_sets)
    choices = f" x {len(loaded.databases)} database choices" if loaded.databases else ""
    click.echo(
        f"{scenario}: ok: {loaded.workload.requests:,} requests x "
        f"{len(loaded.named_region_sets)} region sets ({sets}){choices}\n"
        f"{tables.describe(loaded)}\nestimate: a run takes about {sim.estimate(loaded)}"
    )


for command in (optimize, size, sweep, rtt, calibrate, regions_command, databases_command):
    cli.add_command(command)

"""The `globalness` command: the only place that reads argv, prints, or writes files.

Exit codes: 0 ok, 2 bad input (one line on stderr naming the field), 1 internal error.
"""

from __future__ import annotations

import sys
import warnings
from functools import partial
from pathlib import Path

import click
from tqdm import tqdm

import sim
from sim import outputs, tables
from sim.checks import ScenarioError, ScenarioWarning
from sim.cli_reference import FORMAT, calibrate, databases_command, regions_command, rtt
from sim.database_notes import database_notes
from sim.replications import replicate
from sim.scenario_files import load_scenario, load_setting
from sim.search import OBJECTIVES
from sim.sweep import sweep as run_sweep


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code instead of raising SystemExit."""
    shown: set[str] = set()

    def show_once(message, *_) -> None:
        if str(message) not in shown:
            shown.add(str(message))
            click.echo(f"warning: {message}", err=True)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", ScenarioWarning)
            warnings.showwarning = show_once
            cli.main(args=argv, prog_name="globalness", standalone_mode=False)
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


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(sim.__version__, prog_name="globalness")
def cli() -> None:
    """Multi-region latency and cost for a Fly.io app: is globalness real for us?

    \b
    Examples:
      globalness run scenarios/fly-seed.yaml --out out/seed
      globalness run scenarios/fly-seed.yaml --regions mad --regions mad,gru,sin,iad
      globalness run fly.toml --regions ord --regions ord,fra,sin --count 3
      globalness validate fly.toml --strict
      globalness optimize scenarios/worldwide.yaml --k 1..6
      globalness sweep scenarios/worldwide.yaml --loads 10,50,200 --seeds 3 --workers 2
      globalness rtt mad sin
      globalness calibrate my-pings.csv --out model.json
      globalness regions --all
    """


def scenario_options(command, region_sets: bool = True):
    """The options that shape a scenario as it is read: shared by `run`, `validate` and
    (without --regions) `optimize`."""
    regions_option = click.option(
        "--regions", "region_sets", multiple=True, metavar="a,b,c",
        help="a region set (repeat for more); replaces the scenario's",
    )  # fmt: skip
    options = [
        click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path)),
        *([regions_option] if region_sets else []),
        click.option(
            "--primary", "primary_region", metavar="REGION",
            help="the primary region (where writes and the database live)",
        ),
        click.option(
            "--count", "scale_count", type=click.IntRange(1, 10_000), metavar="N",
            help="N Machines per region set, spread like `fly scale count N --region a,b,c`",
        ),
        click.option(
            "--set", "settings", multiple=True, metavar="KEY=VALUE", callback=parse_settings,
            help="set a scenario key by its dotted path, e.g. workload.rate_rps=200 (repeatable)",
        ),
        click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="the root random seed"),
        click.option("--strict", is_flag=True, help="refuse regions Fly.io deprecated in 2025"),
    ]  # fmt: skip
    for option in reversed(options):
        command = option(command)
    return command


def parse_settings(context, parameter, given: tuple[str, ...]) -> dict[str, object]:
    """`--set a.b=VALUE` pairs; each VALUE is read as a YAML scalar (200, 90s, true, [a, b])."""
    settings = {}
    for text in given:
        key, equals, value = text.partition("=")
        if not equals or not key.strip():
            raise click.BadParameter(f"{text!r} is not KEY=VALUE (e.g. workload.rate_rps=200)")
        settings[key.strip()] = load_setting(value)
    return settings


def read_scenario(scenario: Path, region_sets: tuple[str, ...], **overrides) -> sim.Scenario:
    sets = [[code.strip() for code in text.split(",") if code.strip()] for text in region_sets]
    return load_scenario(scenario, region_sets=sets or None, **overrides)


@cli.command()
@scenario_options
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="folder for the CSVs, request log, chart and report",
)
@FORMAT
@click.option(
    "--engine", type=click.Choice(sim.ENGINES), default="auto", show_default=True,
    help="des: discrete events (queues, limits, autostop, outages); analytic: vectorised, "
    "nothing waits; auto: per region set, the DES when it has any of those or queues would form",
)  # fmt: skip
@click.option(
    "--replications", type=click.IntRange(1), default=1, show_default=True, metavar="N",
    help="also run N independent seeds and give each metric a 95 %% confidence interval",
)  # fmt: skip
@click.option("--workers", type=click.IntRange(1), default=1, show_default=True, metavar="N",
              help="local processes for the replications")  # fmt: skip
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
    loaded = read_scenario(scenario, region_sets, **overrides)
    note = (lambda text: None) if quiet else (lambda text: click.echo(text, err=True))
    estimate = sim.estimate(loaded, engine)
    if not yes:
        estimate.check(source=str(scenario))
    note(
        f"simulating {loaded.workload.requests:,} requests x {len(loaded.candidates)} "
        f"region sets and alternatives (seed {loaded.seed}), about {estimate}"
    )
    with tqdm(
        total=loaded.workload.requests * len(loaded.candidates), unit=" requests",
        unit_scale=True, delay=1, disable=True if quiet else None, file=sys.stderr,
        leave=False,
    ) as bar:  # fmt: skip
        result = sim.run(loaded, engine=engine, progress=bar.update, allow_large=yes)
    note(tables.engine_note(result))
    for line in database_notes(loaded):
        note(line)
    if format_ == "csv":
        click.echo(tables.summary_csv(result), nl=False)
    elif format_ == "json":
        click.echo(tables.summary_json(result))
    else:
        click.echo(tables.format_summary(result))
    replicated = None
    if replications > 1:
        with tqdm(
            total=replications, unit=" replications", delay=1, file=sys.stderr, leave=False,
            disable=True if quiet else None,
        ) as bar:  # fmt: skip
            replicated = replicate(
                loaded, replications, workers=workers, engine=engine, progress=bar.update
            )
        shown = tables.format_replicated(replicated, replications)
        if format_ == "table":
            click.echo(f"\n{shown}")
        else:  # stdout stays one CSV or JSON document
            note(f"\n{shown}")
    if out is not None:
        written = outputs.write_outputs(result, out, source=scenario, replicated=replicated)
        files = [name for name in written if not name.endswith((".png", ".svg"))]
        charts = sum(name.endswith(".png") for name in written)
        note(f"\nwrote {', '.join(files)} and {charts} charts (PNG and SVG) to {out}/")


def parse_sizes(context, parameter, text: str) -> list[int]:
    """`1..6`, `3` or `2,4` -> the sizes."""
    try:
        if ".." in text:
            low, high = (int(part) for part in text.split(".."))
            return list(range(low, high + 1))
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a size range like 1..6, 3 or 2,4") from None


@cli.command()
@partial(scenario_options, region_sets=False)
@click.option(
    "--k",
    "sizes",
    default="1..6",
    show_default=True,
    callback=parse_sizes,
    metavar="SIZES",
    help="set sizes to find: a range 1..6, one size 3, or a list 2,4",
)
@click.option(
    "--objective",
    type=click.Choice(list(OBJECTIVES)),
    default="p99",
    show_default=True,
    help="the latency to minimise over all users' requests",
)
@click.option("--budget", type=click.FloatRange(0), metavar="USD", help="monthly budget per set")
@click.option(
    "--must-include",
    multiple=True,
    metavar="REGION",
    help="a region every set holds besides the primary (repeatable)",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="folder for optimize.csv and the how-many-regions chart",
)
@click.option("-q", "--quiet", is_flag=True, help="no progress on stderr")
def optimize(
    scenario: Path,
    sizes: list[int],
    objective: str,
    budget: float | None,
    must_include: tuple[str, ...],
    out: Path | None,
    quiet: bool,
    **overrides,
) -> None:
    """The best region set of each size for SCENARIO's users, and how many regions are
    enough: p50, p99, monthly cost and the gain of each added region. Every set holds the
    primary region; the others come from Fly.io's active regions (exhaustive up to 4 regions,
    greedy plus local search beyond; the best sets re-run with the discrete-event engine).

    \b
    Examples:
      globalness optimize scenarios/worldwide.yaml --k 1..6
      globalness optimize scenarios/saas-api.yaml --k 2..4 --objective p50 --budget 300
      globalness optimize fly.toml --must-include fra --out out/optimize
    """
    loaded = read_scenario(scenario, (), **overrides)
    with tqdm(
        unit=" region sets", delay=1, disable=True if quiet else None, file=sys.stderr, leave=False
    ) as bar:
        found = sim.optimize(loaded, sizes, objective, budget, must_include, progress=bar.update)
    click.echo(tables.format_optimum(found))
    if out is not None:
        written = outputs.write_optimum(found, out)
        if not quiet:
            click.echo(f"\nwrote {', '.join(written)} to {out}/", err=True)


def parse_loads(context, parameter, text: str | None) -> list[float] | None:
    """`10,50,200` -> the request rates."""
    if text is None:
        return None
    try:
        return [float(part) for part in text.split(",")]
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a list of request rates like 10,50,200"
        ) from None


@cli.command()
@scenario_options
@click.option(
    "--loads", callback=parse_loads, metavar="R1,R2,...",
    help="request rates [req/s] to run at (default: sweep.loads, or workload.rate_rps)",
)  # fmt: skip
@click.option("--seeds", type=click.IntRange(1), metavar="N",
              help="replications of each load (default: sweep.seeds, or 1)")  # fmt: skip
@click.option("--workers", type=click.IntRange(1), default=1, show_default=True, metavar="N",
              help="local processes to run on")  # fmt: skip
@click.option(
    "--scheduler", metavar="tcp://HOST:8786",
    help="run on this Dask distributed cluster instead (its workers need globalness installed)",
)  # fmt: skip
@click.option(
    "--engine", type=click.Choice(sim.ENGINES), default="auto", show_default=True,
    help="as for `run`",
)  # fmt: skip
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), help="folder for sweep.csv"
)
@click.option("-q", "--quiet", is_flag=True, help="no progress on stderr")
def sweep(
    scenario: Path,
    region_sets: tuple[str, ...],
    loads: list[float] | None,
    seeds: int | None,
    workers: int,
    scheduler: str | None,
    engine: str,
    out: Path | None,
    quiet: bool,
    **overrides,
) -> None:
    """Run SCENARIO's region sets at each load and seed and print one tidy table: a row per
    region set, load and seed with p50, p99, mean latency and monthly cost. Loads and seeds
    come from the options, else from the scenario's `sweep` section. Runs go to local
    processes or a Dask cluster; the table is the same wherever they run.

    \b
    Examples:
      globalness sweep scenarios/worldwide.yaml --loads 10,50,200 --seeds 3 --workers 2
      globalness sweep scenarios/saas-api.yaml --seeds 5 --out out/sweep
      globalness sweep fly.toml --regions ord --regions ord,fra --scheduler tcp://10.0.0.5:8786
    """
    loaded = read_scenario(scenario, region_sets, **overrides)
    loads = loads or loaded.sweep.loads
    seeds = seeds or loaded.sweep.seeds
    runs = len(set(loads or [loaded.workload.rate_rps])) * seeds
    with tqdm(
        total=runs, unit=" runs", delay=1, disable=True if quiet else None, file=sys.stderr,
        leave=False,
    ) as bar:  # fmt: skip
        table = run_sweep(
            loaded, loads=loads, seeds=seeds, workers=workers, scheduler=scheduler,
            engine=engine, progress=bar.update,
        )  # fmt: skip
    click.echo(tables.format_sweep(table))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        outputs.write_atomic(out / "sweep.csv", table.to_csv(index=False).encode())
        if not quiet:
            click.echo(f"\nwrote sweep.csv to {out}/", err=True)


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
    loaded = read_scenario(scenario, region_sets, **overrides)
    sets = ", ".join(loaded.named_region_sets)
    choices = f" x {len(loaded.databases)} database choices" if loaded.databases else ""
    click.echo(
        f"{scenario}: ok: {loaded.workload.requests:,} requests x "
        f"{len(loaded.named_region_sets)} region sets ({sets}){choices}\n"
        f"{tables.describe(loaded)}"
    )


for command in (rtt, calibrate, regions_command, databases_command):
    cli.add_command(command)

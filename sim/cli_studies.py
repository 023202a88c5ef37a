"""The commands that run a scenario many times: `optimize`, `size` and `sweep`."""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

import click

from sim.choices import ENGINES, FINALIST_REPLICATIONS, OBJECTIVES
from sim.cli_options import (
    FORMAT,
    OutFolder,
    checked,
    echo_table,
    provenance_here,
    read_scenario,
    scenario_options,
)  # fmt: skip


def parse_sizes(context, parameter, text: str) -> list[int]:
    """`1..6`, `3` or `2,4` -> the sizes."""
    try:
        if ".." in text:
            low, high = (int(part) for part in text.split(".."))
            return list(range(low, high + 1))
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a size range like 1..6, 3 or 2,4") from None


def text_sizes(sizes: list[int]) -> str:
    """[1, 2, 3] -> `1 to 3`; [2, 4] -> `2, 4`."""
    if len(sizes) > 2 and sizes == list(range(sizes[0], sizes[-1] + 1)):
        return f"{sizes[0]} to {sizes[-1]}"
    return ", ".join(map(str, sizes))


@click.command()
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
    type=OutFolder(),
    help="folder for optimize.csv, the how-many-regions chart and a report",
)
@click.option(
    "--replications", type=click.IntRange(1), default=FINALIST_REPLICATIONS, show_default=True,
    metavar="N", help="seeds each finalist is re-run over",
)  # fmt: skip
@FORMAT
@click.option("--yes", is_flag=True, help="run even when the estimate says it is large")
@click.option("-q", "--quiet", is_flag=True, help="no progress on stderr")
def optimize(
    scenario: Path,
    sizes: list[int],
    objective: str,
    budget: float | None,
    must_include: tuple[str, ...],
    out: Path | None,
    replications: int,
    format_: str,
    yes: bool,
    quiet: bool,
    **overrides,
) -> None:
    """The best region set of each size for SCENARIO's users, and how many regions are
    enough: p50, p99, monthly cost and the gain of each added region. Every set holds the
    primary region; the others come from Fly.io's active regions (exhaustive up to 4 regions,
    greedy plus local search beyond; the best sets re-run with the discrete-event engine over
    --replications seeds, a tie broken by cost, then p50).

    \b
    Examples:
      globalness optimize scenarios/worldwide.yaml --k 1..6
      globalness optimize scenarios/saas-api.yaml --k 2..4 --objective p50 --budget 300
      globalness optimize fly.toml --must-include fra --out out/optimize
    """
    from tqdm import tqdm

    import sim
    from sim import outputs, tables
    from sim.output_folder import check_out
    from sim.search import search_estimate

    loaded = read_scenario(scenario, (), **overrides)
    check_out(out)  # before any simulation
    checked(
        search_estimate(loaded, sizes, must_include, replications, 1 if out else 0),
        scenario, yes, quiet,
        f"searching region sets of {text_sizes(sizes)} regions over "
        f"{loaded.workload.requests:,} requests (seed {loaded.seed})",
    )  # fmt: skip
    with tqdm(
        unit=" region sets", delay=1, disable=True if quiet else None, file=sys.stderr, leave=False
    ) as bar:
        found = sim.optimize(
            loaded,
            sizes,
            objective,
            budget,
            must_include,
            progress=bar.update,
            replications=replications,
        )
    text = tables.format_optimum(found)
    echo_table(found.table(), format_, text)
    if out is not None:
        written = outputs.write_optimum(found, loaded, out, scenario, provenance_here(), text)
        if not quiet:
            click.echo(f"\nwrote {', '.join(written)} to {out}/", err=True)


@click.command()
@scenario_options
@click.option("--slo-ms", type=click.FloatRange(0, min_open=True), metavar="MS",
              help="the p99 to keep [ms] (default: the unthrottled p99 + 10 %)")  # fmt: skip
@click.option("--workers", type=click.IntRange(1), default=1, show_default=True, metavar="N",
              help="local processes to size the region sets on")  # fmt: skip
@click.option("--out", type=OutFolder(), help="folder for size.csv")
@FORMAT
@click.option("--yes", is_flag=True, help="run even when the estimate says it is large")
@click.option("-q", "--quiet", is_flag=True, help="no progress on stderr")
def size(
    scenario: Path,
    region_sets: tuple[str, ...],
    slo_ms: float | None,
    workers: int,
    out: Path | None,
    format_: str,
    yes: bool,
    quiet: bool,
    **overrides,
) -> None:
    """The cheapest Machine preset and Machines per region that keep each region set of
    SCENARIO within its p99 goal under Fly's CPU quotas (the DES), and the monthly cost of
    every size tried on the way.

    \b
    Examples:
      globalness size scenarios/fly-seed.yaml --workers 2
      globalness size fly.toml --regions ord --regions ord,fra --slo-ms 250 --out out/size
    """
    from tqdm import tqdm

    import sim
    from sim.output_folder import check_out, write_folder
    from sim.sizing import size_estimate

    loaded = read_scenario(scenario, region_sets, **overrides)
    check_out(out)  # before any simulation
    checked(
        size_estimate(loaded, workers), scenario, yes, quiet,
        f"sizing {len(loaded.region_set_choices)} region sets over "
        f"{loaded.workload.requests:,} requests (seed {loaded.seed}), at most",
    )  # fmt: skip
    with tqdm(
        total=len(loaded.region_set_choices), unit=" region sets", delay=1, leave=False,
        disable=True if quiet else None, file=sys.stderr,
    ) as bar:  # fmt: skip
        found = sim.size(loaded, slo_ms, workers=workers, progress=bar.update)
    echo_table(found.table, format_, found.text())
    if out is not None:
        write_folder(out, {"size.csv": found.table.to_csv(index=False).encode()}, sim.__version__)
        if not quiet:
            click.echo(f"\nwrote size.csv to {out}/", err=True)


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


@click.command()
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
    "--engine", type=click.Choice(ENGINES), default="auto", show_default=True,
    help="as for `run`",
)  # fmt: skip
@click.option("--out", type=OutFolder(), help="folder for sweep.csv and a report")
@FORMAT
@click.option("--yes", is_flag=True, help="run even when the estimate says it is large")
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
    format_: str,
    yes: bool,
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
    from tqdm import tqdm

    from sim import outputs, tables
    from sim.output_folder import check_out
    from sim.sweeps import sweep as run_sweep
    from sim.sweeps import sweep_estimate

    loaded = read_scenario(scenario, region_sets, **overrides)
    check_out(out)  # before any simulation
    loads = loads or loaded.sweep.loads
    seeds = seeds or loaded.sweep.seeds
    runs = len(set(loads or [loaded.workload.rate_rps])) * seeds
    checked(
        sweep_estimate(loaded, loads, seeds, workers, engine, 1 if out else 0),
        scenario, yes, quiet,
        f"sweeping {runs} runs of {len(loaded.candidates)} region sets (seed {loaded.seed})",
    )  # fmt: skip
    with tqdm(
        total=runs, unit=" runs", delay=1, disable=True if quiet else None, file=sys.stderr,
        leave=False,
    ) as bar:  # fmt: skip
        table = run_sweep(
            loaded, loads=loads, seeds=seeds, workers=workers, scheduler=scheduler,
            engine=engine, progress=bar.update,
        )  # fmt: skip
    text = tables.format_sweep(table)
    echo_table(table, format_, text)
    if out is not None:
        written = outputs.write_sweep(table, loaded, out, scenario, provenance_here(), text)
        if not quiet:
            click.echo(f"\nwrote {', '.join(written)} to {out}/", err=True)

"""Sweeps: a scenario run at several loads and seeds, one tidy table of every region set.

A run is one (load, seed) pair: sim.engine.simulate of the scenario at that ``rate_rps`` and
replication, every region set served from the same draws (common random numbers), so sets
compare fairly within a run. Seeds are replications 0..seeds-1 of the scenario's seed, each its
own random streams wherever it runs. Runs are independent, so they go as they are to local
processes or to a Dask cluster; the table is put together in (load, seed) order, never in the
order runs finish, so it is the same however and wherever it ran.
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import numbers
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from functools import partial

import pandas as pd
from pydantic import ValidationError

from sim.checks import one_line
from sim.choices import ENGINES
from sim.engine import simulate
from sim.errors import ScenarioError
from sim.footprint import Estimate
from sim.report import summary
from sim.scenario import Scenario

COLUMNS = [
    "region_set",
    "rate_rps",
    "seed",
    "p50_ms",
    "p99_ms",
    "mean_ms",
    "error_rate",
    "monthly_cost_usd",
    "engine",
]
CONNECT_TIMEOUT = "10s"  # how long to try a Dask scheduler before giving up
Progress = Callable[[int], object] | None  # called with 1 as each run finishes


def sweep(
    scenario: Scenario,
    *,
    loads: list[float] | None = None,
    seeds: int | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    engine: str = "auto",
    progress: Callable[[int], object] | None = None,
) -> pd.DataFrame:
    """Every region set's latency and monthly cost at each load and seed: one row per region
    set, load (``rate_rps``) and seed, sorted by load, seed, then region set as the scenario
    lists them.

    ``loads`` are workload.rate_rps values (if None, the scenario's sweep.loads, else its own
    rate; duplicates run once), and a scenario given by duration_s keeps its duration, so its
    requests grow with the load. ``seeds`` runs replications 0..seeds-1 (if None, the
    scenario's sweep.seeds), as `globalness sweep` does. Runs go to ``workers`` local
    processes (1: this process), or to the Dask cluster at ``scheduler`` (e.g.
    ``tcp://10.0.0.5:8786``), whose workers need this package installed. ``progress`` is
    called with 1 as each run finishes. Local processes are spawned, so a script that sweeps
    with workers needs the ``if __name__ == "__main__":`` guard.
    """
    loads = scenario.sweep.loads if loads is None else loads
    seeds = scenario.sweep.seeds if seeds is None else seeds
    check_options(seeds, workers, scheduler, engine)
    if loads is not None and not loads:
        raise ScenarioError("--loads: none given: allowed request rates [req/s] above 0")
    variants = {rate: at_load(scenario, rate) for rate in loads or [scenario.workload.rate_rps]}
    runs = [(variants[rate], seed, engine) for rate in sorted(variants) for seed in range(seeds)]
    return pd.concat(run_all(runs, workers, scheduler, progress), ignore_index=True)


def run_all(
    runs: list[tuple], workers: int = 1, scheduler: str | None = None, progress: Progress = None
) -> list[pd.DataFrame]:
    """Each run's rows (run_point of each (scenario, seed, engine)), in the order given: on
    the Dask cluster at ``scheduler``, on ``workers`` local processes, or in this one."""
    if scheduler is not None:
        return on_cluster(runs, scheduler, progress)
    if workers > 1:
        return in_processes(runs, workers, progress)
    frames = []
    for run in runs:
        frames.append(run_point(*run))
        if progress is not None:
            progress(1)
    return frames


def sweep_estimate(
    scenario: Scenario, loads: list[float] | None, seeds: int, workers: int, engine: str,
    charts: int = 0,
) -> Estimate:  # fmt: skip
    """About how long and how much memory `sweep` takes: each load's run (its requests grow
    with the load when the scenario gives a duration) ``seeds`` times on ``workers``
    processes, then ``charts``."""
    rates = sorted(set(loads or [scenario.workload.rate_rps]))
    one = [Estimate.of(at_load(scenario, rate), engine) for rate in rates]
    at_once = max(1, min(workers, len(rates) * seeds))
    largest = max(one, key=lambda estimate: estimate.bytes)
    return Estimate(
        sum(e.requests for e in one) * seeds, sum(e.seconds for e in one) * seeds / at_once,
        largest.times(at_once, workers).bytes,
    ).with_charts(charts)  # fmt: skip


def run_point(scenario: Scenario, seed: int, engine: str = "auto") -> pd.DataFrame:
    """One run: the summary row of each region set of ``scenario`` at replication ``seed``,
    with its load and seed (the COLUMNS). Module-level so that it pickles to other processes."""
    run = simulate(scenario, replication=seed, engine=engine, allow_large=True)
    return point_rows(summary(run.requests, run.machines, run.engines, scenario), scenario, seed)


def point_rows(table: pd.DataFrame, scenario: Scenario, seed: int) -> pd.DataFrame:
    """A run's summary table as a sweep's rows: its load and seed, the COLUMNS."""
    table = table.assign(rate_rps=scenario.workload.rate_rps, seed=seed)
    return table[COLUMNS]


def check_options(seeds: int, workers: int, scheduler: str | None, engine: str) -> None:
    """Refuse, in one line naming the option, what sweep cannot run."""
    for option, value in (("seeds", seeds), ("workers", workers)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ScenarioError(f"--{option}: {value!r}: allowed a whole number, 1 or more")
    if engine not in ENGINES:
        raise ScenarioError(f"--engine: {engine!r}: allowed {', '.join(ENGINES)}")
    if scheduler is None:
        return
    if not isinstance(scheduler, str) or not scheduler.strip():
        raise ScenarioError(
            f"--scheduler: {scheduler!r}: allowed a Dask scheduler's address, "
            "e.g. tcp://10.0.0.5:8786"
        )
    if importlib.util.find_spec("distributed") is None:
        raise ScenarioError(
            f"--scheduler: {scheduler}: needs Dask, an extra: pip install 'globalness[cluster]'"
        )
    if workers > 1:
        raise ScenarioError(
            f"--workers: {workers} with --scheduler: the cluster's workers run the sweep; "
            "give one or the other"
        )


def at_load(scenario: Scenario, rate: float) -> Scenario:
    """The scenario at ``rate`` requests per second, validated again: a duration_s gives
    requests = rate x duration, and a load the scenario refuses (a free tier's limits) is
    refused as it would be in the file."""
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not rate > 0:
        raise ScenarioError(f"--loads: {rate!r}: allowed request rates [req/s] above 0")
    try:
        return scenario.replace(workload=scenario.workload.replace(rate_rps=float(rate)))
    except ValidationError as error:
        raise ScenarioError(f"--loads: {rate:g}: {one_line(error, Scenario)}") from None


def in_processes(runs: list[tuple], workers: int, progress: Progress) -> list[pd.DataFrame]:
    """The runs on ``workers`` fresh local processes (spawned: no state forked from here)."""
    with local_pool(workers) as pool:
        futures = {pool.submit(run_point, *run): k for k, run in enumerate(runs)}
        return gathered(futures, as_completed, progress)


@contextmanager
def local_pool(workers: int):
    """``workers`` spawned local processes. Left by an error, Ctrl-C or SIGTERM, the runs
    not started are dropped and the running ones stopped at once, so no process outlives
    the command."""
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        yield pool
    except BaseException:
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.terminate()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(cancel_futures=True)


def on_cluster(runs: list[tuple], scheduler: str, progress: Progress) -> list[pd.DataFrame]:
    """The runs on the Dask cluster at ``scheduler``; ScenarioError if it cannot be reached."""
    import distributed
    from distributed.comm import get_address_host_port

    try:  # a malformed address fails here: a Client that failed to start warns when collected
        get_address_host_port(scheduler)
    except ValueError as error:
        raise ScenarioError(
            f"--scheduler: {scheduler!r}: {error}; allowed e.g. tcp://10.0.0.5:8786"
        ) from None
    try:
        client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except OSError as error:  # refused, or timed out (a TimeoutError is an OSError)
        raise ScenarioError(f"--scheduler: cannot reach {scheduler}: {error}") from None
    with client:
        futures = {client.submit(run_point, *run): k for k, run in enumerate(runs)}
        return gathered(futures, partial(distributed.as_completed, loop=client.loop), progress)


def gathered(
    futures: dict, finished: Callable[[Iterable], Iterable], progress: Progress
) -> list[pd.DataFrame]:
    """Each future's rows at its run's place (``futures`` maps a future to it), whatever the
    order they finish in; ``progress(1)`` as each finishes."""
    frames = [pd.DataFrame()] * len(futures)
    for future in finished(futures):
        frames[futures[future]] = future.result()
        if progress is not None:
            progress(1)
    return frames

"""Right-sizing (`sim.size`): the cheapest Machines that keep each candidate's p99.

Fly meters a shared vCPU to 6.25 % of a core (5 ms per 80 ms) once its burst balance is
spent, and never slows a performance vCPU; the discrete-event engine models both. For each
region-set candidate of a scenario (alternative hosts are not Fly Machines and are left out)
the goal is the SLO given, else the candidate's unthrottled p99 plus HEADROOM: its p99 on the
performance preset with the app's vCPUs, at that preset's least memory (an app already on
performance vCPUs is its own reference). The sizes are every Fly preset with the app's RAM
(or the least it allows above it) times 1 to MAX_MACHINES_PER_REGION Machines in each region,
priced at the list price of a full month and tried cheapest first (ties: fewer Machines
first); the first that keeps p99 within the goal is chosen, and at most MAX_TRIED are
simulated per candidate. A size whose busiest-hour CPU demand (from the reference run) is
over HOPELESS times its Machines' baseline is listed but not simulated: its queues grow all
through the busiest hour (an assumption that can only make the choice costlier, never
cheaper than it should be). A failed request counts as slower than any success, so a p99 that
falls on one is infinite and never passes.

Each size is a variant of the scenario validated again from its fields, holding the one
candidate alone (its name and database kept), run by the DES with the scenario's seed: the
draws do not depend on the other candidates, so the app's own size gives what `sim.run` gives.
Candidates are sized one after the other, or side by side on spawned local processes.
"""

from __future__ import annotations

import math
import numbers
import time
import warnings
from collections.abc import Callable
from concurrent.futures import as_completed
from dataclasses import dataclass

import pandas as pd
from pydantic import ValidationError

from sim.app_config import App, check_memory
from sim.contention import app_baseline_ms_per_s
from sim.cost import compute_usd_month
from sim.data import machine_prices
from sim.engine import simulate
from sim.errors import ScenarioError, ScenarioWarning
from sim.footprint import Estimate
from sim.report import latency_quantiles
from sim.scenario import Scenario, build_scenario
from sim.sweeps import gathered, local_pool

HEADROOM = 0.10  # with no SLO, p99 may exceed the unthrottled p99 by this share
MAX_MACHINES_PER_REGION = 8
MAX_TRIED = 12  # sizes simulated per candidate at most
HOPELESS = 1.5  # a size whose CPU demand is this many times its baseline is not simulated
# Fly sizes memory in multiples of 256 MB
# (https://fly.io/docs/machines/guides-examples/machine-sizing/)
MEMORY_GRAIN_MB = 256
COLUMNS = [
    "region_set",
    "vm",
    "memory_mb",
    "machines_per_region",
    "machines",
    "p99_ms",
    "failed_share",
    "goal_ms",
    "passes",
    "compute_usd_month",
    "chosen",
    "unthrottled_p99_ms",
]
Progress = Callable[[int], object] | None  # called with 1 as each candidate is sized


@dataclass(frozen=True)
class Sizing:
    """Every size tried for each candidate, cheapest first, the chosen one last when any
    passed (``table``: COLUMNS), the SLO it was held to (None: the unthrottled p99 plus
    HEADROOM), and how long it took [s]."""

    table: pd.DataFrame
    slo_ms: float | None
    seconds: float

    @property
    def chosen(self) -> pd.DataFrame:
        """The size chosen for each candidate that has one."""
        return self.table[self.table["chosen"]].reset_index(drop=True)

    def sentences(self) -> list[str]:
        """One line per candidate: the size chosen and its cost, or that none of those tried
        kept p99 within the goal."""
        lines = []
        for name, tried in self.table.groupby("region_set", sort=False):
            last, count = tried.iloc[-1], int(tried["p99_ms"].notna().sum())
            if last["chosen"]:
                lines.append(
                    f"{name}: {described(last)} keeps p99 at {last['p99_ms']:,.0f} ms (goal "
                    f"{last['goal_ms']:,.0f} ms: {self.goal_source(last)}), "
                    f"${last['compute_usd_month']:,.2f} a month; simulated {count} size"
                    + ("s" * (count != 1))
                )
            else:
                lines.append(
                    f"{name}: none of the {count} cheapest sizes keeps p99 within "
                    f"{last['goal_ms']:,.0f} ms ({self.goal_source(last)}); the last, "
                    f"{described(last)} at ${last['compute_usd_month']:,.2f} a month, had "
                    + p99_text(last)
                )
        return lines

    def goal_source(self, row: pd.Series) -> str:
        if self.slo_ms is not None:
            return "the SLO given"
        return f"unthrottled {row['unthrottled_p99_ms']:,.0f} ms + {HEADROOM:.0%}"

    def text(self) -> str:
        """The sizes tried as a table to read, then the sentences."""
        table = self.table[self.table["p99_ms"].notna()]
        skipped = int(self.table["p99_ms"].isna().sum())
        shown = pd.DataFrame(
            {
                "region set": table["region_set"],
                "preset": table["vm"],
                "MB": table["memory_mb"],
                "per region": table["machines_per_region"],
                "Machines": table["machines"],
                "USD/month": table["compute_usd_month"].map("{:,.2f}".format),
                "p99 ms": table["p99_ms"].map(p99_cell),
                "goal ms": table["goal_ms"].map("{:,.0f}".format),
                "failed %": (100 * table["failed_share"]).map(
                    lambda share: "-" if math.isnan(share) else f"{share:.2f}"
                ),
                "passes": table["passes"].map({True: "yes", False: "no"}),
            }
        )
        return (
            f"Machine sizes tried for each region set, cheapest first, up to the first whose "
            f"p99 passes (DES with CPU quotas; at most {MAX_TRIED} sizes simulated each; "
            f"{skipped} cheaper sizes skipped: CPU demand over {HOPELESS}x their baseline)\n"
            f"{shown.to_string(index=False)}\n\n" + "\n".join(self.sentences()) + "\n"
            f"simulated {len(table) + table['region_set'].nunique()} runs in "
            f"{self.seconds:,.0f} s"
        )


def p99_cell(ms: float) -> str:
    if math.isnan(ms):
        return "skipped"
    return f"{ms:,.0f}" if math.isfinite(ms) else "failed"


def described(row: pd.Series) -> str:
    """A size as people say it: `shared-cpu-4x 1024 MB x 1`, with the Machines in all when
    there are more than that."""
    text = f"{row['vm']} {row['memory_mb']} MB x {row['machines_per_region']}"
    if row["machines"] != row["machines_per_region"]:
        text += f" per region ({row['machines']} Machines)"
    return text


def p99_text(row: pd.Series) -> str:
    if math.isfinite(row["p99_ms"]):
        return f"p99 {row['p99_ms']:,.0f} ms"
    return f"failures at p99 ({row['failed_share']:.1%} of requests failed)"


def size(
    scenario: Scenario,
    slo_ms: float | None = None,
    *,
    workers: int = 1,
    progress: Progress = None,
) -> Sizing:
    """The cheapest Machine preset and Machines per region that keep each region-set
    candidate's p99 within ``slo_ms`` [ms] (else within its unthrottled p99 plus HEADROOM),
    and every size tried on the way, with its monthly compute cost. Candidates go to
    ``workers`` local processes (1: this process; a script that sizes with workers needs the
    ``if __name__ == "__main__":`` guard); ``progress`` is called with 1 as each is sized."""
    started = time.perf_counter()
    number = isinstance(slo_ms, numbers.Real) and not isinstance(slo_ms, bool)
    if slo_ms is not None and not (number and 0 < slo_ms < math.inf):
        raise ScenarioError(f"--slo-ms: {slo_ms!r}: allowed a latency above 0 [ms]")
    if isinstance(workers, bool) or not isinstance(workers, numbers.Integral) or workers < 1:
        raise ScenarioError(f"--workers: {workers!r}: allowed a whole number, 1 or more")
    names = list(scenario.region_set_choices)
    if workers > 1 and len(names) > 1:
        frames = in_processes(scenario, names, slo_ms, workers, progress)
    else:
        frames = []
        for name in names:
            frames.append(size_candidate(scenario, name, slo_ms))
            if progress is not None:
                progress(1)
    table = pd.concat(frames, ignore_index=True)
    return Sizing(table, slo_ms, time.perf_counter() - started)


def in_processes(
    scenario: Scenario, names: list[str], slo_ms: float | None, workers: int, progress: Progress
) -> list[pd.DataFrame]:
    """Each candidate's rows, sized on ``workers`` fresh local processes (spawned, as for
    sweeps), in the scenario's order whatever the order they finish in."""
    with local_pool(workers) as pool:
        futures = {
            pool.submit(size_candidate, scenario, name, slo_ms): k for k, name in enumerate(names)
        }
        return gathered(futures, as_completed, progress)


def size_candidate(scenario: Scenario, name: str, slo_ms: float | None) -> pd.DataFrame:
    """The rows of candidate ``name``: its sizes tried cheapest first, up to the first that
    passes or MAX_TRIED. Module-level so that it pickles to other processes."""
    reference = unthrottled(scenario.app)
    reference_run = simulate(alone(scenario, name, reference), engine="des", allow_large=True)
    reference_p99, failed = p99_with_failures(reference_run.requests)
    demand = region_demand_ms_per_s(reference_run.machines)
    goal = slo_ms if slo_ms is not None else reference_p99 * (1 + HEADROOM)
    if not math.isfinite(goal):
        raise ScenarioError(
            f"--slo-ms: needed for {name!r}: it fails {failed:.1%} of its requests even "
            f"unthrottled ({reference['vm']}), so that p99 is a failure and sets no goal"
        )
    codes = scenario.candidates[name]
    rows, simulated = [], 0
    for cost, app in sizes(scenario.app, codes):
        if simulated == MAX_TRIED:
            break
        times = max(
            demand[code] / count / app_baseline_ms_per_s(app)
            for code, count in zip(codes, app.machines_in(codes), strict=True)
        )
        if times > HOPELESS:  # its queues grow all through the busiest hour: not simulated
            p99, failed = math.nan, math.nan
        else:
            p99, failed = figures(alone(scenario, name, app.model_dump()))
            simulated += 1
        passes = p99 <= goal
        rows.append(
            {
                "region_set": name,
                "vm": app.vm,
                "memory_mb": app.ram_mb,
                "machines_per_region": app.machines_per_region,
                "machines": sum(app.machines_in(codes)),
                "p99_ms": p99,
                "failed_share": failed,
                "goal_ms": goal,
                "passes": passes,
                "compute_usd_month": cost,
                "chosen": passes,  # the first that passes is the last tried
                "unthrottled_p99_ms": reference_p99,
            }
        )
        if passes:
            break
    return pd.DataFrame(rows, columns=COLUMNS)


def unthrottled(app: App) -> dict:
    """The app's fields on the performance preset with its vCPUs, at that preset's least
    memory (2048 MB a vCPU): performance vCPUs are never held to a quota. An app on a
    performance preset already is its own reference."""
    presets = machine_prices()
    own = presets[presets["preset"] == app.vm].iloc[0]
    if own["cpu_kind"] == "performance":
        return app.model_dump()
    twin = presets[(presets["cpu_kind"] == "performance") & (presets["cpus"] == own["cpus"])]
    if twin.empty:
        raise ScenarioError(
            f"app.vm: {app.vm!r}: no performance preset has its {own['cpus']} vCPUs to give "
            "the unthrottled p99"
        )
    least = twin.loc[twin["memory_mb"].idxmin()]
    return {**app.model_dump(), "vm": least["preset"], "memory_mb": int(least["memory_mb"])}


def sizes(app: App, codes: tuple[str, ...]) -> list[tuple[float, App]]:
    """Every size of ``app`` for the regions ``codes``, with its monthly compute cost [USD],
    cheapest first (ties: fewer Machines, then fewer vCPUs): each preset with the app's RAM
    or the least it allows above it, times 1 to MAX_MACHINES_PER_REGION Machines in each
    region (scale_count cleared). Sizes the app's own rules refuse (a suspended Machine has
    at most 2 GB) are left out."""
    fields = app.model_dump()
    found = []
    for vm in sorted(set(machine_prices()["preset"])):
        memory_mb = memory_for(vm, app.ram_mb)
        if memory_mb is None:
            continue
        for count in range(1, MAX_MACHINES_PER_REGION + 1):
            changed = {"vm": vm, "memory_mb": memory_mb, "machines_per_region": count}
            try:
                with warnings.catch_warnings():  # the scenario warned of its regions already
                    warnings.simplefilter("ignore", ScenarioWarning)
                    sized = App.model_validate({**fields, **changed, "scale_count": None})
            except ValidationError:
                continue
            machines = dict(zip(codes, sized.machines_in(codes), strict=True))
            found.append((compute_usd_month(vm, memory_mb, machines), sized))
    return sorted(
        found,
        key=lambda pair: (
            round(pair[0], 6),  # equal prices computed two ways differ in the last bits
            sum(pair[1].machines_in(codes)),
            pair[1].vcpus,
            pair[1].vm,
        ),
    )


def memory_for(vm: str, ram_mb: int) -> int | None:
    """``ram_mb`` if preset ``vm`` may have it, else the least memory it may have above it
    (sim.app_config.check_memory's rules); None when it cannot hold that much."""
    presets = machine_prices()
    largest = int(presets.loc[presets["preset"] == vm, "memory_mb"].max())
    above = -(-ram_mb // MEMORY_GRAIN_MB) * MEMORY_GRAIN_MB
    for memory_mb in [ram_mb, *range(above, largest + 1, MEMORY_GRAIN_MB)]:
        try:
            check_memory(vm, memory_mb, "app.memory_mb")
        except ValueError:
            continue
        return memory_mb
    return None


def alone(scenario: Scenario, name: str, app: dict) -> Scenario:
    """The scenario with candidate ``name`` alone (its name, regions and database kept) and
    the app's fields ``app``, validated again."""
    data = scenario.model_dump()
    data.update(
        app=app,
        region_sets={name: list(scenario.candidates[name])},
        database=scenario.database_of(name).model_dump(),
        databases=None,
        alternatives=[],
        verdict={**data["verdict"], "baseline": None},
    )
    with warnings.catch_warnings():  # the scenario warned of its regions and database already
        warnings.simplefilter("ignore", ScenarioWarning)
        return build_scenario(data, source=f"size {name}")


def region_demand_ms_per_s(machines: pd.DataFrame) -> dict[str, float]:
    """Each region's CPU demand in the busiest hour of a run [ms of CPU a second, all its
    Machines together], from its Machine table."""
    by_region = machines.groupby("region", sort=False)["cpu_demand_ms_per_s"]
    return (by_region.first() * by_region.size()).to_dict()


def figures(scenario: Scenario) -> tuple[float, float]:
    """p99 [ms] and the failed share of the scenario's one candidate, run by the DES."""
    return p99_with_failures(simulate(scenario, engine="des", allow_large=True).requests)


def p99_with_failures(requests: pd.DataFrame) -> tuple[float, float]:
    """p99 of ``total_ms`` [ms] with each failed request slower than any success (infinite
    when p99 falls on one), and the share of requests that failed."""
    whole = latency_quantiles(requests.assign(run="all"), ["run"]).iloc[0]
    return float(whole["p99_ms"]), float(1 - whole["ok"] / whole["requests"])


def size_estimate(scenario: Scenario, workers: int = 1) -> Estimate:
    """About how long and how much memory `size` takes at most: per region set, its
    reference and MAX_TRIED sizes, each one DES run of that set alone."""
    runs = len(scenario.region_set_choices) * (1 + MAX_TRIED)
    return Estimate.of(scenario, "des", sets=1).times(runs, workers)

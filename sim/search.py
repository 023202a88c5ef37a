"""Which regions, and how many: the best region set of each size (`sim.optimize`).

Every set holds the app's primary region (the database is there) and any regions the team
must keep; the others come from Fly.io's active regions. Sizes up to EXHAUSTIVE_UP_TO are
searched exhaustively with the analytic engine; beyond, the best set of the size below
grows by its best region, then a local search swaps one region at a time while that helps.
The RECHECK best sets of each size are re-run with the discrete-event engine, which picks
the winner and gives its figures: the analytic engine does not see queues, limits or
autostop. Every evaluation draws the same users and requests (the scenario's seed), so sets
differ only by their regions. A budget drops sets whose monthly bill exceeds it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.choices import FINALIST_REPLICATIONS, OBJECTIVES
from sim.data import regions
from sim.engine import simulate
from sim.errors import ScenarioError
from sim.footprint import Estimate
from sim.replications import interval
from sim.report import bills, latency_quantiles
from sim.scenario import Scenario

if TYPE_CHECKING:
    from sim.plots import Chart

EXHAUSTIVE_UP_TO = 4  # region sets of up to this many regions: every one is evaluated
RECHECK = 3  # the best sets of each size re-run with the DES
PICKED = ["ci_low", "ci_high", "pick"]
BATCH = 64  # region sets simulated in one run (they share its draws)
SWAP_ROUNDS = 5  # local search: at most this many improving swaps per size
METRICS = ["p50_ms", "p99_ms", "mean_ms", "monthly_cost_usd"]


@dataclass(frozen=True)
class Optimum:
    """The best region set of each size, and every set the search evaluated."""

    best: pd.DataFrame  # k, region_set, added, METRICS (DES), gain_ms, search
    evaluated: pd.DataFrame  # region_set, k, METRICS (analytic)
    objective: str  # a key of OBJECTIVES
    seconds: float
    replications: int  # seeds each finalist was re-run over

    def table(self) -> pd.DataFrame:
        """The best sets as `optimize.csv` has them: the objective's 95 % interval over the
        replications in ``ci_low``, ``ci_high``, and how a tie was broken in ``pick``."""
        columns = ["k", "region_set", "p50_ms", "p99_ms", "monthly_cost_usd", "mean_ms"]
        return self.best[[*columns, "ci_low", "ci_high", "added", "gain_ms", "pick"]]

    def plot(self) -> Chart:
        """How many regions are enough: latency of the best set per size, cost beside it."""
        from sim.plots import plot_regions_enough

        return plot_regions_enough(self.best, OBJECTIVES[self.objective])


def optimize(
    scenario: Scenario,
    sizes: Iterable[int] = range(1, 7),
    objective: str = "p99",
    budget_usd: float | None = None,
    must_include: Iterable[str] = (),
    progress: Callable[[int], object] | None = None,
    replications: int = FINALIST_REPLICATIONS,
) -> Optimum:
    """The best region set of each of ``sizes`` for ``objective`` (p50, p99 or mean latency)
    under ``budget_usd`` a month, each holding the primary region and ``must_include`` (sizes
    smaller than those are skipped, as are sizes with no set within the budget). The
    finalists of each size are re-run by the DES over ``replications`` independent seeds;
    when the best and the next cannot be told apart (the 95 % interval of their paired
    difference holds 0), the cheaper wins, then the better p50. ``progress`` hears of every
    region set simulated."""
    started = time.perf_counter()
    check_arguments(scenario, objective, budget_usd, replications)
    sizes = sorted(set(sizes))
    fixed, free = regions_to_search(scenario, must_include)
    check_sizes(scenario, sizes, len(fixed) + len(free))
    search = Search(scenario, OBJECTIVES[objective], budget_usd, progress)
    best, how = search.best_per_size(fixed, free, sizes[-1])
    if not any(k in best for k in sizes):
        cheapest = min(search.seen.items(), key=lambda item: item[1]["monthly_cost_usd"])
        raise ScenarioError(
            f"--budget: ${budget_usd:,.2f} a month fits no set of {sizes[0]} to {sizes[-1]} "
            f"regions; the cheapest, {name_of(cheapest[0])}, costs "
            f"${cheapest[1]['monthly_cost_usd']:,.2f}"
        )
    rows = []
    for k in (k for k in sizes if k in best):
        chosen, figures = search.recheck(k, replications)
        rows.append({"k": k, "region_set": name_of(chosen), **figures, "search": how[k]})
    table = pd.DataFrame(rows, columns=["k", "region_set", *METRICS, *PICKED, "search"])
    table = with_gains(table, OBJECTIVES[objective])
    seconds = time.perf_counter() - started
    return Optimum(table, search.table(), objective, seconds, replications)


def check_arguments(
    scenario: Scenario, objective: str, budget_usd: float | None, replications: int
) -> None:
    """Refuse what `optimize` cannot search: an unknown objective, several databases, a
    budget that is no number of dollars, replications that are no whole number."""
    if objective not in OBJECTIVES:
        raise ScenarioError(
            f"--objective: {objective!r} is not an objective; allowed: {', '.join(OBJECTIVES)}"
        )
    if scenario.databases:
        raise ScenarioError(
            "databases: optimize searches region sets for one database; run it with the "
            "`database` section alone (e.g. --set databases=null --set database.product=...)"
        )
    if budget_usd is not None and not (
        isinstance(budget_usd, int | float) and math.isfinite(budget_usd) and budget_usd >= 0
    ):
        raise ScenarioError(f"--budget: {budget_usd!r}: allowed a number of dollars, 0 or more")
    if isinstance(replications, bool) or not isinstance(replications, int) or replications < 1:
        raise ScenarioError(f"--replications: {replications!r}: allowed a whole number, 1 or more")


def check_sizes(scenario: Scenario, sizes: list[int], regions: int) -> None:
    """Refuse set ``sizes`` (sorted) outside 1 to the ``regions`` to choose from, larger than
    the app's Machines (`app.scale_count`) can cover, or so large that its share in the
    primary region falls below `app.min_machines_running` (the scenario's own check)."""
    if not sizes or sizes[0] < 1 or sizes[-1] > regions:
        raise ScenarioError(
            f"--k: {sizes} is not a range of set sizes; allowed: 1 to {regions} "
            f"(the {regions} active regions)"
        )
    machines = scenario.app.scale_count
    if machines is None:
        return
    if sizes[-1] > machines:
        raise ScenarioError(
            f"--k: sets of {sizes[-1]} regions need more than app.scale_count {machines} "
            "Machines; allowed: at most one region per Machine"
        )
    app, floor = scenario.app, scenario.app.min_machines_running
    # the primary is listed first; with scale_count only the set's size sets the counts
    in_primary = {k: app.machines_in((app.primary_region,) * k)[0] for k in range(1, machines + 1)}
    if in_primary[sizes[-1]] < floor:
        largest = max(k for k, count in in_primary.items() if count >= floor)
        raise ScenarioError(
            f"--k: sets of {sizes[-1]} regions leave the primary region {in_primary[sizes[-1]]} "
            f"of app.scale_count {machines} Machines, fewer than app.min_machines_running "
            f"{floor}; allowed: --k up to {largest}"
        )


def search_estimate(
    scenario: Scenario, sizes: Iterable[int], must_include: Iterable[str], replications: int,
    charts: int = 0,
) -> Estimate:  # fmt: skip
    """About how long and how much memory `optimize` takes: the analytic search (every set
    up to EXHAUSTIVE_UP_TO regions, about three per free region beyond), BATCH sets a run,
    then the DES re-runs of RECHECK finalists per size and replication, then ``charts``."""
    sizes = sorted(set(sizes))
    fixed, free = regions_to_search(scenario, must_include)
    sets = sum(
        math.comb(len(free), k - len(fixed)) if k <= EXHAUSTIVE_UP_TO else 3 * len(free)
        for k in range(len(fixed), sizes[-1] + 1)
    )
    batch = Estimate.of(scenario, "analytic", sets=min(BATCH, sets))
    search = batch.times(math.ceil(sets / BATCH))
    recheck = Estimate.of(scenario, "des", sets=RECHECK).times(len(sizes) * replications)
    return (search + recheck).with_charts(charts)


def regions_to_search(
    scenario: Scenario, must_include: Iterable[str]
) -> tuple[tuple[str, ...], list[str]]:
    """The regions every set holds (the primary first) and the active regions to choose from."""
    table = regions()
    active = sorted(table.index[table["status"] == "active"])
    fixed = [scenario.app.primary_region]
    for code in must_include:
        if code not in active:
            raise ScenarioError(
                f"--must-include: {code!r} is not an active Fly.io region; allowed: "
                + ", ".join(active)
            )
        if code not in fixed:
            fixed.append(code)
    return tuple(fixed), [code for code in active if code not in fixed]


def with_fixed(fixed: tuple[str, ...], codes: set[str]) -> tuple[str, ...]:
    """A region set as the search names it: the fixed regions first, then the others sorted."""
    return fixed + tuple(sorted(codes - set(fixed)))


def name_of(region_set: tuple[str, ...]) -> str:
    return "+".join(region_set)


class Search:
    """Region sets evaluated once each (analytic engine, the scenario's draws), and the best
    of a list of them within the budget."""

    def __init__(self, scenario, column, budget_usd, progress):
        self.scenario, self.column, self.budget_usd = scenario, column, budget_usd
        self.progress = progress
        self.seen: dict[tuple[str, ...], dict[str, float]] = {}
        self.by_size: dict[int, list[tuple[str, ...]]] = {}

    def evaluate(self, sets: list[tuple[str, ...]]) -> None:
        new = [s for s in dict.fromkeys(sets) if s not in self.seen and self.sold(s)]
        for start in range(0, len(new), BATCH):
            batch = new[start : start + BATCH]
            figures = simulate_sets(self.scenario, batch, "analytic")
            for region_set in batch:
                self.seen[region_set] = figures.loc[name_of(region_set)].to_dict()
                self.by_size.setdefault(len(region_set), []).append(region_set)
            if self.progress:
                self.progress(len(batch))

    def sold(self, region_set: tuple[str, ...]) -> bool:
        """Whether the database can be bought as this set asks (Supabase holds at most 2
        replicas below XL, PlanetScale prices read-only regions in some places only)."""
        database = self.scenario.database
        try:
            database.layout(database.placed(self.scenario.app.primary_region)[0], region_set)
        except ValueError:
            return False
        return True

    def fits(self, cost_usd: float) -> bool:
        return self.budget_usd is None or cost_usd <= self.budget_usd

    def within_budget(self, region_set: tuple[str, ...]) -> bool:
        return self.fits(self.seen[region_set]["monthly_cost_usd"])

    def best(self, sets: list[tuple[str, ...]]) -> tuple[str, ...] | None:
        self.evaluate(sets)
        affordable = [s for s in sets if s in self.seen and self.within_budget(s)]
        return min(affordable, key=lambda s: self.seen[s][self.column], default=None)

    def grow(self, start, free, fixed) -> tuple[str, ...] | None:
        """The best set one region larger than ``start``: add its best region, then swap one
        region (not of ``fixed``) for another while that improves the objective."""
        current = self.best(
            [with_fixed(fixed, {*start, code}) for code in free if code not in start]
        )
        for _ in range(SWAP_ROUNDS):
            if current is None:
                return None
            swaps = [
                with_fixed(fixed, {*current, new} - {out})
                for out in current
                if out not in fixed
                for new in free
                if new not in current
            ]
            better = self.best(swaps)
            if better is None or self.seen[better][self.column] >= self.seen[current][self.column]:
                break
            current = better
        return current

    def best_per_size(self, fixed: tuple[str, ...], free: list[str], largest: int):
        """The best set of each size from ``fixed`` alone up to ``largest`` regions (sizes
        with none within the budget left out), and how each size was searched: exhaustively
        up to EXHAUSTIVE_UP_TO regions (or when the size below has no set), else grown from
        the best set of the size below."""
        best: dict[int, tuple[str, ...]] = {}
        how: dict[int, str] = {}
        for k in range(len(fixed), largest + 1):
            if k <= EXHAUSTIVE_UP_TO or k - 1 not in best:
                sets = [fixed + extra for extra in combinations(free, k - len(fixed))]
                found, how[k] = self.best(sets), "exhaustive"
            else:
                found, how[k] = self.grow(best[k - 1], free, fixed), "greedy + local search"
            if found:
                best[k] = found
        return best, how

    def recheck(self, k: int, replications: int) -> tuple[tuple[str, ...], dict]:
        """The best of the RECHECK best sets of size ``k`` by the DES over ``replications``
        seeds (common random numbers within each), its mean figures, the 95 % interval of
        its objective, and how it was picked (`pick`)."""
        ranked = sorted(
            (s for s in self.by_size[k] if self.within_budget(s)),
            key=lambda s: self.seen[s][self.column],
        )[:RECHECK]
        runs = [simulate_sets(self.scenario, ranked, "des", r) for r in range(replications)]
        figures = pd.concat(runs).groupby(level=0, sort=False).mean()
        affordable = figures[figures["monthly_cost_usd"].map(self.fits)]
        pool = list((affordable if len(affordable) else figures).index)
        values = pd.DataFrame({r: run[self.column] for r, run in enumerate(runs)})
        winner, how = pick(pool, values, figures, self.column)
        _, low, high = interval(values.loc[winner])
        return tuple(winner.split("+")), {
            **figures.loc[winner].to_dict(), "ci_low": low, "ci_high": high, "pick": how,
        }  # fmt: skip

    def table(self) -> pd.DataFrame:
        rows = [
            {"region_set": name_of(s), "k": len(s), **figures} for s, figures in self.seen.items()
        ]
        return pd.DataFrame(rows, columns=["region_set", "k", *METRICS])


def pick(pool: list[str], values: pd.DataFrame, figures: pd.DataFrame, column: str):
    """The winner among ``pool`` (``values``: the objective per set and replication), and
    how: by the objective, or, when the best and the next cannot be told apart, by the second
    rule (cheaper, then better p50), said in one sentence."""
    order = sorted(pool, key=lambda name: figures.at[name, column])
    if len(order) < 2:
        return order[0], f"best {column.removesuffix('_ms')}"
    best, runner = order[:2]
    difference, low, high = interval(values.loc[best] - values.loc[runner])
    if not np.isnan(difference) and (low > 0 or high < 0):
        return best, f"best {column.removesuffix('_ms')}"
    second = min((best, runner), key=lambda name: (
        round(figures.at[name, "monthly_cost_usd"], 2), figures.at[name, "p50_ms"]))  # fmt: skip
    other = runner if second == best else best
    saving = figures.at[other, "monthly_cost_usd"] - figures.at[second, "monthly_cost_usd"]
    why = (
        f"${saving:,.0f} cheaper" if saving >= 1
        else f"${saving:,.2f} cheaper" if round(saving, 2) > 0
        else "a better p50"
    )  # fmt: skip
    spread = (
        f"{difference:+,.1f} ms, 95 % CI {low:+,.1f} to {high:+,.1f}"
        if np.isfinite(difference)
        else "both fail there"
    )
    label = column.removesuffix("_ms")
    return second, f"{best} and {runner} tie on {label} ({spread}): {second}, {why}"


def simulate_sets(
    scenario: Scenario, sets: list[tuple[str, ...]], engine: str, replication: int = 0
) -> pd.DataFrame:
    """METRICS of each region set (rows by name), simulated together in one run of the
    scenario's draws (of ``replication``)."""
    variant = scenario.replace(
        region_sets=[list(s) for s in sets],
        alternatives=[],
        verdict=scenario.verdict.replace(baseline=None),
    )
    done = simulate(variant, replication=replication, engine=engine, allow_large=True)
    latency = latency_quantiles(done.requests, ["region_set"])
    return latency.join(bills(done.requests, done.machines, variant))[METRICS]


def with_gains(table: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per size, the regions added (and dropped) against the size below it, and how much
    the objective improved."""
    added, gains = [], []
    previous: tuple[set[str], float] | None = None
    for region_set, value in zip(table["region_set"], table[column], strict=True):
        codes = set(region_set.split("+"))
        if previous is None:
            added.append("")
            gains.append(float("nan"))
        else:
            plus = [f"+{c}" for c in sorted(codes - previous[0])]
            minus = [f"-{c}" for c in sorted(previous[0] - codes)]
            added.append(" ".join(plus + minus))
            gains.append(previous[1] - value)
        previous = (codes, value)
    return table.assign(added=added, gain_ms=gains)[
        ["k", "region_set", "added", *METRICS, "gain_ms", *PICKED, "search"]
    ]

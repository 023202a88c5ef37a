"""How long a command takes and how much memory it holds, before it runs.

Every command that simulates (run, validate, optimize, size, sweep, replications) builds one
`Estimate` from what drives its cost: requests per region set, region sets and their
engines, users, the points of a team's traffic table, runs, worker processes and charts.
Its constants are peak memory (PSS, shared pages once) measured on this project's VM (`python
benchmarks/run.py --memory` prints the estimate beside the measured peak over a range of
sizes); docs/model.md, "Run-time estimates", gives the figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.contention import needs_des
from sim.errors import ScenarioError
from sim.scenario import Scenario

REQUESTS_PER_S = {  # below what one region set alone ran at (README, Performance): 45-64 k/s in
    "des": 40_000,  # the DES, 2.5-4.2 M/s analytic; several sets share draws and run faster
    "analytic": 2_000_000,
}
PROCESS_BYTES = 175e6  # a process that simulates: pandas, pydantic, SimPy, its tables (145-170 MB)
USER_BYTES = 400  # per user drawn: the users table and the draws that follow (395 measured)
POINT_BYTES = 60  # per point of a team's traffic table: lat, lon, weight, its city (40 measured)
PLAN_BYTES_PER_REQUEST = 230  # the draws, one set's plan and its temporaries (225 measured)
LOG_BYTES_PER_REQUEST = 145  # the request log and the tables from it, per request and set
CHARTS_BYTES = 70e6  # matplotlib, the fork that shares the charts, and per chart its files
CHART_BYTES = 5e6
CHART_SECONDS = 0.35  # per chart as PNG on two processes (the seed's 15 and its log: +4.9 s)
LARGE_SECONDS = 600  # beyond this, or LARGE_BYTES, a run needs --yes / allow_large
LARGE_BYTES = 4e9


@dataclass(frozen=True)
class Estimate:
    """How long a command takes [s] and the peak memory of its processes [bytes]."""

    requests: int
    seconds: float
    bytes: float

    @classmethod
    def of(cls, scenario: Scenario, engine: str = "auto", sets: int | None = None) -> Estimate:
        """One run of ``scenario`` in one process: every candidate with the engine ``auto``
        would pick (``sets``: that many sets, all in ``engine``)."""
        if sets is None:
            chosen = [
                engine if engine != "auto" else ("des" if needs_des(scenario, name) else "analytic")
                for name in scenario.candidates
            ]
        else:
            chosen = [engine if engine != "auto" else "des"] * sets
        n = scenario.workload.requests
        placement = scenario.users.placement
        points = len(placement) if isinstance(placement, pd.DataFrame) else 0
        held = (
            PROCESS_BYTES + scenario.users.count * USER_BYTES + points * POINT_BYTES
            + n * PLAN_BYTES_PER_REQUEST + n * len(chosen) * LOG_BYTES_PER_REQUEST
        )  # fmt: skip
        return cls(n * len(chosen), sum(n / REQUESTS_PER_S[name] for name in chosen), held)

    def times(self, runs: int, workers: int = 1) -> Estimate:
        """``runs`` such runs (replications, sweep points, sizes): one after another in this
        process, or with ``workers`` > 1 as many at a time in worker processes, each holding
        one run, beside this one."""
        at_once = max(1, min(workers, runs))
        held = self.bytes if workers == 1 else PROCESS_BYTES + at_once * self.bytes
        return Estimate(self.requests * runs, self.seconds * runs / at_once, held)

    def after(self, first: Estimate) -> Estimate:
        """These runs after ``first`` in the same process, which keeps what ``first`` made
        (its request log) meanwhile."""
        return Estimate(
            first.requests + self.requests, first.seconds + self.seconds,
            first.bytes + self.bytes - PROCESS_BYTES,
        )  # fmt: skip

    def with_charts(self, charts: int) -> Estimate:
        """The run, then ``charts`` charts drawn from what it keeps."""
        if not charts:
            return self
        return Estimate(
            self.requests, self.seconds + charts * CHART_SECONDS,
            self.bytes + CHARTS_BYTES + charts * CHART_BYTES,
        )  # fmt: skip

    def __add__(self, other: Estimate) -> Estimate:
        """Two parts one after the other that keep nothing of each other: their times add,
        the larger memory counts."""
        return Estimate(
            self.requests + other.requests, self.seconds + other.seconds,
            max(self.bytes, other.bytes),
        )  # fmt: skip

    def __str__(self) -> str:
        return f"{duration_text(self.seconds)} and {size_text(self.bytes)} of memory"

    def check(self, source: str = "scenario", large_ok: bool = False) -> Estimate:
        """This estimate, or a ScenarioError naming it and what to reduce: beyond
        LARGE_SECONDS or LARGE_BYTES unless ``large_ok``, beyond the memory the machine has
        available in any case."""
        free = available_bytes()
        reduce = "reduce workload.requests, users.count, the region sets, --workers or the runs"
        if free is not None and self.bytes > free:
            raise ScenarioError(
                f"{source}: workload.requests: {self.requests:,} requests in all would need "
                f"about {size_text(self.bytes)} of memory and this machine has "
                f"{size_text(free)} available; {reduce}"
            )
        if not large_ok and (self.seconds > LARGE_SECONDS or self.bytes > LARGE_BYTES):
            raise ScenarioError(
                f"{source}: workload.requests: {self.requests:,} requests in all would take "
                f"about {self}; runs over {duration_text(LARGE_SECONDS)} or "
                f"{size_text(LARGE_BYTES)} need --yes (in Python: allow_large=True), or "
                f"{reduce}"
            )
        return self


def available_bytes() -> float | None:
    """The memory this machine has available now (Linux: MemAvailable), or None unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return float(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def duration_text(seconds: float) -> str:
    for unit, size in (("years", 365 * 86_400), ("days", 86_400), ("hours", 3600), ("min", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:,.0f} {unit}"
    return f"{seconds:.0f} s"


def size_text(size_bytes: float) -> str:
    for unit, size in (("PB", 1e15), ("TB", 1e12), ("GB", 1e9)):
        if size_bytes >= size:
            digits = 1 if size_bytes < 10 * size else 0
            return f"{size_bytes / size:,.{digits}f} {unit}"
    return f"{size_bytes / 1e6:,.0f} MB"


def run_estimate(
    scenario: Scenario, engine: str = "auto", replications: int = 1, workers: int = 1,
    charts: int = 0,
) -> Estimate:  # fmt: skip
    """`globalness run`: the run, then with ``replications`` > 1 as many more on ``workers``
    processes while the run's log is kept, then ``charts`` charts."""
    first = Estimate.of(scenario, engine)
    if replications > 1:
        first = Estimate.of(scenario, engine).times(replications, workers).after(first)
    return first.with_charts(charts)

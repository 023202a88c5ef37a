"""A Machine's vCPUs as Fly meters them: shared fairly by the requests running, under a quota.

Fly (fly.io/docs/machines/cpu-performance, 2025-02-13) gives every vCPU a CFS quota per 80 ms
period, pooled over the Machine's vCPUs: 80 ms (all of it) for a performance vCPU, 5 ms
(6.25 %) for a shared one. A shared Machine's unused baseline accrues as a burst balance
(5 s when it starts, 500 s at most; here per vCPU, pooled) that lets it run at full speed;
with the balance spent it is held to its baseline.

The model is fluid (docs/model.md, 8b): the k requests doing CPU work share the vCPUs equally
(processor sharing, as Linux's CFS shares a cgroup's CPU), each at most one vCPU, so each gets
min(1, vcpus / k) of a core at full speed and min(1, baseline / k) held to the baseline. The
balance falls by what is used above the baseline and rises by what is left of it below. All
running requests progress alike, so one clock of the CPU work each has got (``work``) and
one of the time each has lost to the quota (``lost``) serve them all: a request is done when
``work`` reaches its start plus its CPU time; its throttled time is the growth of ``lost``
meanwhile. One pending timer per Machine wakes it at the next finish or when the balance runs
out; every change reschedules it, and a stale timer sees a newer generation and does nothing.
"""

from __future__ import annotations

import heapq
import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the quota's arithmetic (baseline_ms_per_s) is used without SimPy
    import simpy

SHARED_BASELINE = 5 / 80  # of a core per shared vCPU: 5 ms of every 80 ms period
MAX_BALANCE_MS = 500_000.0  # a shared vCPU's burst balance at most [ms of CPU]
TICK_MS = 1e-6  # below this, a wait is no wait: work left is done, a balance left is spent


def baseline_ms_per_s(vcpus: int, shared: bool) -> float:
    """The CPU a Machine sustains with no burst balance [ms of CPU a second]."""
    return 1000 * vcpus * (SHARED_BASELINE if shared else 1.0)


class Cpu:
    """The vCPUs of one Machine: ``run(cpu_ms)`` gives an event that fires when that much CPU
    work is done. Time in ms (SimPy's clock)."""

    __slots__ = (
        "env", "vcpus", "baseline", "balance", "cap", "work", "lost", "at", "jobs", "generation",
        "count", "used_ms", "throttled_ms", "first_throttled_ms",
    )  # fmt: skip

    def __init__(self, env: simpy.Environment, vcpus: int, shared: bool, balance_ms: float):
        self.env, self.vcpus = env, vcpus
        self.baseline = SHARED_BASELINE * vcpus if shared else float(vcpus)  # cores
        self.balance = balance_ms * vcpus if shared else math.inf  # ms of CPU above baseline
        self.cap = MAX_BALANCE_MS * vcpus if shared else math.inf
        self.work = 0.0  # CPU ms each running request has got, since the start
        self.lost = 0.0  # ms each running request has lost to the quota, since the start
        self.at = env.now  # when the clocks and the balance were last brought up to date
        self.jobs: list[tuple[float, int, simpy.Event]] = []  # (work when done, order, event)
        self.generation = 0
        self.count = 0
        self.used_ms = 0.0  # CPU time used, over all requests
        self.throttled_ms = 0.0  # time held to the baseline with work to do
        self.first_throttled_ms = math.nan

    def restart(self, balance_ms: float) -> None:
        """A Machine started again: its balance as at a start (INFERRED: Fly's 'initial')."""
        self.advance()
        if math.isfinite(self.cap):
            self.balance = min(balance_ms * self.vcpus, self.cap)

    def run(self, cpu_ms: float) -> tuple[simpy.Event, float]:
        """An event for ``cpu_ms`` of CPU work, and the ``lost`` clock at its start."""
        self.advance()
        done = self.env.event()
        self.count += 1
        heapq.heappush(self.jobs, (self.work + cpu_ms, self.count, done))
        self._schedule()
        return done, self.lost

    def advance(self) -> None:
        """Bring the clocks and the balance up to now, at the rates since the last change
        (split where the balance ran out)."""
        now = self.env.now
        dt, k = now - self.at, len(self.jobs)
        self.at = now
        if dt <= 0:
            return
        if not k:
            self.balance = min(self.balance + dt * self.baseline, self.cap)
            return
        full = min(1.0, self.vcpus / k)
        if self.balance > 0:
            drain = k * full - self.baseline  # ms of balance per ms
            bursting = dt if drain <= 0 else min(dt, self.balance / drain)
            self.work += bursting * full
            self.used_ms += bursting * k * full
            if drain > 0:
                self.balance = max(0.0, self.balance - bursting * drain)
            else:
                self.balance = min(self.balance - bursting * drain, self.cap)
            dt -= bursting
            if dt <= 0:
                return
        if math.isnan(self.first_throttled_ms):
            self.first_throttled_ms = now - dt
        held = min(1.0, self.baseline / k)
        self.work += dt * held
        self.used_ms += dt * k * held
        self.lost += dt * (1 - held / full)
        self.throttled_ms += dt

    def _rates(self) -> tuple[float, float]:
        """Each running request's share of a core now, and the balance spent per ms; a balance
        that would run out within TICK_MS is spent now (so that no wake-up is lost to
        rounding)."""
        k = len(self.jobs)
        full = min(1.0, self.vcpus / k)
        drain = k * full - self.baseline
        if self.balance > 0 and drain > 0 and self.balance < drain * TICK_MS:
            self.balance = 0.0
        if self.balance > 0:
            return full, drain
        return min(1.0, self.baseline / k), 0.0

    def _schedule(self) -> None:
        self.generation += 1
        if not self.jobs:
            return
        rate, drain = self._rates()
        delay = (self.jobs[0][0] - self.work) / rate
        if drain > 0:
            delay = min(delay, self.balance / drain)
        timer = self.env.timeout(max(delay, 0.0))
        generation = self.generation
        timer.callbacks.append(lambda _: self._wake(generation))

    def _wake(self, generation: int) -> None:
        if generation != self.generation:
            return
        self.advance()
        rate = self._rates()[0]
        jobs, close = self.jobs, rate * TICK_MS  # work left that takes under TICK_MS: done
        while jobs and jobs[0][0] - self.work <= close:
            heapq.heappop(jobs)[2].succeed()
            if jobs:
                rate = self._rates()[0]
                close = rate * TICK_MS
        self._schedule()

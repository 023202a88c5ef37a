"""The app's Machines and the Fly proxy that routes to them, in SimPy (time in ms).

Behaviour follows Fly.io's documentation (docs/model.md, "Machines and the proxy"):

* load balancing: in the closest region that is up, the least-loaded started Machine below
  ``soft_limit`` (ties taken in turn, as Fly breaks them at random); if every started Machine
  there is at ``soft_limit`` (or none runs), start a stopped one when ``auto_start`` is on
  (``stopped_region: spill`` first looks for a running Machine in the next regions when none
  runs here); else the least-loaded below
  ``hard_limit``; only when the whole region is at ``hard_limit`` (or down) does the request
  go to the next region; when no region can take it, it waits in the proxy;
* a request that has not started on a Machine ``request_timeout_s`` after reaching its edge
  fails, wherever it waits: the proxy's queue, a Machine's start, its slots;
* a write replayed from another region first reaches a Machine there, which must be running
  (or start) to answer with fly-replay;
* CPU: a request's CPU work shares its Machine's vCPUs under Fly's quota (sim.cpu);
* autostop: every ``autostop_interval_s`` the proxy stops (or suspends) at most one Machine
  per region: with more than one running, the least loaded whenever the region has excess
  capacity (``machines - (machines over soft_limit + 1) >= 1``); a region's last Machine
  only with no load since the last pass; never below ``min_machines_running`` in the primary
  region. A stopped Machine takes ``cold_start_s`` to serve, a suspended one ``resume_s``;
  it is billed from the start command to the stop.

Only this needs time and contention; everything else about a request was drawn in bulk
before the run (sim.plan). Each request is a SimPy process (sim.request_process): one that
gets the Machine of its planned target uses the planned round trips; one spilled to another
region recomputes them.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

import numpy as np
import simpy

from sim.app_config import App
from sim.cpu import Cpu
from sim.machine import STOPPED, Machine
from sim.outages import Outages
from sim.plan import OK, Plan, Served
from sim.request_process import Requests, dispatch


class Fleet:
    """Every Machine of one region set, the proxy's choice among them, and autostop."""

    def __init__(self, env, app: App, codes: tuple[str, ...], outages: Outages):
        self.env, self.app, self.codes, self.outages = env, app, codes, outages
        self.primary = codes.index(app.primary_region)
        self.balance_ms = 1000 * app.burst_balance_s
        self.machines = [
            [
                Machine(
                    env, r, app.concurrency, Cpu(env, app.vcpus, app.shared_cpu, self.balance_ms)
                )  # fmt: skip
                for _ in range(count)
            ]
            for r, count in enumerate(app.machines_in(codes))
        ]
        self.hard_limit = math.inf if app.hard_limit is None else app.hard_limit
        self.turns = [0] * len(self.machines)  # where each region's next tie-break starts
        self.waiting: deque[tuple[simpy.Event, list[int]]] = deque()  # the proxy's queue, FIFO
        self.can_fail = any(code in outages.windows for code in codes)
        if app.auto_stop != "off":
            env.process(self._autostop())

    def up(self, region: int) -> bool:
        return not (self.can_fail and self.outages.down(self.codes[region], self.env.now))

    def start(self, machine: Machine) -> Machine:
        resume = machine.state == "suspended"
        delay_s = self.app.resume_s if resume else self.app.cold_start_s
        machine.start(1000 * delay_s, self.balance_ms)
        return machine

    def pick(self, regions: list[int]) -> Machine | None:
        """The Machine the proxy sends a request to, trying ``regions`` in order (closest first)."""
        soft_limit, auto_start = self.app.soft_limit, self.app.auto_start
        spill = self.app.stopped_region == "spill"
        cold = None  # with spill: the stopped Machine to start if no region runs one
        for r in regions:
            if self.can_fail and not self.up(r):
                continue
            machines = self.machines[r]
            if len(machines) > 1:  # ties go round the region's Machines (Fly: at random)
                turn = self.turns[r] = (self.turns[r] + 1) % len(machines)
                machines = machines[turn:] + machines[:turn]
            best = None  # least loaded below soft_limit, the first of equals (a loop: hot path)
            for m in machines:
                if m.in_flight < soft_limit and m.serving:
                    if best is None or m.in_flight < best.in_flight:
                        best = m
            if best is not None:
                return best
            serving = [m for m in self.machines[r] if m.serving]
            stopped = [m for m in self.machines[r] if m.state in STOPPED]
            if stopped and auto_start and cold is None:
                if serving or not spill:
                    return self.start(stopped[0])
                cold = stopped[0]
                continue
            below_hard = [m for m in serving if m.in_flight < self.hard_limit]
            if below_hard:
                return min(below_hard, key=lambda m: m.in_flight)
        return None if cold is None else self.start(cold)

    def replay_machine(self, region: int) -> Machine | None:
        """The Machine of ``region`` that answers a write with fly-replay: the least loaded
        running one, else a stopped one started (with auto_start), else none."""
        serving = [m for m in self.machines[region] if m.serving]
        if serving:
            return min(serving, key=lambda m: m.in_flight)
        stopped = [m for m in self.machines[region] if m.state in STOPPED]
        return self.start(stopped[0]) if stopped and self.app.auto_start else None

    def wait(self, regions: list[int]) -> simpy.Event:
        """Queue in the proxy for a Machine in one of ``regions``; the event fires on a release."""
        turn = self.env.event()
        self.waiting.append((turn, regions))
        return turn

    def leave(self, turn: simpy.Event) -> None:
        self.waiting = deque(w for w in self.waiting if w[0] is not turn)

    def release(self, machine: Machine) -> None:
        """A request finished: free its slot, and wake the first request queued in the proxy
        that can use this region."""
        machine.slots.give()
        machine.done()
        for k, (turn, regions) in enumerate(self.waiting):
            if machine.region in regions:
                del self.waiting[k]
                turn.succeed()
                return

    def _autostop(self):
        interval = 1000 * self.app.autostop_interval_s
        while True:
            yield self.env.timeout(interval)
            for r, machines in enumerate(self.machines):
                started = [m for m in machines if m.state == "started"]
                keep = self.app.min_machines_running if r == self.primary else 0
                if len(started) <= keep or not started:
                    continue
                if len(started) > 1:
                    over = sum(m.in_flight > self.app.soft_limit for m in started)
                    if len(started) - (over + 1) >= 1:
                        least = min(m.in_flight for m in started)
                        [m for m in started if m.in_flight == least][-1].stop(self.app.auto_stop)
                    continue
                lone = started[0]
                if lone.in_flight == 0 and self.env.now - lone.last_busy >= interval:
                    lone.stop(self.app.auto_stop)

    def machine_table(self, end_ms: float) -> list[dict]:
        """Per Machine: region index, running seconds up to ``end_ms``, starts, CPU figures."""
        return [m.bill(end_ms) for machines in self.machines for m in machines]


def run(plan: Plan, progress: Callable[[int], object] | None = None) -> Served:
    """Simulate the requests of ``plan`` that reach their edge without failing there.

    ``progress`` hears of every `request_process.BATCH` requests dispatched (those failed at
    the edge first).
    """
    env = simpy.Environment()
    requests = Requests(plan, env, Fleet(env, plan.app, plan.region_set, plan.outages))
    order = np.argsort(plan.edge_arrival_ms, kind="stable")
    order = order[plan.failed[order] == OK]  # failed at the edge: nothing to simulate
    if progress:
        progress(len(plan.failed) - len(order))
    if len(order):
        env.run(until=dispatch(requests, order, progress))
    return requests.served()

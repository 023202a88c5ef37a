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
before the run (sim.plan). A request that gets the Machine of its planned target uses the
planned round trips; one spilled to another region recomputes them.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

import numpy as np
import simpy

from sim.app_config import App
from sim.cpu import Cpu
from sim.machine import STOPPED, Machine, Slots
from sim.outages import Outages
from sim.plan import NO_MACHINE, OK, PRIMARY_DOWN, REGION_DOWN, TIMEOUT, Plan, Served


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


BATCH = 1000  # requests turned into Python values at a time, and between progress calls


def run(plan: Plan, progress: Callable[[int], object] | None = None) -> Served:
    """Simulate the requests of ``plan`` that reach their edge without failing there.

    ``progress`` hears of every BATCH requests dispatched (those failed at the edge first).
    """
    n, app, paths = len(plan.failed), plan.app, plan.paths
    outcome, spilled = plan.failed.copy(), {}
    queue_ms, cold_start_ms, db_wait_ms, throttled_ms = (
        np.zeros(n, dtype=np.float32) for _ in range(4)
    )
    app_ms_served = plan.draws.app_ms.copy()
    env = simpy.Environment()
    fleet = Fleet(env, app, plan.region_set, plan.outages)
    database = Slots(env, plan.db_connections)
    timeout_ms = 1000 * app.request_timeout_s
    cpu_share = app.cpu_share
    primary_only = [fleet.primary]

    def wait_for(event, deadline):
        """Wait for ``event`` until ``deadline``; whether it came."""
        if not event.triggered:
            yield event | env.timeout(max(deadline - env.now, 0.0))
        return event.triggered

    def request(
        i, edge, target, first, replayed, replay_ms, worker_ms, app_ms, db_ms, path_ms,
        at_primary,
    ):  # fmt: skip
        deadline = env.now + timeout_ms
        if replay_ms:  # the first region's Machine answers fly-replay; stopped, it starts
            answering = fleet.replay_machine(first)
            if answering is not None:
                answering.in_flight += 1
                yield env.timeout(replay_ms / 2)
                reached = env.now
                came = yield from wait_for(answering.ready, deadline)
                cold_start_ms[i] = env.now - reached
                answering.done()
                if not came:
                    outcome[i] = TIMEOUT
                    return
                yield env.timeout(replay_ms / 2)
            else:
                yield env.timeout(replay_ms)
        candidates = primary_only if replayed else paths.region_order[edge]
        if fleet.can_fail:
            candidates = [r for r in candidates if fleet.up(r)]
        asked = env.now
        machine = fleet.pick(candidates)
        while machine is None:
            if not app.auto_start and not any(
                m.serving for r in candidates for m in fleet.machines[r]
            ):
                outcome[i] = NO_MACHINE
                return
            if deadline <= env.now:
                outcome[i] = TIMEOUT
                return
            turn = fleet.wait(candidates)
            yield turn | env.timeout(deadline - env.now)
            if not turn.triggered:
                fleet.leave(turn)
            candidates = [r for r in candidates if fleet.up(r)]
            if not candidates:
                outcome[i] = REGION_DOWN
                return
            machine = fleet.pick(candidates)
        region = machine.region
        if region != target:  # spilled: its round trips from where it is served
            worker_ms, at_primary, path_ms = (float(x) for x in plan.legs(i, region))
            if at_primary and plan.db_down[i]:
                outcome[i] = PRIMARY_DOWN
                return
        machine.in_flight += 1
        proxy_wait_ms = env.now - asked
        yield env.timeout(worker_ms / 2)
        if machine.state == "starting":
            reached = env.now
            came = yield from wait_for(machine.ready, deadline)
            cold_start_ms[i] += env.now - reached
            if not came:
                outcome[i] = TIMEOUT
                machine.done()
                return
        asked = env.now
        turn = machine.slots.take()
        if turn:
            came = yield from wait_for(turn, deadline)
            if not came:
                machine.slots.leave(turn)
                outcome[i] = TIMEOUT
                machine.done()
                return
        queue_ms[i] = proxy_wait_ms + env.now - asked
        cpu_ms = app_ms * cpu_share
        if cpu_ms > 0:  # on the Machine's vCPUs, under its quota
            began = env.now
            computed, lost_at = machine.cpu.run(cpu_ms)
            yield computed
            throttled_ms[i] = lost = machine.cpu.lost - lost_at
            app_ms_served[i] = env.now - began - lost + (app_ms - cpu_ms)
        rest_ms = app_ms - cpu_ms  # waiting on something other than the database
        if at_primary:  # queries wait for one of the primary's connections
            if rest_ms:
                yield env.timeout(rest_ms)
            turn = database.take()
            if turn:
                asked = env.now
                yield turn
                db_wait_ms[i] = env.now - asked
            yield env.timeout(db_ms)
            database.give()
            yield env.timeout(path_ms)
        else:  # a local replica has no contention: the rest and the queries in one step
            yield env.timeout(rest_ms + db_ms + path_ms)
        fleet.release(machine)
        if region != target:
            spilled[i] = region

    order = np.argsort(plan.edge_arrival_ms, kind="stable")
    order = order[plan.failed[order] == OK]  # failed at the edge: nothing to simulate
    if progress:
        progress(n - len(order))
    remaining = [len(order)]
    finished = env.event()

    def done(_):
        remaining[0] -= 1
        if not remaining[0]:
            finished.succeed()

    worker_ms, at_primary, path_ms = plan.to_target
    columns = {
        "edge": plan.edge, "target": plan.target, "first": plan.first, "replayed": plan.replayed,
        "replay_ms": plan.replay_ms, "worker_ms": worker_ms, "app_ms": plan.draws.app_ms,
        "db_ms": plan.db_service_ms, "path_ms": path_ms, "at_primary": at_primary,
    }  # fmt: skip
    # passed by position (a dict per request costs more than the rest of its dispatch): the
    # names must be request()'s parameters after i, in order
    assert tuple(columns) == request.__code__.co_varnames[1 : len(columns) + 1]

    def source():
        now = 0.0
        for start in range(0, len(order), BATCH):
            rows = order[start : start + BATCH]
            batch = [column[rows].tolist() for column in columns.values()]
            for at, i, *values in zip(
                plan.edge_arrival_ms[rows].tolist(), rows.tolist(), *batch, strict=True
            ):
                yield env.timeout(at - now)
                now = at
                env.process(request(i, *values)).callbacks.append(done)
            if progress:
                progress(len(rows))

    if len(order):
        env.process(source())
        env.run(until=finished)
    return Served(
        outcome=outcome,
        spilled=spilled,
        queue_ms=queue_ms,
        cold_start_ms=cold_start_ms,
        db_wait_ms=db_wait_ms,
        app_ms=app_ms_served,
        throttled_ms=throttled_ms,
        machines=fleet.machine_table(env.now),
        end_ms=env.now,
    )

"""The app's Machines and the Fly proxy that routes to them, in SimPy (time in ms).

Behaviour follows Fly.io's documentation (docs/model.md, "Machines and the proxy"):

* load balancing: in the closest region that is up, the least-loaded started Machine below
  ``soft_limit``; if every started Machine there is at ``soft_limit`` (or none runs), start a
  stopped one when ``auto_start`` is on; else the least-loaded below ``hard_limit``; only when
  the whole region is at ``hard_limit`` (or down) does the request go to the next region;
  when no region can take it, it waits in the proxy and fails after ``queue_timeout_s``;
* autostop: every ``autostop_interval_s`` the proxy stops (or suspends) at most one Machine per
  region, idle for a whole interval, when the region has excess capacity
  (``machines - (machines over soft_limit + 1) >= 1``, or a lone idle Machine), never going
  below ``min_machines_running`` in the primary region;
* a stopped Machine takes ``cold_start_s`` to serve, a suspended one ``resume_s``; it is billed
  from the start command to the stop.

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
from sim.outages import Outages
from sim.plan import NO_MACHINE, OK, PRIMARY_DOWN, QUEUE_TIMEOUT, REGION_DOWN, Plan, Served


class Slots:
    """A Machine's processing slots (or the database's connections), handed over first come,
    first served, as ``simpy.Resource`` does, but taken at once when one is free: ``take``
    returns None then, and otherwise an event to wait for; ``give`` hands the slot to the
    first waiter, or frees it. This spares the two events a Resource spends per request."""

    __slots__ = ("env", "free", "waiting")

    def __init__(self, env: simpy.Environment, capacity: int):
        self.env, self.free, self.waiting = env, capacity, deque()

    def take(self) -> simpy.Event | None:
        if self.free:
            self.free -= 1
            return None
        turn = self.env.event()
        self.waiting.append(turn)
        return turn

    def give(self) -> None:
        if self.waiting:
            self.waiting.popleft().succeed()
        else:
            self.free += 1


class Machine:
    """One Machine: its state, its in-flight requests, its processing slots and its bill."""

    def __init__(self, env: simpy.Environment, region: int, slots: int):
        self.env = env
        self.region = region
        self.state = "started"  # started | starting | stopped | suspended
        self.in_flight = 0
        self.slots = Slots(env, slots)
        self.ready = env.event().succeed()
        self.started_at = 0.0
        self.running_ms = 0.0
        self.starts = 0
        self.last_busy = 0.0

    @property
    def serving(self) -> bool:
        return self.state in ("started", "starting")

    def start(self, delay_ms: float) -> None:
        self.state, self.starts, self.started_at = "starting", self.starts + 1, self.env.now
        self.ready = self.env.event()
        self.env.process(self._boot(delay_ms))

    def _boot(self, delay_ms: float):
        yield self.env.timeout(delay_ms)
        self.state = "started"
        self.ready.succeed()

    def stop(self, how: str) -> None:
        self.running_ms += self.env.now - self.started_at
        self.state = "suspended" if how == "suspend" else "stopped"


class Fleet:
    """Every Machine of one region set, the proxy's choice among them, and autostop."""

    def __init__(self, env, app: App, codes: tuple[str, ...], outages: Outages):
        self.env, self.app, self.codes, self.outages = env, app, codes, outages
        self.primary = codes.index(app.primary_region)
        self.machines = [
            [Machine(env, r, app.concurrency) for _ in range(count)]
            for r, count in enumerate(app.machines_in(codes))
        ]
        self.hard_limit = math.inf if app.hard_limit is None else app.hard_limit
        self.waiting: deque[tuple[simpy.Event, list[int]]] = deque()  # the proxy's queue, FIFO
        self.can_fail = any(code in outages.windows for code in codes)
        if app.auto_stop != "off":
            env.process(self._autostop())

    def up(self, region: int) -> bool:
        return not (self.can_fail and self.outages.down(self.codes[region], self.env.now))

    def pick(self, regions: list[int]) -> Machine | None:
        """The Machine the proxy sends a request to, trying ``regions`` in order (closest first)."""
        soft_limit = self.app.soft_limit
        for r in regions:
            if self.can_fail and not self.up(r):
                continue
            best = None  # least loaded below soft_limit, the first of equals (a loop: hot path)
            for m in self.machines[r]:
                if m.in_flight < soft_limit and m.serving:
                    if best is None or m.in_flight < best.in_flight:
                        best = m
            if best is not None:
                return best
            serving = [m for m in self.machines[r] if m.serving]
            idle = [m for m in self.machines[r] if not m.serving]
            if idle and self.app.auto_start:
                machine = idle[0]
                resume = machine.state == "suspended"
                machine.start(1000 * (self.app.resume_s if resume else self.app.cold_start_s))
                return machine
            below_hard = [m for m in serving if m.in_flight < self.hard_limit]
            if below_hard:
                return min(below_hard, key=lambda m: m.in_flight)
        return None

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
        machine.in_flight -= 1
        machine.last_busy = self.env.now
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
                if len(started) <= keep:
                    continue
                idle = [
                    m
                    for m in started
                    if m.in_flight == 0 and self.env.now - m.last_busy >= interval
                ]
                busy = sum(m.in_flight > self.app.soft_limit for m in started)
                excess = len(started) - (busy + 1) >= 1 if len(started) > 1 else True
                if idle and excess:
                    idle[-1].stop(self.app.auto_stop)

    def machine_table(self, end_ms: float) -> list[dict]:
        """Per Machine: region index, running seconds up to ``end_ms``, starts."""
        rows = []
        for machines in self.machines:
            for m in machines:
                running = m.running_ms + (end_ms - m.started_at if m.serving else 0.0)
                rows.append({"region": m.region, "running_s": running / 1000, "starts": m.starts})
        return rows


BATCH = 1000  # requests turned into Python values at a time, and between progress calls


def run(plan: Plan, progress: Callable[[int], object] | None = None) -> Served:
    """Simulate the requests of ``plan`` that reach their edge without failing there.

    ``progress`` hears of every BATCH requests dispatched (those failed at the edge first).
    """
    n, app, paths = len(plan.failed), plan.app, plan.paths
    outcome, spilled = plan.failed.copy(), {}
    queue_ms, cold_start_ms, db_wait_ms = (np.zeros(n, dtype=np.float32) for _ in range(3))
    env = simpy.Environment()
    fleet = Fleet(env, app, plan.region_set, plan.outages)
    database = Slots(env, plan.db_connections)
    timeout_ms = 1000 * app.queue_timeout_s
    primary_only = [fleet.primary]

    def request(
        i, edge, target, replayed, replay_ms, worker_ms, app_ms, db_ms, path_ms, at_primary
    ):
        candidates = primary_only if replayed else paths.region_order[edge]
        if fleet.can_fail:
            candidates = [r for r in candidates if fleet.up(r)]
        arrived = env.now
        machine = fleet.pick(candidates)
        while machine is None:
            if not app.auto_start and not any(
                m.serving for r in candidates for m in fleet.machines[r]
            ):
                outcome[i] = NO_MACHINE
                return
            left = arrived + timeout_ms - env.now
            if left <= 0:
                outcome[i] = QUEUE_TIMEOUT
                return
            turn = fleet.wait(candidates)
            yield turn | env.timeout(left)
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
        proxy_wait_ms = env.now - arrived
        yield env.timeout(replay_ms + worker_ms / 2)
        if machine.state == "starting":
            reached = env.now
            yield machine.ready
            cold_start_ms[i] = env.now - reached
        asked = env.now
        turn = machine.slots.take()
        if turn:
            yield turn
        queue_ms[i] = proxy_wait_ms + env.now - asked
        if at_primary:  # queries wait for one of the primary's connections
            yield env.timeout(app_ms)
            turn = database.take()
            if turn:
                asked = env.now
                yield turn
                db_wait_ms[i] = env.now - asked
            yield env.timeout(db_ms)
            database.give()
            yield env.timeout(path_ms)
        else:  # a local replica has no contention: app and queries in one step
            yield env.timeout(app_ms + db_ms + path_ms)
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
    columns = (
        plan.edge, plan.target, plan.replayed, plan.replay_ms, worker_ms, plan.draws.app_ms,
        plan.db_service_ms, path_ms, at_primary,
    )  # the arguments of request() after i, in its order  # fmt: skip

    def source():
        now = 0.0
        for start in range(0, len(order), BATCH):
            rows = order[start : start + BATCH]
            batch = [column[rows].tolist() for column in columns]
            for at, *values in zip(
                plan.edge_arrival_ms[rows].tolist(), rows.tolist(), *batch, strict=True
            ):
                yield env.timeout(at - now)
                now = at
                env.process(request(*values)).callbacks.append(done)
            if progress:
                progress(len(rows))

    if len(order):
        env.process(source())
        env.run(until=finished)
    return Served(
        outcome, spilled, queue_ms, cold_start_ms, db_wait_ms, fleet.machine_table(env.now), env.now
    )

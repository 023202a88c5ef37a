"""The DES's requests, each from its edge to its answer as a SimPy process (time in ms): a
fly-replay detour through the first region, the proxy's pick on the `sim.fleet.Fleet` (or its
queue), the Machine's start and slot, its CPU, the primary database's connections, and the
request timeout wherever it waits (docs/model.md, "One request's time line").
"""

from __future__ import annotations

import inspect

import numpy as np
import simpy

from sim.machine import Machine, Slots
from sim.plan import NO_MACHINE, PRIMARY_DOWN, REGION_DOWN, TIMEOUT, Plan, Served

BATCH = 1000  # requests turned into Python values at a time, and between progress calls


def wait_for(env: simpy.Environment, event: simpy.Event, deadline: float):
    """Wait for ``event`` until ``deadline``; whether it came."""
    if not event.triggered:
        yield event | env.timeout(max(deadline - env.now, 0.0))
    return event.triggered


class Requests:
    """One plan's requests as SimPy processes (`process`, one per request, its arguments the
    plan's `columns`) on ``fleet`` (a `sim.fleet.Fleet`), and what they measure, written per
    row as each request ends."""

    def __init__(self, plan: Plan, env: simpy.Environment, fleet):
        self.plan, self.env, self.fleet = plan, env, fleet
        self.auto_start, self.cpu_share = plan.app.auto_start, plan.app.cpu_share
        self.timeout_ms = 1000 * plan.app.request_timeout_s
        self.region_order, self.primary_only = plan.paths.region_order, [fleet.primary]
        self.database = Slots(env, plan.db_connections)
        self.outcome, self.spilled = plan.failed.copy(), {}
        self.queue_ms, self.cold_start_ms, self.db_wait_ms, self.throttled_ms = (
            np.zeros(len(plan.failed), dtype=np.float32) for _ in range(4)
        )
        self.served_app_ms = plan.draws.app_ms.copy()

    def columns(self) -> dict[str, np.ndarray]:
        """Per request, the plan's values that `process` takes, by the names of its
        parameters."""
        plan, legs = self.plan, self.plan.to_target
        return {
            "edge": plan.edge, "target": plan.target, "first": plan.first,
            "replayed": plan.replayed, "replay_ms": plan.replay_ms, "worker_ms": legs.worker_ms,
            "app_ms": plan.draws.app_ms, "db_ms": plan.db_service_ms, "path_ms": legs.path_ms,
            "at_primary": legs.at_primary,
        }  # fmt: skip

    def process(
        self, i, edge, target, first, replayed, replay_ms, worker_ms, app_ms, db_ms, path_ms,
        at_primary,
    ):  # fmt: skip
        """Request ``i`` from its edge to its answer: any fly-replay detour, the proxy's pick
        (or its queue), the Machine's start and slot, its CPU, the database's connection."""
        env, fleet = self.env, self.fleet
        deadline = env.now + self.timeout_ms
        if replay_ms and not (yield from self._replay(i, first, replay_ms, deadline)):
            return
        candidates = self.primary_only if replayed else self.region_order[edge]
        if fleet.can_fail:
            candidates = [r for r in candidates if fleet.up(r)]
        asked = env.now
        machine = fleet.pick(candidates)
        if machine is None:
            machine = yield from self._queue(i, candidates, deadline)
            if machine is None:
                return
        region = machine.region
        if region != target:  # spilled: its round trips from where it is served
            legs = self.plan.legs(i, region)
            worker_ms, path_ms = float(legs.worker_ms), float(legs.path_ms)
            at_primary = float(legs.at_primary)
            if at_primary and self.plan.db_down[i]:
                self.outcome[i] = PRIMARY_DOWN
                return
        machine.in_flight += 1
        proxy_wait_ms = env.now - asked
        yield env.timeout(worker_ms / 2)
        if machine.state == "starting" and not (yield from self._boot(i, machine, deadline)):
            return
        asked = env.now
        turn = machine.slots.take()
        if turn and not (yield from self._slot(i, machine, turn, deadline)):
            return
        self.queue_ms[i] = proxy_wait_ms + env.now - asked
        cpu_ms = app_ms * self.cpu_share
        if cpu_ms > 0:  # on the Machine's vCPUs, under its quota
            began = env.now
            computed, lost_at = machine.cpu.run(cpu_ms)
            yield computed
            self.throttled_ms[i] = lost = machine.cpu.lost - lost_at
            self.served_app_ms[i] = env.now - began - lost + (app_ms - cpu_ms)
        rest_ms = app_ms - cpu_ms  # waiting on something other than the database
        if at_primary:
            yield from self._query_primary(i, rest_ms, db_ms, path_ms)
        else:  # a local replica has no contention: the rest and the queries in one step
            yield env.timeout(rest_ms + db_ms + path_ms)
        fleet.release(machine)
        if region != target:
            self.spilled[i] = region

    def _query_primary(self, i, rest_ms, db_ms, path_ms):
        """The rest of the app's time, then the queries, on one of the primary database's
        connections (waiting for it first when none is free)."""
        env = self.env
        if rest_ms:
            yield env.timeout(rest_ms)
        turn = self.database.take()
        if turn:
            asked = env.now
            yield turn
            self.db_wait_ms[i] = env.now - asked
        yield env.timeout(db_ms)
        self.database.give()
        yield env.timeout(path_ms)

    def _replay(self, i, first, replay_ms, deadline):
        """The detour of a replayed request through region ``first``, whose Machine answers
        with fly-replay (a stopped one starts first); whether it came back before
        ``deadline``."""
        env = self.env
        answering = self.fleet.replay_machine(first)
        if answering is None:
            yield env.timeout(replay_ms)
            return True
        answering.in_flight += 1
        yield env.timeout(replay_ms / 2)
        reached = env.now
        came = yield from wait_for(env, answering.ready, deadline)
        self.cold_start_ms[i] = env.now - reached
        answering.done()
        if not came:
            self.outcome[i] = TIMEOUT
            return False
        yield env.timeout(replay_ms / 2)
        return True

    def _queue(self, i, candidates, deadline):
        """Wait in the proxy's queue until a Machine in one of ``candidates`` (regions) can
        take request ``i``: that Machine, or None when the request fails first."""
        env, fleet = self.env, self.fleet
        while True:
            if not self.auto_start and not any(
                m.serving for r in candidates for m in fleet.machines[r]
            ):
                self.outcome[i] = NO_MACHINE
                return None
            if deadline <= env.now:
                self.outcome[i] = TIMEOUT
                return None
            turn = fleet.wait(candidates)
            yield turn | env.timeout(deadline - env.now)
            if not turn.triggered:
                fleet.leave(turn)
            candidates = [r for r in candidates if fleet.up(r)]
            if not candidates:
                self.outcome[i] = REGION_DOWN
                return None
            machine = fleet.pick(candidates)
            if machine is not None:
                return machine

    def _boot(self, i, machine: Machine, deadline):
        """Wait for ``machine`` to finish starting; whether it did before ``deadline``."""
        reached = self.env.now
        came = yield from wait_for(self.env, machine.ready, deadline)
        self.cold_start_ms[i] += self.env.now - reached
        if not came:
            self.outcome[i] = TIMEOUT
            machine.done()
        return came

    def _slot(self, i, machine: Machine, turn: simpy.Event, deadline):
        """Wait for ``turn`` at one of ``machine``'s slots; whether it came before
        ``deadline``."""
        came = yield from wait_for(self.env, turn, deadline)
        if not came:
            machine.slots.leave(turn)
            self.outcome[i] = TIMEOUT
            machine.done()
        return came

    def served(self) -> Served:
        """What the run decided, once every request has ended."""
        return Served(
            outcome=self.outcome,
            spilled=self.spilled,
            queue_ms=self.queue_ms,
            cold_start_ms=self.cold_start_ms,
            db_wait_ms=self.db_wait_ms,
            app_ms=self.served_app_ms,
            throttled_ms=self.throttled_ms,
            machines=self.fleet.machine_table(self.env.now),
            end_ms=self.env.now,
        )


# The columns each request's process takes, in the order of its parameters after ``i``: a
# column reaches the parameter of its name (passing a dict per request would cost more than
# the rest of its dispatch).
PARAMETERS = tuple(inspect.signature(Requests.process).parameters)[2:]


def dispatch(requests: Requests, order: np.ndarray, progress) -> simpy.Event:
    """Start a process of ``requests`` for each row of ``order`` (ascending edge arrival) when
    it reaches its edge; the event fires when the last has ended."""
    env, arrival_ms = requests.env, requests.plan.edge_arrival_ms
    columns = requests.columns()
    by_parameter = [columns[name] for name in PARAMETERS]
    process = requests.process
    remaining = [len(order)]
    finished = env.event()

    def done(_):
        remaining[0] -= 1
        if not remaining[0]:
            finished.succeed()

    def arrivals():
        now = 0.0
        for start in range(0, len(order), BATCH):
            rows = order[start : start + BATCH]
            batch = [column[rows].tolist() for column in by_parameter]
            for at, i, *values in zip(
                arrival_ms[rows].tolist(), rows.tolist(), *batch, strict=True
            ):
                yield env.timeout(at - now)
                now = at
                env.process(process(i, *values)).callbacks.append(done)
            if progress:
                progress(len(rows))

    env.process(arrivals())
    return finished

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
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import simpy

from sim.app_config import App

OK, REGION_DOWN, PRIMARY_DOWN, QUEUE_TIMEOUT, NO_MACHINE = range(5)
OUTCOMES = (
    "ok",
    "failed_region_down",
    "failed_primary_down",
    "failed_queue_timeout",
    "failed_no_machine",
)


class Machine:
    """One Machine: its state, its in-flight requests, its processing slots and its bill."""

    def __init__(self, env: simpy.Environment, region: int, slots: int):
        self.env = env
        self.region = region
        self.state = "started"  # started | starting | stopped | suspended
        self.in_flight = 0
        self.slots = simpy.Resource(env, capacity=slots)
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


@dataclass(frozen=True)
class Outages:
    """Windows [ms] when regions are down, by region code."""

    windows: dict[str, list[tuple[float, float]]]

    @classmethod
    def from_faults(cls, faults) -> Outages:
        windows: dict[str, list[tuple[float, float]]] = {}
        for fault in faults:
            start_ms = 1000 * fault.start_s
            windows.setdefault(fault.region, []).append(
                (start_ms, start_ms + 1000 * fault.duration_s)
            )
        return cls(windows)

    def down(self, region: str, now_ms) -> bool | np.ndarray:
        """Whether ``region`` is down at ``now_ms``: a bool for one time (the SimPy loop asks
        this for every request, so it stays plain Python), an array for an array of times."""
        if isinstance(now_ms, int | float):
            return any(start <= now_ms < end for start, end in self.windows.get(region, ()))
        now_ms = np.asarray(now_ms)
        down = np.zeros(now_ms.shape, dtype=bool)
        for start, end in self.windows.get(region, ()):
            down |= (start <= now_ms) & (now_ms < end)
        return down if down.ndim else bool(down)


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
        if app.auto_stop != "off":
            env.process(self._autostop())

    def up(self, region: int) -> bool:
        return not self.outages.down(self.codes[region], self.env.now)

    def pick(self, regions: list[int]) -> Machine | None:
        """The Machine the proxy sends a request to, trying ``regions`` in order (closest first)."""
        for r in regions:
            if not self.up(r):
                continue
            serving = [m for m in self.machines[r] if m.serving]
            relaxed = [m for m in serving if m.in_flight < self.app.soft_limit]
            if relaxed:
                return min(relaxed, key=lambda m: m.in_flight)
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
        """A request finished: wake the first queued request that can use this region."""
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


@dataclass(frozen=True)
class Paths:
    """Backbone medians and floors [ms] the proxy needs once it has chosen a region."""

    edge_region_ms: np.ndarray  # (edges, regions) median
    edge_region_floor_ms: np.ndarray
    region_db_ms: np.ndarray  # (regions,) median to the primary database
    region_db_floor_ms: np.ndarray
    region_order: list[list[int]]  # per edge: regions of the set, closest first
    has_replica: np.ndarray  # (regions,) bool
    sigma: float
    same_region_ms: float

    def sample(self, median: float, floor: float, z: float) -> float:
        """One backbone RTT [ms]: network.sample_rtt_ms for a single request, in plain floats
        (numpy per request would dominate the DES)."""
        return floor + (median - floor) * math.exp(self.sigma * z)


@dataclass(frozen=True)
class Plan:
    """Per-request values drawn before the run (lists, for speed inside the DES)."""

    edge_arrival_ms: list[float]  # when the request reaches its edge
    edge: list[int]
    measured_scale: list[float]  # the team's measured RTT over the model's, to measured_region
    measured_region: list[int]
    write: list[bool]
    needs_primary: list[bool]  # writes, and reads under read-your-writes
    app_ms: list[float]
    db_service_ms: list[float]
    queries: list[int]
    z_edge_worker: list[float]
    z_replay: list[float]
    z_db: list[float]


PROGRESS_STEP = 1000  # requests between progress calls: often enough for a bar, cheap
RESULTS = (
    "outcome",
    "served",
    "edge_worker_ms",
    "replay_ms",
    "queue_ms",
    "cold_start_ms",
    "app_ms",
    "db_ms",
    "at_primary_db",
)


def run(
    plan: Plan,
    paths: Paths,
    app: App,
    db_connections: int,
    db_region: str,
    outages: Outages,
    codes: tuple[str, ...],
    progress: Callable[[int], object] | None = None,
):
    """Simulate every request of ``plan``; return per-request results and the Machine table.

    ``progress`` hears of every PROGRESS_STEP requests dispatched, and of the rest at the end.
    """
    n = len(plan.edge)
    out = {name: np.zeros(n) for name in RESULTS}
    out["served"][:] = -1
    env = simpy.Environment()
    fleet = Fleet(env, app, codes, outages)
    database = simpy.Resource(env, capacity=db_connections)
    timeout_ms = 1000 * app.queue_timeout_s
    remaining = [n]
    finished = env.event()

    def fail(i: int, why: int):
        out["outcome"][i] = why

    def request(i: int):
        edge = plan.edge[i]
        order = [r for r in paths.region_order[edge] if fleet.up(r)]
        if not order:
            return fail(i, REGION_DOWN)
        replay_ms = 0.0
        candidates = order
        at_primary_db_down = outages.down(db_region, env.now)
        if plan.needs_primary[i]:
            replayed = app.writes == "replay" or not plan.write[i]
            if at_primary_db_down or (replayed and not fleet.up(fleet.primary)):
                return fail(i, PRIMARY_DOWN)
            if replayed:
                candidates = [fleet.primary]
                first = order[0]
                if first != fleet.primary:
                    replay_ms = (
                        paths.sample(
                            paths.edge_region_ms[edge, first],
                            paths.edge_region_floor_ms[edge, first],
                            plan.z_replay[i],
                        )
                        + app.replay_decision_ms
                    )
        arrived = env.now
        machine = fleet.pick(candidates)
        while machine is None:
            if not app.auto_start and not any(
                m.serving for r in candidates for m in fleet.machines[r]
            ):
                return fail(i, NO_MACHINE)
            left = arrived + timeout_ms - env.now
            if left <= 0:
                return fail(i, QUEUE_TIMEOUT)
            turn = fleet.wait(candidates)
            yield turn | env.timeout(left)
            if not turn.triggered:
                fleet.leave(turn)
            candidates = [r for r in candidates if fleet.up(r)]
            if not candidates:
                return fail(i, REGION_DOWN)
            machine = fleet.pick(candidates)
        region = machine.region
        at_primary = plan.needs_primary[i] or plan.write[i] or not paths.has_replica[region]
        if at_primary and at_primary_db_down:
            return fail(i, PRIMARY_DOWN)
        machine.in_flight += 1
        proxy_wait = env.now - arrived
        scale = plan.measured_scale[i] if region == plan.measured_region[i] else 1.0
        floor = paths.edge_region_floor_ms[edge, region]
        median = max(paths.edge_region_ms[edge, region] * scale, floor)
        edge_worker_ms = paths.sample(median, floor, plan.z_edge_worker[i])
        yield env.timeout(replay_ms + edge_worker_ms / 2)
        reached = env.now
        if not machine.ready.triggered:
            yield machine.ready
        cold_ms = env.now - reached
        asked = env.now
        with machine.slots.request() as turn:
            yield turn
            queue_ms = proxy_wait + env.now - asked
            if at_primary:  # queries wait for one of the primary's connections
                yield env.timeout(plan.app_ms[i])
                rtt = paths.sample(
                    paths.region_db_ms[region], paths.region_db_floor_ms[region], plan.z_db[i]
                )
                db_started = env.now
                with database.request() as connection:
                    yield connection
                    yield env.timeout(plan.db_service_ms[i])
                yield env.timeout(plan.queries[i] * rtt)
                db_ms = env.now - db_started
            else:  # a local replica has no contention: app and queries in one step
                db_ms = plan.db_service_ms[i] + plan.queries[i] * paths.same_region_ms
                yield env.timeout(plan.app_ms[i] + db_ms)
        fleet.release(machine)
        for name, value in (
            ("served", region), ("edge_worker_ms", edge_worker_ms), ("replay_ms", replay_ms),
            ("queue_ms", queue_ms), ("cold_start_ms", cold_ms), ("app_ms", plan.app_ms[i]),
            ("db_ms", db_ms), ("at_primary_db", at_primary),
        ):  # fmt: skip
            out[name][i] = value

    def tracked(i: int):
        yield from request(i)
        remaining[0] -= 1
        if remaining[0] == 0:
            finished.succeed()

    def source():
        order = np.argsort(plan.edge_arrival_ms, kind="stable").tolist()
        now = 0.0
        for k, i in enumerate(order, start=1):
            at = plan.edge_arrival_ms[i]
            yield env.timeout(at - now)
            now = at
            env.process(tracked(i))
            if progress and k % PROGRESS_STEP == 0:
                progress(PROGRESS_STEP)
        if progress:
            progress(len(order) % PROGRESS_STEP)

    env.process(source())
    env.run(until=finished)
    return out, fleet.machine_table(env.now), env.now

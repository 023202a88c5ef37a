"""One Fly Machine in SimPy (time in ms): its state, its requests, its slots, its CPU, its bill."""

from __future__ import annotations

from collections import deque

import simpy

from sim.cpu import Cpu

STOPPED = ("stopped", "suspended")


class Slots:
    """A Machine's processing slots (or the database's connections), handed over first come,
    first served, as ``simpy.Resource`` does, but taken at once when one is free: ``take``
    returns None then, and otherwise an event to wait for; ``give`` hands the slot to the
    first waiter, or frees it; ``leave`` withdraws a waiter that gave up. This spares the two
    events a Resource spends per request."""

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

    def leave(self, turn: simpy.Event) -> None:
        self.waiting.remove(turn)


class Machine:
    """One Machine: ``state`` is started, starting (booting), stopping (no new requests, stops
    when its last one is done), stopped or suspended."""

    def __init__(self, env: simpy.Environment, region: int, slots: int, cpu: Cpu):
        self.env = env
        self.region = region
        self.state = "started"
        self.in_flight = 0  # requests sent to it and not done, waiting for a slot included
        self.slots = Slots(env, slots)
        self.cpu = cpu
        self.ready = env.event().succeed()
        self.started_at = 0.0
        self.running_ms = 0.0
        self.starts = 0
        self.last_busy = 0.0
        self.how_to_stop = "stop"

    @property
    def serving(self) -> bool:
        return self.state in ("started", "starting")

    def start(self, delay_ms: float, balance_ms: float) -> None:
        self.state, self.starts, self.started_at = "starting", self.starts + 1, self.env.now
        self.cpu.restart(balance_ms)
        self.ready = self.env.event()
        self.env.process(self._boot(delay_ms))

    def _boot(self, delay_ms: float):
        yield self.env.timeout(delay_ms)
        self.state = "started"
        self.ready.succeed()

    def stop(self, how: str) -> None:
        """Stop (or suspend) now if idle; else take no new requests and stop after the last
        (Fly sends kill_signal and waits for the Machine to exit)."""
        self.how_to_stop = how
        if self.in_flight:
            self.state = "stopping"
            return
        self.running_ms += self.env.now - self.started_at
        self.state = "suspended" if how == "suspend" else "stopped"

    def done(self) -> None:
        """One of its requests is done (or gave up)."""
        self.in_flight -= 1
        self.last_busy = self.env.now
        if self.state == "stopping" and not self.in_flight:
            self.stop(self.how_to_stop)

    def bill(self, end_ms: float) -> dict:
        """Region index, running seconds up to ``end_ms``, starts, and its CPU's figures."""
        running = self.running_ms
        if self.state not in STOPPED:
            running += end_ms - self.started_at
        return {
            "region": self.region,
            "running_s": running / 1000,
            "starts": self.starts,
            "cpu_s": self.cpu.used_ms / 1000,
            "throttled_s": self.cpu.throttled_ms / 1000,
            "first_throttled_s": self.cpu.first_throttled_ms / 1000,
        }

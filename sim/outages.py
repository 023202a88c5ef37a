"""Regions down for a window (the scenario's `faults`), asked by the plan and the DES."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
        return down

    def first_up(self, ranked: np.ndarray, codes: list[str], t_ms: np.ndarray) -> np.ndarray:
        """Per row of ``ranked`` (indices into ``codes``, best first), the first index up at
        that row's time ``t_ms``; -1 where none is."""
        if not self.windows:
            return ranked[:, 0]
        down = np.zeros(ranked.shape, dtype=bool)
        for code in self.windows:
            if code in codes:
                down |= (ranked == codes.index(code)) & self.down(code, t_ms)[:, None]
        first = ranked[np.arange(len(ranked)), (~down).argmax(axis=1)]
        return np.where(down.all(axis=1), -1, first)

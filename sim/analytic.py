"""The analytic engine: every request at its planned target at once, waiting for nothing;
vectorised, with no Python per request. It is what the DES gives when nothing contends
(sim.contention says when that holds)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sim.plan import OK, Plan, Served


def analytic(plan: Plan, progress: Callable[[int], object] | None = None) -> Served:
    """Every request at its planned target, waiting for nothing; Machines always started."""
    end_ms, app = last_done_ms(plan), plan.app
    counts = app.machines_in(plan.region_set)
    _, busy_ms, service_ms, _ = plan.route_totals  # per route: app + database, database
    targeted = plan.routes.target >= 0
    cpu_ms = np.bincount(
        plan.routes.target[targeted],
        (busy_ms - service_ms)[targeted] * app.cpu_share,
        minlength=len(counts),
    )  # each region's CPU work, spread evenly over its Machines (failures at the edge too:
    # an outage makes the analytic engine's CPU figures an upper bound)
    machines = [
        {
            "region": r,
            "running_s": end_ms / 1000,
            "starts": 0,
            "cpu_s": cpu_ms[r] / count / 1000,
            "throttled_s": 0.0,
            "first_throttled_s": np.nan,
        }  # fmt: skip
        for r, count in enumerate(counts)
        for _ in range(count)
    ]
    if progress:
        progress(len(plan.route))
    return Served(
        outcome=plan.failed,
        spilled={},
        queue_ms=0.0,
        cold_start_ms=0.0,
        db_wait_ms=0.0,
        app_ms=plan.draws.app_ms,
        throttled_ms=0.0,
        machines=machines,
        end_ms=end_ms,
    )


def last_done_ms(plan: Plan) -> float:
    """When the last request that does not fail at its edge is done at its Machine [ms], with
    no waits: its arrival at the edge, then its replay, half the edge-Machine round trip, app
    and database times. Only requests sent within the longest such time before the last one
    can finish last; the longest is bounded per route with the run's largest jitters."""
    routes, draws, t_s = plan.routes, plan.draws, plan.draws.t_s
    ok = plan.failed == OK
    if not ok.any():
        return 0.0
    legs = (
        (routes.client, draws.client_jitter, 0.5),
        (routes.replay, draws.replay_jitter, 1),
        (routes.worker, draws.worker_jitter, 0.5),
        (routes.query, draws.db_jitter, 1),
    )
    longest_ms = sum(
        share * (leg.floor_ms + leg.excess_ms * jitter.max()) for leg, jitter, share in legs
    ).max() + (draws.app_ms.max() + plan.db_service_ms.max())
    last = len(ok) - 1 - int(ok[::-1].argmax())
    first = np.searchsorted(t_s, t_s[last] - (longest_ms + 1) / 1000)  # 1 ms for rounding
    rows = np.arange(first, last + 1)
    rows = rows[ok[rows]]
    done_ms = (
        t_s[rows] * 1000
        + sum(share * plan.sample(leg, jitter, rows) for leg, jitter, share in legs)
        + (draws.app_ms[rows] + plan.db_service_ms[rows])
    )
    return float(done_ms.max())

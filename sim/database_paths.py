"""A region set's round trips to its database, and the time its queries take: per region of
the set, one query's floor and excess to the primary or to where the region reads, over Fly's
private network, the public internet, or none; Neon's resume after a suspend."""

from __future__ import annotations

import numpy as np

from sim.database_config import NEON_SUSPEND_S, Database, Layout
from sim.databases import LOCAL
from sim.draws import Draws
from sim.network import floor_rtt_ms


def database_legs(
    draws: Draws, region_set: tuple[str, ...], layout: Layout, sites: list[str] | tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Floor and excess [ms] of one query's round trip from each region of the set to the
    site given for it: over Fly's private network, or the public internet to an external
    database; none to a copy in the Machine itself (LOCAL), nor from LiteFS's primary Machine
    to its own file."""
    floor = np.zeros(len(region_set), dtype=np.float32)
    excess = np.zeros(len(region_set), dtype=np.float32)
    matrix = draws.site_internet_ms if layout.path == "public" else draws.site_rtt_ms
    for r, (region, site) in enumerate(zip(region_set, sites, strict=True)):
        if site == LOCAL or (layout.path == "local" and site == region):
            continue
        i, j = draws.at([region, site])
        floor[r] = floor_rtt_ms(draws.site_km[i, j])
        excess[r] = matrix[i, j] - floor[r]
    return floor, excess


def with_resumes(draws: Draws, past_edge: np.ndarray, database: Database) -> np.ndarray:
    """The queries' service times [ms], plus Neon's resume for the first query after the
    compute suspended: when no request reached the database for NEON_SUSPEND_S (the run's
    first request finds it active). ``past_edge``: the requests that do not fail at their
    edge."""
    if not database.suspends:
        return draws.db_service_ms
    reaching = np.flatnonzero((draws.groups.queries[draws.group] > 0) & past_edge)
    gaps_s = np.diff(draws.t_s[reaching], prepend=draws.t_s[reaching[:1]])
    service_ms = draws.db_service_ms.copy()
    service_ms[reaching[gaps_s > NEON_SUSPEND_S]] += np.float32(database.resume_ms)
    return service_ms

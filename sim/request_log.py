"""The request log: one row per simulated request, built once per run from each region set's
plan (sim.plan) and what its engine decided (`Served`).

Its columns are allocated once for all sets (labels as codes, made categoricals at the end);
those no set changes (`user_columns`) are written once into every set's rows, and `fill_log`
writes the rest of a set's rows from its route tables, with legs recomputed only for requests
the DES served elsewhere than their target.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.data import CONTINENTS, sites
from sim.draws import Draws, since_last_write
from sim.plan import OK, OUTCOMES, Plan, Served

PARTS = (
    "client_edge_ms",
    "edge_worker_ms",
    "queue_ms",
    "cold_start_ms",
    "app_ms",
    "throttled_ms",
    "db_ms",
    "replay_ms",
)
LOG_COLUMNS = {  # the request log's columns (but replication) and dtypes; labels as codes
    "region_set": np.int16,
    "t_s": np.float64,
    "user_lat": np.float32,
    "user_lon": np.float32,
    "country": np.int16,
    "continent": np.int8,
    "access": np.int8,
    "kind": np.int8,
    "edge": np.int16,
    "served_region": np.int16,
    "outcome": np.int8,
    **dict.fromkeys(PARTS, np.float32),
    "total_ms": np.float32,
    "stale_read": np.bool_,
}


def user_columns(draws: Draws) -> dict[str, np.ndarray]:
    """The request log's columns that no region set changes: who sent each request, when,
    and its kind (labels as codes)."""
    users, user = draws.users, draws.user
    return {
        "t_s": draws.t_s,
        "user_lat": users["lat"].to_numpy(np.float32)[user],
        "user_lon": users["lon"].to_numpy(np.float32)[user],
        "country": pd.Index(countries(users)).get_indexer(users["country"])[user],
        "continent": pd.Index(CONTINENTS).get_indexer(users["continent"])[user],
        "access": (users["access"].to_numpy() == "mobile")[user],
        "kind": draws.write,
    }


def fill_log(plan: Plan, served: Served, lag_ms: float, out: dict[str, np.ndarray]) -> None:
    """Write one region set's rows of the request log into ``out`` (LOG_COLUMNS; labels as
    codes), all but `user_columns`: a failed request keeps its client-edge time and zeros
    elsewhere."""
    draws, routes, route = plan.draws, plan.routes, plan.route
    plan.sample(routes.client, draws.client_jitter, out=out["client_edge_ms"])
    plan.sample(routes.worker, draws.worker_jitter, out=out["edge_worker_ms"])
    plan.sample(routes.query, draws.db_jitter, out=out["db_ms"])
    rows = draws.replayed_rows
    out["replay_ms"][rows] = plan.sample(routes.replay, draws.replay_jitter, rows)
    at_primary = routes.at_primary[route] if lag_ms > 0 else None
    spilled = np.fromiter(served.spilled, dtype=np.intp, count=len(served.spilled))
    if spilled.size:  # served by the DES away from their target: legs from where served
        region = np.fromiter(served.spilled.values(), dtype=np.intp, count=spilled.size)
        legs = plan.legs(spilled, region)
        out["edge_worker_ms"][spilled], out["db_ms"][spilled] = legs.worker_ms, legs.path_ms
        if at_primary is not None:
            at_primary[spilled] = legs.at_primary
    out["db_ms"] += plan.db_service_ms
    out["app_ms"][:] = served.app_ms
    waits = {
        "queue_ms": served.queue_ms,
        "cold_start_ms": served.cold_start_ms,
        "throttled_ms": served.throttled_ms,
    }
    for name, wait_ms in waits.items():
        if isinstance(wait_ms, np.ndarray):  # else none: the log's columns start at zero
            out[name][:] = wait_ms
    parts = [name for name in PARTS if name not in waits or isinstance(waits[name], np.ndarray)]
    if isinstance(served.db_wait_ms, np.ndarray):
        out["db_ms"] += served.db_wait_ms
    ok = served.outcome == OK
    everything_ok = ok.all()
    add_up(out, parts, ok)
    sites_index = pd.Index(sites().index)
    edge_at = sites_index.get_indexer(plan.edges).astype(np.int16)[routes.edge]
    served_at = sites_index.get_indexer(plan.region_set).astype(np.int16)
    out["region_set"][:] = plan.index
    out["edge"][:] = edge_at[route]
    out["served_region"][:] = served_at[np.maximum(routes.target, 0)][route]
    if spilled.size:
        out["served_region"][spilled] = served_at[region]
    if not everything_ok:
        out["served_region"][~ok] = -1
        out["outcome"][:] = served.outcome
    if lag_ms > 0:
        out["stale_read"][:] = stale_reads(
            draws.t_s, draws.user, draws.write, ok, at_primary, out["total_ms"], lag_ms
        )


def add_up(out: dict[str, np.ndarray], parts: list[str], ok: np.ndarray) -> None:
    """Each request's ``total_ms`` in ``out``: the sum of its ``parts`` (the client-edge time
    first), every part but that one zeroed first for the requests not ``ok``."""
    total_ms = out["total_ms"]
    total_ms[:] = out["client_edge_ms"]
    everything_ok = ok.all()
    for name in parts[1:]:
        if not everything_ok:
            out[name] *= ok
        total_ms += out[name]


def countries(users: pd.DataFrame) -> list[str]:
    return sorted(set(users["country"]))


def request_log(columns: dict[str, np.ndarray], names: list[str], draws: Draws) -> pd.DataFrame:
    """The request log from every set's columns: codes become categoricals."""
    categories = {
        "region_set": names,
        "country": countries(draws.users),
        "continent": CONTINENTS,
        "access": ["broadband", "mobile"],
        "kind": ["read", "write"],
        "edge": sites().index,
        "served_region": sites().index,
        "outcome": OUTCOMES,
    }
    for column, labels in categories.items():
        columns[column] = pd.Categorical.from_codes(
            columns[column], categories=labels, validate=False
        )
    replication = np.full(len(columns["t_s"]), draws.replication, dtype=np.int16)
    columns = {"region_set": columns.pop("region_set"), "replication": replication, **columns}
    return pd.DataFrame(columns, copy=False)


def stale_reads(t_s, user, write, ok, at_primary_db, total_ms, lag_ms: float) -> np.ndarray:
    """Reads served by a replica less than the replication lag after the same user's write
    committed at the primary (the write's commit: its arrival plus its response time)."""
    if lag_ms <= 0:
        return np.zeros(len(t_s), dtype=bool)
    since = since_last_write(t_s, user, write & ok, t_s + total_ms.astype(np.float64) / 1000)
    return ok & ~write & ~at_primary_db & (since < lag_ms / 1000)

"""Tables from the request log: summary per region set, per continent, per request kind.

Every number is derived from the request log; cost items come from sim.cost over the same log.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.cost import monthly_cost
from sim.data import CONTINENTS
from sim.scenario import Scenario

QUANTILES = {"p50_ms": 0.50, "p90_ms": 0.90, "p99_ms": 0.99}


def latency_quantiles(requests: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Request count, ok count and p50/p90/p99 of ``total_ms`` over ok requests, per group."""
    groups = requests.groupby(by, observed=True, sort=True)
    table = groups.size().rename("requests").to_frame()
    ok = requests[requests["outcome"] == "ok"].groupby(by, observed=True, sort=True)["total_ms"]
    table["ok"] = ok.size()
    for column, q in QUANTILES.items():
        table[column] = ok.quantile(q).astype(float)
    table["mean_ms"] = ok.mean().astype(float)
    table["ok"] = table["ok"].fillna(0).astype(int)
    return table


def summary(requests: pd.DataFrame, machines: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """One row per region set: requests, failures, latency quantiles, cold starts, stale reads,
    itemised monthly cost (compute from the Machines' running time), and the change against
    the first set."""
    table = latency_quantiles(requests, ["region_set"])
    by_set = requests.groupby("region_set", observed=True, sort=True)
    table["error_rate"] = 1 - table["ok"] / table["requests"]
    table["cold_starts"] = by_set["cold_start_ms"].apply(lambda ms: int((ms > 0).sum()))
    table["stale_reads"] = by_set["stale_read"].sum().astype(int)
    costs = []
    for name in scenario.named_region_sets:
        rows = requests[(requests["region_set"] == name) & (requests["outcome"] == "ok")]
        fleet = machines[machines["region_set"] == name]
        started = (fleet["running_s"] / fleet["duration_s"]).groupby(fleet["region"]).sum()
        costs.append(
            monthly_cost(
                scenario.app.vm,
                scenario.app.memory_mb,
                started.to_dict(),
                scenario.app.dedicated_ipv4,
                rows["edge"].to_numpy(),
                rows["served_region"].to_numpy(),
                scenario.workload.rate_rps,
                scenario.workload.response_kb,
            ).rename(name)
        )
    table = table.join(pd.DataFrame(costs))
    first = table.iloc[0]
    table["p50_change_ms"] = table["p50_ms"] - first["p50_ms"]
    table["p99_change_ms"] = table["p99_ms"] - first["p99_ms"]
    table["cost_change_usd_month"] = table["monthly_cost_usd"] - first["monthly_cost_usd"]
    return table.reset_index()


def outcomes(requests: pd.DataFrame) -> pd.DataFrame:
    """Requests per region set and outcome: every generated request ends in exactly one."""
    return requests.groupby(["region_set", "outcome"], observed=False).size().unstack(fill_value=0)


def by_continent(requests: pd.DataFrame) -> pd.DataFrame:
    """Latency quantiles per region set and user continent."""
    return latency_quantiles(requests, ["region_set", "continent"]).reset_index()


def by_kind(requests: pd.DataFrame) -> pd.DataFrame:
    """Latency quantiles per region set and request kind (read, write)."""
    return latency_quantiles(requests, ["region_set", "kind"]).reset_index()


def continent_p50(requests: pd.DataFrame) -> pd.DataFrame:
    """p50 [ms] with region sets as rows and continent codes as columns."""
    table = by_continent(requests).pivot(index="region_set", columns="continent", values="p50_ms")
    return table[[c for c in CONTINENTS if c in table.columns]]


def latency_cdf(requests: pd.DataFrame, points: int = 400) -> pd.DataFrame:
    """Empirical CDF of ok ``total_ms`` per region set, on ``points`` quantiles."""
    q = np.linspace(0.0, 1.0, points)
    ok = requests[requests["outcome"] == "ok"]
    rows = [
        pd.DataFrame(
            {"region_set": name, "total_ms": np.quantile(group["total_ms"], q), "share": q}
        )
        for name, group in ok.groupby("region_set", observed=True, sort=True)
    ]
    return pd.concat(rows, ignore_index=True)

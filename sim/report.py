"""Tables from the request log: summary per region set, per continent, per request kind.

Every number is derived from the request log; cost items come from sim.cost over the same log.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.cost import SECONDS_PER_MONTH, alternative_bill, fly_bill
from sim.data import CONTINENTS
from sim.scenario import Scenario, Verdict

QUANTILES = {"p50_ms": 0.50, "p90_ms": 0.90, "p99_ms": 0.99}
CONTINENT_PEOPLE = {
    "AF": "African",
    "AS": "Asian",
    "EU": "European",
    "NA": "North American",
    "OC": "Oceanian",
    "SA": "South American",
}


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


def summary(
    requests: pd.DataFrame, machines: pd.DataFrame, engines: pd.DataFrame, scenario: Scenario
) -> pd.DataFrame:
    """One row per region set (and alternative): requests, failures, latency quantiles, the
    share of requests slowed by the CPU quota, cold starts, stale reads, SLO attainment, the
    itemised monthly bill, and the verdict against the baseline: changes, user-hours of
    waiting saved a month, dollars per user-hour saved; last, the engine that ran it."""
    table = latency_quantiles(requests, ["region_set"])
    by_set = requests.groupby("region_set", observed=True, sort=True)
    table["error_rate"] = 1 - table["ok"] / table["requests"]
    table["throttled_share"] = by_set["throttled_ms"].apply(lambda ms: float((ms > 0).mean()))
    table["cold_starts"] = by_set["cold_start_ms"].apply(lambda ms: int((ms > 0).sum()))
    table["stale_reads"] = by_set["stale_read"].sum().astype(int)
    within = (requests["outcome"] == "ok") & (requests["total_ms"] <= scenario.verdict.slo_ms)
    table["slo_attainment"] = within.groupby(requests["region_set"], observed=True).mean()
    table = table.join(bills(requests, machines, scenario))
    table = verdicts(table, by_continent(requests, scenario.baseline), scenario)
    return table.join(engines.set_index("region_set")["engine"]).reset_index()


def bills(requests: pd.DataFrame, machines: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """The itemised monthly bill of each candidate (rows by name), from its ok requests and
    its Machines."""
    ok = dict(tuple(requests[requests["outcome"] == "ok"].groupby("region_set", observed=True)))
    by_set = dict(tuple(machines.groupby("region_set", observed=True)))
    return pd.DataFrame(
        [
            (
                alternative_bill(scenario, name, ok.get(name, requests.iloc[:0]))
                if name in scenario.alternatives
                else fly_bill(
                    scenario,
                    name,
                    ok.get(name, requests.iloc[:0]),
                    by_set.get(name, machines.iloc[:0]),
                )
            ).rename(name)
            for name in scenario.candidates
        ]
    )


def verdicts(table: pd.DataFrame, continents: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Changes against the baseline, user-hours saved, dollars per user-hour, and a sentence."""
    base = table.loc[scenario.baseline]
    table["p50_change_ms"] = table["p50_ms"] - base["p50_ms"]
    table["p99_change_ms"] = table["p99_ms"] - base["p99_ms"]
    table["cost_change_usd_month"] = table["monthly_cost_usd"] - base["monthly_cost_usd"]
    requests_per_month = scenario.workload.rate_rps * SECONDS_PER_MONTH
    saved_ms = base["mean_ms"] - table["mean_ms"]
    table["user_hours_saved_month"] = requests_per_month * saved_ms / 3_600_000
    table["usd_per_user_hour_saved"] = np.where(
        table["user_hours_saved_month"] > 0,
        table["cost_change_usd_month"].clip(lower=0) / table["user_hours_saved_month"],
        np.nan,
    )
    change = continents.pivot(index="region_set", columns="continent", values="p50_change_ms")
    table["verdict"] = [
        sentence(name, row, change.loc[name], base["mean_ms"], scenario.verdict)
        if name != scenario.baseline
        else f"{name}: the baseline, p50 {row['p50_ms']:.0f} ms, p99 {row['p99_ms']:.0f} ms, "
        f"${row['monthly_cost_usd']:,.2f} a month"
        for name, row in table.iterrows()
    ]
    return table


def sentence(
    name: str, row: pd.Series, change: pd.Series, base_mean_ms: float, verdict: Verdict
) -> str:
    """The verdict on one region set, in one sentence built from its numbers."""
    extra, hours = row["cost_change_usd_month"], row["user_hours_saved_month"]
    price = f"for ${extra:,.2f} more" if extra > 0 else f"and it costs ${-extra:,.2f} less"
    worth = verdict.usd_per_user_hour
    if hours <= 0:
        slower = row["mean_ms"] - base_mean_ms
        wait = f"{slower:,.1f} ms more" if slower >= 0.05 else "no less"
        text = (
            f"{name}: users wait {wait} on average ({abs(hours):,.0f} user-hours a month "
            f"more in all) {price}"
        )
        if extra >= 0 or hours == 0:
            return f"{text}: not worth it"
        saved_per_hour = extra / hours  # both negative: dollars saved per user-hour lost
        text += f": ${saved_per_hour:,.2f} saved per user-hour lost"
        if worth is None:
            return text
        judged = "worth it" if saved_per_hour >= worth else "not worth it"
        return f"{text}, {judged} at ${worth:,.2f} a user-hour"
    continent = change.idxmin()
    where = (
        f"{CONTINENT_PEOPLE[continent]} users wait {-change[continent]:.0f} ms less at p50"
        if change[continent] <= -1
        else f"users wait {base_mean_ms - row['mean_ms']:.1f} ms less on average"
    )
    text = f"{name}: {where} ({hours:,.0f} user-hours a month in all) {price}"
    if extra <= 0:
        return f"{text}: better on both counts"
    per_hour = row["usd_per_user_hour_saved"]
    text += f": ${per_hour:,.2f} per user-hour saved"
    if worth is None:
        return text
    judged = "worth it" if per_hour <= worth else "not worth it"
    return f"{text}, {judged} at ${worth:,.2f} a user-hour"


def outcomes(requests: pd.DataFrame) -> pd.DataFrame:
    """Requests per region set and outcome: every generated request ends in exactly one."""
    return requests.groupby(["region_set", "outcome"], observed=False).size().unstack(fill_value=0)


def by_continent(requests: pd.DataFrame, baseline: str | None = None) -> pd.DataFrame:
    """Latency quantiles per region set and user continent; with a ``baseline`` set, the
    change of p50 and p99 against it in each continent."""
    table = latency_quantiles(requests, ["region_set", "continent"]).reset_index()
    if baseline is not None:
        base = table[table["region_set"] == baseline].set_index("continent")
        for column in ("p50_ms", "p99_ms"):
            change = table[column] - table["continent"].map(base[column]).astype(float)
            table[column.replace("_ms", "_change_ms")] = change
    return table


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

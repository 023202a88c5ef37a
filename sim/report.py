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
OK_QUANTILES = {"p50_ok_ms": 0.50, "p90_ok_ms": 0.90, "p99_ok_ms": 0.99}
FAILING = 0.001  # a set failing more than this share (or more than its baseline) hears it first
WORSE_P99 = 0.10  # a p99 this much above the baseline's is named, whatever the mean says
CONTINENT_PEOPLE = {
    "AF": "African",
    "AS": "Asian",
    "EU": "European",
    "NA": "North American",
    "OC": "Oceanian",
    "SA": "South American",
}

# The bill's items: summary column -> the name tables and charts give it
COST_ITEMS = {
    "compute_usd_month": "compute",
    "storage_usd_month": "storage",
    "egress_usd_month": "egress",
    "database_compute_usd_month": "db compute",
    "database_storage_usd_month": "db storage",
    "database_transfer_usd_month": "db transfer",
    "ipv4_usd_month": "IPv4",
}


def latency_quantiles(requests: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per group: requests, ok requests, p50/p90/p99 of ``total_ms`` over every request, a
    failed one counted as slower than any success (inf when the quantile falls on failures),
    the same over ok requests only (``p50_ok_ms``...), and the mean of ok requests."""
    failed = (requests["outcome"] != "ok").to_numpy()
    total_ms = requests["total_ms"].to_numpy(dtype=float)
    keys = [requests[column] for column in by]
    every = pd.Series(np.where(failed, np.inf, total_ms), index=requests.index)
    groups = every.groupby(keys, observed=True, sort=True)
    table = groups.size().rename("requests").to_frame()
    table.index.names = by
    ok = pd.Series(total_ms, index=requests.index)[~failed]
    ok_groups = ok.groupby([key[~failed] for key in keys], observed=True, sort=True)
    table["ok"] = ok_groups.size()
    with np.errstate(invalid="ignore"):  # inf - inf between two failures
        for column, q in QUANTILES.items():
            table[column] = groups.quantile(q).astype(float).fillna(np.inf)
    for column, q in OK_QUANTILES.items():
        table[column] = ok_groups.quantile(q).astype(float)
    table["mean_ms"] = ok_groups.mean().astype(float)
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
    table["error_rate"] = 1 - table["ok"] / table["requests"]  # within: failures are misses
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
    with np.errstate(invalid="ignore"):
        for column in ("p50", "p99"):  # failed at both: no change; failed at one: inf either way
            change = table[f"{column}_ms"] - base[f"{column}_ms"]
            table[f"{column}_change_ms"] = change.fillna(0.0)
    table["error_rate_change"] = table["error_rate"] - base["error_rate"]
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
    hours = by_continent_hours(continents, scenario)
    table["verdict"] = [
        sentence(name, row, hours.loc[name], change.loc[name], base, scenario.verdict)
        if name != scenario.baseline
        else f"{name}: the baseline, {availability(row)}p50 {ms_text(row['p50_ms'])}, p99 "
        f"{ms_text(row['p99_ms'])}, ${row['monthly_cost_usd']:,.2f} a month"
        for name, row in table.iterrows()
    ]
    return table


def latency(ms: float) -> str:
    """A latency [ms] as the tables print it; a quantile that falls on failures is 'failed'."""
    return f"{ms:,.0f}" if np.isfinite(ms) else "failed"


def ms_text(ms: float) -> str:
    """`latency` with its unit: `655 ms`, or `failed`."""
    return f"{latency(ms)} ms" if np.isfinite(ms) else "failed"


def availability(row: pd.Series) -> str:
    return f"{row['error_rate']:.1%} failed, " if row["error_rate"] > 0 else ""


def p50_change_text(change_ms: float) -> str:
    """A continent's p50 gain, then '; ' (nothing when a p50 falls on failures)."""
    return f"{-change_ms:,.0f} ms less at p50; " if np.isfinite(change_ms) else ""


def by_continent_hours(continents: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """User-hours of waiting saved a month per set and continent against the baseline: the
    continent's share of requests x requests a month x its mean latency saved (ok requests)."""
    base = continents[continents["region_set"] == scenario.baseline].set_index("continent")
    share = continents["requests"] / continents.groupby("region_set", observed=True)[
        "requests"
    ].transform("sum")
    saved_ms = continents["continent"].map(base["mean_ms"]).astype(float) - continents["mean_ms"]
    per_month = scenario.workload.rate_rps * SECONDS_PER_MONTH
    continents = continents.assign(hours=share * per_month * saved_ms / 3_600_000)
    return continents.pivot(index="region_set", columns="continent", values="hours")


def sentence(
    name: str,
    row: pd.Series,
    hours: pd.Series,
    change: pd.Series,
    base: pd.Series,
    verdict: Verdict,
) -> str:
    """The verdict on one region set, in one sentence built from its numbers: its failures
    first when it fails more than the baseline or more than FAILING, a p99 more than
    WORSE_P99 above the baseline's, then the latency and the money."""
    lead = f"{name}: " + "".join(f"{problem}; " for problem in problems(row, base))
    worse = row["error_rate"] > base["error_rate"] + FAILING or bool(
        row["p99_ms"] > base["p99_ms"] * (1 + WORSE_P99)
    )
    extra = row["cost_change_usd_month"]
    price = f"for ${extra:,.2f} more" if extra > 0 else f"and it costs ${-extra:,.2f} less"
    worth = verdict.usd_per_user_hour
    if row["user_hours_saved_month"] <= 0:
        return lead + slower_verdict(row, base, price, worse, worth)
    return lead + faster_verdict(row, base, hours, change, price, worse, worth)


def problems(row: pd.Series, base: pd.Series) -> list[str]:
    """What a verdict says before the latency and the money: failures more than the
    baseline's or than FAILING, a p99 more than WORSE_P99 above the baseline's."""
    first = []
    if row["error_rate"] > base["error_rate"] or row["error_rate"] > FAILING:
        first.append(f"fails {row['error_rate']:.1%} of requests against {base['error_rate']:.1%}")
    if row["p99_ms"] > base["p99_ms"] * (1 + WORSE_P99):
        first.append(f"p99 {ms_text(row['p99_ms'])} against {ms_text(base['p99_ms'])}")
    return first


def slower_verdict(
    row: pd.Series, base: pd.Series, price: str, worse: bool, worth: float | None
) -> str:
    """The verdict's latency and money for a set that saves users no time: cheaper for the
    same wait, not worth it, or the dollars it saves per user-hour lost (judged at ``worth``
    dollars a user-hour when the scenario sets it)."""
    extra, saved = row["cost_change_usd_month"], row["user_hours_saved_month"]
    slower = row["mean_ms"] - base["mean_ms"]
    wait = f"{slower:,.1f} ms more" if slower >= 0.05 else "no less"
    text = (
        f"users wait {wait} on average ({abs(saved):,.0f} user-hours a month more in all) {price}"
    )
    if saved == 0 and extra < 0 and not worse:
        return f"{text}: cheaper for the same wait"
    if extra >= 0 or saved == 0 or worse:
        return f"{text}: not worth it"
    saved_per_hour = extra / saved  # both negative: dollars saved per user-hour lost
    text += f": ${saved_per_hour:,.2f} saved per user-hour lost"
    if worth is None:
        return text
    judged = "worth it" if saved_per_hour >= worth else "not worth it"
    return f"{text}, {judged} at ${worth:,.2f} a user-hour"


def faster_verdict(
    row: pd.Series,
    base: pd.Series,
    hours: pd.Series,
    change: pd.Series,
    price: str,
    worse: bool,
    worth: float | None,
) -> str:
    """The verdict's latency and money for a set that saves users time: the continent that
    gains most (``hours`` and p50 ``change`` per continent) or the mean saving, then worse
    where it counts, better on both counts, or its dollars per user-hour saved (judged at
    ``worth`` dollars a user-hour when the scenario sets it)."""
    saved = row["user_hours_saved_month"]
    gains = hours.dropna()
    continent = gains.idxmax() if len(gains) else None
    where = (
        f"{CONTINENT_PEOPLE[continent]} users gain most ({p50_change_text(change[continent])}"
        f"{hours[continent]:,.0f} of {saved:,.0f} user-hours a month)"
        if continent is not None and hours[continent] > 0 and change[continent] <= -1
        else f"users wait {base['mean_ms'] - row['mean_ms']:.1f} ms less on average "
        f"({saved:,.0f} user-hours a month in all)"
    )
    text = f"{where} {price}"
    if worse:
        return f"{text}: worse where it counts"
    if row["cost_change_usd_month"] <= 0:
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
    """Empirical CDF of ``total_ms`` per region set on ``points`` quantiles of its ok
    requests, as shares of all its requests: a set that fails some ends below 1."""
    q = np.linspace(0.0, 1.0, points)
    ok = requests["outcome"] == "ok"
    served = ok.groupby(requests["region_set"], observed=True).mean()
    rows = [
        pd.DataFrame(
            {
                "region_set": name,
                "total_ms": np.quantile(group["total_ms"], q),
                "share": q * served[name],
            }
        )
        for name, group in requests[ok].groupby("region_set", observed=True, sort=True)
    ]
    return pd.concat(rows, ignore_index=True)

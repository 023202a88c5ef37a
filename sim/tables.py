"""What a run prints: the terminal tables, the verdict, CSV and JSON on stdout, and what
`validate` describes; the studies' tables (optimize, sweep, replications)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

import sim
from sim import report
from sim.contention import needs_des
from sim.data import CONTINENT_NAMES
from sim.databases import LOCAL, describe_site, product
from sim.deployment import alternative_plan, deployment
from sim.report import latency

if TYPE_CHECKING:
    from sim.replications import Replicated
    from sim.search import Optimum

SHOWN = {
    "region_set": "region set",
    "requests": "requests",
    "p50_ms": "p50 ms",
    "p90_ms": "p90 ms",
    "p99_ms": "p99 ms",
    "monthly_cost_usd": "$/month",
    "p50_change_ms": "Δp50 ms",
    "p99_change_ms": "Δp99 ms",
    "cost_change_usd_month": "Δ$/month",
    "slo_attainment": "SLO %",
    "user_hours_saved_month": "user-h saved",
    "usd_per_user_hour_saved": "$/user-h",
}
BILL_COLUMNS = {
    "region_set": "region set",
    **report.COST_ITEMS,
    "monthly_cost_usd": "total $/month",
}
DYNAMICS = {
    "error_rate": "failed %",
    "throttled_share": "throttled %",
    "cold_starts": "cold starts",
    "stale_reads": "stale reads",
}
PERCENT = ("error_rate", "throttled_share")


def format_summary(result: sim.Result) -> str:
    """The terminal view: one row per region set, p50 per continent, the bill by item, and
    the verdict sentences."""
    table = shown(result.summary).set_index("region set")
    continents = report.continent_p50(result.requests).rename(columns=CONTINENT_NAMES)
    continents = continents.rename_axis(index="p50 ms by continent", columns=None)
    bill = cost_items(result.summary).set_index("region set").rename_axis("$/month")
    return "\n".join(
        [
            table.to_string(formatters=terminal_formats(table), na_rep="-"),
            "",
            continents.to_string(float_format=latency),
            "",
            bill.to_string(float_format=lambda v: f"{v:,.2f}"),
            "",
            *result.summary["verdict"],
        ]
    )


def engine_note(result: sim.Result) -> str:
    """Which engine ran each region set, and why: one line per engine and reason."""
    groups = result.engines.groupby(["engine", "reason"], sort=False)["region_set"]
    return "\n".join(
        f"engine {engine} for {', '.join(names)}: {reason}" for (engine, reason), names in groups
    )


def cost_items(summary: pd.DataFrame) -> pd.DataFrame:
    """The monthly bill of each region set by item [USD]."""
    return summary[list(BILL_COLUMNS)].rename(columns=BILL_COLUMNS)


def shown(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary columns people read: latency, cost, changes, and the dynamics that occurred
    (failures and throttled requests as percentages, cold starts, stale reads) when any
    region set has them."""
    table = summary[list(SHOWN)].rename(columns=SHOWN)
    table["SLO %"] *= 100
    for column, title in DYNAMICS.items():
        if (summary[column] > 0).any():
            table[title] = summary[column] * (100 if column in PERCENT else 1)
            if column == "error_rate":
                table["Δfailed %"] = summary["error_rate_change"] * 100
    return table


def terminal_formats(table: pd.DataFrame) -> dict:
    def signed(v):
        return f"{v:+,.0f}" if np.isfinite(v) else ("failed" if v > 0 else "served")

    formats = {c: latency for c in table.columns}
    formats["$/month"] = lambda v: f"{v:,.2f}"
    formats["Δ$/month"] = lambda v: f"{v:+,.2f}"
    formats["failed %"] = formats["throttled %"] = lambda v: f"{v:.2f}"
    formats["SLO %"] = lambda v: f"{v:.1f}"
    formats["$/user-h"] = lambda v: "-" if np.isnan(v) else f"{v:,.2f}"
    for column in ("Δp50 ms", "Δp99 ms"):
        formats[column] = signed
    formats["Δfailed %"] = lambda v: f"{v:+.2f}"
    return formats


def format_optimum(optimum: Optimum) -> str:
    """The best set of each size as a table to read (its objective's 95 % interval over the
    replications beside it), how each tie was broken, and how the search went."""
    from sim.search import RECHECK

    best = optimum.best
    label = optimum.objective
    table = pd.DataFrame(
        {
            "k": best["k"],
            "region set": best["region_set"],
            "added": best["added"],
            "p50 ms": best["p50_ms"].map(latency),
            "p99 ms": best["p99_ms"].map(latency),
            "mean ms": best["mean_ms"].map(latency),
            f"{label} 95% CI": [
                f"{latency(low)} to {latency(high)}"
                for low, high in zip(best["ci_low"], best["ci_high"], strict=True)
            ],
            "USD/month": best["monthly_cost_usd"].map("{:,.2f}".format),
            f"{label} gain ms": best["gain_ms"].map(
                lambda gain: "" if pd.isna(gain) else f"{gain:+,.0f}"
            ),
        }
    )
    ties = [f"k={k}: {how}" for k, how in zip(best["k"], best["pick"], strict=True)
            if " tie on " in how]  # fmt: skip
    searched = len(optimum.evaluated)
    return (
        f"best region set of each size for {label} latency (the DES re-ran the {RECHECK} best "
        f"of each size over {optimum.replications} replications: means)\n"
        f"{table.to_string(index=False)}\n"
        + "".join(f"{line}\n" for line in ties)
        + f"searched {searched:,} region sets in {optimum.seconds:,.0f} s"
    )


def format_sweep(table: pd.DataFrame) -> str:
    """The sweep's rows as a table to read."""
    shown = table.assign(
        **{column: table[column].map(latency) for column in ("p50_ms", "p99_ms", "mean_ms")},
        error_rate=(100 * table["error_rate"]).map("{:.2f}".format),
        monthly_cost_usd=table["monthly_cost_usd"].map("{:,.2f}".format),
        rate_rps=table["rate_rps"].map("{:g}".format),
    ).rename(columns={"error_rate": "failed %"})
    return shown.to_string(index=False)


def format_replicated(replicated: Replicated, count: int) -> str:
    """Each metric's mean and confidence interval per region set, then every pair of sets."""
    from sim.replications import LEVEL

    table = replicated.table
    shown = {"region set": table["region_set"]}
    for metric, label in (("p50_ms", "p50 ms"), ("p99_ms", "p99 ms"), ("mean_ms", "mean ms")):
        shown[label] = [
            f"{mean:,.1f} [{low:,.1f}, {high:,.1f}]"
            for mean, low, high in table[[metric, f"{metric}_low", f"{metric}_high"]].to_numpy()
        ]
    shown["USD/month"] = [
        f"{mean:,.2f} [{low:,.2f}, {high:,.2f}]"
        for mean, low, high in table[
            ["monthly_cost_usd", "monthly_cost_usd_low", "monthly_cost_usd_high"]
        ].to_numpy()
    ]
    return (
        f"{count} replications (independent seeds): mean [{LEVEL:.0%} confidence interval]\n"
        + pd.DataFrame(shown).to_string(index=False)
        + "\n"
        + "\n".join(replicated.sentences())
    )


def summary_csv(result: sim.Result) -> str:
    return result.summary.to_csv(index=False)


def summary_json(result: sim.Result) -> str:
    """The summary and the per-continent table as one JSON document (records)."""
    tables = {"summary": result.summary, "by_continent": result.by_continent}
    return (
        "{\n"
        + ",\n".join(
            f'"{name}": {table.to_json(orient="records", double_precision=6)}'
            for name, table in tables.items()
        )
        + "\n}"
    )


def describe(scenario: sim.Scenario) -> str:
    """What a scenario asks for, in a few lines: `globalness validate` prints it."""
    app, workload = scenario.app, scenario.workload
    hard = app.hard_limit or "none"
    lines = [
        f"{workload.requests:,} requests per region set at {workload.rate_rps:g} req/s "
        f"({workload.requests / workload.rate_rps / 3600:.2f} h simulated), "
        f"{workload.write_share:.0%} writes; {scenario.users.count:,} users by "
        f"{scenario.users.where if not isinstance(scenario.users.where, dict) else 'mix'}",
        f"app: primary {app.primary_region}, {app.vm} {app.ram_mb} MB, concurrency "
        f"{app.concurrency_type} soft {app.soft_limit} hard {hard}, auto_stop {app.auto_stop}, "
        f"auto_start {str(app.auto_start).lower()}, min_machines_running "
        f"{app.min_machines_running}, writes by {app.writes}",
        *database_lines(scenario),
    ]
    for name, codes in scenario.named_region_sets.items():
        machines = ", ".join(
            f"{code} {count}" for code, count in zip(codes, app.machines_in(codes), strict=True)
        )
        lines.append(f"region set {name}: Machines {machines}")
    for site in scenario.alternatives:
        plan = alternative_plan(site, app.ram_mb)
        lines.append(
            f"alternative {site}: one {plan['plan']} server ({plan['vcpu']:g} vCPU, "
            f"{plan['ram_gb']:g} GB) at ${plan['usd_month'] + plan['fee_usd_month']:,.2f}/month"
        )
    needs = {name: ", ".join(needs_des(scenario, name)) for name in scenario.candidates}
    for reason in dict.fromkeys(needs.values()):
        names = ", ".join(name for name, why in needs.items() if why == reason)
        if reason:
            lines.append(f"engine (auto): des for {names}: {reason}")
        else:
            lines.append(
                f"engine (auto): analytic for {names}, unless the CPU quota binds or Erlang C "
                "finds queues"
            )
    return "\n".join(lines)


def database_lines(scenario: sim.Scenario) -> list[str]:
    """Each candidate's database as it runs: product, plan, where the primary is, and where
    its copies are."""
    lines = []
    for name in scenario.candidates:
        deployed = deployment(scenario, name)
        layout, database = deployed.layout, deployed.database
        if layout.primary == name:  # an alternative host's own server
            engine = product(layout.product)["engine"]
            lines.append(f"database of {name}: {engine} on the server itself, no bill of its own")
            continue
        sized = ""
        if database.machine_vm:
            sized = f", {database.machine_vm} {database.machine_memory_mb} MB Machines"
        pairs = list(zip(layout.regions, layout.reads, strict=True))
        copies = [region for region, site in pairs if site == LOCAL]
        replicas: dict[str, str] = {}  # replica site -> the first region it serves
        for region, site in pairs:
            if site in layout.replicas:
                replicas.setdefault(site, region)
        held = f"; a copy in each Machine of {', '.join(copies)}" if copies else ""
        if replicas:
            where = [
                describe_site(site) + ("" if site == region else f" for {region}")
                for site, region in replicas.items()
            ]
            held += f"; replicas in {', '.join(where)}"
        lines.append(
            f"database of {name}: {layout.product} ({layout.plan}{sized}), primary in "
            f"{describe_site(layout.primary)}{held}"
        )
    return lines

"""What a run shows and leaves: the terminal table, CSV and JSON, report.md; files written
atomically."""

from __future__ import annotations

import base64
import html
import io
import os
import re
import tempfile
from pathlib import Path

import markdown
import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

import sim
from sim import plots, report
from sim.cost import alternative_plan
from sim.engine import needs_des
from sim.plots import covers_a_day
from sim.replications import LEVEL, Replicated
from sim.search import RECHECK, Optimum

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
COST_ITEMS = {"region_set": "region set", **plots.COST_ITEMS, "monthly_cost_usd": "total $/month"}
CHARTS = {  # file stem: (Result method, caption)
    "latency_cdf": ("plot_cdf", "latency CDF per region set"),
    "cost_latency": ("plot_cost_latency", "p99 latency against monthly cost"),
    "continents": ("plot_continents", "p50 and p99 by user continent"),
    "latency_parts": ("plot_parts", "where the time goes, by continent"),
    "cost_breakdown": ("plot_cost", "monthly cost by item"),
    "latency_daily": ("plot_daily", "latency over the day"),
}
REPRODUCIBLE = {"png": {"Software": None}, "svg": {"Date": None}}  # same run, same bytes
HTML_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
  line-height: 1.45; color: #222; }}
table {{ border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; }}
th, td {{ border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
img {{ max-width: 100%; }}
</style></head>
<body>
{body}
</body></html>
"""
DYNAMICS = {"error_rate": "failed %", "cold_starts": "cold starts", "stale_reads": "stale reads"}


def format_summary(result: sim.Result) -> str:
    """The terminal view: one row per region set, p50 per continent, the bill by item, and
    the verdict sentences."""
    table = shown(result.summary).set_index("region set")
    continents = report.continent_p50(result.requests)
    continents = continents.rename_axis(index="p50 ms by continent", columns=None)
    bill = cost_items(result.summary).set_index("region set").rename_axis("$/month")
    return "\n".join(
        [
            table.to_string(formatters=_formats(table), na_rep="-"),
            "",
            continents.to_string(float_format=lambda v: f"{v:,.0f}"),
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
    return summary[list(COST_ITEMS)].rename(columns=COST_ITEMS)


def shown(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary columns people read: latency, cost, changes, and the dynamics that occurred
    (failures as a percentage, cold starts, stale reads) when any region set has them."""
    table = summary[list(SHOWN)].rename(columns=SHOWN)
    table["SLO %"] *= 100
    for column, title in DYNAMICS.items():
        if (summary[column] > 0).any():
            table[title] = summary[column] * (100 if column == "error_rate" else 1)
    return table


def _formats(table: pd.DataFrame) -> dict:
    def signed(v):
        return f"{v:+,.0f}"

    formats = {c: (lambda v: f"{v:,.0f}") for c in table.columns}
    formats["$/month"] = lambda v: f"{v:,.2f}"
    formats["Δ$/month"] = lambda v: f"{v:+,.2f}"
    formats["failed %"] = lambda v: f"{v:.2f}"
    formats["SLO %"] = lambda v: f"{v:.1f}"
    formats["$/user-h"] = lambda v: "-" if np.isnan(v) else f"{v:,.2f}"
    for column in ("Δp50 ms", "Δp99 ms"):
        formats[column] = signed
    return formats


def charts(result: sim.Result) -> dict[str, tuple[str, Figure]]:
    """The run's charts by file stem, with their captions; latency over the day only when the
    run covers DAILY_MIN_HOURS."""
    figures = {
        stem: (caption, getattr(result, method)())
        for stem, (method, caption) in CHARTS.items()
        if stem != "latency_daily" or covers_a_day(result.requests)
    }
    for name in result.scenario.candidates:
        figures[f"map_{file_stem(name)}"] = (f"{name}: users by p50", result.plot_map(name))
    return figures


def file_stem(name: str) -> str:
    """A region set's name as part of a file name: letters, digits and + _ . - only."""
    return re.sub(r"[^A-Za-z0-9+_.-]", "-", name).strip(".-") or "set"


def write_outputs(
    result: sim.Result, out: Path, source: Path, replicated: Replicated | None = None
) -> list[str]:
    """Write each output atomically (temp file, then rename) into ``out``; return the names.

    Tables as CSV, the request log as Parquet, each chart as PNG and SVG, report.md, and
    report.html: the same report with its charts embedded, one file to attach to a review;
    with ``replicated``, replications.csv (each metric's interval per set) and
    replication_pairs.csv (every two sets' paired differences).
    """
    out.mkdir(parents=True, exist_ok=True)
    figures = charts(result)
    pngs = {f"{stem}.png": _image(figure, "png") for stem, (_, figure) in figures.items()}
    svgs = {f"{stem}.svg": _image(figure, "svg") for stem, (_, figure) in figures.items()}
    report = markdown_report(result, source, {stem: c for stem, (c, _) in figures.items()})
    content = {
        "summary.csv": result.summary.to_csv(index=False).encode(),
        "by_continent.csv": result.by_continent.to_csv(index=False).encode(),
        "by_kind.csv": result.by_kind.to_csv(index=False).encode(),
        "requests.parquet": _parquet(result.requests),
        **pngs,
        **svgs,
        "report.md": report.encode(),
        "report.html": html_report(report, pngs, f"globalness: {source.name}").encode(),
    }
    if replicated is not None:
        content["replications.csv"] = replicated.table.to_csv(index=False).encode()
        content["replication_pairs.csv"] = replicated.versus.to_csv(index=False).encode()
    for name, data in content.items():
        write_atomic(out / name, data)
    return list(content)


def format_optimum(optimum: Optimum) -> str:
    """The best set of each size as a table to read, and how the search went."""
    best = optimum.best
    table = pd.DataFrame(
        {
            "k": best["k"],
            "region set": best["region_set"],
            "added": best["added"],
            "p50 ms": best["p50_ms"].map("{:,.0f}".format),
            "p99 ms": best["p99_ms"].map("{:,.0f}".format),
            "mean ms": best["mean_ms"].map("{:,.0f}".format),
            "USD/month": best["monthly_cost_usd"].map("{:,.2f}".format),
            f"{optimum.objective} gain ms": best["gain_ms"].map(
                lambda gain: "" if pd.isna(gain) else f"{gain:+,.0f}"
            ),
        }
    )
    searched = len(optimum.evaluated)
    return (
        f"best region set of each size for {optimum.objective} latency (the DES re-ran the "
        f"{RECHECK} best of each size)\n{table.to_string(index=False)}\n"
        f"searched {searched:,} region sets in {optimum.seconds:,.0f} s"
    )


def format_sweep(table: pd.DataFrame) -> str:
    """The sweep's rows as a table to read."""
    shown = table.assign(
        **{
            column: table[column].map("{:,.0f}".format)
            for column in ("p50_ms", "p99_ms", "mean_ms")
        },
        monthly_cost_usd=table["monthly_cost_usd"].map("{:,.2f}".format),
        rate_rps=table["rate_rps"].map("{:g}".format),
    )
    return shown.to_string(index=False)


def format_replicated(replicated: Replicated, count: int) -> str:
    """Each metric's mean and confidence interval per region set, then every pair of sets."""
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


def write_optimum(optimum: Optimum, out: Path) -> list[str]:
    """optimize.csv (the best set of each size) and the how-many-regions chart (PNG, SVG)."""
    out.mkdir(parents=True, exist_ok=True)
    figure = optimum.plot()
    content = {
        "optimize.csv": optimum.table().to_csv(index=False).encode(),
        "optimize.png": _image(figure, "png"),
        "optimize.svg": _image(figure, "svg"),
    }
    for name, data in content.items():
        write_atomic(out / name, data)
    return list(content)


def html_report(report: str, pngs: dict[str, bytes], title: str) -> str:
    """report.md as one self-contained HTML page, its PNG charts embedded as data URIs."""
    body = markdown.markdown(report, extensions=["tables"])
    for name, png in pngs.items():
        data = base64.b64encode(png).decode()
        body = body.replace(f'src="{name}"', f'src="data:image/png;base64,{data}"')
    return HTML_PAGE.format(title=html.escape(title), body=body)


def write_atomic(path: Path, content: bytes) -> None:
    """Write ``content`` to a temp file beside ``path``, then rename it into place."""
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)  # mkstemp makes 0600; outputs get the usual mode
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _image(figure: Figure, kind: str) -> bytes:
    """The figure as PNG or SVG bytes, the same for the same run (no dates, fixed SVG ids)."""
    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "globalness"}):
        figure.savefig(buffer, format=kind, dpi=150, metadata=REPRODUCIBLE[kind])
    return buffer.getvalue()


def markdown_report(result: sim.Result, source: Path, captions: dict[str, str]) -> str:
    """report.md: what ran, the verdict, the summary, p50 per continent, the bill by item, what
    each number means, and the charts (``captions`` by file stem)."""
    scenario = result.scenario
    summary = shown(result.summary)
    continents = report.continent_p50(result.requests).reset_index()
    workload, app, users = scenario.workload, scenario.app, scenario.users
    per_month = workload.rate_rps * 30 * 86_400
    return "\n".join(
        [
            f"# globalness: {source.name}",
            "",
            f"{workload.requests:,} requests per region set at {workload.rate_rps:g} req/s, "
            f"{workload.write_share:.0%} writes; {users.count:,} users placed by `{users.where}`; "
            f"primary region `{app.primary_region}`, writes by `{app.writes}`, database plan "
            f"`{scenario.database.plan_or_default}`; seed {scenario.seed}.",
            "",
            "## Verdict",
            "",
            *[f"- {line}" for line in result.summary["verdict"]],
            "",
            "## Latency and cost per region set",
            "",
            markdown_table(summary),
            "",
            "## p50 [ms] by user continent",
            "",
            markdown_table(continents),
            "",
            "## Monthly bill by item [USD]",
            "",
            markdown_table(cost_items(result.summary)),
            "",
            "## Engine",
            "",
            *[f"- {line}" for line in engine_note(result).splitlines()],
            "",
            "## Assumptions",
            "",
            "The scenario's values for what the model assumes rather than measures "
            "(docs/model.md gives each source; change them in the scenario):",
            "",
            *[f"- `{key}`: {value}" for key, value in assumptions(scenario).items()],
            "",
            "## What the numbers mean",
            "",
            "- **p50/p90/p99 ms**: latency of successful requests, from the user's first byte "
            "to the response (network, queueing, cold starts, app, database, replay).",
            f"- **Δ**: change against the baseline `{scenario.baseline}`.",
            f"- **SLO %**: share of all requests (failed ones count as misses) done within "
            f"{scenario.verdict.slo_ms:g} ms (`verdict.slo_ms`).",
            f"- **user-h saved**: per month, {per_month:,.0f} requests "
            f"({workload.rate_rps:g} req/s x 30 days) x the mean latency saved per request "
            "against the baseline, in hours; negative when users wait longer.",
            "- **$/user-h**: the extra monthly cost over the user-hours saved (0 when the set "
            "is also cheaper; blank when it saves no time).",
            "- **compute**: each Machine's preset price x region multiplier for the share of the "
            "month it was started (Fly bills per second); **storage**: rootfs of stopped or "
            "suspended Machines and volumes; **egress**: responses to the internet by the edge's "
            "region group, plus private-network transfer between regions (responses served "
            "elsewhere, database queries from other regions, replication to replicas); "
            "**database**: the plan, storage above its allowance and one plan per read "
            "replica; **IPv4**: a dedicated address. Prices and dates: data/README.md.",
            "",
            "## Charts",
            "",
            *[f"![{caption}]({stem}.png)\n" for stem, caption in captions.items()],
        ]
    )


def assumptions(scenario: sim.Scenario) -> dict[str, str]:
    """The scenario keys that carry assumptions, with their values as the run used them."""
    app, database, network, workload = (
        scenario.app, scenario.database, scenario.network, scenario.workload,
    )  # fmt: skip
    return {
        "users.mobile_share": f"{scenario.users.mobile_share:.0%} of users on mobile access",
        "workload.response_kb": f"{workload.response_kb:g} kB per response",
        "app.service_ms": f"{app.service_ms:g} ms of app time per request (cv {app.service_cv:g})",
        "app.cold_start_s": f"{app.cold_start_s:g} s to start a stopped Machine",
        "app.rootfs_gb": f"{app.rootfs_gb:g} GB of rootfs per Machine",
        "database.query_ms": f"{database.query_ms:g} ms per query",
        "database.storage_gb": f"{database.storage_gb:g} GB of data",
        "database.replica_usd_month": "one more plan per read replica"
        if database.replica_usd_month is None
        else f"${database.replica_usd_month:,.2f} per read replica",
        "network.new_connection_share": f"{network.new_connection_share:.0%} of requests open "
        f"a connection ({network.protocol})",
        "network.anycast_miss_share": f"{network.anycast_miss_share:.0%} of users reach a "
        "farther edge",
        "verdict.slo_ms": f"{scenario.verdict.slo_ms:g} ms objective",
    }


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub markdown table: dollars to the cent, everything else to the unit, NaN as -."""

    def cell(column: str, value) -> str:
        if isinstance(value, int | float | np.number) and not isinstance(value, bool):
            if np.isnan(value):
                return "-"
            cents = "$" in column or column in COST_ITEMS.values()
            return f"{value:,.2f}" if cents else f"{value:,.0f}"
        return str(value)

    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = [
        "| " + " | ".join(cell(c, v) for c, v in zip(frame.columns, row, strict=True)) + " |"
        for row in frame.itertuples(index=False)
    ]
    return "\n".join([header, rule, *rows])


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
    app, workload, database = scenario.app, scenario.workload, scenario.database
    hard = app.hard_limit or "none"
    replicas = "all" if database.replicas == "all" else ",".join(database.replicas) or "none"
    lines = [
        f"{workload.requests:,} requests per region set at {workload.rate_rps:g} req/s "
        f"({workload.requests / workload.rate_rps / 3600:.2f} h simulated), "
        f"{workload.write_share:.0%} writes; {scenario.users.count:,} users by "
        f"{scenario.users.where if not isinstance(scenario.users.where, dict) else 'mix'}",
        f"app: primary {app.primary_region}, {app.vm} {app.ram_mb} MB, concurrency "
        f"{app.concurrency_type} soft {app.soft_limit} hard {hard}, auto_stop {app.auto_stop}, "
        f"auto_start {str(app.auto_start).lower()}, min_machines_running "
        f"{app.min_machines_running}, writes by {app.writes}",
        f"database: {scenario.database_region}, plan {database.plan_or_default}, "
        f"replicas {replicas}",
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
            lines.append(f"engine (auto): analytic for {names}, unless Erlang C finds queues")
    return "\n".join(lines)

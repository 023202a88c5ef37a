"""report.md: the review report of a run, in Markdown (sim.outputs renders it as HTML)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import sim
from sim import report
from sim.cpu_notes import cpu_notes
from sim.data import CONTINENT_NAMES
from sim.database_notes import database_notes, placements
from sim.provenance import Provenance
from sim.replications import Replicated
from sim.report import latency
from sim.tables import (
    BILL_COLUMNS,
    cost_items,
    database_lines,
    engine_note,
    shown,
    terminal_formats,
)  # fmt: skip


def markdown_report(
    result: sim.Result,
    source: Path,
    captions: dict[str, str],
    provenance: Provenance,
    replicated: Replicated | None = None,
) -> str:
    """report.md: where it came from, what ran, the verdict, the summary, p50 per continent,
    the bill by item, what each number means, and the charts (``captions`` by file stem)."""
    scenario = result.scenario
    workload, app, users = scenario.workload, scenario.app, scenario.users
    return "\n".join(
        [
            f"# globalness: {source.name}",
            "",
            f"{workload.requests:,} requests per region set at {workload.rate_rps:g} req/s, "
            f"{workload.write_share:.0%} writes; {users.count:,} users placed by `{users.where}`; "
            f"primary region `{app.primary_region}`, writes by `{app.writes}`; "
            f"seed {scenario.seed}.",
            "",
            *provenance.lines(scenario),
            "## Verdict",
            "",
            *bullets(result.summary["verdict"]),
            "",
            *replications_section(replicated),
            *tables_section(result),
            "## Database",
            "",
            *bullets(database_lines(scenario)),
            *bullets(placements(scenario)),
            *bullets(database_notes(scenario)),
            "",
            *cpu_section(result),
            "## Engine",
            "",
            *bullets(engine_note(result).splitlines()),
            "",
            "## Assumptions",
            "",
            "The scenario's values for what the model assumes rather than measures "
            "(docs/model.md gives each source; change them in the scenario):",
            "",
            *[f"- `{key}`: {value}" for key, value in assumptions(scenario).items()],
            "",
            *meanings_section(scenario),
            "## Charts",
            "",
            *[chart_section(stem, caption) for stem, caption in captions.items()],
        ]
    )


def bullets(lines) -> list[str]:
    """``lines`` as a Markdown list."""
    return [f"- {line}" for line in lines]


def tables_section(result: sim.Result) -> list[str]:
    """The report's tables: latency and cost per region set, p50 per user continent, and the
    monthly bill by item."""
    summary = shown(result.summary)
    continents = report.continent_p50(result.requests).rename(columns=CONTINENT_NAMES)
    continents = continents.reset_index()
    return [
        "## Latency and cost per region set",
        "",
        markdown_table(summary, terminal_formats(summary)),
        "",
        "## p50 [ms] by user continent",
        "",
        markdown_table(continents, dict.fromkeys(continents.columns, latency)),
        "",
        "## Monthly bill by item [USD]",
        "",
        markdown_table(cost_items(result.summary)),
        "",
    ]


def meanings_section(scenario: sim.Scenario) -> list[str]:
    """What each column of the report's tables means, with the scenario's baseline, SLO and
    request rate."""
    workload = scenario.workload
    per_month = workload.rate_rps * 30 * 86_400
    return [
        "## What the numbers mean",
        "",
        "- **p50/p90/p99 ms**: latency from the user's first byte to the response (network, "
        "queueing, cold starts, app, CPU throttling, database, replay) over every request, "
        "a failed one counted as slower than any success: `failed` when the quantile falls "
        "on failures. `summary.csv` also has them over successful requests only "
        "(`p50_ok_ms`, ...); **failed %** and **Δfailed %** appear when a set fails.",
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
        "region group, plus private-network transfer when a response is served in another "
        "region than its edge; **db compute, db storage, db transfer**: the database as its "
        "product prices it (a plan, Machines, CU-hours, replicas; provisioned storage and "
        "volumes; query results and replication leaving a Fly region, or a provider's "
        "transfer beyond its allowance); **IPv4**: a dedicated address. Prices and dates: "
        "data/README.md.",
        "",
    ]


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
        "database.query_kb": f"{database.query_kb:g} kB per query result",
        "database.storage_gb": f"{database.storage_gb:g} GB of data",
        "database.replication_kb_per_write": f"{database.replication_kb_per_write:g} kB of log "
        "per write to each copy",
        "database.pooling": "the app keeps a connection pool"
        if database.pooling
        else f"each request opens a connection ({database.connect_rtts} round trips)",
        "network.new_connection_share": f"{network.new_connection_share:.0%} of requests open "
        f"a connection ({network.protocol})",
        "network.anycast_miss_share": f"{network.anycast_miss_share:.0%} of users reach a "
        "farther edge",
        "verdict.slo_ms": f"{scenario.verdict.slo_ms:g} ms objective",
    }


CHART_NOTES = {  # file stem (or its prefix) -> what to read in it
    "latency_cdf": "Each curve is a region set's requests by latency; a set that fails some "
    "ends below 1, by its failed share.",
    "cost_latency": "p99 with failures counted against the monthly bill; a cross at the top "
    "fails at p99. The dashed line joins the sets no other beats on both.",
    "continents": "Solid bars p50, light bars p99, per continent of the users.",
    "latency_parts": "Where the time of successful requests goes, by part and continent.",
    "cost_breakdown": "The monthly bill of each set, by item.",
    "latency_daily": "p50 and p99 per UTC hour of the day.",
    "map_": "Each place of users coloured by its p50, on one colour scale for every map of "
    "this report.",
}


def chart_section(stem: str, caption: str) -> str:
    """A chart with its heading and a sentence on how to read it."""
    note = next((text for key, text in CHART_NOTES.items() if stem.startswith(key)), "")
    return f"### {caption[0].upper()}{caption[1:]}\n\n{note}\n\n![{caption}]({stem}.png)\n"


def markdown_table(frame: pd.DataFrame, formats: dict | None = None) -> str:
    """A GitHub markdown table: ``formats`` per column as the terminal prints them, else
    dollars to the cent, everything else to the unit, NaN as -."""
    formats = formats or {}

    def cell(column: str, value) -> str:
        if isinstance(value, int | float | np.number) and not isinstance(value, bool):
            if np.isnan(value):
                return "-"
            if column in formats:
                return formats[column](value)
            cents = "$" in column or column in BILL_COLUMNS.values()
            return f"{value:,.2f}" if cents else f"{value:,.0f}"
        return str(value)

    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = [
        "| " + " | ".join(cell(c, v) for c, v in zip(frame.columns, row, strict=True)) + " |"
        for row in frame.itertuples(index=False)
    ]
    return "\n".join([header, rule, *rows])


def cpu_section(result: sim.Result) -> list[str]:
    """The report's CPU section: one line per throttled region set; none when none is."""
    lines = cpu_notes(result.machines)
    if not lines:
        return []
    return ["## CPU", "", *bullets(lines), ""]


def replications_section(replicated: Replicated | None) -> list[str]:
    """With replications, which differences between sets are more than noise."""
    if replicated is None:
        return []
    return [
        "Over the replications (independent seeds), which differences are more than noise "
        "(`replication_pairs.csv`):",
        "",
        *bullets(replicated.sentences()),
        "",
    ]

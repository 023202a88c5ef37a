"""What a run shows and leaves: the terminal table, CSV and JSON, report.md; files written
atomically."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

import sim
from sim import report

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
}
DYNAMICS = {"error_rate": "failed %", "cold_starts": "cold starts", "stale_reads": "stale reads"}


def format_summary(result: sim.Result) -> str:
    """The terminal view: one row per region set, then p50 per continent."""
    table = shown(result.summary).set_index("region set")
    continents = report.continent_p50(result.requests)
    continents = continents.rename_axis(index="p50 ms by continent", columns=None)
    return "\n".join(
        [
            table.to_string(formatters=_formats(table)),
            "",
            continents.to_string(float_format=lambda v: f"{v:,.0f}"),
        ]
    )


def shown(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary columns people read: latency, cost, changes, and the dynamics that occurred
    (failures as a percentage, cold starts, stale reads) when any region set has them."""
    table = summary[list(SHOWN)].rename(columns=SHOWN)
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
    for column in ("Δp50 ms", "Δp99 ms"):
        formats[column] = signed
    return formats


def write_outputs(result: sim.Result, out: Path, source: Path) -> list[str]:
    """Write each output atomically (temp file, then rename) into ``out``; return the names."""
    out.mkdir(parents=True, exist_ok=True)
    content = {
        "summary.csv": result.summary.to_csv(index=False).encode(),
        "by_continent.csv": result.by_continent.to_csv(index=False).encode(),
        "by_kind.csv": result.by_kind.to_csv(index=False).encode(),
        "requests.parquet": _parquet(result.requests),
        "latency_cdf.png": _png(result.plot_cdf()),
        "report.md": markdown_report(result, source).encode(),
    }
    for name, data in content.items():
        write_atomic(out / name, data)
    return list(content)


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


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=150)
    return buffer.getvalue()


def markdown_report(result: sim.Result, source: Path) -> str:
    """A short report.md: what ran, the summary, p50 per continent, and the chart."""
    summary = shown(result.summary)
    continents = report.continent_p50(result.requests).reset_index()
    workload, app, users = result.scenario.workload, result.scenario.app, result.scenario.users
    return "\n".join(
        [
            f"# globalness: {source.name}",
            "",
            f"{workload.requests:,} requests per region set at {workload.rate_rps:g} req/s, "
            f"{workload.write_share:.0%} writes; {users.count:,} users placed by `{users.where}`; "
            f"primary region `{app.primary_region}`, writes by `{app.writes}`; "
            f"seed {result.scenario.seed}.",
            "",
            "## Latency and cost per region set",
            "",
            markdown_table(summary),
            "",
            "## p50 [ms] by user continent",
            "",
            markdown_table(continents),
            "",
            "![latency CDF](latency_cdf.png)",
            "",
        ]
    )


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub markdown table: dollars to the cent, everything else to the unit."""

    def cell(column: str, value) -> str:
        if isinstance(value, int | float | np.number) and not isinstance(value, bool):
            return f"{value:,.2f}" if "$" in column else f"{value:,.0f}"
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
    memory = f"{app.memory_mb} MB" if app.memory_mb else "preset memory"
    hard = app.hard_limit or "none"
    replicas = "all" if database.replicas == "all" else ",".join(database.replicas) or "none"
    lines = [
        f"{workload.requests:,} requests per region set at {workload.rate_rps:g} req/s "
        f"({workload.requests / workload.rate_rps / 3600:.2f} h simulated), "
        f"{workload.write_share:.0%} writes; {scenario.users.count:,} users by "
        f"{scenario.users.where if not isinstance(scenario.users.where, dict) else 'mix'}",
        f"app: primary {app.primary_region}, {app.vm} {memory}, concurrency "
        f"{app.concurrency_type} soft {app.soft_limit} hard {hard}, auto_stop {app.auto_stop}, "
        f"auto_start {str(app.auto_start).lower()}, min_machines_running "
        f"{app.min_machines_running}, writes by {app.writes}",
        f"database: {scenario.database_region}, replicas {replicas}",
    ]
    for name, codes in scenario.named_region_sets.items():
        machines = ", ".join(
            f"{code} {count}" for code, count in zip(codes, app.machines_in(codes), strict=True)
        )
        lines.append(f"region set {name}: Machines {machines}")
    return "\n".join(lines)

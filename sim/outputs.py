"""What a run leaves: the tables as CSV, the request log, every chart as PNG and SVG,
report.md and report.html; the folder written as a unit (sim.output_folder)."""

from __future__ import annotations

import base64
import html
import io
import re
from pathlib import Path

import markdown
import matplotlib
import pandas as pd
from matplotlib.figure import Figure

import sim
from sim.output_folder import write_folder
from sim.plots import covers_a_day
from sim.provenance import Provenance
from sim.replications import Replicated
from sim.review import markdown_report
from sim.scenario_files import dump_scenario
from sim.search import Optimum

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
table {{ border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; display: block;
  max-width: 100%; overflow-x: auto; }}
pre {{ max-width: 100%; overflow-x: auto; }}
th, td {{ border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
img {{ max-width: 100%; }}
</style></head>
<body>
{body}
</body></html>
"""


def charts(result: sim.Result) -> dict[str, tuple[str, Figure]]:
    """The run's charts by file stem, with their captions; latency over the day only when the
    run covers DAILY_MIN_HOURS."""
    figures = {
        stem: (caption, getattr(result, method)())
        for stem, (method, caption) in CHARTS.items()
        if stem != "latency_daily" or covers_a_day(result.requests)
    }
    for name, stem in unique_stems(list(result.scenario.candidates)).items():
        figures[f"map_{stem}"] = (f"{name}: users by p50", result.plot_map(name))
    return figures


def chart_count(scenario: sim.Scenario) -> int:
    """How many charts `charts` draws at most (the estimate counts them)."""
    return len(CHARTS) + len(scenario.candidates)


def unique_stems(names: list[str]) -> dict[str, str]:
    """Each name's file stem, unique: a stem already taken (``a b`` and ``a-b``,
    ``hetzner:fsn1`` beside a set ``hetzner-fsn1``) gets ``-2``, ``-3``... in the names' order,
    compared without case (for case-insensitive file systems)."""
    taken: set[str] = set()
    stems = {}
    for name in names:
        stem, k = file_stem(name), 2
        candidate = stem
        while candidate.lower() in taken:
            candidate, k = f"{stem}-{k}", k + 1
        taken.add(candidate.lower())
        stems[name] = candidate
    return stems


def file_stem(name: str) -> str:
    """A region set's name as part of a file name: letters, digits and + _ . - only."""
    return re.sub(r"[^A-Za-z0-9+_.-]", "-", name).strip(".-") or "set"


def write_outputs(
    result: sim.Result,
    out: Path,
    source: Path,
    replicated: Replicated | None = None,
    provenance: Provenance | None = None,
) -> list[str]:
    """Write each output atomically (temp file, then rename) into ``out``; return the names.

    Tables as CSV, the request log as Parquet, each chart as PNG and SVG, the resolved
    scenario as scenario.yaml (it reproduces every CSV), report.md, and report.html: the same
    report with its charts embedded, one file to attach to a review, opening with its
    ``provenance`` (default: now, from Python); with ``replicated``, replications.csv (each
    metric's interval per set) and replication_pairs.csv (every two sets' paired differences).
    """
    provenance = provenance or Provenance.now("sim.run, from Python")
    figures = charts(result)
    pngs = {f"{stem}.png": _image(figure, "png") for stem, (_, figure) in figures.items()}
    svgs = {f"{stem}.svg": _image(figure, "svg") for stem, (_, figure) in figures.items()}
    captions = {stem: caption for stem, (caption, _) in figures.items()}
    report = markdown_report(result, source, captions, provenance, replicated)
    content = {
        "scenario.yaml": dump_scenario(result.scenario, str(source)).encode(),
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
    return write_folder(out, content, sim.__version__)


def write_optimum(
    optimum: Optimum,
    scenario: sim.Scenario,
    out: Path,
    source: Path,
    provenance: Provenance,
    text: str,
) -> list[str]:
    """optimize.csv (the best set of each size), the how-many-regions chart (PNG, SVG), and
    a report of them (``text``: the table as printed) with its provenance."""
    figure = optimum.plot()
    png = _image(figure, "png")
    report = study_report(
        f"optimize {source.name}", scenario, provenance, text,
        {"optimize": "the best set of each size: latency and monthly cost"},
    )  # fmt: skip
    content = {
        "optimize.csv": optimum.table().to_csv(index=False).encode(),
        "optimize.png": png,
        "optimize.svg": _image(figure, "svg"),
        "report.md": report.encode(),
        "report.html": html_report(report, {"optimize.png": png}, source.name).encode(),
    }
    return write_folder(out, content, sim.__version__)


def write_sweep(
    table: pd.DataFrame,
    scenario: sim.Scenario,
    out: Path,
    source: Path,
    provenance: Provenance,
    text: str,
) -> list[str]:
    """sweep.csv and a report of it (``text``: the table as printed) with its provenance."""
    report = study_report(f"sweep {source.name}", scenario, provenance, text, {})
    content = {
        "sweep.csv": table.to_csv(index=False).encode(),
        "report.md": report.encode(),
        "report.html": html_report(report, {}, source.name).encode(),
    }
    return write_folder(out, content, sim.__version__)


def study_report(
    title: str, scenario: sim.Scenario, provenance: Provenance, text: str, charts: dict
) -> str:
    """The report of a study (optimize, sweep): its provenance, its table as printed, its
    charts (``charts``: file stem -> caption)."""
    provenance_lines = [line for line in provenance.lines(scenario) if "scenario.yaml" not in line]
    return "\n".join(
        [
            f"# globalness {title}",
            "",
            *provenance_lines,
            "## Result",
            "",
            "```",
            text,
            "```",
            "",
            *[f"### {caption}\n\n![{caption}]({stem}.png)\n" for stem, caption in charts.items()],
        ]
    )


def html_report(report: str, pngs: dict[str, bytes], title: str) -> str:
    """report.md as one self-contained HTML page, its PNG charts embedded as data URIs."""
    converter = markdown.Markdown(extensions=["tables"])
    converter.preprocessors.deregister("html_block")  # HTML in a name or a warning stays text
    converter.inlinePatterns.deregister("html")
    body = converter.convert(report)
    for name, png in pngs.items():
        data = base64.b64encode(png).decode()
        body = body.replace(f'src="{name}"', f'src="data:image/png;base64,{data}"')
    return HTML_PAGE.format(title=html.escape(title), body=body)


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

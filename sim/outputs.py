"""What a run leaves: the tables as CSV, the request log (sim.log_file), its charts as PNG,
SVG, both or none (sim.chart_files), report.md and report.html; the folder written as a unit
(sim.output_folder). `globalness run --out` and `Result.save` both write it here."""

from __future__ import annotations

import base64
import html
from functools import partial
from pathlib import Path

import markdown
import pandas as pd

import sim
from sim.chart_files import CHARTS, FORMATS, captions, chart_jobs, image
from sim.errors import ScenarioError
from sim.fork_pool import run_jobs
from sim.log_file import log_file
from sim.output_folder import LOGS, check_log, write_folder
from sim.provenance import Provenance
from sim.replications import Replicated
from sim.review import markdown_report
from sim.scenario_files import dump_scenario
from sim.search import Optimum

DEFAULT_CHARTS, DEFAULT_LOG = "png", "csv"  # SVG when asked: it takes as long again
PYTHON_SOURCE = Path("scenario")  # the source a report names when given none (from Python)
MIME = {".png": "image/png", ".svg": "image/svg+xml"}
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


def chart_count(scenario: sim.Scenario) -> int:
    """How many charts a run draws at most (the estimate counts them)."""
    return len(CHARTS) + len(scenario.candidates)


def check_save(charts: str, log: str) -> None:
    """Refuse, in one line naming the option, charts or a log format that cannot be written
    (before anything is simulated, where the command line can)."""
    if charts not in FORMATS:
        raise ScenarioError(f"--charts: {charts!r}: allowed {', '.join(FORMATS)}")
    check_log(log)


def write_outputs(
    result: sim.Result,
    out: Path,
    source: Path | None = None,
    replicated: Replicated | None = None,
    provenance: Provenance | None = None,
    *,
    charts: str = DEFAULT_CHARTS,
    log: str = DEFAULT_LOG,
) -> list[str]:
    """Write the run's files (`run_files`) as the folder ``out``, whole; return their names."""
    return write_folder(out, run_files(result, source, replicated, provenance, charts, log),
                        sim.__version__)  # fmt: skip


def run_files(
    result: sim.Result,
    source: Path | None = None,
    replicated: Replicated | None = None,
    provenance: Provenance | None = None,
    charts: str = DEFAULT_CHARTS,
    log: str = DEFAULT_LOG,
) -> dict[str, bytes]:
    """The files of a run, by name: the resolved scenario as scenario.yaml (it reproduces
    every CSV), the tables as CSV, the request log (``log``: csv for requests.csv.gz, parquet
    for requests.parquet), each chart as ``charts`` (png, svg, both or none), report.md, and
    report.html: the same report with its charts embedded, one file to attach to a review,
    opening with its ``provenance`` (default: now, from Python); with ``replicated``,
    replications.csv (each metric's interval per set) and replication_pairs.csv (every two
    sets' paired differences). All but report.html are jobs on two processes
    (sim.fork_pool), the slowest first: the log, two charts, the tables and report.md.
    """
    check_save(charts, log)
    source = source or PYTHON_SOURCE
    provenance = provenance or Provenance.now("sim.run, from Python")
    kinds = FORMATS[charts]
    tables = partial(table_files, result, source, provenance, replicated, kinds)
    charted = chart_jobs(result, kinds)
    made = run_jobs([partial(log_file, result.requests, log), *charted[:2], tables, *charted[2:]])
    images = {name: data for name, data in made.items() if Path(name).suffix in MIME}
    report = made["report.md"].decode()
    made["report.html"] = html_report(report, images, f"globalness: {source.name}").encode()
    first = ["scenario.yaml", "summary.csv", "by_continent.csv", "by_kind.csv", LOGS[log]]
    last = ["report.md", "report.html", "replications.csv", "replication_pairs.csv"]
    stems = list(captions(result))
    charts_order = sorted(images, key=lambda name: (name.endswith(".svg"), stems.index(name[:-4])))
    order = [*first, *charts_order, *last]
    return {name: made[name] for name in order if name in made}


def table_files(
    result: sim.Result,
    source: Path,
    provenance: Provenance,
    replicated: Replicated | None,
    kinds: tuple[str, ...],
) -> dict[str, bytes]:
    """scenario.yaml, the tables as CSV, and report.md with a section per chart (its PNG,
    or its SVG when only that is made, ``kinds``)."""
    files = {
        "scenario.yaml": dump_scenario(result.scenario, str(source)).encode(),
        "summary.csv": result.summary.to_csv(index=False).encode(),
        "by_continent.csv": result.by_continent.to_csv(index=False).encode(),
        "by_kind.csv": result.by_kind.to_csv(index=False).encode(),
        "report.md": run_report(result, source, provenance, replicated, kinds).encode(),
    }
    if replicated is not None:
        files["replications.csv"] = replicated.table.to_csv(index=False).encode()
        files["replication_pairs.csv"] = replicated.versus.to_csv(index=False).encode()
    return files


def run_report(
    result: sim.Result,
    source: Path,
    provenance: Provenance,
    replicated: Replicated | None,
    kinds: tuple[str, ...],
) -> str:
    """report.md, with a section for each chart when any is made as ``kinds``: its PNG,
    else its SVG."""
    shown = captions(result) if kinds else {}
    report = markdown_report(result, source, shown, provenance, replicated)
    if "png" not in kinds:  # the report names the PNG; only the SVG is made
        for stem in shown:
            report = report.replace(f"]({stem}.png)", f"]({stem}.svg)")
    return report


def report_html(
    result: sim.Result,
    source: Path | None = None,
    replicated: Replicated | None = None,
    provenance: Provenance | None = None,
) -> str:
    """report.html as `run_files` writes it with PNG charts (`Result.to_html`)."""
    source = source or PYTHON_SOURCE
    provenance = provenance or Provenance.now("sim.run, from Python")
    kinds = FORMATS["png"]
    report = partial(run_report, result, source, provenance, replicated, kinds)
    made = run_jobs([lambda: {"report.md": report().encode()}, *chart_jobs(result, kinds)])
    return html_report(made.pop("report.md").decode(), made, f"globalness: {source.name}")


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
    png = image(figure, "png")
    report = study_report(
        f"optimize {source.name}", scenario, provenance, text,
        {"optimize": "the best set of each size: latency and monthly cost"},
    )  # fmt: skip
    content = {
        "optimize.csv": optimum.table().to_csv(index=False).encode(),
        "optimize.png": png,
        "optimize.svg": image(figure, "svg"),
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


def html_report(report: str, images: dict[str, bytes], title: str) -> str:
    """report.md as one self-contained HTML page, its charts (PNG or SVG) embedded as data
    URIs."""
    converter = markdown.Markdown(extensions=["tables"])
    converter.preprocessors.deregister("html_block")  # HTML in a name or a warning stays text
    converter.inlinePatterns.deregister("html")
    body = converter.convert(report)
    for name, data in images.items():
        if f'src="{name}"' in body:  # with both PNG and SVG, the report shows the PNG
            uri = f"data:{MIME[Path(name).suffix]};base64,{base64.b64encode(data).decode()}"
            body = body.replace(f'src="{name}"', f'src="{uri}"')
    return HTML_PAGE.format(title=html.escape(title), body=body)

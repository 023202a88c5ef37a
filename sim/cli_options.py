"""What the commands share: the options that read a scenario, --format, the estimate printed
before a long run, the provenance of a run.

Like every module of the command line it imports only click at the top: what a command
needs (pandas, the engines, matplotlib) it imports when it runs, so that `globalness --help`
and shell completion start in a fraction of a second (benchmarks/run.py measures it).
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sim.choices import FORMATS

if TYPE_CHECKING:
    import pandas as pd

    import sim
    from sim.footprint import Estimate
    from sim.provenance import Provenance

FORMAT = click.option(
    "--format", "format_", type=click.Choice(FORMATS), default="table", show_default=True,
    help="what stdout gets: a table to read, CSV, or JSON",
)  # fmt: skip


def scenario_options(command, region_sets: bool = True):
    """The options that shape a scenario as it is read: shared by `run`, `validate`, `sweep`,
    `size` and (without --regions) `optimize`."""
    regions_option = click.option(
        "--regions", "region_sets", multiple=True, metavar="a,b,c",
        help="a region set (repeat for more); replaces the scenario's",
    )  # fmt: skip
    options = [
        click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path)),
        *([regions_option] if region_sets else []),
        click.option(
            "--primary", "primary_region", metavar="REGION",
            help="the primary region (where writes and the database live)",
        ),
        click.option(
            "--count", "scale_count", type=click.IntRange(1, 10_000), metavar="N",
            help="N Machines per region set, spread like `fly scale count N --region a,b,c`",
        ),
        click.option(
            "--set", "settings", multiple=True, metavar="KEY=VALUE", callback=parse_settings,
            help="set a scenario key by its dotted path, e.g. workload.rate_rps=200 (repeatable)",
        ),
        click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="the root random seed"),
        click.option("--strict", is_flag=True, help="refuse regions Fly.io deprecated in 2025"),
    ]  # fmt: skip
    for option in reversed(options):
        command = option(command)
    return command


def parse_settings(context, parameter, given: tuple[str, ...]) -> dict[str, object]:
    """`--set a.b=VALUE` pairs; each VALUE is read as a YAML scalar (200, 90s, true, [a, b])."""
    settings = {}
    for text in given:
        key, equals, value = text.partition("=")
        if not equals or not key.strip():
            raise click.BadParameter(f"{text!r} is not KEY=VALUE (e.g. workload.rate_rps=200)")
        from sim.scenario_files import load_setting  # only when given: completion calls this

        settings[key.strip()] = load_setting(value)
    return settings


def read_scenario(scenario: Path, region_sets: tuple[str, ...], **overrides) -> sim.Scenario:
    from sim.scenario_files import load_scenario

    sets = [[code.strip() for code in text.split(",") if code.strip()] for text in region_sets]
    return load_scenario(scenario, region_sets=sets or None, **overrides)


def checked(estimate: Estimate, scenario: Path, yes: bool, quiet: bool, doing: str) -> None:
    """Refuse a command whose ``estimate`` is too large (`Estimate.check`), else say on
    stderr what it is ``doing`` and about how long and how much memory it takes."""
    estimate.check(source=str(scenario), large_ok=yes)
    if not quiet:
        click.echo(f"{doing}, about {estimate}", err=True)


def provenance_here() -> Provenance:
    """This run's provenance: the command as typed and the warnings printed so far (the
    context `sim.cli.main` gives every command)."""
    from sim.provenance import Provenance

    found = click.get_current_context().find_root().obj or {}
    typed = shlex.join(found.get("argv", []))
    return Provenance.now(f"globalness {typed}".rstrip(), found.get("warnings", []))


def echo_table(table: pd.DataFrame, format_: str, text: str | None = None) -> None:
    """A table on stdout as --format asks: ``text`` (else the table as pandas prints it) to
    read, CSV, or JSON records; an index that names the rows (a region code, a corridor)
    becomes the first column."""
    import pandas as pd  # already imported: ``table`` is a DataFrame

    if format_ == "table":
        click.echo(table.to_string() if text is None else text)
        return
    if not isinstance(table.index, pd.RangeIndex):
        table = table.reset_index()
    if format_ == "csv":
        click.echo(table.to_csv(index=False), nl=False)
    else:
        click.echo(table.to_json(orient="records", indent=1))


class OutFolder(click.Path):
    """An output folder, as text: refused when empty (which a Path would read as the current
    folder); the rest is checked by sim.output_folder.check_out before simulating."""

    def __init__(self):
        super().__init__(file_okay=False, path_type=Path)

    def convert(self, value, param, context):
        if isinstance(value, str) and not value.strip():
            self.fail("'' is empty; give a folder such as out/run", param, context)
        return super().convert(value, param, context)

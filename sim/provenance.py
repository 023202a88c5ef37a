"""Where a report came from: when it ran, which globalness, the command as typed, the seed,
the dates of the data behind the prices and regions, every warning the run printed, and the
defaults its files left to the tool. Kept out of the CSVs, which stay the same run to run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version

from sim.scenario import Scenario

DATA_DATES = {  # what the bill and the regions rest on, and as of when (data/README.md)
    "Fly Machine, volume and transfer prices": "the pricing page captured 2025-08-19",
    "Fly regions, their status and replacements": "the regions docs of 2025-10-28",
    "database products, plans and regions": "per row in data/README.md (2025-08 to 2026-09)",
}


@dataclass(frozen=True)
class Provenance:
    """A run's provenance: ``when`` (UTC, to the second), ``version``, ``command`` as typed,
    and the ``warnings`` it printed, in order."""

    when: str
    version: str
    command: str
    warnings: tuple[str, ...] = ()

    @classmethod
    def now(cls, command: str, warnings: tuple[str, ...] | list[str] = ()) -> Provenance:
        try:
            installed = version("globalness")
        except PackageNotFoundError:  # a checkout that was never installed
            installed = "0+unknown"
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return cls(when, installed, command, tuple(warnings))

    def lines(self, scenario: Scenario) -> list[str]:
        """The report's opening section, in Markdown."""
        return [
            "## Where this report came from",
            "",
            f"- run {self.when} with globalness {self.version}: `{self.command}`",
            f"- seed {scenario.seed}; the resolved scenario is `scenario.yaml` beside this "
            "report (`globalness run scenario.yaml` reproduces every CSV)",
            *[f"- {what}: {when}" for what, when in DATA_DATES.items()],
            *([f"- warning: {line}" for line in self.warnings] or ["- no warnings"]),
            "",
            *assumed_section(scenario),
        ]


def assumed_section(scenario: Scenario) -> list[str]:
    """The defaults the scenario's files left to the tool, under their own heading."""
    if not scenario.assumed:
        return []
    return [
        "## Assumed, not from your files",
        "",
        *[f"- {line}" for line in scenario.assumed],
        "",
        "Set them in a scenario YAML or with `--set` to make the numbers yours.",
        "",
    ]

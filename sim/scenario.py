"""The scenario schema: frozen, validated sections from users to region sets.

Everything past this module sees typed, checked values; nothing else reads a raw mapping.
Durations accept units (`90s`, `15m`, `24h`, `400ms`) and sizes accept `512mb`, `1gb`, `20kb`;
plain numbers are in the unit the field's name ends with.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Annotated

from pydantic import (
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from sim.app_config import App
from sim.checks import did_you_mean, one_line, region_code
from sim.data import alternative_sites
from sim.database_config import SHARED_WITH_THE_RUN, Database, Layout
from sim.errors import ScenarioError, ScenarioWarning
from sim.fields import PositiveMs, Seconds, Strict
from sim.network_config import Network
from sim.workload_config import Users, Workload

SET_NAME = re.compile(r"[^./\\\s][^/\\\x00-\x1f\x7f]{0,63}")  # a name cannot be a path


class Fault(Strict):
    """A region down for a window: its edge and Machines take no traffic."""

    region: str = Field(description="region code")
    start_s: Seconds = Field(ge=0, le=366 * 86_400, description="start, after the run starts [s]")
    duration_s: Seconds = Field(gt=0, le=366 * 86_400, description="length of the outage [s]")

    @field_validator("region")
    @classmethod
    def _region(cls, value: str, info: ValidationInfo) -> str:
        return region_code(value, info)


class Verdict(Strict):
    """What the verdict compares against, and the latency objective it counts."""

    baseline: str | None = Field(
        None, description="the region set or alternative the others are compared with; the first "
        "region set if unset",
    )  # fmt: skip
    slo_ms: PositiveMs = Field(
        300.0, description="latency objective: the share of requests that finish within it"
    )
    usd_per_user_hour: float | None = Field(
        None,
        gt=0,
        le=1e6,
        description="what an hour of your users' waiting is worth to you [USD]; the verdict "
        "calls a set worth it when it saves time for less than this (no judgement if unset)",
    )


class Sweep(Strict):
    """What `globalness sweep` runs the region sets over; its --loads and --seeds win."""

    loads: list[Annotated[float, Field(gt=0, le=1e6)]] | None = Field(
        None, min_length=1, description="request rates to run at [requests/s]; "
        "workload.rate_rps alone if unset",
    )  # fmt: skip
    seeds: int = Field(1, ge=1, le=10_000, description="independent replications of each load")


class Scenario(Strict):
    """A whole scenario: users, workload, app, database, network, region sets, seed."""

    @property
    def assumed(self) -> tuple[str, ...]:
        """The defaults filled in for sections the scenario's files left unset, one sentence
        each (sim.scenario_files sets them when it reads the files)."""
        return self._assumed

    seed: int = Field(0, ge=0, le=2**63 - 1, description="root of every random stream")
    _assumed: tuple[str, ...] = PrivateAttr(())  # the sections its files left unset
    users: Users = Users()
    workload: Workload = Workload()
    app: App
    database: Database = Database()
    databases: dict[str, Database] | None = Field(
        None,
        description="database choices compared side by side: every region set runs with each, "
        "named `<set> on <choice>`; a choice sets database keys over `database`, all but the "
        "ones the run's draws share (queries_per_read, queries_per_write, query_ms, "
        "read_your_writes_s)",
    )
    network: Network = Network()
    faults: list[Fault] = Field(default_factory=list, description="regions down for a window")
    region_sets: list[list[str]] | dict[str, list[str]] = Field(
        description="candidate region sets, as lists (labelled a+b+c) or a mapping of name to list"
    )
    alternatives: list[str] = Field(
        default_factory=list,
        description="single-region hosts run on the same workload, without an anycast edge: "
        "`hetzner:fsn1`, `digitalocean:fra1`, `render:frankfurt`, `railway:us-west2`... "
        "(data/alternative_sites.csv); each is one server of the cheapest plan with the app's "
        "memory and a whole vCPU, its database beside it",
    )
    verdict: Verdict = Verdict()
    sweep: Sweep = Sweep()

    @field_validator("alternatives")
    @classmethod
    def _alternatives(cls, value: list[str]) -> list[str]:
        for site in value:
            if site not in alternative_sites().index:
                hint = did_you_mean(site, alternative_sites().index)
                raise ValueError(
                    f"{site!r} is not a known alternative host{hint}; "
                    "data/alternative_sites.csv lists them"
                )
        if len(set(value)) != len(value):
            raise ValueError("an alternative is listed twice")
        return value

    @model_validator(mode="after")
    def _baseline_known(self):
        names = self.region_set_choices
        clash = set(names) & set(self.alternatives)
        if clash:
            raise ValueError(f"alternatives: {sorted(clash)[0]!r} is also a region set's name")
        baseline = self.verdict.baseline
        if baseline is not None and baseline not in self.candidates:
            hint = did_you_mean(baseline, self.candidates)
            raise ValueError(
                f"verdict.baseline: {baseline!r} is neither a region set nor an alternative{hint}"
            )
        return self

    @field_validator("region_sets")
    @classmethod
    def _region_sets(cls, value, info: ValidationInfo):
        named = value if isinstance(value, dict) else {"+".join(s): s for s in value}
        if not named:
            raise ValueError("give at least one region set")
        for name, codes in named.items():
            if not codes:
                raise ValueError(f"{name!r} is empty")
            if len(set(codes)) != len(codes):
                raise ValueError(f"{name!r} lists a region twice")
            if not (SET_NAME.fullmatch(name) and name.isprintable()):
                raise ValueError(
                    f"{name!r} is not a usable name: up to 64 characters, no / or \\ or "
                    "control characters, not starting with a dot or a space (names label "
                    "tables and files)"
                )
            for code in codes:
                region_code(code, info)
        return value

    @model_validator(mode="after")
    def _enough_machines(self):
        if self.app.scale_count is None:
            return self
        for name, codes in self.named_region_sets.items():
            if self.app.scale_count < len(codes):
                raise ValueError(
                    f"app.scale_count: {self.app.scale_count} Machines cannot cover the "
                    f"{len(codes)} regions of {name!r}; give at least one per region"
                )
            in_primary = self.app.machines_in(codes)[codes.index(self.app.primary_region)]
            if self.app.min_machines_running > in_primary:
                raise ValueError(
                    f"app.min_machines_running: {self.app.min_machines_running} exceeds the "
                    f"{in_primary} Machines scale_count puts in the primary region of {name!r}"
                )
        return self

    @model_validator(mode="after")
    def _primary_everywhere(self):
        for name, codes in self.named_region_sets.items():
            if self.app.primary_region not in codes:
                raise ValueError(
                    f"region_sets: {name!r} lacks app.primary_region {self.app.primary_region!r}: "
                    "every set must run the app in its primary region"
                )
        return self

    @model_validator(mode="before")
    @classmethod
    def _database_choices(cls, data):
        """Each choice of `databases` is `database` with the choice's keys over it."""
        if not (isinstance(data, dict) and isinstance(data.get("databases"), dict)):
            return data
        base = data.get("database") or {}
        if not isinstance(base, dict):
            return data
        merged = {}
        for name, entry in data["databases"].items():
            if isinstance(entry, dict):
                defaults = {key: Database.model_fields[key].default for key in SHARED_WITH_THE_RUN}
                shared = [
                    key
                    for key in SHARED_WITH_THE_RUN
                    if key in entry and entry[key] != base.get(key, defaults[key])
                ]
                if shared:
                    raise ValueError(
                        f"databases.{name}.{shared[0]}: the choices share the run's draws; "
                        "set it in `database`"
                    )
                entry = {**base, **entry}
            merged[name] = entry
        return {**data, "databases": merged}

    @model_validator(mode="after")
    def _databases_sold(self):
        """Every database as it is sold: placed where the product runs (a warning when it
        moves), its replicas within the plan, its free tier's limits kept."""
        if self.databases is not None and not self.databases:
            raise ValueError("databases: give at least one choice, or leave it out")
        for option in self.databases or {}:
            if not (SET_NAME.fullmatch(option) and option.isprintable()):
                raise ValueError(f"databases: {option!r} is not a usable name")
        for database in self.database_choices.values():
            site, moved = database.placed(self.app.primary_region)
            if moved:
                warnings.warn(moved, ScenarioWarning, stacklevel=2)
            problem = database.free_tier_problem(self.workload.rate_rps, self.workload.write_share)
            if problem:
                raise ValueError(problem)
            if database.product_code == "litefs":
                if site != self.app.primary_region:
                    raise ValueError(
                        f"database.region: litefs lives on the app's Machines, its primary on "
                        f"one in app.primary_region {self.app.primary_region}; not {site}"
                    )
                if self.app.writes == "direct":
                    raise ValueError(
                        "app.writes: litefs sends every write to the primary Machine with "
                        "fly-replay; `direct` is not possible"
                    )
                if self.app.auto_stop != "off":
                    warnings.warn(LITEFS_AUTOSTOP, ScenarioWarning, stacklevel=2)
                writes = self.workload.rate_rps * self.workload.write_share
                if writes > LITEFS_WRITES_PER_S:
                    warnings.warn(
                        f"database: litefs takes about {LITEFS_WRITES_PER_S} writes a second "
                        f"(its FUSE layer, LiteFS FAQ); this workload sends {writes:,.0f}; "
                        "the simulation does not cap them",
                        ScenarioWarning,
                        stacklevel=2,
                    )
        for name in self.region_set_choices:
            try:
                self.layout(name)
            except ValueError as error:
                raise ValueError(f"{error} (region set {name!r})") from None
        return self

    @property
    def named_region_sets(self) -> dict[str, tuple[str, ...]]:
        """Region sets by label: `mad+gru+sin` for a list, the given name for a mapping."""
        sets = self.region_sets
        if isinstance(sets, dict):
            return {name: tuple(codes) for name, codes in sets.items()}
        return {"+".join(codes): tuple(codes) for codes in sets}

    @property
    def database_choices(self) -> dict[str | None, Database]:
        """The databases the run compares, by choice name (None: `database` alone)."""
        return dict(self.databases) if self.databases else {None: self.database}

    @property
    def region_set_choices(self) -> dict[str, tuple[tuple[str, ...], str | None]]:
        """Each region-set candidate's regions and database choice: the sets alone, or every
        choice with every set (`mad on litefs`, choices outer so each one's sets sit together)."""
        sets = self.named_region_sets
        return {
            (name if option is None else f"{name} on {option}"): (codes, option)
            for option in self.database_choices
            for name, codes in sets.items()
        }

    @property
    def candidates(self) -> dict[str, tuple[str, ...]]:
        """What the run compares: the region sets (with each database choice), then each
        alternative host as a set of its one site."""
        fly = {name: codes for name, (codes, _) in self.region_set_choices.items()}
        return {**fly, **{site: (site,) for site in self.alternatives}}

    @property
    def baseline(self) -> str:
        return self.verdict.baseline or next(iter(self.candidates))

    def database_of(self, name: str) -> Database:
        """The database candidate ``name`` runs with (an alternative host: `database`)."""
        choice = self.region_set_choices.get(name, (None, None))[1]
        return self.database if choice is None else self.databases[choice]

    def layout(self, name: str) -> Layout:
        """Where the database of region-set candidate ``name`` runs and where each of its
        regions reads (ValueError when its plan cannot hold the copies asked for)."""
        database = self.database_of(name)
        site, _ = database.placed(self.app.primary_region)
        return database.layout(site, self.candidates[name])


LITEFS_WRITES_PER_S = 100  # "about 100 transactions per second" (LiteFS FAQ, 2024-07-05)
LITEFS_AUTOSTOP = (
    "database: LiteFS must not run with autostop (Fly's LiteFS docs: the proxy can stop or "
    "start Machines whatever holds the lease, so a stale Machine can become primary and "
    "discard newer writes); the simulation runs it as asked"
)


def build_scenario(
    data: object, source: str = "scenario", folder: Path | None = None, strict: bool = False
) -> Scenario:
    """Validate a parsed mapping into a Scenario, or raise ScenarioError naming the field.

    Relative paths in it (a traffic CSV, a calibration) are read from ``folder``; ``strict``
    refuses regions Fly.io deprecated instead of warning.
    """
    if not isinstance(data, dict):
        raise ScenarioError(
            f"{source}: the top level must be a mapping of keys such as app, region_sets"
        )
    try:
        return Scenario.model_validate(
            data, context={"folder": folder or Path.cwd(), "strict": strict}
        )
    except ValidationError as error:
        raise ScenarioError(f"{source}: {one_line(error, Scenario)}") from None

"""The scenario schema: frozen, validated sections from users to region sets.

Everything past this module sees typed, checked values; nothing else reads a raw mapping.
Durations accept units (`90s`, `15m`, `24h`, `400ms`) and sizes accept `512mb`, `1gb`, `20kb`;
plain numbers are in the unit the field's name ends with.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

import pandas as pd
from pydantic import (
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from sim.app_config import App
from sim.checks import ScenarioError, did_you_mean, one_line, region_code, scenario_path
from sim.data import (
    CONTINENTS,
    alternative_sites,
    countries,
    database_plans,
    database_sites,
)
from sim.fields import File, Kilobytes, NonNegativeMs, PositiveMs, Seconds, Share, Strict
from sim.network_config import Network
from sim.userfiles import read_traffic

MAX_REQUESTS = 10**13  # per region set; sim.run refuses large runs unless asked (engine.Estimate)


SET_NAME = re.compile(r"[^./\\\s][^/\\\x00-\x1f\x7f]{0,63}")  # a name cannot be a path


class Users(Strict):
    """Where the users are and how they connect."""

    where: Literal["population"] | dict[str, Annotated[float, Field(gt=0)]] | File = Field(
        "population",
        description="`population` (world cities by population), a mix such as "
        "{EU: 0.5, SA: 0.3, BR: 0.2} (continent or ISO country codes), or a CSV of your traffic: "
        "lat,lon,weight or city,country,weight or country,weight",
    )
    count: int = Field(2000, ge=1, le=1_000_000, description="distinct simulated users")
    mobile_share: Share = Field(
        0.5, description="share of users on mobile access (assumption; the rest on broadband)"
    )
    _traffic: pd.DataFrame | None = PrivateAttr(None)

    @field_validator("where", mode="before")
    @classmethod
    def _where(cls, value):
        if isinstance(value, str) and value != "population" and not value.endswith(".csv"):
            raise ValueError(f"{value!r} must be 'population', a mapping of shares, or a .csv file")
        if isinstance(value, dict):
            known = countries()
            for key in value:
                if key not in CONTINENTS and key not in known:
                    raise ValueError(
                        f"{key!r} is neither a continent ({', '.join(CONTINENTS)}) "
                        "nor the ISO code of a country with cities of 15,000+ people"
                    )
        return value

    @field_validator("where")
    @classmethod
    def _where_path(cls, value, info: ValidationInfo):
        return scenario_path(value, info) if isinstance(value, Path) else value

    @model_validator(mode="after")
    def _load_traffic(self):
        if isinstance(self.where, Path):
            try:
                self._traffic = read_traffic(self.where)
            except ValueError as error:
                raise ValueError(f"users.where: {error}") from None
        return self

    @property
    def traffic(self) -> pd.DataFrame | None:
        """The team's own traffic table (lat, lon, weight) when ``where`` is a CSV."""
        return self._traffic

    @property
    def placement(self) -> str | dict[str, float] | pd.DataFrame:
        """What to place users by: ``population``, a mix, or the traffic table."""
        return self.where if self._traffic is None else self._traffic


class Daily(Strict):
    """Arrivals follow each user's local time of day, from a trough to an evening peak."""

    peak_hour: float = Field(
        21.0, ge=0, lt=24, description="local hour of the daily peak (assumption)"
    )
    trough_hour: float = Field(
        5.0, ge=0, lt=24, description="local hour of the daily trough (assumption)"
    )
    peak_to_trough: float = Field(
        2.0, ge=1.0, le=20.0, description="peak rate over trough rate (Arbor Networks: about 2)"
    )
    start_utc_hour: float = Field(0.0, ge=0, lt=24, description="UTC hour when the run starts")

    @model_validator(mode="after")
    def _distinct(self):
        if self.trough_hour == self.peak_hour:
            raise ValueError("workload.daily.trough_hour: must differ from peak_hour")
        return self


class Fault(Strict):
    """A region down for a window: its edge and Machines take no traffic."""

    region: str = Field(description="region code")
    start_s: Seconds = Field(ge=0, le=366 * 86_400, description="start, after the run starts [s]")
    duration_s: Seconds = Field(gt=0, le=366 * 86_400, description="length of the outage [s]")

    @field_validator("region")
    @classmethod
    def _region(cls, value: str, info: ValidationInfo) -> str:
        return region_code(value, info)


class Workload(Strict):
    """How many requests, how fast, and what they carry."""

    requests: int = Field(
        50_000,
        ge=1,
        le=MAX_REQUESTS,
        description="simulated requests per region set (or give duration_s)",
    )
    duration_s: Seconds | None = Field(
        None,
        gt=0,
        le=366 * 86_400,
        description="simulated time instead of requests, e.g. `24h` "
        "(requests = rate_rps x duration)",
    )
    rate_rps: float = Field(50.0, gt=0, le=1e6, description="offered load [requests/s], Poisson")
    write_share: Share = Field(0.1, description="share of requests that write")
    response_kb: Kilobytes = Field(
        20.0, ge=0, le=1e6, description="response body [kB]; drives egress cost (assumption)"
    )
    daily: Daily | None = Field(
        None, description="follow users' local time of day (rate_rps is the mean)"
    )

    @model_validator(mode="after")
    def _requests_from_duration(self):
        if self.duration_s is None:
            return self
        requests = round(self.rate_rps * self.duration_s)
        if "requests" in self.model_fields_set and self.requests != requests:
            raise ValueError(
                f"workload.duration_s: {self.duration_s:g} s at {self.rate_rps:g} req/s is "
                f"{requests:,} requests, but requests says {self.requests:,}; give one of them"
            )
        if not 1 <= requests <= MAX_REQUESTS:
            raise ValueError(
                f"workload.duration_s: {self.duration_s:g} s at {self.rate_rps:g} req/s is "
                f"{requests:,} requests; allowed 1 to {MAX_REQUESTS:,}"
            )
        self.__dict__["requests"] = requests  # derived once, while the model is being built
        return self


class Database(Strict):
    """A single-region primary database, optional read replicas."""

    region: str | None = Field(
        None,
        description="where the primary runs: a Fly region, or a managed database region such as "
        "`neon:aws-us-east-1` or `supabase:eu-central-1`; app.primary_region if unset",
    )
    queries_per_read: int = Field(2, ge=0, le=1000, description="database round trips per read")
    queries_per_write: int = Field(3, ge=0, le=1000, description="database round trips per write")
    query_ms: NonNegativeMs = Field(
        1.0, description="mean database time per query [ms] (assumption)"
    )
    connections: int = Field(20, ge=1, le=100_000, description="queries the primary serves at once")
    replicas: Literal["all"] | list[str] = Field(
        default_factory=list, description="regions with a read replica, or `all` regions of the set"
    )
    replication_lag_ms: NonNegativeMs = Field(
        0.0, description="how far replicas trail the primary [ms] (assumption)"
    )
    read_your_writes_s: Seconds = Field(
        0.0, ge=0, le=86_400,
        description="after a write, replay that user's reads to the primary for this long [s]; "
        "0 = off",
    )  # fmt: skip
    plan: str | None = Field(
        None,
        description="price plan (data/database_plans.csv): `fly-mpg:basic`...`fly-mpg:performance`"
        ", `neon:launch-0.25cu`, `supabase:pro-micro`, `planetscale:ps-5`..., or `self-hosted` "
        "(no bill of its own); unset: `fly-mpg:basic` in a Fly region, the provider's cheapest "
        "plan in a managed region",
    )
    storage_gb: float = Field(
        10.0, ge=0, le=1e6, description="database size [GB]; billed at the plan's rate (assumption)"
    )
    replica_usd_month: float | None = Field(
        None,
        ge=0,
        le=1e6,
        description="price of one read replica [USD/month]; unset: the plan's price (assumption: "
        "Fly does not price cross-region replicas)",
    )
    replication_kb_per_write: Kilobytes = Field(
        2.0, le=1e6,
        description="write-ahead log a write sends to each replica [kB] (assumption)",
    )  # fmt: skip
    query_kb: Kilobytes = Field(
        1.0, le=1e6,
        description="result of one query [kB]; queries from another region cross the private "
        "network (assumption)",
    )  # fmt: skip

    @field_validator("plan")
    @classmethod
    def _plan(cls, value: str | None) -> str | None:
        if value is not None and value not in database_plans().index:
            hint = did_you_mean(value, database_plans().index)
            raise ValueError(
                f"{value!r} is not a known database plan{hint}; "
                f"allowed: {', '.join(database_plans().index)}"
            )
        return value

    @model_validator(mode="after")
    def _plan_fits_region(self):
        if self.plan and self.plan != "self-hosted" and self.plan.split(":")[0] != self.provider:
            raise ValueError(
                f"database.plan: {self.plan!r} is not offered where the database runs "
                f"({self.region or 'a Fly region'}); use a {self.provider} plan or self-hosted"
            )
        return self

    @property
    def provider(self) -> str:
        """Who runs the primary: `fly-mpg` in a Fly region, else the managed provider (`neon`)."""
        return self.region.split(":")[0] if self.region and ":" in self.region else "fly-mpg"

    @property
    def plan_or_default(self) -> str:
        """The plan named, else Fly Managed Postgres Basic in a Fly region, else the managed
        provider's cheapest plan."""
        if self.plan:
            return self.plan
        offered = database_plans()[database_plans()["provider"] == self.provider]
        return str(offered["usd_month"].idxmin())

    @field_validator("region")
    @classmethod
    def _region(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or ":" not in value:
            return None if value is None else region_code(value, info)
        if value not in database_sites().index:
            hint = did_you_mean(value, database_sites().index)
            raise ValueError(
                f"{value!r} is not a known managed database region{hint}; "
                "data/database_regions.csv lists them"
            )
        return value

    @field_validator("replicas")
    @classmethod
    def _replicas(cls, value, info: ValidationInfo):
        return value if value == "all" else [region_code(code, info) for code in value]


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

    seed: int = Field(0, ge=0, le=2**63 - 1, description="root of every random stream")
    users: Users = Users()
    workload: Workload = Workload()
    app: App
    database: Database = Database()
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
        "memory, its database beside it",
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
        names = self.named_region_sets
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

    @property
    def named_region_sets(self) -> dict[str, tuple[str, ...]]:
        """Region sets by label: `mad+gru+sin` for a list, the given name for a mapping."""
        sets = self.region_sets
        if isinstance(sets, dict):
            return {name: tuple(codes) for name, codes in sets.items()}
        return {"+".join(codes): tuple(codes) for codes in sets}

    @property
    def candidates(self) -> dict[str, tuple[str, ...]]:
        """What the run compares: the region sets, then each alternative host as a set of its
        one site."""
        return {**self.named_region_sets, **{site: (site,) for site in self.alternatives}}

    @property
    def baseline(self) -> str:
        return self.verdict.baseline or next(iter(self.named_region_sets))

    @property
    def database_region(self) -> str:
        return self.database.region or self.app.primary_region

    def replicas_in(self, region_set: tuple[str, ...]) -> frozenset[str]:
        """Regions of the set that hold a read replica."""
        wanted = region_set if self.database.replicas == "all" else self.database.replicas
        return frozenset(wanted) & frozenset(region_set)


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

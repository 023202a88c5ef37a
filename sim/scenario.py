"""The scenario schema: frozen, validated sections from users to region sets.

Everything past this module sees typed, checked values; nothing else reads a raw mapping.
Durations accept units (`90s`, `15m`, `24h`, `400ms`) and sizes accept `512mb`, `1gb`, `20kb`;
plain numbers are in the unit the field's name ends with.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Literal

import pandas as pd
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from sim import units
from sim.checks import ScenarioError, did_you_mean, one_line, region_code, scenario_path
from sim.data import CONTINENTS, countries, database_sites, default_rtt_model, machine_prices
from sim.userfiles import read_measured, read_traffic

MAX_REQUESTS = 10**13  # per region set; sim.run refuses large runs unless asked (engine.Estimate)


class Strict(BaseModel):
    """Unknown keys are errors; no silent coercion (a `true` is not a count, "50" not a number)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


Share = Annotated[float, Field(ge=0.0, le=1.0)]
Seconds = Annotated[float, BeforeValidator(units.seconds)]
Milliseconds = Annotated[float, BeforeValidator(units.milliseconds)]
Megabytes = Annotated[int, BeforeValidator(units.megabytes)]
Kilobytes = Annotated[float, BeforeValidator(units.kilobytes)]
File = Annotated[Path, BeforeValidator(lambda text: Path(text) if isinstance(text, str) else text)]
PositiveMs = Annotated[Milliseconds, Field(gt=0.0, le=600_000.0)]
NonNegativeMs = Annotated[Milliseconds, Field(ge=0.0, le=600_000.0)]


class Users(Strict):
    """Where the users are and how they connect."""

    where: Literal["population"] | dict[str, Annotated[float, Field(gt=0)]] | File = Field(
        "population",
        description="`population` (world cities by population), a mix such as "
        "{EU: 0.5, SA: 0.3, BR: 0.2} (continent or ISO country codes), or a CSV of lat,lon,weight",
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


class App(Strict):
    """The app as its fly.toml and `fly scale` describe it."""

    primary_region: str = Field(description="PRIMARY_REGION: where writes and the database live")
    vm: str = Field("shared-cpu-1x", description="Machine preset")
    memory_mb: Megabytes | None = Field(
        None, ge=256, le=131072, description="RAM [MB]; preset minimum if unset"
    )
    machines_per_region: int = Field(
        1, ge=1, le=1000, description="Machines in each region of a set"
    )
    scale_count: int | None = Field(
        None,
        ge=1,
        le=10_000,
        description="Machines per region set, spread as `fly scale count N --region <set>` "
        "does (round-robin from the first region); replaces machines_per_region",
    )
    concurrency: int = Field(
        20, ge=1, le=100_000, description="requests one Machine serves at once; more queue"
    )
    service_ms: PositiveMs = Field(20.0, description="mean app time per request [ms] (assumption)")
    service_cv: float = Field(
        1.0, ge=0.0, le=10.0, description="coefficient of variation of app time (1 = exponential)"
    )
    writes: Literal["replay", "direct"] = Field(
        "replay",
        description="`replay`: fly-replay from the edge to the primary; "
        "`direct`: each write query crosses to the primary",
    )
    replay_decision_ms: NonNegativeMs = Field(
        2.0, description="time for a non-primary Machine to answer fly-replay [ms] (assumption)"
    )
    dedicated_ipv4: bool = Field(False, description="a dedicated IPv4 address ($2/month)")
    soft_limit: int = Field(
        20,
        ge=1,
        le=100_000,
        description="fly.toml concurrency soft_limit per Machine (Fly default 20)",
    )
    hard_limit: int | None = Field(
        None, ge=1, le=100_000, description="fly.toml concurrency hard_limit (Fly default: none)"
    )
    concurrency_type: Literal["connections", "requests"] = Field(
        "connections",
        description="fly.toml concurrency type; for HTTP both count one per request in flight, "
        "since with `connections` the proxy opens a connection per request (fly.md 3.2)",
    )
    queue_timeout_s: Seconds = Field(
        30.0,
        gt=0,
        le=3600,
        description="wait in the proxy queue before a request fails (assumption)",
    )
    auto_stop: Literal["off", "stop", "suspend"] = Field(
        "off", description="auto_stop_machines: stop or suspend idle Machines"
    )
    auto_start: bool = Field(True, description="auto_start_machines")
    min_machines_running: int = Field(
        0, ge=0, le=1000, description="Machines kept running in the primary region"
    )
    autostop_interval_s: Seconds = Field(
        300.0, gt=0, le=86_400,
        description="how often the proxy checks for excess Machines "
        "(Fly: 'every few minutes'; assumption)",
    )  # fmt: skip
    cold_start_s: Seconds = Field(
        2.0,
        ge=0,
        le=600,
        description="start of a stopped Machine incl. app boot (Fly: '~2+ seconds')",
    )
    resume_s: Seconds = Field(
        0.4, ge=0, le=600, description="resume of a suspended Machine (measured 403 ms)"
    )

    @field_validator("primary_region")
    @classmethod
    def _primary(cls, value: str, info: ValidationInfo) -> str:
        return region_code(value, info)

    @field_validator("vm")
    @classmethod
    def _vm(cls, value: str) -> str:
        presets = sorted(set(machine_prices()["preset"]))
        if value not in presets:
            hint = did_you_mean(value, presets)
            raise ValueError(
                f"{value!r} is not a Fly Machine preset{hint}; allowed: {', '.join(presets)}"
            )
        return value

    @model_validator(mode="after")
    def _limits(self):
        if self.hard_limit is not None and self.hard_limit < self.soft_limit:
            raise ValueError(
                f"app.hard_limit: {self.hard_limit} is below soft_limit {self.soft_limit}"
            )
        memory_mb = self.memory_mb or int(
            machine_prices().loc[machine_prices()["preset"] == self.vm, "memory_mb"].min()
        )
        if self.auto_stop == "suspend" and memory_mb > 2048:
            raise ValueError(
                f"app.auto_stop: 'suspend' needs at most 2048 MB of memory (got {memory_mb}); "
                "Fly suspends only Machines up to 2 GB: use 'stop'"
            )
        if self.scale_count is None and self.min_machines_running > self.machines_per_region:
            raise ValueError(
                f"app.min_machines_running: {self.min_machines_running} exceeds "
                f"machines_per_region {self.machines_per_region}"
            )
        return self

    def machines_in(self, region_set: tuple[str, ...]) -> list[int]:
        """Machines in each region of a set, in the set's order."""
        if self.scale_count is None:
            return [self.machines_per_region] * len(region_set)
        each, extra = divmod(self.scale_count, len(region_set))
        return [each + (i < extra) for i in range(len(region_set))]

    @model_validator(mode="after")
    def _memory(self):
        if self.memory_mb is None:
            return self
        rows = machine_prices()[machine_prices()["preset"] == self.vm]
        cpus, kind = int(rows["cpus"].iloc[0]), rows["cpu_kind"].iloc[0]
        low, high = int(rows["memory_mb"].min()), cpus * (2048 if kind == "shared" else 8192)
        step = 256 if kind == "shared" else 2048  # Fly machine sizing rules (fly.md 2.1)
        if not low <= self.memory_mb <= high or self.memory_mb % step:
            raise ValueError(
                f"app.memory_mb: {self.memory_mb} is not allowed for {self.vm}; "
                f"use a multiple of {step} from {low} to {high}"
            )
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


class RttModel(Strict):
    """Calibrated constants of the route-based RTT model (docs/model.md, docs/validation.md)."""

    overhead_ms: NonNegativeMs = Field(description="backbone RTT intercept [ms]")
    land_inflation: float = Field(
        ge=1.0, le=5.0, description="land fibre route km over great circle"
    )
    sea_inflation: float = Field(ge=1.0, le=5.0, description="submarine cable km over great circle")
    internet_inflation: float = Field(
        ge=1.0, le=5.0, description="public-internet route km over the backbone route"
    )


def packaged_rtt_model() -> RttModel:
    return RttModel.model_validate(default_rtt_model()["model"])


SET_NAME = re.compile(r"[^./\\\s][^/\\\x00-\x1f\x7f]{0,63}")  # a name cannot be a path
HANDSHAKE_RTTS = {"tcp_tls13": 2, "tcp_tls12": 3, "quic": 1}  # RFC 9293 + 8446 / 5246; RFC 9000


class Network(Strict):
    """Parameters of the latency model; defaults and their sources in docs/model.md."""

    calibration: File | None = Field(
        None, description="JSON from `globalness calibrate`; the packaged calibration if unset"
    )
    model: RttModel = Field(
        default_factory=packaged_rtt_model,
        description="RTT model constants (set by `calibration`, or given inline)",
    )
    broadband_access_ms: NonNegativeMs = Field(
        14.0, description="median fixed-broadband access RTT [ms]"
    )
    mobile_access_ms: NonNegativeMs = Field(32.0, description="median mobile access RTT [ms]")
    same_region_rtt_ms: NonNegativeMs = Field(
        1.0, description="RTT inside one region [ms] (assumption)"
    )
    broadband_jitter_sigma: float = Field(
        0.3, ge=0, le=3, description="lognormal sigma of broadband RTT above the physics floor"
    )
    mobile_jitter_sigma: float = Field(
        0.5, ge=0, le=3, description="lognormal sigma of mobile RTT above the physics floor"
    )
    backbone_jitter_sigma: float = Field(
        0.1, ge=0, le=3, description="lognormal sigma of backbone RTT above the physics floor"
    )
    new_connection_share: Share = Field(
        0.2, description="share of requests opening a new connection (assumption)"
    )
    protocol: Literal["tcp_tls13", "tcp_tls12", "quic"] = Field(
        "tcp_tls13",
        description="handshake of a new connection, terminated at the edge: "
        "TCP + TLS 1.3 (2 RTT), TCP + TLS 1.2 (3 RTT) or QUIC (1 RTT)",
    )
    anycast_miss_share: Share = Field(
        0.35,
        description="share of users whose anycast route lands on the next-nearest edge of the "
        "same continent (Koch et al. 2021: 35 % of a large CDN's users see some inflation)",
    )
    edges: Literal["active", "all"] = Field(
        "active", description="edge sites: active Fly regions (plus the set's own), or all 35"
    )
    measured: File | None = Field(
        None,
        description="CSV of measured median RTTs (country, region, rtt_ms) from users in a "
        "country to a region; overrides the model where it has data",
    )
    _measured: pd.Series | None = PrivateAttr(None)

    @field_validator("measured")
    @classmethod
    def _measured_path(cls, value, info: ValidationInfo):
        return None if value is None else scenario_path(value, info)

    @model_validator(mode="after")
    def _load_measured(self):
        if self.measured is not None:
            try:
                self._measured = read_measured(self.measured)
            except ValueError as error:
                raise ValueError(f"network.measured: {error}") from None
        return self

    @property
    def measured_rtt_ms(self) -> pd.Series | None:
        """Measured user-to-region median RTT [ms], indexed by (country, region)."""
        return self._measured

    @model_validator(mode="before")
    @classmethod
    def _load_calibration(cls, data, info: ValidationInfo):
        if not isinstance(data, dict) or not isinstance(data.get("calibration"), str | Path):
            return data  # no calibration, or not a path: field validation names it
        path = scenario_path(Path(data["calibration"]), info)
        try:
            fitted = json.loads(path.read_text())["model"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ValueError(
                f"network.calibration: cannot read a model from {path} ({error}); "
                "make one with `globalness calibrate`"
            ) from None
        return {**data, "calibration": path, "model": fitted}

    @property
    def handshake_rtts(self) -> int:
        """Round trips a new connection pays before its request, at the edge."""
        return HANDSHAKE_RTTS[self.protocol]

    @model_validator(mode="after")
    def _same_region_fastest(self):
        if self.same_region_rtt_ms > self.model.overhead_ms:
            raise ValueError(
                f"network.same_region_rtt_ms: {self.same_region_rtt_ms} exceeds the backbone "
                f"overhead {self.model.overhead_ms:.1f} ms; a region must be nearest to itself"
            )
        return self


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

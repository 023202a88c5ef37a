"""The `app` section of a scenario: the app as its fly.toml and `fly scale` describe it."""

from __future__ import annotations

from functools import cache
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from sim.checks import did_you_mean, region_code
from sim.data import machine_prices
from sim.fields import Megabytes, NonNegativeMs, PositiveMs, Seconds, Share, Strict


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
    service_ms: PositiveMs = Field(
        20.0, description="mean app time per request at full CPU speed [ms] (assumption)"
    )
    cpu_share: Share = Field(
        1.0,
        description="share of the app time that is CPU work, metered by the Machine's CPU "
        "quota; the rest waits on something else (1: all CPU, assumption)",
    )
    burst_balance_s: Seconds = Field(
        5.0,
        ge=0,
        le=500,
        description="CPU burst balance per shared vCPU when a Machine starts, and at the "
        "run's start (Fly: 5 s initial, 500 s at most)",
    )
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
        "since with `connections` the proxy opens a connection per request "
        "(https://fly.io/docs/apps/concurrency/)",
    )
    request_timeout_s: Seconds = Field(
        60.0,
        gt=0,
        le=3600,
        description="a request that has not started on a Machine this long after reaching its "
        "edge fails, wherever it waits (60 s: nginx's and AWS ALB's default; Fly states none)",
    )
    auto_stop: Literal["off", "stop", "suspend"] = Field(
        "off", description="auto_stop_machines: stop or suspend idle Machines"
    )
    auto_start: bool = Field(True, description="auto_start_machines")
    stopped_region: Literal["start", "spill"] = Field(
        "start",
        description="when every Machine of the closest region is stopped: `start` one there, or "
        "`spill` to a running Machine in the next region (Fly does not document it)",
    )
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

    rootfs_gb: float = Field(
        0.5,
        ge=0,
        le=1000,
        description="used root filesystem (image) of a Machine [GB]; billed while it is stopped "
        "or suspended (assumption)",
    )
    volume_gb: float = Field(
        0.0,
        ge=0,
        le=500,
        description="a volume per Machine [GB] (fly.toml [mounts] initial_size); billed always",
    )

    @field_validator("primary_region")
    @classmethod
    def _primary(cls, value: str, info: ValidationInfo) -> str:
        return region_code(value, info)

    @field_validator("vm")
    @classmethod
    def _vm(cls, value: str) -> str:
        return machine_preset(value)

    @model_validator(mode="after")
    def _limits(self):
        if self.hard_limit is not None and self.hard_limit < self.soft_limit:
            raise ValueError(
                f"app.hard_limit: {self.hard_limit} is below soft_limit {self.soft_limit}"
            )
        if self.auto_stop == "suspend" and self.ram_mb > 2048:
            raise ValueError(
                f"app.auto_stop: 'suspend' needs at most 2048 MB of memory (got {self.ram_mb}); "
                "Fly suspends only Machines up to 2 GB: use 'stop'"
            )
        return self

    @property
    def ram_mb(self) -> int:
        """A Machine's RAM [MB]: memory_mb, else the preset's smallest size."""
        return ram_mb(self.vm, self.memory_mb)

    @property
    def vcpus(self) -> int:
        return preset_cpu(self.vm)[0]

    @property
    def shared_cpu(self) -> bool:
        return preset_cpu(self.vm)[1] == "shared"

    def machines_in(self, region_set: tuple[str, ...]) -> list[int]:
        """Machines in each region of a set, in the set's order. Without scale_count the
        primary region has at least min_machines_running (Fly keeps that many running there,
        and only there); scale_count is the count as given (the scenario checks it)."""
        if self.scale_count is not None:
            each, extra = divmod(self.scale_count, len(region_set))
            return [each + (i < extra) for i in range(len(region_set))]
        counts = [self.machines_per_region] * len(region_set)
        if self.primary_region in region_set:
            primary = region_set.index(self.primary_region)
            counts[primary] = max(counts[primary], self.min_machines_running)
        return counts

    @model_validator(mode="after")
    def _memory(self):
        check_memory(self.vm, self.memory_mb, "app.memory_mb")
        return self


def machine_preset(value: str) -> str:
    """A Fly Machine preset name, or a ValueError listing them."""
    presets = sorted(set(machine_prices()["preset"]))
    if value not in presets:
        hint = did_you_mean(value, presets)
        raise ValueError(
            f"{value!r} is not a Fly Machine preset{hint}; allowed: {', '.join(presets)}"
        )
    return value


@cache
def preset_cpu(vm: str) -> tuple[int, str]:
    """A preset's vCPUs and their kind (shared or performance)."""
    row = machine_prices().loc[machine_prices()["preset"] == vm].iloc[0]
    return int(row["cpus"]), str(row["cpu_kind"])


def ram_mb(vm: str, memory_mb: int | None) -> int:
    """A Machine's RAM [MB]: ``memory_mb``, else the preset's smallest size."""
    presets = machine_prices()
    return memory_mb or int(presets.loc[presets["preset"] == vm, "memory_mb"].min())


def check_memory(vm: str, memory_mb: int | None, field: str) -> None:
    """Refuse a memory size the preset cannot have (Fly's sizing rules: shared vCPUs take
    256 MB steps up to 2 GB each, performance vCPUs 2 GB steps up to 8 GB each)."""
    if memory_mb is None:
        return
    rows = machine_prices()[machine_prices()["preset"] == vm]
    cpus, kind = int(rows["cpus"].iloc[0]), rows["cpu_kind"].iloc[0]
    low, high = int(rows["memory_mb"].min()), cpus * (2048 if kind == "shared" else 8192)
    step = 256 if kind == "shared" else 2048
    if not low <= memory_mb <= high or memory_mb % step:
        raise ValueError(
            f"{field}: {memory_mb} is not allowed for {vm}; "
            f"use a multiple of {step} from {low} to {high}"
        )

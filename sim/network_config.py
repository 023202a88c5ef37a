"""The `network` section of a scenario: the latency model's constants and parameters, and
the files that set them (a calibration JSON, a measured RTT matrix)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import Field, PrivateAttr, ValidationInfo, field_validator, model_validator

from sim.checks import MAX_SCENARIO_BYTES, read_bounded, scenario_path
from sim.data import default_rtt_model
from sim.fields import File, NonNegativeMs, Share, Strict
from sim.userfiles import read_measured


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
    access: Literal["country", "global"] = Field(
        "country",
        description="a user's access network: `country`, its country's own median measured by "
        "M-Lab (data/country_access.csv; mobile users add mobile_access_ms - "
        "broadband_access_ms), or `global`, broadband_access_ms and mobile_access_ms everywhere",
    )
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
        """Read the measured RTTs once: validated again as a section of a variant, the
        network keeps the table it holds."""
        if self.measured is not None and self._measured is None:
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
            fitted = json.loads(read_bounded(path, MAX_SCENARIO_BYTES))["model"]
        except (ValueError, KeyError, TypeError, RecursionError) as error:
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

"""The `users` and `workload` sections of a scenario: who the users are, where, and what
they send, when."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import pandas as pd
from pydantic import Field, PrivateAttr, ValidationInfo, field_validator, model_validator

from sim import units
from sim.checks import scenario_path
from sim.data import CONTINENTS, countries
from sim.fields import File, Kilobytes, Seconds, Share, Strict
from sim.userfiles import read_traffic

MAX_REQUESTS = 10**13  # per region set; sim.run refuses large runs unless asked (engine.Estimate)


class Users(Strict):
    """Where the users are and how they connect."""

    where: Literal["internet", "population"] | dict[str, Annotated[float, Field(gt=0)]] | File = (
        Field(
            "internet",
            description="`internet` (the world's people online: World Bank), `population` "
            "(world cities by population), a mix such as {EU: 0.5, SA: 0.3, BR: 0.2} "
            "(continent or ISO country codes; within each, people online), a CSV of your "
            "traffic (lat,lon,weight or city,country,weight or country,weight or "
            "region,weight by Fly edge region) or the JSON of Fly's Prometheus API for your "
            "edge traffic by region",
        )
    )
    count: int = Field(2000, ge=1, le=1_000_000, description="distinct simulated users")
    mobile_share: Share = Field(
        0.5, description="share of users on mobile access (assumption; the rest on broadband)"
    )
    _traffic: pd.DataFrame | pd.Series | None = PrivateAttr(None)

    @field_validator("where", mode="before")
    @classmethod
    def _where(cls, value):
        if (
            isinstance(value, str)
            and value not in ("internet", "population")
            and not (value.endswith((".csv", ".json")))
        ):
            raise ValueError(
                f"{value!r} must be 'internet', 'population', a mapping of shares, a .csv file "
                "or Fly's metrics as .json"
            )
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
        """Read the traffic file once: validated again as a section of a variant, the users
        keep the table they hold."""
        if isinstance(self.where, Path) and self._traffic is None:
            try:
                self._traffic = read_traffic(self.where)
            except ValueError as error:
                raise ValueError(f"users.where: {error}") from None
        return self

    @property
    def traffic(self) -> pd.DataFrame | pd.Series | None:
        """The team's own traffic when ``where`` is a file: a table (lat, lon, weight), or
        weights by Fly edge region (sim.routing.catchment_traffic spreads them)."""
        return self._traffic

    @property
    def placement(self) -> str | dict[str, float] | pd.DataFrame | pd.Series:
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

    @model_validator(mode="before")
    @classmethod
    def _requests_from_duration(cls, data):
        """With duration_s and no requests, requests is rate_rps x duration_s: derived from
        the input, before the fields are checked, so that the frozen model is built holding
        it. Input the fields refuse, or a count out of range, is left for the checks to name."""
        if not isinstance(data, dict) or data.get("duration_s") is None or "requests" in data:
            return data
        rate = data.get("rate_rps", cls.model_fields["rate_rps"].default)
        try:
            requests = round(rate * units.seconds(data["duration_s"]))
        except (TypeError, ValueError, OverflowError):
            return data
        return {**data, "requests": requests} if 1 <= requests <= MAX_REQUESTS else data

    @model_validator(mode="after")
    def _requests_match_duration(self):
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
        return self

    def _given(self) -> dict[str, object]:
        """As for any section, less requests when duration_s gives it: a variant at another
        rate or duration derives its own."""
        given = super()._given()
        if self.duration_s is not None:
            given.pop("requests")
        return given

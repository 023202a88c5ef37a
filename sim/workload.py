"""When requests arrive: a Poisson stream, optionally following each user's local time of day.

The daily shape follows local time: highest at ``peak_hour`` (21:00), lowest at
``trough_hour`` (05:00), a peak-to-trough ratio of 2 by default (Arbor Networks, "The Internet
After Dark": North American traffic at 6 am is 50 % of its daily peak, the peak near 11 pm;
Europe peaks near 7 pm). Non-homogeneous arrivals are drawn by thinning
(Lewis & Shedler 1979): candidates at the peak rate, each kept with probability
rate(t) / peak rate.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np

from sim.workload_config import Daily

REFERENCE_DAY = datetime(2026, 1, 15)  # offsets are those of mid-January (standard time north)


@cache
def utc_offset_hours(timezone: str) -> float:
    """Hours to add to UTC for local time in an IANA timezone, on REFERENCE_DAY."""
    return ZoneInfo(timezone).utcoffset(REFERENCE_DAY).total_seconds() / 3600


def daily_factor(local_hour, daily: Daily) -> np.ndarray:
    """Rate multiplier at a local hour: mean 1 over the day, peak/trough = ``peak_to_trough``.

    A half cosine falls from the peak to the trough, another rises back, each over its own
    span of hours, so the evening peak and the early-morning trough need not be 12 h apart.
    """
    amplitude = (daily.peak_to_trough - 1) / (daily.peak_to_trough + 1)
    since_peak = (np.asarray(local_hour) - daily.peak_hour) % 24
    fall = (daily.trough_hour - daily.peak_hour) % 24
    phase = np.where(since_peak < fall, since_peak / fall, 1 - (since_peak - fall) / (24 - fall))
    return 1 + amplitude * np.cos(np.pi * phase)


def arrivals(
    n: int,
    rate_rps: float,
    offset_hours: np.ndarray,
    daily: Daily | None,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Arrival times [s] and the user of each of ``n`` requests, users equally likely on average.

    ``offset_hours`` holds each user's UTC offset. With ``daily`` set, a user sends requests at
    ``rate_rps / users x daily_factor(local hour)``, so the total mean rate stays ``rate_rps``.
    """
    users = len(offset_hours)
    if daily is None:
        return np.cumsum(rng.exponential(1.0 / rate_rps, n)), rng.integers(0, users, n)
    peak = daily_factor(daily.peak_hour, daily)
    times, who, start = [], [], 0.0
    kept = 0
    while kept < n:
        batch = int((n - kept) * peak * 1.2) + 64
        t = start + np.cumsum(rng.exponential(1.0 / (rate_rps * peak), batch))
        user = rng.integers(0, users, batch)
        local_hour = (daily.start_utc_hour + t / 3600 + offset_hours[user]) % 24
        keep = rng.random(batch) * peak < daily_factor(local_hour, daily)
        times.append(t[keep])
        who.append(user[keep])
        kept += int(keep.sum())
        start = float(t[-1])
    return np.concatenate(times)[:n], np.concatenate(who)[:n]

"""Sizes and durations as people write them: "512mb", "1 GB", "20kb", "90s", "1h30m", "400ms".

A plain number is in the unit the function is named after. Each function returns a finite,
non-negative float (an int for megabytes) or raises ValueError saying what is accepted.
"""

from __future__ import annotations

import re
import sys

MB_PER_MEMORY_UNIT = {"": 1, "mb": 1, "gb": 1024}  # fly.toml memory: "1gb" = 1024 MB, as Fly counts
KB_PER_UNIT = {"": 1, "b": 0.001, "kb": 1, "mb": 1000, "gb": 1000**2}  # decimal sizes
MS_PER_UNIT = {"h": 3_600_000, "m": 60_000, "s": 1000, "ms": 1}

NUMBER = r"\d+(?:\.\d+)?"
MEMORY = re.compile(rf"({NUMBER})\s*(mb|gb)?")
SIZE = re.compile(rf"({NUMBER})\s*(b|kb|mb|gb)?")
DURATION = re.compile(rf"(?:{NUMBER}(?:ms|h|m|s))+")
DURATION_PART = re.compile(rf"({NUMBER})(ms|h|m|s)")  # ms before m: "400ms" is not 400 minutes


def megabytes(value: str | int | float) -> int:
    """A memory size [MB]: a whole number of MB, or a string such as "512mb", "1 GB", "1.5gb"."""
    problem = ValueError(
        f"{value!r} is not a memory size (use a number of MB or a size such as 512mb, 1gb)"
    )
    size_mb = _size(value, MEMORY, MB_PER_MEMORY_UNIT, problem)
    if not size_mb.is_integer():
        raise problem
    return int(size_mb)


def seconds(value: str | int | float) -> float:
    """A duration [s]: a number of seconds, or a string such as "90s", "15m", "1h30m", "400ms"."""
    problem = ValueError(
        f"{value!r} is not a duration; use a number of seconds or a duration such as 90s, 15m, 24h"
    )
    return _duration_ms(value, 1000, problem) / 1000


def milliseconds(value: str | int | float) -> float:
    """A duration [ms]: a number of ms, or a string such as "400ms", "2s", "1m"."""
    problem = ValueError(
        f"{value!r} is not a duration; use a number of ms or a duration such as 400ms, 2s"
    )
    return _duration_ms(value, 1, problem)


def kilobytes(value: str | int | float) -> float:
    """A size [kB]: a number of kB, or a string such as "20kb", "1.5mb" (1 mb = 1000 kB)."""
    problem = ValueError(
        f"{value!r} is not a size (use a number of kB or a size such as 20kb, 1mb)"
    )
    return _size(value, SIZE, KB_PER_UNIT, problem)


def _size(
    value: str | int | float, pattern: re.Pattern, per_unit: dict[str, float], problem: ValueError
) -> float:
    """A size in the unit of ``per_unit[""]``, from a number or a string matching ``pattern``."""
    if isinstance(value, str):
        match = pattern.fullmatch(value.strip().lower())
        if not match:
            raise problem
        value = float(match[1]) * per_unit[match[2] or ""]
    return _non_negative(value, problem)


def _duration_ms(value: str | int | float, ms_per_number: float, problem: ValueError) -> float:
    """A duration [ms]; a plain number counts ``ms_per_number`` ms."""
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(NUMBER, text):
            value = float(text)
        elif DURATION.fullmatch(text):
            parts = DURATION_PART.findall(text)
            return sum(float(number) * MS_PER_UNIT[unit] for number, unit in parts)
        else:
            raise problem
    return _non_negative(value, problem) * ms_per_number


def _non_negative(value: object, problem: ValueError) -> float:
    """A finite number >= 0 as a float (booleans are not numbers here), else ``problem``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise problem
    if not 0 <= value <= sys.float_info.max:  # also False for NaN
        raise problem
    return float(value)

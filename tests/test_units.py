"""Sizes and durations: known answers, and every kind of bad value refused with a clear message."""

import math

import pytest

from sim.units import kilobytes, megabytes, milliseconds, seconds

BAD = [-1, -0.5, math.nan, math.inf, -math.inf, True, False, "", "   ", None, "nan", "inf"]


@pytest.mark.parametrize(
    ("text", "mb"),
    [
        ("1gb", 1024),  # Fly counts memory in binary units: 1 GB = 1024 MB
        ("1GB", 1024),
        ("1 gb", 1024),
        ("1.5gb", 1536),
        ("512mb", 512),
        ("256MB", 256),
        ("512", 512),
        (" 2048 ", 2048),
        (512, 512),
        (1024.0, 1024),
        (0, 0),
    ],
)
def test_megabytes(text, mb):
    assert megabytes(text) == mb
    assert isinstance(megabytes(text), int)


@pytest.mark.parametrize("value", [*BAD, "12 parsecs", "-1gb", "1.3mb", "1e3", "1tb", 10**400, 0.5])
def test_megabytes_refuses(value):
    with pytest.raises(ValueError, match="is not a memory size .*use a number of MB"):
        megabytes(value)


@pytest.mark.parametrize(
    ("text", "s"),
    [
        ("90s", 90.0),
        ("15m", 900.0),
        ("24h", 86_400.0),
        ("1h30m", 5400.0),
        ("1m0s", 60.0),  # as Go's time.Duration prints it (fly.toml grace_period)
        ("400ms", 0.4),
        ("2.5s", 2.5),
        ("1.5h", 5400.0),
        ("90", 90.0),
        (" 2.5 ", 2.5),
        (90, 90.0),
        (0.25, 0.25),
        (0, 0.0),
    ],
)
def test_seconds(text, s):
    assert seconds(text) == pytest.approx(s, rel=1e-12)
    assert isinstance(seconds(text), float)


@pytest.mark.parametrize("value", [*BAD, "-5s", "1d", "5 s", "1h-30m", "s", "1e3", 10**400])
def test_seconds_refuses(value):
    with pytest.raises(ValueError, match="use a number of seconds or a duration such as 90s"):
        seconds(value)


@pytest.mark.parametrize(
    ("text", "ms"),
    [("400ms", 400.0), ("2s", 2000.0), ("1m", 60_000.0), ("35", 35.0), (35, 35.0), (0.5, 0.5)],
)
def test_milliseconds(text, ms):
    assert milliseconds(text) == pytest.approx(ms, rel=1e-12)


@pytest.mark.parametrize("value", [*BAD, "-5ms", "5 ms", "fast"])
def test_milliseconds_refuses(value):
    with pytest.raises(ValueError, match="use a number of ms or a duration such as 400ms"):
        milliseconds(value)


@pytest.mark.parametrize(
    ("text", "kb"),
    [("20kb", 20.0), ("1.5mb", 1500.0), ("500b", 0.5), ("1gb", 1e6), ("20", 20.0), (20, 20.0)],
)
def test_kilobytes(text, kb):  # response sizes are decimal, as egress is billed per 10^9 bytes
    assert kilobytes(text) == pytest.approx(kb, rel=1e-12)


@pytest.mark.parametrize("value", [*BAD, "-1kb", "20 kilobytes", "1tb"])
def test_kilobytes_refuses(value):
    with pytest.raises(ValueError, match="use a number of kB or a size such as 20kb"):
        kilobytes(value)

"""Erlang C against known answers (Kleinrock 1975, sec. 3.5) and the textbook formula."""

import math

import pytest

from sim.queueing import erlang_c


def textbook(servers: int, offered: float) -> float:
    """C(c, a) = (a^c / c!) (c / (c - a)) / (sum_{k<c} a^k / k! + (a^c / c!) (c / (c - a)))."""
    top = offered**servers / math.factorial(servers) * servers / (servers - offered)
    return top / (sum(offered**k / math.factorial(k) for k in range(servers)) + top)


def test_known_answers():
    assert erlang_c(1, 0.7) == pytest.approx(0.7)  # M/M/1: an arrival waits with probability rho
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert erlang_c(20, 20.0) == 1.0 and erlang_c(3, 4.5) == 1.0  # overloaded: everyone waits
    assert erlang_c(100_000, 10.0) == 0.0


@pytest.mark.parametrize(("servers", "offered"), [(1, 0.3), (3, 2.55), (10, 7.0), (40, 30.0)])
def test_matches_the_textbook_formula(servers, offered):
    assert erlang_c(servers, offered) == pytest.approx(textbook(servers, offered), rel=1e-9)


def test_more_servers_never_raise_the_wait():
    waits = [erlang_c(c, 8.0) for c in range(9, 30)]
    assert waits == sorted(waits, reverse=True)

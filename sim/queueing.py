"""Queueing theory the engine needs to know when queues matter: Erlang C.

M/M/c (Erlang 1917; Kleinrock, Queueing Systems vol. 1, 1975, sec. 3.5): with ``servers``
slots and ``offered`` Erlangs of load (arrival rate x mean holding time), the probability that
an arriving request finds every slot busy and waits.
"""

from __future__ import annotations


def erlang_c(servers: int, offered: float) -> float:
    """Probability of waiting in M/M/c: C(c, a) = B / (1 - (a / c)(1 - B)), B from the
    Erlang B recursion B(k) = a B(k-1) / (k + a B(k-1)), B(0) = 1; 1 when a >= c."""
    if offered >= servers:
        return 1.0
    if servers > 2 * offered + 1100:  # B halves at least each step past 2a: 0 in doubles
        return 0.0
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = offered * blocking / (k + offered * blocking)
    return blocking / (1 - offered / servers * (1 - blocking))

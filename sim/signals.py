"""SIGTERM as an exception: the command unwinds from wherever it is and ends with one line."""

from __future__ import annotations

import signal

INTERRUPTED = "interrupted; no output of this run was written"  # exit 130
TERMINATED = "terminated; no output of this run was written"  # exit 143


class Terminated(BaseException):
    """SIGTERM, raised where the command is, so that it unwinds (pools shut down, temporary
    output folders removed) and ends with one line and exit 143."""


def terminate(signum, frame) -> None:
    raise Terminated


def on_sigterm():
    """Raise Terminated on SIGTERM; the handler it replaces, or None where it cannot be set
    (only the main thread may set one)."""
    try:
        return signal.signal(signal.SIGTERM, terminate)
    except ValueError:
        return None


def forget_unhandled_interrupt() -> None:
    """CPython marks a KeyboardInterrupt that escapes an ``exec`` of a string (dataclasses and
    namedtuples build their methods so, while modules import) as unhandled, even when the
    command catches it later, and at exit kills itself with SIGINT: exit -2, not 130. Every
    ``exec`` of a string clears that mark before it runs, so one that succeeds forgets it."""
    exec("")  # noqa: S102 - an empty string, for its side effect on the mark

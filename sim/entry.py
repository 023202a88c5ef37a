"""The `globalness` command's entry point. It imports almost nothing itself, so that Ctrl-C
(exit 130) and SIGTERM (exit 143) end the command with one line from its first moment,
while the modules of the command are still being imported (sim.cli handles them after)."""

from __future__ import annotations

import signal
import sys
import threading

from sim.signals import (
    INTERRUPTED,
    TERMINATED,
    Terminated,
    forget_unhandled_interrupt,
    on_sigterm,
)

SIGNALS = {KeyboardInterrupt: signal.SIGINT, Terminated: signal.SIGTERM}
REPEAT_S = 0.05


def interrupt_again(unraisable) -> None:
    """A signal's exception raised inside a finalizer (a ``__del__``, a weakref callback) is
    not raised but printed as "Exception ignored", with a traceback, and the command would go
    on: raise the signal again, REPEAT_S later from a thread (its handler then runs in the
    main thread, out of the finalizer), so that it ends the command where it runs."""
    for kind, number in SIGNALS.items():
        if isinstance(unraisable.exc_value, kind):
            threading.Timer(REPEAT_S, signal.raise_signal, (number,)).start()
            return
    sys.__unraisablehook__(unraisable)


def main(argv: list[str] | None = None) -> int:
    """Run the command line (sim.cli.main); return the exit code."""
    previous, hook = on_sigterm(), sys.unraisablehook
    sys.unraisablehook = interrupt_again
    try:
        from sim.cli import main as command

        return command(argv)
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return 130
    except Terminated:
        print(TERMINATED, file=sys.stderr)
        return 143
    finally:
        forget_unhandled_interrupt()  # the command's code is its exit code, not a signal's
        sys.unraisablehook = hook
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)

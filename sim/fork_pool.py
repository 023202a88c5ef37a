"""Jobs shared by this process and one fork of it: the files of a run (its charts, its request
log as a file) come from the run in memory, and a fork has that memory from its first
instant, where a spawned process would import matplotlib and pandas (seconds) and receive the
request log pickled.

Both processes take the next job's number from one pipe, so a process that gets less of the
CPU takes fewer jobs; each job's files land at its place in the jobs' order whichever process
made them, so the output is the same either way. On Linux only: fork is unsafe on macOS and
absent on Windows; there, and with one CPU, the jobs run here, one after the other.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import sys
import warnings
from collections.abc import Callable

Job = Callable[[], dict[str, bytes]]  # a job makes files: name -> bytes
NUMBER_BYTES = 2  # a job's number in the pipe: all written at once, each read whole
MAX_JOBS = select.PIPE_BUF // NUMBER_BYTES  # what one write fills into the pipe, at once
SIGNALS = {signal.SIGINT, signal.SIGTERM}


class JobFailed(RuntimeError):
    """The fork died (killed, out of memory), or failed with an error that does not pickle."""


def run_jobs(jobs: list[Job]) -> dict[str, bytes]:
    """Every job's files, in the jobs' order (list the slowest first: they start first).

    An error in a job is raised here, whichever process ran it. On any error, Ctrl-C or
    SIGTERM the fork is killed at once (it handles no signal and writes nothing), so it never
    outlives the call and nothing made so far is returned.
    """
    if not forks() or not 2 <= len(jobs) <= MAX_JOBS:
        return merged({k: job() for k, job in enumerate(jobs)}, len(jobs))
    numbers_in, numbers_out = os.pipe()
    os.write(numbers_out, b"".join(k.to_bytes(NUMBER_BYTES, "big") for k in range(len(jobs))))
    os.close(numbers_out)  # both processes read numbers until none are left
    results_in, results_out = os.pipe()
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)  # none until the fork is ours
    pid = 0
    try:
        try:
            with warnings.catch_warnings():  # Python >= 3.12 warns of a fork beside threads:
                warnings.simplefilter("ignore", DeprecationWarning)  # the fork uses none
                pid = os.fork()
        except OSError:  # no process to be had (a limit on processes, on memory): here alone
            return merged({k: job() for k, job in enumerate(jobs)}, len(jobs))
        if pid == 0:
            in_fork(jobs, numbers_in, results_in, results_out)  # never returns
        os.close(results_out)
        results_out = -1
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)  # from here, a signal kills it
        mine = take_jobs(jobs, numbers_in)
        with os.fdopen(results_in, "rb", closefd=False) as stream:
            sent = stream.read()
        status = os.waitpid(pid, 0)[1]
        pid = 0
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        for fd in (numbers_in, results_in, results_out):
            if fd >= 0:
                os.close(fd)
        if pid:  # left by an error, Ctrl-C or SIGTERM: the fork goes with it
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    return merged({**mine, **received(sent, status)}, len(jobs))


def forks() -> bool:
    """Whether jobs go to a fork too: on Linux, with two CPUs or more for this process."""
    return sys.platform == "linux" and len(os.sched_getaffinity(0)) > 1


def take_jobs(jobs: list[Job], numbers: int) -> dict[int, dict[str, bytes]]:
    """Run the jobs whose numbers this process reads from the pipe, until none are left."""
    done = {}
    while number := os.read(numbers, NUMBER_BYTES):
        k = int.from_bytes(number, "big")
        done[k] = jobs[k]()
    return done


def in_fork(jobs: list[Job], numbers: int, results_in: int, results_out: int) -> None:
    """The fork: ignore the signals (the parent handles them and kills it), take jobs, send
    their files, or the error that stopped it, pickled; then exit at once, without running
    anything the parent registered to run at exit."""
    code = 1
    try:
        os.close(results_in)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
        try:
            message = ("files", take_jobs(jobs, numbers))
        except Exception as error:  # noqa: BLE001 - sent to the parent, raised there
            message = ("error", error)
        try:
            data = pickle.dumps(message)
        except Exception as error:  # noqa: BLE001 - an error that does not pickle
            data = pickle.dumps(("error", JobFailed(f"{type(error).__name__}: {error}")))
        with os.fdopen(results_out, "wb") as stream:
            stream.write(data)
        code = 0
    finally:
        os._exit(code)


def received(sent: bytes, status: int) -> dict[int, dict[str, bytes]]:
    """The fork's files; its error raised here; JobFailed if it died without a word."""
    if not sent or os.waitstatus_to_exitcode(status) != 0:
        raise JobFailed(f"the forked process making files ended with status {status}")
    kind, payload = pickle.loads(sent)
    if kind == "error":
        raise payload
    return payload


def merged(done: dict[int, dict[str, bytes]], count: int) -> dict[str, bytes]:
    """Every job's files, job by job in their order."""
    return {name: data for k in range(count) for name, data in done[k].items()}

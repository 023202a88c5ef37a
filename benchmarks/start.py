"""How long the command takes to start, against `python -c "import pandas"` in the same run.

Run: python benchmarks/start.py [--repeat N]   (benchmarks/run.py --start prints the same)

Each command (and `python -c "import sim"`, without a goal) is run REPEAT times, interleaved
with the baseline so that a busy machine slows both alike, and the median wall time of each
is kept. Goals (issue 20): `globalness --help` and one shell-completion TAB (bash, after
`globalness run --fo`) at most 1.0x the baseline, `globalness rtt mad gru` at most 1.5x.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPEAT = 7
BASELINE = [sys.executable, "-c", "import pandas"]
TAB = "TAB after `run --fo`"
COMPLETION = {"_GLOBALNESS_COMPLETE": "bash_complete", "COMP_WORDS": "globalness run --fo",
              "COMP_CWORD": "2"}  # fmt: skip


def command() -> list[str]:
    """The installed `globalness` script beside this Python, else `python -m sim`."""
    script = Path(sys.executable).parent / "globalness"
    found = script if script.exists() else shutil.which("globalness")
    return [str(found)] if found else [sys.executable, "-m", "sim"]


def cases() -> list[tuple[str, list[str], float | None]]:
    """(shown, command line, goal: at most this many times the baseline) of each case;
    `import sim` is the notebooks' start, timed without a goal."""
    globalness = command()
    return [
        ("python -c 'import sim'", [sys.executable, "-c", "import sim"], None),
        ("globalness --help", [*globalness, "--help"], 1.0),
        (f"globalness {TAB}", [*globalness, TAB], 1.0),
        ("globalness rtt mad gru", [*globalness, "rtt", "mad", "gru"], 1.5),
    ]


def wall_s(argv: list[str]) -> float:
    """Seconds to run ``argv``; a TAB is the command with bash's completion variables set."""
    tab = argv[-1] == TAB
    environment = {**os.environ, **COMPLETION} if tab else None
    start = time.perf_counter()
    subprocess.run(
        argv[:-1] if tab else argv, check=True, env=environment,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return time.perf_counter() - start


def start_times(repeat: int = REPEAT) -> list[tuple[str, float, float, float | None]]:
    """(shown, median seconds, baseline median seconds, goal) per case."""
    timed = cases()
    runs: list[list[float]] = [[] for _ in timed]
    baseline = []
    wall_s(BASELINE)  # a warm-up: the files each first run reads come from disk
    for _, argv, _ in timed:
        wall_s(argv)
    for _ in range(repeat):
        for (_, argv, _), seconds in zip(timed, runs, strict=True):
            baseline.append(wall_s(BASELINE))
            seconds.append(wall_s(argv))
    base = statistics.median(baseline)
    return [
        (shown, statistics.median(seconds), base, goal)
        for (shown, _, goal), seconds in zip(timed, runs, strict=True)
    ]


def report(repeat: int = REPEAT) -> str:
    lines = []
    for case, seconds, base, goal in start_times(repeat):
        ratio = seconds / base
        verdict = (
            ""
            if goal is None
            else f"; goal <= {goal:.1f} x: " + ("ok" if ratio <= goal else "over")
        )
        lines.append(
            f"{case:<34} {seconds:6.2f} s = {ratio:4.2f} x `import pandas` ({base:.2f} s)" + verdict
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=REPEAT, help="runs of each, median kept")
    print(report(parser.parse_args().repeat))


if __name__ == "__main__":
    main()

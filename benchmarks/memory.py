"""The memory estimate of each command against the peak it measures, over a range of sizes.

Run: python benchmarks/memory.py (or python benchmarks/run.py --memory)

Each case runs `globalness` in a child process on a generated scenario (the benchmark app of
benchmarks/run.py, with its requests, users and region sets varied) and samples, every
20 ms, the memory of that process and all its descendants (worker processes and the fork
that draws charts count; shared pages once: PSS), keeping the peak. The estimate is the
one the command prints on stderr before it simulates. The goal (issue 19): the measured
peak within 2x of the estimate either way.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

SETS = [["iad"], ["iad", "fra"], ["iad", "fra", "sin"], ["iad", "fra", "sin", "gru", "syd"]]
CASES = [  # label, requests, users, region sets, traffic points, command and options
    ("run, small", 10_000, 2000, 1, 0, ["run", "--engine", "analytic"]),
    ("run, 1M requests", 1_000_000, 2000, 1, 0, ["run", "--engine", "analytic"]),
    ("run, 1M requests x 4 sets", 1_000_000, 2000, 4, 0, ["run", "--engine", "analytic"]),
    ("run, DES 200k x 4 sets", 200_000, 2000, 4, 0, ["run", "--engine", "des"]),
    ("run, 1M users", 100_000, 1_000_000, 1, 0, ["run", "--engine", "analytic"]),
    ("run, 1M traffic points", 100_000, 20_000, 1, 1_000_000, ["run", "--engine", "analytic"]),
    ("run --out (charts)", 100_000, 2000, 4, 0, ["run", "--engine", "analytic", "--out", "OUT"]),
    ("run, 4 replications, 2 workers", 100_000, 2000, 4, 0,
     ["run", "--engine", "analytic", "--replications", "4", "--workers", "2"]),
    ("sweep, 2 loads x 2 seeds, 2 workers", 100_000, 2000, 4, 0,
     ["sweep", "--engine", "analytic", "--loads", "10,50", "--seeds", "2", "--workers", "2"]),
    ("optimize --k 1..2", 20_000, 2000, 1, 0, ["optimize", "--k", "1..2", "--replications", "1"]),
    ("size, 1 set", 20_000, 2000, 1, 0, ["size"]),
]  # fmt: skip
ESTIMATE = re.compile(r"about .+? and ([\d.,]+) (MB|GB|TB) of memory")
UNITS = {"MB": 1e6, "GB": 1e9, "TB": 1e12}


def scenario(folder: Path, requests: int, users: int, sets: int, points: int) -> Path:
    """The benchmark app at this size, as a scenario file in ``folder``."""
    where = {}
    if points:
        traffic = folder / "traffic.csv"
        rng = np.random.default_rng(1)
        lat, lon = rng.uniform(-50, 65, points), rng.uniform(-180, 180, points)
        rows = "".join(f"{a:.4f},{b:.4f},1\n" for a, b in zip(lat, lon, strict=True))
        traffic.write_text("lat,lon,weight\n" + rows)
        where = {"where": str(traffic)}
    document = {
        "seed": 1,
        "users": {"count": users, **where},
        "workload": {"rate_rps": 50, "write_share": 0.1, "requests": requests},
        "app": {"primary_region": "iad", "vm": "performance-1x", "machines_per_region": 2},
        "database": {"product": "fly-postgres", "replicas": "all"},
        "region_sets": SETS[:sets],
    }
    path = folder / f"bench-{requests}-{users}-{sets}-{points}.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def tree_pss_bytes(root: int) -> int:
    """Memory of process ``root`` and all its descendants, from /proc: the sum of their
    proportional set sizes (PSS), each page they share divided among the processes sharing
    it. Not RSS: a fork (the charts of --out) shares its parent's pages, and the sum of RSS
    would count each of them twice."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            fields = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        children.setdefault(int(fields[1]), []).append(int(name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += pss_bytes(pid)
        todo += children.get(pid, [])
    return total


def pss_bytes(pid: int) -> int:
    """One process's PSS [bytes] (0 when it is gone)."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    found = re.search(r"^Pss:\s+(\d+) kB", rollup, re.MULTILINE)
    return int(found.group(1)) * 1024 if found else 0


def measure(arguments: list[str]) -> tuple[float, float, float]:
    """Run ``globalness ARGUMENTS --yes``: its printed memory estimate [bytes], measured peak
    [bytes] and seconds."""
    command = [sys.executable, "-m", "sim", *arguments, "--yes"]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0
    while child.poll() is None:
        peak = max(peak, tree_pss_bytes(child.pid))
        time.sleep(0.02)
    seconds = time.perf_counter() - started
    stderr = child.stderr.read()
    found = ESTIMATE.search(stderr)
    if child.returncode != 0 or found is None:
        raise SystemExit(f"{' '.join(arguments)} ended with {child.returncode}: {stderr}")
    estimate = float(found.group(1).replace(",", "")) * UNITS[found.group(2)]
    return estimate, float(peak), seconds


def main() -> None:
    print(f"{'case':38} {'estimate':>9} {'measured':>9} {'ratio':>6} {'time':>6}")
    worst = 1.0
    with tempfile.TemporaryDirectory() as folder:
        for label, requests, users, sets, points, options in CASES:
            path = scenario(Path(folder), requests, users, sets, points)
            options = [str(Path(folder) / "out") if o == "OUT" else o for o in options]
            estimate, peak, seconds = measure([options[0], str(path), *options[1:]])
            ratio = peak / estimate
            worst = max(worst, ratio, 1 / ratio)
            print(
                f"{label:38} {estimate / 1e6:>6,.0f} MB {peak / 1e6:>6,.0f} MB "
                f"{ratio:>6.2f} {seconds:>5.0f}s"
            )
    print(f"worst factor between estimate and peak: {worst:.2f} (goal: within 2)")


if __name__ == "__main__":
    main()

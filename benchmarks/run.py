"""Throughput and memory of both engines, against baselines measured in the same run.

Run: python benchmarks/run.py [--requests N] [--analytic-requests N] [--rss] [--size] [--memory]
                              [--write] [--start]

Prints requests per second of the discrete-event engine and of the analytic engine, each on
the full model (users, anycast, network draws, the request log; the DES adds the proxy,
Machines and the database's connections) for the four region sets of SCENARIO (and the
analytic engine for one of them alone: its draws then serve one set), beside:

* a bare SimPy loop of as many requests through one M/M/4 Resource (the DES's baseline), and
* bare numpy lognormal sampling of as many values (the analytic engine's baseline),

with the ratios and issue 8's targets (DES >= 0.5 x bare SimPy, analytic >= 0.25 x bare
numpy). Short measurements are the best of REPEAT after a warm-up run, so that both sides
write to memory the process has touched before. With --rss, the peak resident memory of
a 1M-request run of one region set per engine, each in a child process; with --size, how long
`globalness size` takes on the seed app as the article sized it (shared-cpu-1x); with
--memory, each command's printed memory estimate against its measured peak over a range of
sizes (benchmarks/memory.py); with --write, how long `globalness run` of the seed scenario
takes with `--out` against without (issue 20: at most WRITE_GOAL times), the two interleaved
WRITE_REPEAT times so that a busy machine slows both alike, each the median of its runs;
with --start, how long `globalness --help`, a TAB and `globalness rtt mad gru` take against
`python -c "import pandas"` (benchmarks/start.py).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import simpy

import sim

SCENARIO = {
    "seed": 1,
    "users": {"count": 2000},
    "workload": {"rate_rps": 50, "write_share": 0.1},
    "app": {"primary_region": "iad", "vm": "performance-1x", "machines_per_region": 2},
    "database": {"product": "fly-postgres", "replicas": "all"},
    "region_sets": [
        ["iad"],
        ["iad", "fra"],
        ["iad", "fra", "sin"],
        ["iad", "fra", "sin", "gru", "syd"],
    ],
}
REPEAT = 3
WRITE_REPEAT, WRITE_GOAL = 3, 2.0


def bare_simpy(requests: int, servers: int = 4, load: float = 0.7) -> float:
    """Seconds for ``requests`` Poisson arrivals through one Resource of ``servers`` slots."""
    rng = np.random.default_rng(0)
    gaps = rng.exponential(1.0, requests).tolist()
    service = rng.exponential(load * servers, requests).tolist()
    env = simpy.Environment()
    slots = simpy.Resource(env, capacity=servers)

    def request(i):
        with slots.request() as turn:
            yield turn
            yield env.timeout(service[i])

    def source():
        for i in range(requests):
            yield env.timeout(gaps[i])
            env.process(request(i))

    start = time.perf_counter()
    env.process(source())
    env.run()
    return time.perf_counter() - start


def bare_numpy(values: int) -> float:
    """Seconds to draw ``values`` lognormal samples."""
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    rng.lognormal(3.0, 0.5, values)
    return time.perf_counter() - start


def scenario(requests: int, region_sets: list | None = None) -> sim.Scenario:
    workload = {**SCENARIO["workload"], "requests": requests}
    return sim.build_scenario(
        {**SCENARIO, "workload": workload, "region_sets": region_sets or SCENARIO["region_sets"]}
    )


def engine_seconds(engine: str, requests: int, region_sets: list | None = None) -> float:
    """Seconds for ``sim.run`` with ``engine`` on ``requests`` requests per region set."""
    loaded = scenario(requests, region_sets)
    start = time.perf_counter()
    sim.run(loaded, engine=engine, allow_large=True)
    return time.perf_counter() - start


def best(measure, *args) -> float:
    measure(*args)  # warm-up
    return min(measure(*args) for _ in range(REPEAT))


def peak_rss_mb(engine: str, requests: int) -> float:
    """Peak resident memory [MB] of a child process that runs ``requests`` requests of one
    region set with ``engine``: its VmHWM (getrusage's ru_maxrss would count the parent's
    memory at the fork, which Linux carries over the exec)."""
    folder = str(Path(__file__).parent)
    code = (
        f"import sys; sys.path.insert(0, {folder!r}); import run; "
        f"run.engine_seconds({engine!r}, {requests}, [['iad', 'fra', 'sin']]); "
        "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])"
    )
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return int(done.stdout.split()[-1]) / 1024


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    info = Path("/proc/cpuinfo")
    if info.exists():
        names = [line.split(":", 1)[1].strip() for line in info.read_text().splitlines()
                 if line.startswith("model name")]  # fmt: skip
        cpu = names[0] if names else cpu
    return f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} cores, " + (
        f"Python {platform.python_version()}, numpy {np.__version__}, simpy {simpy.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000, help="per region set, DES")
    parser.add_argument("--analytic-requests", type=int, default=2_000_000, help="per set")
    parser.add_argument("--rss", action="store_true", help="peak RSS of 1M-request runs")
    parser.add_argument(
        "--size", action="store_true", help="seconds of `globalness size` on the seed app"
    )
    parser.add_argument(
        "--memory", action="store_true", help="estimates against measured peaks (memory.py)"
    )
    parser.add_argument(
        "--write", action="store_true", help="seconds of the seed run with --out and without"
    )
    parser.add_argument(
        "--start", action="store_true", help="start times against import pandas (start.py)"
    )
    args = parser.parse_args()
    if args.start:  # first, before this process loads the engines and heats the machine
        sys.path.insert(0, str(Path(__file__).parent))
        import start

        print(start.report())
    warnings.simplefilter("ignore")
    sets = len(SCENARIO["region_sets"])
    des_n, analytic_n = args.requests * sets, args.analytic_requests * sets
    engine_seconds("des", 1000)  # loads the world's cities and the backbone graph once
    one_set = [["iad", "fra", "sin"]]
    simpy_rate, numpy_rate = des_n / bare_simpy(des_n), analytic_n / best(bare_numpy, analytic_n)
    rows = [  # path, requests, per second, (baseline, its rate, target)
        ("bare SimPy, M/M/4 Resource", des_n, simpy_rate, None),
        (
            "DES engine, full model",
            des_n,
            des_n / engine_seconds("des", args.requests),
            ("SimPy", simpy_rate, 0.5),
        ),
        ("bare numpy lognormal", analytic_n, numpy_rate, None),
        (
            "analytic engine, full model",
            analytic_n,
            analytic_n / best(engine_seconds, "analytic", args.analytic_requests),
            ("numpy", numpy_rate, 0.25),
        ),
        (
            "analytic engine, one set",
            args.analytic_requests,
            args.analytic_requests
            / best(engine_seconds, "analytic", args.analytic_requests, one_set),
            ("numpy", numpy_rate, None),
        ),
    ]
    labels = "; ".join("+".join(codes) for codes in SCENARIO["region_sets"])
    print(f"{machine()}\n{sets} region sets ({labels}), 2,000 users, 50 req/s, 10 % writes")
    print(f"{'path':30} {'requests':>11} {'per second':>13}   ratio")
    for name, n, rate, baseline in rows:
        ratio = ""
        if baseline:
            against, baseline_rate, target = baseline
            ratio = f"{rate / baseline_rate:.2f} x bare {against}"
            ratio += f" (target >= {target})" if target else ""
        print(f"{name:30} {n:>11,} {rate:>13,.0f}   {ratio}".rstrip())
    if args.rss:
        for engine in ("des", "analytic"):
            rss = peak_rss_mb(engine, 1_000_000)
            print(f"peak RSS, 1,000,000 requests of one region set, {engine}: {rss:,.0f} MB")
    if args.memory:
        sys.path.insert(0, str(Path(__file__).parent))
        import memory

        memory.main()
    if args.size:
        print(f"globalness size, seed app on shared-cpu-1x: {size_seconds():.0f} s (target <= 60)")
    if args.write:
        alone, written = write_seconds()
        print(f"globalness run, seed: {alone:.1f} s; with --out: {written:.1f} s "
              f"({written / alone:.2f} x, goal <= {WRITE_GOAL:g} x)")  # fmt: skip


def size_seconds() -> float:
    """Seconds of `sim.size` on scenarios/fly-seed.yaml with the article's shared-cpu-1x."""
    seed = Path(__file__).parents[1] / "scenarios" / "fly-seed.yaml"
    loaded = sim.load_scenario(seed, settings={"app.vm": "shared-cpu-1x", "app.memory_mb": 256})
    start = time.perf_counter()
    sim.size(loaded)
    return time.perf_counter() - start


def write_seconds() -> tuple[float, float]:
    """Median seconds of `globalness run scenarios/fly-seed.yaml -q`, without and with
    `--out` (a new folder each time), each run in its own process."""
    seed = Path(__file__).parents[1] / "scenarios" / "fly-seed.yaml"
    command = [sys.executable, "-m", "sim", "run", str(seed), "-q"]
    times: dict[bool, list[float]] = {False: [], True: []}
    with tempfile.TemporaryDirectory() as scratch:
        for k in range(WRITE_REPEAT):
            for out in (False, True):
                extra = ["--out", str(Path(scratch) / f"out{k}")] if out else []
                start = time.perf_counter()
                subprocess.run([*command, *extra], check=True, capture_output=True)
                times[out].append(time.perf_counter() - start)
    return statistics.median(times[False]), statistics.median(times[True])


if __name__ == "__main__":
    main()

"""Throughput and memory of the engine, against baselines measured in the same run.

Run: python benchmarks/run.py [--requests N] [--rss]

Prints requests per second for the discrete-event engine (the full model: users, anycast,
network draws, the proxy, Machines, the database), beside a bare SimPy loop of the same number
of requests through one M/M/c Resource and bare numpy lognormal sampling of the same number of
values, with the ratios (issue 8's targets: DES >= 0.5 x bare SimPy). With --rss, the peak
resident memory of a 1M-request run, measured in a child process.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
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
    "app": {"primary_region": "iad", "machines_per_region": 2},
    "database": {"replicas": "all"},
    "region_sets": [["iad"], ["iad", "fra"], ["iad", "fra", "sin"], ["iad", "fra", "sin", "gru", "syd"]],
}


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


def des(requests: int) -> float:
    """Seconds for the full model on ``requests`` requests of one region set."""
    data = {**SCENARIO, "workload": {**SCENARIO["workload"], "requests": requests}}
    scenario = sim.build_scenario(data)
    start = time.perf_counter()
    sim.run(scenario, engine="des", allow_large=True)
    return time.perf_counter() - start


def peak_rss_mb(requests: int) -> float:
    """Peak resident memory [MB] of a child process that runs ``requests`` requests."""
    folder = str(Path(__file__).parent)
    code = f"import sys; sys.path.insert(0, {folder!r}); import run; run.des({requests})"
    subprocess.run([sys.executable, "-c", code], check=True)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--rss", action="store_true", help="peak RSS of a 1M-request run")
    args = parser.parse_args()
    n = args.requests
    warnings.simplefilter("ignore")
    rates = {
        "bare SimPy, M/M/4 Resource": n / bare_simpy(n),
        "bare numpy lognormal": n / bare_numpy(n),
        "DES engine, full model": n / des(n),
    }
    baseline = rates["bare SimPy, M/M/4 Resource"]
    print(f"{n:,} requests; machine: {sys.platform}, Python {sys.version.split()[0]}")
    print(f"{'path':32} {'per second':>14} {'x bare SimPy':>13}")
    for name, rate in rates.items():
        print(f"{name:32} {rate:>14,.0f} {rate / baseline:>13.2f}")
    if args.rss:
        print(f"peak RSS, 1,000,000 requests (DES): {peak_rss_mb(1_000_000):,.0f} MB")


if __name__ == "__main__":
    main()

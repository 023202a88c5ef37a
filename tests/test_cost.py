"""Monthly bills against https://fly.io/docs/about/pricing/ (captured 2025-08-19)."""

import numpy as np
import pandas as pd
import pytest
from conftest import small_scenario

import sim
from sim.cost import compute_usd_month, egress_usd_month, storage_usd_month
from sim.fly_prices import machine_usd_month

ITEMS = (
    "compute", "storage", "egress", "database_compute", "database_storage", "database_transfer",
    "ipv4",
)  # fmt: skip


@pytest.mark.parametrize(
    ("vm", "memory_mb", "region", "usd"),
    [
        ("shared-cpu-1x", 256, "iad", 1.94),  # pricing table, iad baseline
        ("shared-cpu-1x", None, "iad", 1.94),  # unset memory: the preset's smallest size
        ("shared-cpu-1x", 256, "gru", 3.14),  # the pricing page's regional table
        ("shared-cpu-1x", 256, "lax", 2.33),  # PR #1612 worked example: lax $1.94 -> $2.33
        ("performance-1x", 2048, "iad", 31.00),
        ("performance-2x", 4096, "syd", 78.69),
    ],
)
def test_listed_machine_prices(vm, memory_mb, region, usd):
    assert round(machine_usd_month(vm, memory_mb, region), 2) == usd


def test_regional_price_within_the_multiplier_precision():
    # docs cost management: 3 x shared-1x-1GB in sjc = $20.37, i.e. $6.79 each. The multipliers
    # reproduce Fly's regional cells only to +-0.3 % (pricing page, 2025-08-19); the model
    # gives $6.799.
    assert machine_usd_month("shared-cpu-1x", 1024, "sjc") == pytest.approx(6.79, rel=0.003)
    assert compute_usd_month("shared-cpu-1x", 1024, {"sjc": 3}) == pytest.approx(20.37, rel=0.003)


def test_extra_ram_off_the_table():
    # "preset price plus about $5 per 30 days per GB of additional RAM" (pricing page)
    assert machine_usd_month("shared-cpu-1x", 768, "iad") == pytest.approx(1.944 + 0.5 * 5.00)
    lhr_usd = (1.944 + 0.5 * 5.00) * 1.1346
    assert machine_usd_month("shared-cpu-1x", 768, "lhr") == pytest.approx(lhr_usd)


def test_compute_is_linear_in_machines():
    one_iad, one_gru = (machine_usd_month("shared-cpu-1x", 1024, code) for code in ("iad", "gru"))
    mixed = compute_usd_month("shared-cpu-1x", 1024, {"iad": 3, "gru": 2})
    assert mixed == pytest.approx(3 * one_iad + 2 * one_gru)
    assert compute_usd_month("shared-cpu-1x", 1024, {"iad": 6}) == pytest.approx(6 * one_iad)
    assert compute_usd_month("shared-cpu-1x", 1024, {}) == 0.0


def test_egress_in_the_edge_region_pays_only_the_public_rate():
    # 1 GB leaving iad to the internet: North America $0.02/GB
    # (https://fly.io/docs/about/pricing/#data-transfer-pricing)
    assert egress_usd_month(np.array(["iad"]), np.array(["iad"]), 1, 1e6) == pytest.approx(0.02)
    assert egress_usd_month(np.array(["syd"]), np.array(["syd"]), 1, 1e6) == pytest.approx(0.04)
    assert egress_usd_month(np.array(["jnb"]), np.array(["jnb"]), 1, 1e6) == pytest.approx(0.12)


@pytest.mark.parametrize(
    ("edge", "served", "usd_per_gb"),
    [
        ("lhr", "iad", 0.02 + 0.006),  # public Europe + private North America
        ("sin", "syd", 0.04 + 0.015),  # public Asia Pacific + private Oceania
        ("bom", "sin", 0.12 + 0.015),  # public India + private Asia Pacific
        ("iad", "jnb", 0.02 + 0.050),  # public North America + private Africa
    ],
)
def test_cross_region_adds_the_serving_regions_private_rate(edge, served, usd_per_gb):
    one_gb = egress_usd_month(np.array([edge]), np.array([served]), 1, 1e6)
    assert one_gb == pytest.approx(usd_per_gb)


def test_egress_is_linear_in_bytes_requests_and_path_shares():
    edge, served = np.array(["iad", "lhr", "lhr", "nrt"]), np.array(["iad", "lhr", "iad", "nrt"])
    base = egress_usd_month(edge, served, 1e6, 20.0)
    assert egress_usd_month(edge, served, 1e6, 60.0) == pytest.approx(3 * base)
    assert egress_usd_month(edge, served, 5e6, 20.0) == pytest.approx(5 * base)
    assert egress_usd_month(edge.repeat(3), served.repeat(3), 1e6, 20.0) == pytest.approx(base)
    # 1e6 requests x 20 kB = 20 GB, a quarter on each path
    assert base == pytest.approx(20 * (0.02 + 0.02 + 0.026 + 0.04) / 4)
    assert egress_usd_month(np.array([]), np.array([]), 1e6, 20.0) == 0.0


def test_stopped_machines_pay_their_rootfs_and_volumes_are_always_billed():
    # rootfs of a stopped Machine $0.15/GB-month; volumes $0.15/GB-month
    # (https://fly.io/docs/about/pricing/#stopped-fly-machines, #volumes)
    machines = pd.DataFrame(
        {"region": ["iad", "iad"], "running_s": [0.0, 50.0], "duration_s": [100.0, 100.0]}
    )
    assert storage_usd_month(machines, rootfs_gb=1.0, volume_gb=0) == pytest.approx(0.15 * 1.5)
    assert storage_usd_month(machines, rootfs_gb=0, volume_gb=10) == pytest.approx(2 * 1.50)
    always_on = machines.assign(running_s=100.0)
    assert storage_usd_month(always_on, rootfs_gb=1.0, volume_gb=0) == 0.0


def test_bill_items_add_up_and_ipv4_costs_two_dollars():
    # dedicated IPv4 $2/month (https://fly.io/docs/about/pricing/#network-prices)
    bills = [
        sim.run(small_scenario(app={"primary_region": "iad", "dedicated_ipv4": ip})).summary
        for ip in (False, True)
    ]
    for bill in bills:
        items = bill[[f"{item}_usd_month" for item in ITEMS]].sum(axis=1)
        assert np.allclose(items, bill["monthly_cost_usd"])
    assert np.allclose(bills[1]["ipv4_usd_month"] - bills[0]["ipv4_usd_month"], 2.00)


def test_compute_is_linear_in_machine_count_in_a_run():
    one, two = (
        sim.run(small_scenario(app={"primary_region": "iad", "machines_per_region": m})).summary
        for m in (1, 2)
    )
    assert np.allclose(two["compute_usd_month"], 2 * one["compute_usd_month"])


def test_auto_stop_never_costs_more_than_always_on():
    sparse = {"requests": 300, "rate_rps": 0.05}
    bills = {
        mode: sim.run(
            small_scenario(workload=sparse, app={"primary_region": "iad", "auto_stop": mode})
        ).summary.set_index("region_set")
        for mode in ("off", "stop", "suspend")
    }
    for mode in ("stop", "suspend"):
        assert (bills[mode]["compute_usd_month"] <= bills["off"]["compute_usd_month"]).all()
        assert (bills[mode]["monthly_cost_usd"] <= bills["off"]["monthly_cost_usd"]).all()
    assert bills["stop"].at["iad+fra+sin", "storage_usd_month"] > 0  # stopped: rootfs billed

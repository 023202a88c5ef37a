"""fly.toml import: 40 real files (tests/fixtures/fly-toml, sources in SOURCES.csv) map to what
they say, or fail with one line naming the file and the reason; plus edge cases."""

import warnings
from pathlib import Path

import pytest

from sim.errors import DeprecatedRegionWarning, ScenarioError, ScenarioWarning
from sim.flytoml import read_fly_toml
from sim.scenario_files import load_scenario

FIXTURES = Path(__file__).parent / "fixtures" / "fly-toml"

NO_SERVICE = "no public HTTP traffic"
NOT_HTTP = "globalness simulates HTTP request/response apps"
GPU = "is a GPU Machine"


def scenario(primary: str | None = None, **app) -> dict:
    """The mapping a fly.toml should give: its app fields, and its primary as the one region set."""
    if primary is None:
        return {"app": app}
    return {"app": {"primary_region": primary, **app}, "region_sets": [[primary]]}


ON = {"auto_start": True}  # auto_start_machines = true, as fly launch writes it

# Read off each file by hand: the scenario it describes, or the reason it cannot be simulated.
EXPECTED: dict[str, dict | str] = {
    "001-fly-apps-globe-request-mapper.toml": scenario(soft_limit=20, hard_limit=25),
    "002-fly-apps-cockroachdb.toml": NO_SERVICE,
    "003-agrinman-tunnelto.toml": scenario(soft_limit=20, hard_limit=25),
    "004-supabase-supavisor.toml": scenario(
        concurrency_type="connections", soft_limit=16384, hard_limit=16384
    ),
    "005-fly-apps-global-rails.toml": scenario(
        "scl", concurrency_type="connections", soft_limit=20, hard_limit=25
    ),
    "006-remix-run-indie-stack.toml": scenario(
        concurrency_type="connections", soft_limit=20, hard_limit=25
    ),
    "007-superfly-fly-log-shipper.toml": NO_SERVICE,
    "008-fly-apps-postgres-flex.toml": NO_SERVICE,
    "009-openstatusHQ-openstatus.toml": scenario(
        "ams",
        auto_stop="suspend",
        **ON,
        min_machines_running=1,
        concurrency_type="requests",
        soft_limit=500,
        hard_limit=1000,
        vm="shared-cpu-4x",
        memory_mb=1024,
    ),
    "010-thechangelog-changelog-com.toml": scenario(
        "iad",
        concurrency_type="connections",
        soft_limit=2000,
        hard_limit=2500,
        vm="performance-1x",
    ),
    "011-kentcdodds-kentcdodds-com.toml": scenario(
        "dfw",
        concurrency_type="requests",
        soft_limit=100,
        hard_limit=200,
        vm="shared-cpu-2x",
        memory_mb=4096,
    ),
    "012-jrey8343-nohead-rs.toml": scenario("syd", vm="shared-cpu-1x", memory_mb=1024),
    "013-mennotech-tallibase.toml": scenario(
        "yyz", auto_stop="stop", **ON, min_machines_running=1, vm="shared-cpu-1x", memory_mb=512
    ),
    "014-fly-apps-ollama-open-webui.toml": GPU,
    "015-fly-apps-python_gpu_example.toml": NO_SERVICE,  # also a GPU; the service comes first
    "016-gleam-lang-packages.toml": scenario(
        "lhr", concurrency_type="connections", soft_limit=20, hard_limit=25
    ),
    "017-tmm1-flyapp-mastodon.toml": scenario(
        "sjc", concurrency_type="connections", soft_limit=20, hard_limit=25
    ),
    "018-mayu-live-framework.toml": scenario(
        "bog",
        auto_stop="stop",
        **ON,
        min_machines_running=1,
        concurrency_type="connections",
        soft_limit=20,
        hard_limit=25,
        vm="shared-cpu-1x",
        memory_mb=512,
    ),
    "019-justenriquez19-questly-assistant.toml": scenario(
        "gdl", auto_stop="off", **ON, min_machines_running=1, vm="shared-cpu-2x", memory_mb=2048
    ),
    "020-djkazunoko-nijikai-go.toml": scenario(
        "nrt", auto_stop="stop", **ON, min_machines_running=1, vm="shared-cpu-1x", memory_mb=512
    ),
    "021-KyawKyawThar-intelligent_odoo_dev_toolkit.toml": NO_SERVICE,
    "022-Harvey-AU-hover.toml": NO_SERVICE,
    "023-Jorge-Medina-Diaz-universo-profesional.toml": scenario(
        "mad",
        auto_stop="stop",
        **ON,
        min_machines_running=2,  # App.machines_in puts 2 in the primary, 1 elsewhere
        vm="shared-cpu-1x",
        memory_mb=1024,
    ),
    "024-Proftah1122-scholva.toml": scenario("jnb", auto_stop="stop", **ON, min_machines_running=1),
    "025-MVajak-lotto-probability-api.toml": scenario(
        "fra",
        auto_stop="off",
        **ON,
        min_machines_running=1,
        concurrency_type="requests",
        soft_limit=200,
        hard_limit=250,
        vm="shared-cpu-1x",
        memory_mb=256,
    ),
    "026-Aladin147-Nadar.toml": scenario(
        "fra", auto_stop="off", **ON, min_machines_running=1, vm="shared-cpu-1x", memory_mb=512
    ),
    "027-holerite-meusrecibos-api.toml": scenario(
        "gig", auto_stop="stop", **ON, min_machines_running=0, vm="shared-cpu-1x", memory_mb=256
    ),
    "028-camino-school-lanttern.toml": scenario(
        "gru",
        auto_stop="stop",
        **ON,
        min_machines_running=1,
        concurrency_type="connections",
        soft_limit=1000,
        hard_limit=1000,
    ),
    "029-Espi8624-yoyaku_mate_server.toml": scenario(
        "nrt", auto_stop="stop", **ON, min_machines_running=0, vm="shared-cpu-1x"
    ),
    "030-kubis-my-kubis-web.toml": scenario(
        "REGION_PLACEHOLDER",
        auto_stop="off",
        **ON,
        min_machines_running=1,
        vm="shared-cpu-1x",
        memory_mb=1024,
    ),
    "031-PREreview-prereview-org.toml": NO_SERVICE,
    "032-CheckerNetwork-spark-api.toml": NOT_HTTP,
    "033-johan-weitner-studio-kanban.toml": scenario(
        "arn", auto_stop="stop", **ON, min_machines_running=0, vm="shared-cpu-1x", memory_mb=1024
    ),
    "034-Akshatkanth-codePruner.toml": scenario(
        "bom", auto_stop="off", **ON, min_machines_running=1
    ),
    "035-ANISHKARTHIC-ENDLESS-DREAMS.toml": scenario(
        "sin",
        auto_stop="stop",
        **ON,
        min_machines_running=1,
        concurrency_type="connections",
        soft_limit=80,
        hard_limit=100,
        vm="shared-cpu-1x",
        memory_mb=512,
    ),
    "036-ShieldBattery-rally-point.toml": NOT_HTTP,
    "037-utterstep-clockwork-orange.toml": scenario(
        "waw", auto_stop="stop", **ON, min_machines_running=1
    ),
    "038-flexpertsdev-claude-pod-fly-v2.toml": scenario(
        "lax", auto_stop="off", **ON, min_machines_running=1, vm="shared-cpu-1x", memory_mb=1024
    ),
    "039-abenkert-kuralis.toml": scenario(
        "mia", auto_stop="stop", **ON, min_machines_running=1, vm="shared-cpu-1x", memory_mb=1024
    ),
    "040-emezac-vibevoyage.toml": scenario(
        "qro", auto_stop="stop", **ON, min_machines_running=0, vm="shared-cpu-1x", memory_mb=1024
    ),
}

# [mounts] of the serving group: a volume per Machine of its initial_size, else Fly's 1 GB.
VOLUMES_GB = {
    "006-remix-run-indie-stack.toml": 1.0,
    "011-kentcdodds-kentcdodds-com.toml": 1.0,
    "012-jrey8343-nohead-rs.toml": 1.0,
    "013-mennotech-tallibase.toml": 1.0,  # initial_size = "1GB"
    "016-gleam-lang-packages.toml": 1.0,
    "017-tmm1-flyapp-mastodon.toml": 1.0,
    "019-justenriquez19-questly-assistant.toml": 1.0,  # no processes: every group mounts it
    "023-Jorge-Medina-Diaz-universo-profesional.toml": 5.0,  # initial_size = "5gb"
    "033-johan-weitner-studio-kanban.toml": 1.0,
}  # 026 nests [[vm.mounts]] under [vm], which is not a fly.toml key: no volume
for name, volume_gb in VOLUMES_GB.items():
    EXPECTED[name]["app"]["volume_gb"] = volume_gb


def refusal(path: Path) -> str:
    """The one-line ScenarioError message for a file that cannot be simulated."""
    with pytest.raises(ScenarioError) as caught:
        read_fly_toml(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fly.toml"
    path.write_text(text)
    return path


def test_every_fixture_has_an_expected_outcome():
    assert sorted(EXPECTED) == sorted(p.name for p in FIXTURES.glob("*.toml"))
    assert len(EXPECTED) == 40


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_fly_toml(name):
    path, expected = FIXTURES / name, EXPECTED[name]
    if isinstance(expected, str):
        assert expected in refusal(path)
        return
    data, origins = read_fly_toml(path)
    assert data == expected
    set_paths = {f"app.{field}" for field in data["app"]} | ({"region_sets"} & set(data))
    assert set(origins) == set_paths


@pytest.mark.parametrize(
    ("name", "field", "key"),
    [
        (
            "009-openstatusHQ-openstatus.toml",
            "app.soft_limit",
            "http_service.concurrency.soft_limit",
        ),
        ("009-openstatusHQ-openstatus.toml", "app.vm", "vm.cpus"),
        ("009-openstatusHQ-openstatus.toml", "app.memory_mb", "vm.memory_mb"),
        ("005-fly-apps-global-rails.toml", "app.primary_region", "env.PRIMARY_REGION"),
        ("005-fly-apps-global-rails.toml", "region_sets", "env.PRIMARY_REGION"),
        ("039-abenkert-kuralis.toml", "app.auto_stop", "services.auto_stop_machines"),
        ("010-thechangelog-changelog-com.toml", "app.vm", "vm.size"),
        ("027-holerite-meusrecibos-api.toml", "app.memory_mb", "vm.memory"),
    ],
)
def test_origins_name_the_fly_toml_key(name, field, key):
    _, origins = read_fly_toml(FIXTURES / name)
    assert origins[field] == key


def test_refusals_name_the_key_and_the_reason():
    assert "http_service: missing" in refusal(
        FIXTURES / "021-KyawKyawThar-intelligent_odoo_dev_toolkit.toml"
    )
    assert "services: tcp port 5432 with handlers pg_tls serves no HTTP" in refusal(
        FIXTURES / "032-CheckerNetwork-spark-api.toml"
    )
    assert "vm.gpu_kind: 'l40s' is a GPU Machine" in refusal(
        FIXTURES / "014-fly-apps-ollama-open-webui.toml"
    )


HTTP = "[http_service]\ninternal_port = 8080\n"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('app = "x"\nprimary_region = \n', "not valid TOML: Invalid value (at line 2, column 18)"),
        (HTTP + '[[vm]]\nmemory = "12 parsecs"\n', "vm.memory: '12 parsecs' is not a memory size"),
        (HTTP + "[[vm]]\nmemory_mb = -512\n", "vm.memory_mb: -512 is not a memory size"),
        (HTTP + '[[vm]]\nsize = "performance-8x"\ngpu_kind = "a100-pcie-40gb"\n', "vm.gpu_kind"),
        ('vm.size = "a10"\n' + HTTP, "vm.size: 'a10' is a GPU Machine"),  # top-level dotted
        (
            HTTP + '[[vm]]\ngpu_kind = "l40s"\n',
            "which Fly.io no longer sells (deprecated 2026-02-11",
        ),
        (
            '[[services]]\nprotocol = "udp"\ninternal_port = 53\n[[services.ports]]\nport = 53\n',
            "services: udp port 53 serves no HTTP (globalness simulates HTTP request/response apps",
        ),
        (
            '[[services]]\nprotocol = "tcp"\n[[services.ports]]\nport = 6379\n',
            NOT_HTTP,
        ),
        ('[[services]]\nprotocol = ""\ninternal_port = 0\n', NO_SERVICE),  # placeholder only
    ],
)
def test_refused(tmp_path, text, reason):
    assert reason in refusal(write(tmp_path, text))


def test_unreadable_file(tmp_path):
    assert "cannot read the file" in refusal(tmp_path / "missing.toml")


def test_memory_mb_wins_over_memory(tmp_path):
    data, origins = read_fly_toml(
        write(tmp_path, HTTP + '[[vm]]\nmemory = "2gb"\nmemory_mb = 512\n')
    )
    assert data["app"]["memory_mb"] == 512
    assert origins["app.memory_mb"] == "vm.memory_mb"


@pytest.mark.parametrize(
    ("written", "auto_stop"),
    [("true", "stop"), ("false", "off"), ('"suspend"', "suspend"), ('"sometimes"', "sometimes")],
)
def test_auto_stop_machines(tmp_path, written, auto_stop):
    data, _ = read_fly_toml(write(tmp_path, HTTP + f"auto_stop_machines = {written}\n"))
    assert data["app"]["auto_stop"] == auto_stop


@pytest.mark.parametrize(
    ("text", "primary", "key"),
    [
        ('[env]\nPRIMARY_REGION = "scl"\n', "scl", "env.PRIMARY_REGION"),
        ('primary_region = "ams"\n[env]\nPRIMARY_REGION = "fra"\n', "ams", "primary_region"),
        ('primary_region = ""\n[env]\nPRIMARY_REGION = "fra"\n', "fra", "env.PRIMARY_REGION"),
    ],
)
def test_primary_region(tmp_path, text, primary, key):
    data, origins = read_fly_toml(write(tmp_path, text + HTTP))
    assert data["app"]["primary_region"] == primary
    assert data["region_sets"] == [[primary]]
    assert origins["app.primary_region"] == origins["region_sets"] == key


def test_no_primary_region_leaves_it_to_the_command_line(tmp_path):
    data, origins = read_fly_toml(write(tmp_path, HTTP))
    assert data == {"app": {}} and origins == {}


@pytest.mark.parametrize(
    ("vm", "preset"),
    [
        ('size = "performance-2x"', "performance-2x"),
        ("cpus = 4", "shared-cpu-4x"),
        ('cpu_kind = "performance"', "performance-1x"),
        ('size = "shared-cpu-2x"\ncpu_kind = "performance"', "performance-2x"),
        ('size = "performance-4x"\ncpus = 8', "performance-8x"),
        ('cpu_kind = "shared"\ncpus = 2\nsize = "performance-1x"', "shared-cpu-2x"),
    ],
)
def test_cpu_kind_and_cpus_override_size(tmp_path, vm, preset):
    data, _ = read_fly_toml(write(tmp_path, f"{HTTP}[[vm]]\n{vm}\n"))
    assert data["app"]["vm"] == preset


def test_the_vm_of_the_serving_process_group(tmp_path):
    text = """
[http_service]
processes = ["web"]
[[vm]]
processes = ["worker"]
size = "performance-4x"
[[vm]]
size = "shared-cpu-2x"
[[vm]]
processes = ["web"]
size = "shared-cpu-8x"
"""
    data, _ = read_fly_toml(write(tmp_path, text))
    assert data["app"]["vm"] == "shared-cpu-8x"


def test_the_first_http_service_serves(tmp_path):
    text = """
[[services]]
internal_port = 5432
[[services.ports]]
port = 5432
handlers = ["pg_tls"]
[[services]]
internal_port = 8080
processes = ["web"]
[[services.ports]]
port = "443"
handlers = ["tls"]
[services.concurrency]
soft_limit = 7
[[vm]]
processes = ["app"]
size = "performance-1x"
[[vm]]
processes = ["web"]
size = "shared-cpu-2x"
"""
    data, origins = read_fly_toml(write(tmp_path, text))
    assert data["app"] == {"soft_limit": 7, "vm": "shared-cpu-2x"}
    assert origins["app.soft_limit"] == "services.concurrency.soft_limit"


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if isinstance(e, dict)))
def test_real_fly_toml_validates_into_a_scenario(name):
    """Each readable fixture becomes a Scenario (with --primary where the file names none), or
    validation refuses it in one line naming the fly.toml key."""
    path = FIXTURES / name
    primary = None if "primary_region" in EXPECTED[name]["app"] else "iad"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecatedRegionWarning)
        if name.startswith("030-"):
            with pytest.raises(
                ScenarioError, match=r": primary_region: 'REGION_PLACEHOLDER' is not"
            ):
                load_scenario(path)
            return
        scenario = load_scenario(path, primary_region=primary)
    app = EXPECTED[name]["app"]
    assert scenario.app.primary_region == app.get("primary_region", "iad")
    assert list(scenario.named_region_sets) == [scenario.app.primary_region]
    for field, value in app.items():
        assert getattr(scenario.app, field) == value


def test_a_fly_toml_without_a_primary_asks_for_one():
    with pytest.raises(ScenarioError, match="primary_region: missing .* pass --primary REGION"):
        load_scenario(FIXTURES / "001-fly-apps-globe-request-mapper.toml")


def test_validation_errors_name_the_fly_toml_key(tmp_path):
    path = write(tmp_path, 'primary_region = "fra"\n[http_service.concurrency]\nsoft_limit = 0\n')
    with pytest.raises(ScenarioError, match=r"fly.toml: http_service.concurrency.soft_limit: "):
        load_scenario(path)


def test_count_spreads_machines_like_fly_scale_count():
    """`fly scale count 5 --region ams,iad,sin`: round-robin from the first region (flyctl
    `convergeGroupCounts`,
    https://github.com/superfly/flyctl/blob/master/internal/command/scale/count_machines.go)."""
    path = FIXTURES / "009-openstatusHQ-openstatus.toml"
    scenario = load_scenario(path, region_sets=[["ams", "iad", "sin"]], scale_count=5)
    assert scenario.app.machines_in(("ams", "iad", "sin")) == [2, 2, 1]
    with pytest.raises(ScenarioError, match="app.scale_count: 2 Machines cannot cover the 3"):
        load_scenario(path, region_sets=[["ams", "iad", "sin"]], scale_count=2)


def test_a_volume_of_another_process_group_is_not_the_apps(tmp_path):
    text = '[http_service]\nprocesses = ["web"]\n[[mounts]]\nprocesses = ["worker"]\n'
    data, _ = read_fly_toml(write(tmp_path, text + 'initial_size = "50gb"\n'))
    assert "volume_gb" not in data["app"]
    data, origins = read_fly_toml(write(tmp_path, HTTP + '[mounts]\ninitial_size = "20gb"\n'))
    assert data["app"]["volume_gb"] == 20.0 and origins["app.volume_gb"] == "mounts.initial_size"


def test_without_vm_the_machines_api_default_is_used_and_said(tmp_path):
    path = tmp_path / "fly.toml"
    path.write_text('primary_region = "iad"\n' + HTTP)
    with pytest.warns(
        ScenarioWarning, match="no \\[\\[vm\\]\\].*shared-cpu-1x with 256 MB.*1024 MB"
    ):
        data, _ = read_fly_toml(path)
    assert "vm" not in data["app"] and "memory_mb" not in data["app"]  # App's own defaults

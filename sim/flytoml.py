"""A real fly.toml in, the scenario mapping it describes out, with the key behind each value.

Reads only what the simulation models: the primary region, the public HTTP service (its
concurrency and autostop settings) and the VM of the process group that serves it. Build,
deploy, mounts, checks, statics, metrics and unknown keys are ignored. Values pass through
as written; ``sim.scenario.build_scenario`` validates them, and the origins let its errors
name the user's own fly.toml key. Keys and defaults:
https://fly.io/docs/reference/configuration/, https://fly.io/docs/apps/concurrency/ and
https://fly.io/docs/reference/fly-proxy-autostop-autostart/.
"""

from __future__ import annotations

import re
import tomllib
import warnings
from pathlib import Path

from sim.checks import MAX_SCENARIO_BYTES, read_bounded
from sim.errors import ScenarioError, ScenarioWarning
from sim.units import megabytes

Fields = dict[str, tuple[object, str]]  # scenario app field -> (value, fly.toml key)

SERVING_GROUP = "app"  # the process group of an app that names none (Fly's default)
GPU_SIZES = frozenset({"a10", "l40s", "a100-40gb", "a100-80gb"})  # Fly GPU presets
CPU_PRESET = re.compile(r"(shared-cpu|performance)-(\d+)x")
PRESET_PREFIX = {"shared": "shared-cpu", "performance": "performance"}
SERVICE_KEYS = {"auto_start_machines": "auto_start", "min_machines_running": "min_machines_running"}
CONCURRENCY_KEYS = {
    "type": "concurrency_type",
    "soft_limit": "soft_limit",
    "hard_limit": "hard_limit",
}
HTTP_HANDLERS = frozenset({"tls", "http"})


def read_fly_toml(path: Path) -> tuple[dict, dict[str, str]]:
    """The scenario mapping a fly.toml describes, and where each value came from.

    Returns (data, origins): data is a raw scenario dict {"app": {...}, "region_sets": [[primary]]}
    (region_sets only when a primary region is known) to be validated later by
    sim.scenario.build_scenario; origins maps each scenario field path it set
    ("app.soft_limit") to the fly.toml key it came from ("http_service.concurrency.soft_limit"),
    so validation errors can name the user's own key.
    """
    config = _parse(path)
    service, service_key = _public_service(config, path)
    group = (service.get("processes") or [SERVING_GROUP])[0]
    fields = {
        **_primary_region(config),
        **_service_fields(service, service_key),
        **_vm_fields(_vm_of(config, group, path), path),
        **_volume_fields(config, group, path),
    }
    data: dict = {"app": {field: value for field, (value, _) in fields.items()}}
    origins = {f"app.{field}": key for field, (_, key) in fields.items()}
    if "primary_region" in fields:
        primary, key = fields["primary_region"]
        data["region_sets"] = [[primary]]
        origins["region_sets"] = key
    return data, origins


def _parse(path: Path) -> dict:
    """The TOML document at ``path``; ScenarioError when it cannot be read or parsed."""
    try:
        return tomllib.loads(read_bounded(path, MAX_SCENARIO_BYTES).decode("utf-8"))
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: not UTF-8 text (a fly.toml is TOML, in UTF-8)") from None
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"{path}: not valid TOML: {error}") from None
    except ValueError as error:  # not a regular file, too big, unreadable
        raise ScenarioError(str(error)) from None
    except RecursionError:
        raise ScenarioError(f"{path}: arrays or tables nested too deeply") from None


def _tables(value: object) -> list[dict]:
    """The tables of an array of tables ([[vm]]) or of a single table ([vm], vm.size = ...)."""
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, dict)]


def _primary_region(config: dict) -> Fields:
    """Top-level primary_region, else [env] PRIMARY_REGION; nothing when neither is set."""
    env = config.get("env")
    for value, key in [
        (config.get("primary_region"), "primary_region"),
        (env.get("PRIMARY_REGION") if isinstance(env, dict) else None, "env.PRIMARY_REGION"),
    ]:
        if value not in (None, ""):
            return {"primary_region": (str(value), key)}
    return {}


def _public_service(config: dict, path: Path) -> tuple[dict, str]:
    """[http_service], else the first [[services]] entry that serves HTTP; and its key."""
    if isinstance(config.get("http_service"), dict):
        return config["http_service"], "http_service"
    services = [
        service
        for service in _tables(config.get("services"))
        if service.get("internal_port") != 0 and service.get("protocol") != ""  # placeholders
    ]
    if not services:
        raise ScenarioError(
            f"{path}: http_service: missing, and no usable [[services]] (the app takes no "
            "public HTTP traffic, e.g. a worker or a database reached over the private network, "
            "so there is nothing to simulate)"
        )
    http = [service for service in services if _serves_http(service)]
    if not http:
        found = " and ".join(_describe(service) for service in services)
        raise ScenarioError(
            f"{path}: services: {found} serves no HTTP (globalness simulates HTTP "
            "request/response apps: an [http_service], or a port with the http handler)"
        )
    return http[0], "services"


def _serves_http(service: dict) -> bool:
    """A TCP service with a port that has the http handler, or 80/443 with only tls/http."""
    if service.get("protocol", "tcp") != "tcp":
        return False
    for port in _tables(service.get("ports")):
        handlers = set(port.get("handlers") or [])
        if "http" in handlers or (
            str(port.get("port")) in {"80", "443"} and handlers <= HTTP_HANDLERS
        ):
            return True
    return False


def _describe(service: dict) -> str:
    """E.g. `udp port 14098` or `tcp port 5432 with handlers pg_tls`."""
    ports = _tables(service.get("ports"))
    numbers = ", ".join(str(port.get("port")) for port in ports) or "(none)"
    handlers = sorted({handler for port in ports for handler in port.get("handlers") or []})
    with_handlers = f" with handlers {', '.join(handlers)}" if handlers else ""
    return f"{service.get('protocol', 'tcp')} port {numbers}{with_handlers}"


def _service_fields(service: dict, key: str) -> Fields:
    """Autostop, autostart, minimum Machines and concurrency limits the service states."""
    fields: Fields = {}
    if "auto_stop_machines" in service:
        value = service["auto_stop_machines"]  # booleans still accepted: false = off, true = stop
        auto_stop = ("stop" if value else "off") if isinstance(value, bool) else value
        fields["auto_stop"] = (auto_stop, f"{key}.auto_stop_machines")
    for toml_key, field in SERVICE_KEYS.items():
        if toml_key in service:
            fields[field] = (service[toml_key], f"{key}.{toml_key}")
    concurrency = service.get("concurrency")
    limits = concurrency if isinstance(concurrency, dict) else {}
    for toml_key, field in CONCURRENCY_KEYS.items():
        if toml_key in limits:
            fields[field] = (limits[toml_key], f"{key}.concurrency.{toml_key}")
    return fields


def _vm_of(config: dict, group: str, path: Path) -> dict:
    """The VM of a process group: the entry listing it, else one for all groups, else the first;
    with none, the Machines API's default, said in a warning."""
    entries = _tables(config.get("vm"))
    for entry in entries:
        listed = entry.get("processes")
        if listed is not None and not (
            isinstance(listed, list) and all(isinstance(name, str) for name in listed)
        ):
            raise ScenarioError(
                f"{path}: vm.processes: {listed!r} is not a list of process group names "
                '(e.g. processes = ["app"])'
            )
    if not entries:
        warnings.warn(
            f"{path}: no [[vm]]: simulated with the Machines API's default, shared-cpu-1x with "
            "256 MB (`fly launch` would have written shared-cpu-1x with 1024 MB)",
            ScenarioWarning,
            stacklevel=2,
        )
    listing = [entry for entry in entries if group in (entry.get("processes") or [])]
    for_all = [entry for entry in entries if not entry.get("processes")]
    return next(iter(listing + for_all + entries), {})


def _vm_fields(vm: dict, path: Path) -> Fields:
    """The Machine preset and memory [MB] a VM entry states; GPU Machines are refused."""
    gpu = "gpu_kind" if vm.get("gpu_kind") else "size" if str(vm.get("size")) in GPU_SIZES else ""
    if gpu:
        raise ScenarioError(
            f"{path}: vm.{gpu}: {vm[gpu]!r} is a GPU Machine, which Fly.io no longer sells "
            "(deprecated 2026-02-11, unavailable after 2026-08-01); use a CPU preset: "
            "shared-cpu-Nx, performance-Nx"
        )
    fields = _preset(vm)
    memory_key = next((key for key in ("memory_mb", "memory") if key in vm), None)
    if memory_key:
        try:
            fields["memory_mb"] = (megabytes(vm[memory_key]), f"vm.{memory_key}")
        except ValueError as error:
            raise ScenarioError(f"{path}: vm.{memory_key}: {error}") from None
    return fields


def _preset(vm: dict) -> Fields:
    """size, with cpu_kind and cpus overriding its kind and count (default shared-cpu-1x)."""
    if "cpu_kind" not in vm and "cpus" not in vm:
        return {"vm": (vm["size"], "vm.size")} if "size" in vm else {}
    sized = CPU_PRESET.fullmatch(str(vm.get("size", "shared-cpu-1x")))
    prefix, cpus = (sized[1], sized[2]) if sized else ("shared-cpu", "1")
    if "cpu_kind" in vm:
        prefix = PRESET_PREFIX.get(vm["cpu_kind"], vm["cpu_kind"])
    cpus = vm.get("cpus", cpus)
    return {"vm": (f"{prefix}-{cpus}x", "vm.cpus" if "cpus" in vm else "vm.cpu_kind")}


def _volume_fields(config: dict, group: str, path: Path) -> Fields:
    """The volume each Machine of the serving group mounts ([mounts] or [[mounts]]), in GB:
    its initial_size, or Fly's default of 1 GB (https://fly.io/docs/volumes/overview/)."""
    for mount in _tables(config.get("mounts")):
        if group in (mount.get("processes") or [group]):
            size = mount.get("initial_size", "1gb")
            try:
                volume_gb = megabytes(size) / 1024
            except ValueError as error:
                raise ScenarioError(f"{path}: mounts.initial_size: {error}") from None
            key = "mounts.initial_size" if "initial_size" in mount else "mounts"
            return {"volume_gb": (volume_gb, key)}
    return {}

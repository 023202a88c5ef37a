"""Scenario files in: a YAML scenario or an app's fly.toml, read safely, with command-line
overrides, validated once into a :class:`Scenario` or refused with one ScenarioError line.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import yaml

from sim.checks import MAX_SCENARIO_BYTES, read_bounded
from sim.errors import ScenarioError, ScenarioWarning
from sim.flytoml import read_fly_toml
from sim.scenario import Scenario, build_scenario

MAX_YAML_VALUES = 100_000  # after alias expansion: refuses "billion laughs" files at once


def load_scenario(
    path: str | Path,
    *,
    seed: int | None = None,
    region_sets: list[list[str]] | None = None,
    primary_region: str | None = None,
    scale_count: int | None = None,
    settings: dict[str, object] | None = None,
    strict: bool = False,
) -> Scenario:
    """Read a scenario YAML file or a fly.toml, apply the overrides given, and validate it.

    A fly.toml brings the app (primary region, concurrency limits, autostop, VM size); the
    users, workload and network keep their scenario defaults, and the region sets default
    to the primary region alone. ``settings`` sets any key by its dotted path
    (``{"workload.rate_rps": 200}``); ``strict`` refuses regions Fly.io deprecated.
    """
    path = Path(path)
    text = read_text(path)
    if path.suffix == ".toml":
        data, origins = read_fly_toml(path)
    else:
        data, origins = parse_yaml(text, path), {}
    if not isinstance(data, dict):
        raise ScenarioError(
            f"{path}: the top level must be a mapping of keys such as app, region_sets"
        )
    app = overridden_app(data.get("app", {}), path, primary_region, scale_count)
    data = {**data, "app": app}
    for key, value in (settings or {}).items():
        data = with_setting(data, key.split("."), value)
    if seed is not None:
        data["seed"] = seed
    if region_sets:
        data["region_sets"] = region_sets
    elif path.suffix == ".toml":
        data["region_sets"] = [[app["primary_region"]]]
    try:
        scenario = build_scenario(data, source=str(path), folder=path.parent, strict=strict)
    except ScenarioError as error:
        raise ScenarioError(in_file_terms(str(error), str(path), origins)) from None
    unset = [section for section in ASSUMED if section not in data]
    if unset:
        scenario._assumed = tuple(ASSUMED[section](scenario) for section in unset)
        warnings.warn(
            f"{path}: {listed(unset)} not set in the file, so assumed: "
            + "; ".join(scenario.assumed),
            ScenarioWarning,
            stacklevel=2,
        )
    return scenario


ASSUMED = {  # a section a file may leave unset -> the default it then gets, in words
    "users": lambda s: (
        f"{s.users.count:,} users placed by {s.users.where} ({s.users.mobile_share:.0%} on mobile)"
    ),
    "workload": lambda s: (
        f"{s.workload.requests:,} requests at {s.workload.rate_rps:g} req/s, "
        f"{s.workload.write_share:.0%} writes, {s.workload.response_kb:g} kB responses"
    ),
    "database": lambda s: (
        f"{s.database.product_code} in {s.database.placed(s.app.primary_region)[0]}"
    ),
}


def listed(words: list[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def dump_scenario(scenario: Scenario, source: str) -> str:
    """The scenario as it ran, every value resolved (files as absolute paths), as YAML that
    `load_scenario` reads back into the same scenario."""
    data = scenario.model_dump(mode="json")
    header = f"# {source}, resolved by globalness: every value as the run used it\n"
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def load_setting(text: str) -> object:
    """A command-line value as YAML reads it: `200` a number, `24h` text, `[a, b]` a list."""
    try:
        return parse_yaml(text, Path("--set")) if text.strip() else ""
    except ScenarioError:
        return text


def with_setting(data: dict, keys: list[str], value: object) -> dict:
    """A copy of ``data`` with the value at the dotted path ``keys`` replaced."""
    head, rest = keys[0], keys[1:]
    if not rest:
        return {**data, head: value}
    inner = data.get(head, {})
    if not isinstance(inner, dict):
        raise ScenarioError(f"--set: {'.'.join(keys)}: {head} is not a mapping in the scenario")
    return {**data, head: with_setting(inner, rest, value)}


def read_text(path: Path) -> str:
    """The file's text, refusing what cannot be a scenario: not a regular file, unreadable,
    over MAX_SCENARIO_BYTES, not UTF-8."""
    try:
        data = read_bounded(path, MAX_SCENARIO_BYTES)
    except ValueError as error:
        raise ScenarioError(str(error)) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: not a UTF-8 text file") from None


def overridden_app(app, path: Path, primary_region: str | None, scale_count: int | None):
    """The file's ``app`` section with the primary region and Machine count given in its
    place; a fly.toml must name its primary region, in the file or given."""
    if isinstance(app, dict):  # anything else is left for validation to name
        given = {"primary_region": primary_region, "scale_count": scale_count}
        app = {**app, **{key: value for key, value in given.items() if value is not None}}
    if path.suffix == ".toml" and "primary_region" not in app:
        raise ScenarioError(
            f"{path}: primary_region: missing (and no PRIMARY_REGION in [env]); "
            "add it to the file or pass --primary REGION"
        )
    return app


def parse_yaml(text: str, path: Path) -> object:
    """Safe YAML (plain data only, no object tags), refusing duplicate keys, recursive
    aliases and alias expansion beyond MAX_YAML_VALUES values."""
    try:
        loader = yaml.SafeLoader(text)  # checks every character first
    except yaml.reader.ReaderError as error:
        line = text[: error.position].count("\n") + 1
        raise ScenarioError(
            f"{path}: line {line}: character {error.character!r} is not allowed in YAML"
        ) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        count_values(node, path, {}, set())
        return loader.construct_document(node)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise ScenarioError(f"{path}:{where}: {problem}") from None
    except RecursionError:
        raise ScenarioError(f"{path}: lists or mappings nested too deeply") from None
    except ScenarioError:  # a duplicate key, too many values: already one line
        raise
    except ValueError as error:  # an integer of thousands of digits, a date out of range
        problem = (
            "a number of more than 4,300 digits; allowed: numbers within each field's range"
            if "digits" in str(error)
            else f"a value cannot be read as a number or date ({error})"
        )
        raise ScenarioError(f"{path}: {problem}") from None
    finally:
        loader.dispose()


def count_values(node: yaml.Node, path: Path, counted: dict[int, int], open_: set[int]) -> int:
    """Values ``node`` expands to, each alias counted in full (memoised per anchor)."""
    if id(node) in counted:
        return counted[id(node)]
    if id(node) in open_:
        raise ScenarioError(f"{path}: line {node.start_mark.line + 1}: an alias refers to itself")
    open_.add(id(node))
    total = 1
    if isinstance(node, yaml.MappingNode):
        keys = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value != "<<":
                if key.value in keys:
                    raise ScenarioError(
                        f"{path}: line {key.start_mark.line + 1}: key {key.value!r} appears "
                        "twice in the same mapping"
                    )
                keys.add(key.value)
            total += count_values(key, path, counted, open_)
            total += count_values(value, path, counted, open_)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            total += count_values(item, path, counted, open_)
    open_.discard(id(node))
    counted[id(node)] = total
    if total > MAX_YAML_VALUES:
        raise ScenarioError(
            f"{path}: line {node.start_mark.line + 1}: aliases expand to more than "
            f"{MAX_YAML_VALUES:,} values; refused (a scenario needs a few dozen keys)"
        )
    return total


def in_file_terms(message: str, source: str, origins: dict[str, str]) -> str:
    """Name the fly.toml key a bad value came from instead of the scenario field."""
    field = message.removeprefix(f"{source}: ").split(":", 1)[0]
    if field in origins:
        return message.replace(f"{source}: {field}:", f"{source}: {origins[field]}:", 1)
    return message

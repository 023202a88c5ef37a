"""Checks shared by every kind of input: one-line errors, region codes, did-you-mean hints.

A scenario file, a fly.toml and the command line all fail the same way: a ScenarioError whose
message is one line naming the file, the field, the bad value and what is allowed.
"""

from __future__ import annotations

import difflib
import os
import stat
import warnings
from pathlib import Path
from typing import get_args

from pydantic import BaseModel, ValidationError, ValidationInfo

from sim.data import regions
from sim.errors import DeprecatedRegionWarning


def region_code(code: str, info: ValidationInfo | None = None) -> str:
    """Check a Fly region code; warn for deprecated regions naming the replacement, or refuse
    them when the validation context says ``strict``."""
    table = regions()
    if code not in table.index:
        hint = did_you_mean(code, table.index)
        raise ValueError(
            f"{code!r} is not a Fly region{hint}; `globalness regions --all` lists them"
        )
    if table.at[code, "status"] == "deprecated":
        replacement = table.at[code, "replacement"]
        if info is not None and (info.context or {}).get("strict"):
            raise ValueError(
                f"{code!r} was deprecated by Fly.io in 2025 (replacement: {replacement}); "
                "--strict refuses deprecated regions"
            )
        warnings.warn(
            f"region {code} is deprecated by Fly.io since 2025 (replacement: {replacement}); "
            "simulated as if its Machines still run",
            DeprecatedRegionWarning,
            stacklevel=2,
        )
    return code


def did_you_mean(value: str, allowed) -> str:
    """A ` (did you mean 'x'?)` hint: a permutation of the same letters first, else the closest."""
    allowed = list(allowed)
    same_letters = [option for option in allowed if sorted(option) == sorted(value)]
    close = same_letters or difflib.get_close_matches(value, allowed, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def scenario_path(path: Path, info: ValidationInfo) -> Path:
    """A file the scenario names, relative to the scenario's folder (the validation context)."""
    folder = Path((info.context or {}).get("folder", Path.cwd()))
    return path if path.is_absolute() else (folder / path).resolve()


def one_line(error: ValidationError, model: type[BaseModel]) -> str:
    """The first problem of a pydantic error, as `field.path: message (got value)`; an unknown
    key lists the keys ``model`` allows at that place."""
    first = error.errors()[0]
    loc = first["loc"]
    if first["type"] == "extra_forbidden":  # the last part is the user's key, whatever it is
        parts = [part for part in loc[:-1] if not _union_tag(part)]
        path = ".".join(_shown(part) for part in [*parts, loc[-1]])
        parent = ".".join(_shown(part) for part in parts) or "the top level"
        return f"{path}: unknown key in {parent}; allowed: {', '.join(fields_at(model, parts))}"
    path = ".".join(_shown(part) for part in loc if not _union_tag(part))
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "missing":
        return f"{path}: required key is missing"
    if path and message.startswith(f"{path}."):  # a cross-field check names its own field
        return message
    value = first.get("input")
    text = repr(value) if len(repr(value)) <= 60 else f"{repr(value)[:57]}..."
    shown = "" if isinstance(value, dict | list) or text in message else f" (got {text})"
    return f"{path}: {message}{shown}" if path else f"{message}{shown}"


def _union_tag(part: str | int) -> bool:
    """Pydantic's name for the branch of a union in an error location, e.g. `list[str]`."""
    return isinstance(part, str) and ("[" in part or part in {"str", "int", "float", "bool"})


def _shown(part: str | int) -> str:
    """A part of a field path as typed, quoted when it is empty, padded or not printable."""
    text = str(part)
    return text if text and text.isprintable() and text.strip() == text else repr(text)


def fields_at(model: type[BaseModel], parents: list[str | int]) -> list[str]:
    """The keys allowed in the section at ``parents`` (an item of a list of models: its index)."""
    for part in parents:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        kinds = (field.annotation, *get_args(field.annotation)) if field else ()
        inner = [kind for kind in kinds if isinstance(kind, type) and issubclass(kind, BaseModel)]
        if not inner:  # Optional[Model] and list[Model] hold a model too
            break
        model = inner[0]
    return list(model.model_fields)


MAX_SCENARIO_BYTES = 1_000_000  # a scenario YAML, a fly.toml, a calibration JSON
MAX_TABLE_BYTES = 50_000_000  # a CSV or JSON of traffic, RTTs or measurements


def read_bounded(path: Path, limit: int) -> bytes:
    """The bytes of ``path``, which must be a regular file (after following links) of at
    most ``limit`` bytes, read with that bound (a device such as /dev/zero, a pipe or a
    folder is refused); ValueError saying what is wrong."""
    try:
        info = os.stat(path)
    except OSError as error:
        raise ValueError(f"{path}: cannot read the file ({error.strerror or error})") from None
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"{path}: not a regular file (a folder, a device or a pipe)")
    if info.st_size > limit:
        raise ValueError(
            f"{path}: the file is {info.st_size / 1e6:,.1f} MB; such files are at most "
            f"{limit / 1e6:,.0f} MB"
        )
    try:
        with open(path, "rb") as file:
            data = file.read(limit + 1)
    except OSError as error:
        raise ValueError(f"{path}: cannot read the file ({error.strerror or error})") from None
    if len(data) > limit:
        raise ValueError(f"{path}: grew past {limit / 1e6:,.0f} MB while it was read")
    return data

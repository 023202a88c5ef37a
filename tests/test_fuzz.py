"""Generated malformed scenarios: each breaks one known field, and `globalness run` refuses it.

Every case starts from a valid scenario and applies one mutation that must make it invalid,
knowing what it broke. The command must exit 2 with one `error:` line that names the field
(its dotted path) or, for text that is not YAML, the line, and write nothing. The fields
come from walking the schema, so a new field is fuzzed without touching this file.
"""

import contextlib
import copy
import io
import math
import re
import string
import tempfile
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import annotated_types
import pytest
import yaml
from conftest import SMALL
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, BeforeValidator

from sim import build_scenario, units
from sim.cli import main
from sim.data import regions
from sim.network_config import packaged_rtt_model
from sim.scenario import Scenario

# SMALL plus one of each optional section, so that every field has a valid place to break.
# No empty lists or mappings: the dump must have no brackets (see test_unbalanced_brackets).
BASE = {
    **copy.deepcopy(SMALL),
    "workload": {**SMALL["workload"], "daily": {"peak_hour": 20}},
    "network": {"model": packaged_rtt_model().model_dump()},
    "faults": [{"region": "iad", "start_s": 60, "duration_s": 30}],
    "alternatives": ["hetzner:fsn1"],
    "verdict": {"baseline": "iad", "slo_ms": 250, "usd_per_user_hour": 1.0},
    "sweep": {"loads": [10, 40], "seeds": 2},
}
BASE_TEXT = yaml.safe_dump(BASE)

# Fixed examples for CI; no example database written into the checkout; no per-example
# deadline (the whole file is timed by CI, and sim.estimate is patched to fail loudly).
FUZZ = settings(derandomize=True, database=None, deadline=None)

UNIT_PARSERS = {
    units.seconds: "s",
    units.milliseconds: "ms",
    units.kilobytes: "kb",
    units.megabytes: "mb",
}
Path_ = tuple[str | int, ...]


def dotted(path: Path_) -> str:
    """A field's path as error messages write it: `faults.0.region`."""
    return ".".join(str(part) for part in path)


@dataclass(frozen=True)
class Leaf:
    """A field of the schema, with what its annotation lets through."""

    path: Path_
    kinds: frozenset[str]  # int float bool str list dict none, plus literal and unitstr
    literals: tuple[str, ...]  # the strings a Literal allows
    number: type | None  # int or float when numeric
    unit: str  # s, ms, kb or mb when a sim.units parser reads the value first
    parse: typing.Callable[[object], object]  # that parser, or the identity
    low: tuple[float, bool] | None  # (bound, inclusive)
    high: tuple[float, bool] | None
    required: bool
    inner: type[BaseModel] | None  # the model of a section, or of a list's items

    @property
    def dotted(self) -> str:
        return dotted(self.path)

    @property
    def section(self) -> Path_:
        """Where the inner model's keys go: the field itself, or its first item."""
        return (*self.path, 0) if "list" in self.kinds else self.path

    def in_bounds(self, value) -> bool:
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False
        if self.low is not None:
            bound, inclusive = self.low
            if not (value >= bound if inclusive else value > bound):
                return False
        if self.high is not None:
            bound, inclusive = self.high
            if not (value <= bound if inclusive else value < bound):
                return False
        return True


LOW = {annotated_types.Ge: ("ge", True), annotated_types.Gt: ("gt", False)}
HIGH = {annotated_types.Le: ("le", True), annotated_types.Lt: ("lt", False)}


def walk(model: type[BaseModel], prefix: Path_ = ()) -> typing.Iterator[Leaf]:
    """Every field of ``model`` and of the models inside it (a list of models as item 0)."""
    for name, info in model.model_fields.items():
        found = metadata(info.annotation, info.metadata)
        parsers = [m.func for m in found if isinstance(m, BeforeValidator)]
        parsers = [func for func in parsers if func in UNIT_PARSERS]
        kinds, literals, number, inner = shape(info.annotation)
        if parsers:
            kinds |= {"int", "float", "unitstr"}
        bounds = {
            key: (getattr(bound, key), inclusive)
            for bound in info.metadata
            for kind, (key, inclusive) in (LOW | HIGH).items()
            if isinstance(bound, kind)
        }
        leaf = Leaf(
            path=(*prefix, name),
            kinds=frozenset(kinds),
            literals=tuple(literals),
            number=number,
            unit=UNIT_PARSERS[parsers[0]] if parsers else "",
            parse=parsers[0] if parsers else (lambda value: value),
            low=bounds.get("ge") or bounds.get("gt"),
            high=bounds.get("le") or bounds.get("lt"),
            required=info.is_required(),
            inner=inner,
        )
        yield leaf
        if inner is not None:
            yield from walk(inner, leaf.section)


def metadata(annotation, extra) -> list:
    """The Annotated metadata anywhere in ``annotation``, plus the field's own."""
    found = list(extra)
    if typing.get_origin(annotation) is typing.Annotated:
        found += annotation.__metadata__
    for arg in typing.get_args(annotation):
        found += metadata(arg, [])
    return found


def shape(annotation) -> tuple[set[str], list[str], type | None, type[BaseModel] | None]:
    """(kinds of YAML value, literal strings, number type, model inside) of an annotation."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return shape(args[0])
    if origin in (typing.Union, types.UnionType):
        kinds, literals, number, model = set(), [], None, None
        for arg in args:
            k, lit, num, mod = shape(arg)
            kinds, literals, number, model = kinds | k, literals + lit, number or num, model or mod
        return kinds, literals, number, model
    if origin is typing.Literal:
        return {"literal"}, list(args), None, None
    if origin is list:
        inner = args[0] if isinstance(args[0], type) and issubclass(args[0], BaseModel) else None
        return {"list"}, [], None, inner
    if origin is dict:
        return {"dict"}, [], None, None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {"dict"}, [], None, annotation
    simple = {
        type(None): ({"none"}, None),
        bool: ({"bool"}, None),
        int: ({"int"}, int),
        float: ({"int", "float"}, float),  # strict mode still takes an int for a float
        str: ({"str"}, None),
        Path: ({"str"}, None),  # File turns a string into a Path first
    }
    kinds, number = simple[annotation]
    return set(kinds), [], number, None


LEAVES = list(walk(Scenario))
MODELS = {(): Scenario} | {leaf.section: leaf.inner for leaf in LEAVES if leaf.inner}
SECTIONS = list(MODELS)
BOUNDED = [leaf for leaf in LEAVES if leaf.number and (leaf.low or leaf.high)]
REQUIRED = [leaf for leaf in LEAVES if leaf.required]
REGION_FIELDS = [  # the str fields that hold a region code; the schema cannot say which
    ("app", "primary_region"),
    ("region_sets",),
    ("database", "replicas"),
    ("database", "region"),
    ("faults", 0, "region"),
]


def changed(path: Path_, value) -> dict:
    """BASE with the value at ``path`` set (a key added, if new)."""
    data = copy.deepcopy(BASE)
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return data


def without(path: Path_) -> dict:
    data = copy.deepcopy(BASE)
    node = data
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    return data


def dumped(data: dict) -> bytes:
    text = yaml.safe_dump(data)
    assert yaml.safe_dump(yaml.safe_load(text)) == text, "the generator wrote what YAML changes"
    return text.encode()


def refused(content: bytes) -> str:
    """Run `globalness run` on a file holding ``content``; check it exits 2 with one `error:`
    line naming the file and writes nothing; return the rest of the line after the file."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        scenario, out = folder / "scenario.yaml", folder / "out"
        scenario.write_bytes(content)
        stdout, stderr = io.StringIO(), io.StringIO()
        with (
            contextlib.redirect_stdout(stdout),
            contextlib.redirect_stderr(stderr),
            mock.patch("sim.estimate", side_effect=AssertionError("it reached the simulation")),
        ):
            code = main(["run", str(scenario), "--out", str(out)])
        others = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p != scenario)
        if out.is_dir() and not any(out.iterdir()):
            others.remove("out")
    err = stderr.getvalue()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.endswith("\n"), repr(err)
    assert err.startswith(f"error: {scenario}: "), err
    assert not stdout.getvalue() and not others, (stdout.getvalue(), others)
    return err.removeprefix(f"error: {scenario}: ").removesuffix("\n")


def names(rest: str, dotted: str) -> bool:
    return rest.startswith(f"{dotted}: ")


# --- values -------------------------------------------------------------------------------

letters = st.text(string.ascii_letters, min_size=1, max_size=12)
scalars = st.one_of(st.integers(), letters, st.booleans(), st.none())


def wrong_type(leaf: Leaf) -> st.SearchStrategy:
    """Values of a type ``leaf`` does not take (never a number for a numeric field)."""
    options = []
    if "str" not in leaf.kinds:  # a unit string or a Literal still needs the right letters
        options.append(letters.filter(lambda text: text not in leaf.literals))
    if "list" not in leaf.kinds:
        options.append(st.lists(scalars, max_size=3))
    if "dict" not in leaf.kinds:
        options.append(st.dictionaries(letters, scalars, max_size=2))
    if "bool" not in leaf.kinds:
        options.append(st.booleans())  # strict: `true` is not a count
    if not {"int", "float"} & leaf.kinds:
        options.append(st.integers() | st.floats(allow_nan=False, allow_infinity=False))
    elif "float" not in leaf.kinds:
        options.append(st.floats())  # strict: 2.0 is not a count either
    if "none" not in leaf.kinds:
        options.append(st.none())
    return st.one_of(options)


HUGE = [2**63, 2**64, 10**30, 10**400]


def out_of_bounds(leaf: Leaf) -> st.SearchStrategy:
    """Numbers (and, for unit fields, unit strings) outside the field's bounds."""
    options = []
    if leaf.low is not None:
        bound, inclusive = leaf.low
        options.append(st.integers(max_value=math.ceil(bound) - (1 if inclusive else 0)))
        options.append(st.sampled_from([-n for n in HUGE]))
        if leaf.number is float:
            options.append(st.floats(max_value=bound, exclude_max=inclusive, allow_nan=False))
        if not inclusive and bound == 0 and leaf.unit:
            options.append(st.just(f"0{leaf.unit}"))
    if leaf.high is not None:
        bound, inclusive = leaf.high
        options.append(st.integers(min_value=math.floor(bound) + (1 if inclusive else 0)))
        options.append(st.sampled_from(HUGE))
        if leaf.number is float:
            options.append(st.floats(min_value=bound, exclude_min=inclusive, allow_nan=False))
        if leaf.unit:
            options.append(
                st.integers(min_value=math.floor(bound) + 1, max_value=10**9).map(
                    lambda n: f"{n}{leaf.unit}"
                )
            )
    if leaf.number is float:
        options.append(st.sampled_from([math.nan, math.inf, -math.inf]))
    return st.one_of(options).filter(lambda value: not parses_in_bounds(leaf, value))


def parses_in_bounds(leaf: Leaf, value) -> bool:
    """Whether ``value`` is valid after all: the unit parser may round it back in."""
    try:
        parsed = leaf.parse(value)
    except ValueError:
        return False
    return leaf.in_bounds(parsed)


def bad_region_code() -> st.SearchStrategy[str]:
    known = set(regions().index)
    return st.text(string.ascii_lowercase, min_size=3, max_size=3).filter(lambda c: c not in known)


word = st.text(string.ascii_letters + string.digits + "-_", min_size=1, max_size=10)
controls = st.sampled_from([chr(c) for c in [*range(32), 127]])
bad_set_names = st.one_of(
    st.sampled_from(["../x", "a/b", "..", ".", "", " ", "a\\b", "/etc/passwd", "x" * 65]),
    st.builds(lambda a, b: f"{a}/{b}", word, word),
    st.builds(lambda a, b: f"{a}\\{b}", word, word),
    st.builds(lambda a: f"../{a}", word),
    st.builds(lambda a: f".{a}", word),
    st.builds(lambda a: f" {a}", word),
    st.builds(lambda a, c, b: f"{a}{c}{b}", word, controls, word),
    st.text(min_size=65, max_size=80).filter(lambda name: name[0] not in ". "),
)


# --- the schema walk finds what it should --------------------------------------------------


def test_the_base_is_valid_and_the_walk_reaches_every_section():
    assert build_scenario(BASE).faults and "[" not in BASE_TEXT and "{" not in BASE_TEXT
    dotted = {leaf.dotted for leaf in LEAVES}
    assert {"app.soft_limit", "workload.daily.peak_hour", "faults.0.region"} <= dotted
    assert {"network.model.land_inflation", "region_sets", "seed"} <= dotted
    assert set(SECTIONS) >= {(), ("app",), ("workload", "daily"), ("faults", 0)}
    assert {leaf.dotted for leaf in REQUIRED} >= {"app", "app.primary_region", "region_sets"}
    assert {"app.cold_start_s", "app.memory_mb", "workload.response_kb"} <= {
        leaf.dotted for leaf in BOUNDED if leaf.unit
    }


# --- mutations of the mapping --------------------------------------------------------------


def case_id(value) -> str:
    return value.dotted if isinstance(value, Leaf) else dotted(value) or "top"


# Each field, section and place is its own test case, so every one is fuzzed.
@pytest.mark.parametrize("leaf", LEAVES, ids=case_id)
@settings(FUZZ, max_examples=5)
@given(data=st.data())
def test_a_value_of_the_wrong_type_names_its_field(leaf, data):
    value = data.draw(wrong_type(leaf), label="value")
    rest = refused(dumped(changed(leaf.path, value)))
    assert names(rest, leaf.dotted), rest


@pytest.mark.parametrize("leaf", BOUNDED, ids=case_id)
@settings(FUZZ, max_examples=5)
@given(data=st.data())
def test_a_number_out_of_bounds_names_its_field(leaf, data):
    value = data.draw(out_of_bounds(leaf), label="value")
    rest = refused(dumped(changed(leaf.path, value)))
    assert names(rest, leaf.dotted), rest


unknown_keys = st.one_of(
    st.from_regex(r"[a-z_][a-z0-9_]{0,19}", fullmatch=True),
    st.text(max_size=12),  # any text: dots, colons, spaces, line breaks, nothing at all
)


@pytest.mark.parametrize("section", SECTIONS, ids=case_id)
@settings(FUZZ, max_examples=20)
@given(key=unknown_keys)
def test_an_unknown_key_is_named_with_the_keys_allowed_there(section, key):
    allowed = list(MODELS[section].model_fields)
    if key in allowed or key == "<<":  # `<<` is YAML's merge key, not a key
        return
    rest = refused(dumped(changed((*section, key), 1)))
    within = f"{dotted(section)}." if section else ""
    assert rest.startswith((f"{within}{key}: ", f"{within}{key!r}: ")), rest  # quoted if odd
    assert rest.endswith(f"; allowed: {', '.join(allowed)}"), rest


@pytest.mark.parametrize("section", SECTIONS, ids=case_id)
@settings(FUZZ, max_examples=3)
@given(key=st.integers() | st.floats(allow_nan=False) | st.booleans() | st.none())
def test_a_key_that_is_not_a_string_is_named(section, key):
    rest = refused(dumped(changed((*section, key), 1)))
    assert rest.startswith(f"{dotted(section)}." if section else ""), rest
    assert rest.endswith(f"Keys should be strings (got {key!r})"), rest


@pytest.mark.parametrize("leaf", REQUIRED, ids=case_id)  # a handful: all of them, once
def test_a_required_key_removed_is_named(leaf):
    rest = refused(dumped(without(leaf.path)))
    # A missing section is reported as the first key it lacks: `app.primary_region`.
    assert names(rest, leaf.dotted) or rest.startswith(f"{leaf.dotted}."), rest
    assert "required key is missing" in rest, rest


@pytest.mark.parametrize("path", REGION_FIELDS, ids=case_id)
@settings(FUZZ, max_examples=15)
@given(code=bad_region_code(), position=st.integers(0, 3), as_mapping=st.booleans())
def test_a_code_that_is_not_a_fly_region_is_named(path, code, position, as_mapping):
    if path == ("region_sets",):
        codes = ["iad", "fra", "sin"]
        codes.insert(position, code)
        value = {"one": ["iad"], "many": codes} if as_mapping else [["iad"], codes]
    elif path == ("database", "replicas"):
        codes = ["fra", "sin"]
        codes.insert(position % 3, code)
        value = codes
    else:
        value = code
    rest = refused(dumped(changed(path, value)))
    assert names(rest, dotted(path)) and f"{code!r} is not a Fly region" in rest, rest


@settings(FUZZ, max_examples=80)
@given(bad_set_names, st.booleans())
def test_a_region_set_name_that_could_be_a_path_is_refused(name, first):
    sets = {name: ["iad", "fra"], "main": ["iad"]} if first else {"main": ["iad"], name: ["iad"]}
    rest = refused(dumped(changed(("region_sets",), sets)))
    assert names(rest, "region_sets") and f"{name!r} is not a usable name" in rest, rest


# --- mutations of the text -----------------------------------------------------------------

BASE_LINES = BASE_TEXT.splitlines(keepends=True)
TOP_LEVEL = [i for i, line in enumerate(BASE_LINES) if not line[0].isspace() and line[0] != "-"]
INDENTED = [i for i, line in enumerate(BASE_LINES) if line.startswith(" ")]
KEY_LINES = [
    (i, match[1]) for i, line in enumerate(BASE_LINES)
    if (match := re.fullmatch(r" *([A-Za-z_]\w*):( .*)?\n", line))
]  # fmt: skip


def names_a_line(rest: str) -> int:
    match = re.match(r"line (\d+): \S", rest)
    assert match, rest
    return int(match[1])


@settings(FUZZ, max_examples=40)
@given(
    st.sampled_from([*TOP_LEVEL, len(BASE_LINES)]),
    st.sampled_from("[{"),
    st.lists(word, max_size=3),
)
def test_unbalanced_brackets_name_a_line(at, opener, items):
    line = f"zz_extra: {opener}{', '.join(items)}\n"
    text = "".join([*BASE_LINES[:at], line, *BASE_LINES[at:]])
    assert names_a_line(refused(text.encode())) >= at + 1


@settings(FUZZ, max_examples=40)
@given(st.sampled_from(INDENTED), st.integers(1, 2), st.integers(1, 4))
def test_a_tab_indented_block_names_its_first_line(at, tabs, block):
    lines = list(BASE_LINES)
    for i in range(at, min(at + block, len(lines))):
        if lines[i].startswith(" "):
            lines[i] = "\t" * tabs + lines[i].lstrip(" ")
    assert names_a_line(refused("".join(lines).encode())) == at + 1


@pytest.mark.parametrize(("at", "key"), KEY_LINES, ids=[f"line{i + 1}" for i, _ in KEY_LINES])
def test_a_duplicated_key_names_the_second(at, key):
    text = "".join([*BASE_LINES[: at + 1], BASE_LINES[at], *BASE_LINES[at + 1 :]])
    rest = refused(text.encode())
    assert names_a_line(rest) == at + 2 and f"key {key!r} appears twice" in rest, rest


# YAML refuses these characters anywhere, even quoted (PyYAML reader.NON_PRINTABLE).
unprintable = st.sampled_from(
    [chr(c) for c in [*range(9), 11, 12, *range(14, 32), 127, *range(0x80, 0x85), 0xFFFE]]
)


@settings(FUZZ, max_examples=10)
@given(st.sampled_from(range(len(BASE_LINES))), unprintable)
def test_a_character_yaml_refuses_names_its_line(at, character):
    lines = list(BASE_LINES)
    lines[at] = lines[at][:1] + character + lines[at][1:]
    assert names_a_line(refused("".join(lines).encode())) == at + 1


@st.composite
def not_utf8(draw) -> bytes:
    data = BASE_TEXT.encode()
    kind = draw(st.sampled_from(["byte", "utf-16", "latin-1"]))
    if kind == "byte":  # any byte >= 0x80 among ASCII breaks UTF-8
        at = draw(st.integers(0, len(data)))
        return data[:at] + bytes([draw(st.integers(0x80, 0xFF))]) + data[at:]
    city = draw(st.sampled_from(["Zürich", "São Paulo", "Málaga", "Kraków"]))
    return f"# users near {city}\n{BASE_TEXT}".encode(kind)


@settings(FUZZ, max_examples=40)
@given(not_utf8())
def test_a_file_that_is_not_utf8_is_refused(content):
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")
    assert refused(content) == "not a UTF-8 text file"

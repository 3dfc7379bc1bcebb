"""Bad input, part 1: broken mappings stop start-up with a ConfigError naming file, line and key.

Promise 7 of the design: "A malformed mappings file stops start-up with the
file, line and reason." Hypothesis breaks copies of the shipped `mappings/` in
the ways admins (and editors, merges and disks) do: wrong types at every key
of fields.yaml, scoring.yaml and conversion.yaml, missing and unknown keys,
unknown operators, broken filter logic, rows that do not exist, malformed
YAML text, binary junk, deep nesting and files over 1 MB. `load_rules` must
either load or raise ConfigError whose every line reads
`<file>:<line>: <key path>: <reason>`, the line being that of the key it
names. A handful of cases go through the real CLI (`run --once`, `check`,
`replay`): exit code 2, the same message, never a traceback.

The gaps this suite found are fixed; their tests are at the end (see docs/RELIABILITY.md).
"""

from __future__ import annotations

import copy
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from typer.testing import CliRunner

from sfsync.cli import app
from sfsync.errors import ConfigError
from sfsync.mappings import MAX_FILE_BYTES, load_rules
from sfsync.rules.pipeline import RuleSet

SHIPPED = Path(__file__).resolve().parents[2] / "mappings"
RECORDING = Path(__file__).resolve().parents[1] / "fixtures" / "cycle.yaml"
FILES = ("fields.yaml", "scoring.yaml", "conversion.yaml")
SHIPPED_DATA = {name: yaml.safe_load((SHIPPED / name).read_text("utf-8")) for name in FILES}
SHIPPED_TEXT = {name: (SHIPPED / name).read_text("utf-8") for name in FILES}
# The scoring rule that has two rows and a filter logic ("1 OR 2").
LOGIC_RULE = next(
    i for i, r in enumerate(SHIPPED_DATA["scoring.yaml"]["rules"]) if r.get("filter_logic")
)
# The whole-file problems that have no line to name: size, encoding, nesting.
WHOLE_FILE = ("file is larger than", "not UTF-8 text", "nested too deeply")
# A cross-file problem (a target not under write in fields.yaml): checked by its own test.
NOT_WRITABLE = "is not listed under 'write'"
RULE_FILES_THAT_WRITE = ("scoring.yaml", "grading.yaml", "lifecycle.yaml", "enrichment.yaml")
PROPERTY = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
KeyPath = tuple[str | int, ...]
runner = CliRunner()


@pytest.fixture
def mappings(tmp_path: Path) -> Path:
    target = tmp_path / "mappings"
    shutil.copytree(SHIPPED, target)
    return target


def reset(directory: Path) -> Path:
    """The shipped files again: hypothesis runs every example in the same directory."""
    for name in FILES:
        (directory / name).write_bytes((SHIPPED / name).read_bytes())
    return directory


# -- what a clear error is ------------------------------------------------------------------------


def parse_key(text: str) -> KeyPath:
    """`rules[2].criteria[0].operator` as ("rules", 2, "criteria", 0, "operator")."""
    if text == "(top level)":
        return ()
    parts: list[str | int] = []
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", text):
        parts.append(int(index) if index else name)
    return tuple(parts)


def key_lines(text: str) -> dict[str, int]:
    """Each key path of `text` as sfsync writes it (`rules[2].points`) → its 1-based line.

    A mapping key is on the line of its name, a list item where it starts, the
    root ("") where the document starts; a repeated key keeps its last line.
    """
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    assert root is not None
    lines = {"": root.start_mark.line + 1}
    todo: list[tuple[yaml.Node, str]] = [(root, "")]
    seen: set[int] = set()
    while todo:
        node, prefix = todo.pop(0)
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                name = f"{prefix}.{key.value}" if prefix else str(key.value)
                lines[name] = key.start_mark.line + 1
                todo.append((value, name))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                lines[f"{prefix}[{index}]"] = item.start_mark.line + 1
                todo.append((item, f"{prefix}[{index}]"))
    return lines


def expected_line(lines: dict[str, int], key: str) -> int:
    """The line of the deepest part of `key` that is in the file (a missing key: its parent's)."""
    if key == "(top level)":
        return lines[""]
    found = [k for k in lines if k and (key == k or key.startswith((k + ".", k + "[")))]
    return lines[max(found, key=len)] if found else lines[""]


def assert_clear(message: str, directory: Path, name: str) -> list[KeyPath]:
    """Every line is `file:line: key: reason` with the right line; returns the keys named."""
    assert "Traceback" not in message
    if message == f"{directory / name}:1: file is empty":
        return [()]
    if "invalid character" in message or "not UTF-8" in message:
        # The text cannot be read as YAML at all: the line comes from the reader's position.
        assert re.match(rf"^{re.escape(str(directory / name))}:\d+: ", message), message
        return [()]
    if NOT_WRITABLE in message:
        # A cross-file problem: named at the rule file's target, pointing at fields.yaml.
        writers = "|".join(re.escape(str(directory / f)) for f in RULE_FILES_THAT_WRITE)
        assert re.match(rf"^({writers}):\d+: \S+: ", message), message
        assert str(directory / "fields.yaml") in message, message
        return [("targets",)]
    text = (directory / name).read_text("utf-8")
    lines = key_lines(text)
    keys: list[KeyPath] = []
    for line in message.splitlines():
        prefix = f"{directory / name}:"
        assert line.startswith(prefix), f"not about {name}: {line!r}"
        number, _, rest = line.removeprefix(prefix).partition(": ")
        assert number.isdigit(), f"no line number: {line!r}"
        # The key may itself hold ": " (a key typed as `a: b:`): try each split.
        splits = [m.start() for m in re.finditer(": ", rest)]
        named = [rest[:i] for i in splits if expected_line(lines, rest[:i]) == int(number)]
        assert named, f"line {number} is not the line of the key named in {line!r}"
        keys.append(parse_key(named[0]))
    return keys


def related(a: KeyPath, b: KeyPath) -> bool:
    """One path is a prefix of the other (an error names the key or one of its parents)."""
    shorter = min(len(a), len(b))
    return a[:shorter] == b[:shorter]


def load_or_error(directory: Path) -> RuleSet | str:
    """The rules, or the ConfigError's message; any other exception fails the test.

    Each outcome is a hypothesis event: `--hypothesis-show-statistics` shows the mix.
    """
    try:
        outcome: RuleSet | str = load_rules(directory)
    except ConfigError as exc:
        outcome = str(exc)
    if currently_in_test_context():
        event("ConfigError" if isinstance(outcome, str) else "loaded")
    return outcome


# -- strategies -----------------------------------------------------------------------------------


def key_paths(data: Any, prefix: KeyPath = ()) -> Iterator[KeyPath]:
    """Every key path of parsed YAML data, the root included."""
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from key_paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from key_paths(value, (*prefix, index))


PATHS = {name: list(key_paths(data)) for name, data in SHIPPED_DATA.items()}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["equals", "in", "1 AND 2", "Rating", "005000000000001", "{Company}", "Hot"]),
)
junk = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.from_regex(r"[a-z_]{1,6}", fullmatch=True), inner, max_size=3),
    ),
    max_leaves=6,
)


def set_at(data: Any, path: KeyPath, value: Any) -> Any:
    if not path:
        return value
    out = copy.deepcopy(data)
    parent = out
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value
    return out


def delete_at(data: Any, path: KeyPath) -> Any:
    out = copy.deepcopy(data)
    parent = out
    for part in path[:-1]:
        parent = parent[part]
    del parent[path[-1]]
    return out


def dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)


# -- wrong values, missing keys and unknown keys at every key path --------------------------------


@PROPERTY
@given(
    name=st.sampled_from(FILES),
    pick=st.integers(min_value=0),
    value=junk,
)
def test_a_wrong_value_at_any_key_loads_or_names_file_line_and_key(
    mappings: Path, name: str, pick: int, value: Any
) -> None:
    reset(mappings)
    path = PATHS[name][pick % len(PATHS[name])]
    (mappings / name).write_text(dump(set_at(SHIPPED_DATA[name], path, value)), "utf-8")

    outcome = load_or_error(mappings)

    if isinstance(outcome, str):
        keys = assert_clear(outcome, mappings, name)
        assert NOT_WRITABLE in outcome or any(related(k, path) for k in keys), outcome


@PROPERTY
@given(name=st.sampled_from(FILES), pick=st.integers(min_value=0), extra=st.booleans())
def test_a_missing_or_unknown_key_names_file_line_and_key(
    mappings: Path, name: str, pick: int, extra: bool
) -> None:
    reset(mappings)
    dict_paths = [p for p in PATHS[name] if p and isinstance(p[-1], str)]
    path = dict_paths[pick % len(dict_paths)]
    if extra:
        broken = set_at(SHIPPED_DATA[name], (*path[:-1], "colour"), "blue")
    else:
        broken = delete_at(SHIPPED_DATA[name], path)
    (mappings / name).write_text(dump(broken), "utf-8")

    outcome = load_or_error(mappings)

    parent = path[:-1]
    added = (*parent, "colour")
    if extra and parent[:1] != ("copy_to",):  # extra="forbid": a model's unknown key is refused
        assert isinstance(outcome, str)
        assert added in assert_clear(outcome, mappings, name)
        assert "Extra inputs are not permitted" in outcome
    elif extra and len(parent) == 1:  # copy_to names only Account, Contact and Opportunity
        assert isinstance(outcome, str)
        assert added in assert_clear(outcome, mappings, name)
    elif isinstance(outcome, str):  # a missing key, or a field copied to an object
        keys = assert_clear(outcome, mappings, name)
        assert NOT_WRITABLE in outcome or any(related(k, path) for k in keys), outcome


OPERATOR_PATHS = [(name, p) for name in FILES for p in PATHS[name] if p and p[-1] == "operator"]


@PROPERTY
@given(where=st.sampled_from(OPERATOR_PATHS), operator=st.text(min_size=0, max_size=20))
def test_an_unknown_operator_is_refused_at_its_line(
    mappings: Path, where: tuple[str, KeyPath], operator: str
) -> None:
    reset(mappings)
    name, path = where
    assume(operator not in {"equals", "not_equal", "contains", "contains_word", "in", "not_in"})
    assume(not operator.startswith(("does_not", "starts", "greater", "less", "is_", "matches")))
    (mappings / name).write_text(dump(set_at(SHIPPED_DATA[name], path, operator)), "utf-8")

    outcome = load_or_error(mappings)

    assert isinstance(outcome, str)
    assert path in assert_clear(outcome, mappings, name)
    assert "Input should be 'equals'" in outcome


LOGIC_TOKENS = ["1", "2", "3", "9", "0", "-1", "AND", "OR", "NOT", "and", "or", "(", ")", "&&", "|"]


@PROPERTY
@given(
    tokens=st.lists(st.sampled_from(LOGIC_TOKENS), max_size=12),
    where=st.sampled_from(["scoring.yaml", "conversion.yaml"]),
)
def test_any_filter_logic_loads_or_is_refused_at_its_rule(
    mappings: Path, tokens: list[str], where: str
) -> None:
    reset(mappings)
    logic = " ".join(tokens)
    owner: KeyPath = ("rules", LOGIC_RULE) if where == "scoring.yaml" else ()
    data = set_at(SHIPPED_DATA[where], (*owner, "filter_logic"), logic)
    (mappings / where).write_text(dump(data), "utf-8")

    outcome = load_or_error(mappings)

    if isinstance(outcome, str):
        keys = assert_clear(outcome, mappings, where)
        assert keys and all(related(k, (*owner, "filter_logic")) for k in keys)
        assert "filter logic" in outcome
    else:
        rows = re.findall(r"\d+", logic)
        assert all(1 <= int(n) <= 2 for n in rows), f"{logic!r} names a row that does not exist"


@pytest.mark.parametrize("logic", ["1 AND 3", "1 OR 2 OR 17", "NOT 4", "(1 AND (2 OR 300))"])
def test_filter_logic_naming_a_missing_row_is_refused(mappings: Path, logic: str) -> None:
    data = set_at(SHIPPED_DATA["scoring.yaml"], ("rules", LOGIC_RULE, "filter_logic"), logic)
    (mappings / "scoring.yaml").write_text(dump(data), "utf-8")

    outcome = load_or_error(mappings)

    assert isinstance(outcome, str) and "names row(s)" in outcome
    assert assert_clear(outcome, mappings, "scoring.yaml") == [("rules", LOGIC_RULE)]


# -- malformed YAML text, binary junk, size and nesting -------------------------------------------

CORRUPTIONS = [
    ":", ": ", "- ", "[", "]", "{", "}", ",", "'", '"', "#", "\t", "|", ">", "%", "@", "`",
    "? ", "---", "...", "\\", "!!int ", "!!binary ", "!!python/object:os.system ", "&a ", "*a",
    "*nowhere", "<<: ", "\u00a0", "\x85", "\ufeff", "\u2028", "é", "🚀", "\x00", "\x07", "\x1b",
]  # fmt: skip

text_edit = st.one_of(
    st.tuples(st.just("insert"), st.integers(min_value=0), st.sampled_from(CORRUPTIONS)),
    st.tuples(st.just("insert"), st.integers(min_value=0), st.text(max_size=3)),
    st.tuples(st.just("truncate"), st.integers(min_value=0), st.just("")),
    st.tuples(st.just("dup_line"), st.integers(min_value=0), st.just("")),
    st.tuples(st.just("indent"), st.integers(min_value=0), st.sampled_from([" ", "   ", "\t"])),
)


def edit(text: str, op: tuple[str, int, str]) -> str:
    kind, where, junk_text = op
    lines = text.splitlines(keepends=True)
    if kind in ("dup_line", "indent") and lines:
        i = where % len(lines)
        new = lines[i] if kind == "dup_line" else junk_text + lines[i]
        return "".join([*lines[:i], new, *lines[i + (kind == "indent") :]])
    pos = where % (len(text) + 1)
    return text[:pos] if kind == "truncate" else text[:pos] + junk_text + text[pos:]


def assert_clear_or_whole_file(message: str, directory: Path, name: str) -> None:
    """As `assert_clear`, except the problems that are about the file as a whole."""
    path = str(directory / name)
    if NOT_WRITABLE in message:
        return
    first = message.splitlines()[0] if message else ""
    if any(f"{path}: {reason}" in first for reason in WHOLE_FILE):
        return
    if first.startswith(f"{path}: invalid YAML"):  # a whole-file YAML error (no line to name)
        return
    if re.match(rf"^{re.escape(path)}:\d+: invalid YAML: ", first) or first.startswith(
        f"{path}:1: file is empty"
    ):
        line = int(first.split(":")[1])
        assert 1 <= line <= len((directory / name).read_text("utf-8").splitlines()) + 1
        return
    assert_clear(message, directory, name)


@PROPERTY
@given(name=st.sampled_from(FILES), ops=st.lists(text_edit, min_size=1, max_size=4))
def test_corrupted_yaml_text_loads_or_raises_a_clear_config_error(
    mappings: Path, name: str, ops: list[tuple[str, int, str]]
) -> None:
    reset(mappings)
    text = SHIPPED_TEXT[name]
    for op in ops:
        text = edit(text, op)
    (mappings / name).write_text(text, encoding="utf-8")

    outcome = load_or_error(mappings)

    if isinstance(outcome, str):
        assert_clear_or_whole_file(outcome, mappings, name)


@pytest.mark.parametrize("tagged", ["!!int", "!!int ", "!!float", "!!bool", "!!timestamp"])
def test_a_tag_with_an_empty_value_is_a_config_error(mappings: Path, tagged: str) -> None:
    """Found by the property above: PyYAML raised IndexError for `!!int` with no digits."""
    reset(mappings)
    (mappings / "fields.yaml").write_text(tagged, encoding="utf-8")

    outcome = load_or_error(mappings)

    assert isinstance(outcome, str) and outcome.startswith(f"{mappings / 'fields.yaml'}:1: ")


@pytest.mark.parametrize(
    ("key", "said"),
    [("? # a comment\n", "a key is empty"), ("~: 1\n", "a key is empty"),
     ("1: Description\n", "a key is 1, not text"), ("yes: 2\n", "a key is True, not text")],
)  # fmt: skip
def test_a_key_that_is_not_text_is_refused_at_its_line(mappings: Path, key: str, said: str) -> None:
    """Found by the property above: `? ` before a comment made a null key, named as None."""
    reset(mappings)
    text = SHIPPED_TEXT["conversion.yaml"]
    (mappings / "conversion.yaml").write_text(text + key, encoding="utf-8")
    line = len(text.splitlines()) + 1

    outcome = load_or_error(mappings)

    assert isinstance(outcome, str), outcome
    assert outcome.startswith(f"{mappings / 'conversion.yaml'}:{line}: invalid YAML: {said}")


@settings(PROPERTY, max_examples=60)
@given(name=st.sampled_from(FILES), blob=st.binary(min_size=1, max_size=400))
def test_binary_junk_is_a_config_error_naming_the_file(
    mappings: Path, name: str, blob: bytes
) -> None:
    reset(mappings)
    (mappings / name).write_bytes(blob)

    outcome = load_or_error(mappings)

    if isinstance(outcome, str):
        assert outcome.startswith(str(mappings / name) + ":")
        if "not UTF-8 text" not in outcome:
            assert_clear_or_whole_file(outcome, mappings, name)


@pytest.mark.parametrize("name", FILES)
def test_a_file_of_exactly_one_megabyte_loads_and_one_byte_more_is_refused(
    mappings: Path, name: str
) -> None:
    text = SHIPPED_TEXT[name]
    padded = text + "#" * (MAX_FILE_BYTES - len(text.encode()) - 1) + "\n"
    assert len(padded.encode()) == MAX_FILE_BYTES
    (mappings / name).write_text(padded, encoding="utf-8")
    assert isinstance(load_or_error(mappings), RuleSet)

    (mappings / name).write_text(padded + "\n", encoding="utf-8")
    outcome = load_or_error(mappings)
    assert outcome == f"{mappings / name}: file is larger than {MAX_FILE_BYTES} bytes"


@pytest.mark.parametrize("name", FILES)
def test_a_huge_valid_looking_list_is_refused_by_size(mappings: Path, name: str) -> None:
    rows = "".join(f"  - Field_{i}__c\n" for i in range(70_000))
    (mappings / name).write_text(SHIPPED_TEXT[name] + "extra:\n" + rows, encoding="utf-8")

    assert load_or_error(mappings) == f"{mappings / name}: file is larger than 1000000 bytes"


@settings(PROPERTY, max_examples=25)
@given(
    name=st.sampled_from(FILES),
    pick=st.integers(min_value=0),
    depth=st.integers(min_value=2, max_value=3000),
    kind=st.sampled_from(["flow_list", "flow_map", "block_list"]),
)
def test_deep_nesting_at_any_key_is_a_config_error(
    mappings: Path, name: str, pick: int, depth: int, kind: str
) -> None:
    reset(mappings)
    # Criteria values have their own nesting test at the end; every other key is typed.
    paths = [p for p in PATHS[name][1:] if "value" not in p]
    path = paths[pick % len(paths)]
    marker = "NESTED_HERE"
    text = dump(set_at(SHIPPED_DATA[name], path, marker))
    if kind == "flow_list":
        nested = "[" * depth + "]" * depth
    elif kind == "flow_map":
        nested = "{a: " * depth + "1" + "}" * depth
    else:
        nested = "\n" + "".join(" " * (40 + i) + "- \n" for i in range(min(depth, 400)))
    (mappings / name).write_text(text.replace(marker, nested, 1), encoding="utf-8")

    outcome = load_or_error(mappings)

    assert isinstance(outcome, str), f"{kind} x{depth} at {path} loaded"
    assert_clear_or_whole_file(outcome, mappings, name)


# -- through the CLI: exit 2, the message, no traceback -------------------------------------------


@pytest.fixture
def cli_env(mappings: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Credentials that parse (no org is ever reached: the mappings stop start-up first)."""
    for name in list(os.environ):
        if name.startswith(("SF_", "SFSYNC_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SF_ACCESS_TOKEN", "00D000000000001!not-a-real-session")
    monkeypatch.setenv("SF_INSTANCE_URL", "https://org.example.invalid")
    monkeypatch.setenv("SFSYNC_MAPPINGS", str(mappings))
    monkeypatch.setenv("SFSYNC_DATABASE_URL", f"sqlite:///{tmp_path}/state.db")
    return mappings


BROKEN: dict[str, tuple[str, KeyPath, Any, str]] = {
    "wrong type": ("scoring.yaml", ("rules", 1, "points"), "lots", "valid number"),
    "unknown operator": (
        "scoring.yaml",
        ("rules", 2, "criteria", 0, "operator"),
        "containz",
        "Input should be",
    ),
    "missing row": ("scoring.yaml", ("rules", LOGIC_RULE, "filter_logic"), "1 OR 5", "row(s)"),
    "bad logic": ("conversion.yaml", ("filter_logic",), "1 AND OR 2", "filter logic"),
    "fields not a list": ("fields.yaml", ("write",), {"a": 1}, "valid tuple"),
    "bad template": ("conversion.yaml", ("opportunity_name",), "{Company", "template"),
}


def _break(directory: Path, case: str) -> tuple[Path, int, str]:
    name, path, value, says = BROKEN[case]
    text = dump(set_at(SHIPPED_DATA[name], path, value))
    (directory / name).write_text(text, encoding="utf-8")
    message = load_or_error(directory)
    assert isinstance(message, str)
    line = int(message.split(":")[1])
    return directory / name, line, says


@pytest.mark.parametrize("case", sorted(BROKEN))
@pytest.mark.parametrize(
    "command", [["run", "--once"], ["run", "--once", "--dry-run"], ["check"]], ids=" ".join
)
def test_the_cli_exits_2_with_file_line_and_reason(
    cli_env: Path, case: str, command: list[str]
) -> None:
    path, line, says = _break(cli_env, case)

    result = runner.invoke(app, ["--log-json", *command])

    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert f"{path}:{line}: " in result.output and says in result.output
    assert "Traceback" not in result.output


def test_replay_with_broken_mappings_exits_2(cli_env: Path) -> None:
    path, line, _says = _break(cli_env, "unknown operator")

    result = runner.invoke(app, ["replay", str(RECORDING), "--mappings", str(cli_env)])

    assert result.exit_code == 2, result.output
    assert f"{path}:{line}: " in result.output and "Traceback" not in result.output


def test_a_missing_mappings_directory_exits_2(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SFSYNC_MAPPINGS", str(cli_env / "nowhere"))

    result = runner.invoke(app, ["run", "--once"])

    assert result.exit_code == 2 and "does not exist" in result.output


# -- the gaps this suite found, fixed ------------------------------------------------------------


@pytest.mark.parametrize("command", [["run", "--once"], ["check"]], ids=" ".join)
def test_a_message_that_looks_like_markup_is_printed_verbatim(
    cli_env: Path, command: list[str]
) -> None:
    data = set_at(SHIPPED_DATA["scoring.yaml"], ("rules", LOGIC_RULE, "filter_logic"), "1 [/x]")
    (cli_env / "scoring.yaml").write_text(dump(data), encoding="utf-8")

    result = runner.invoke(app, command)

    assert result.exit_code == 2, result.output
    assert "[/x]" in result.output


@pytest.mark.parametrize("logic", ["(" * 600 + "1" + ")" * 600, "NOT " * 1200 + "1"])
def test_deeply_nested_filter_logic_is_a_config_error(mappings: Path, logic: str) -> None:
    data = set_at(SHIPPED_DATA["scoring.yaml"], ("rules", LOGIC_RULE, "filter_logic"), logic)
    (mappings / "scoring.yaml").write_text(dump(data), encoding="utf-8")

    outcome = load_or_error(mappings)

    assert isinstance(outcome, str) and "filter logic" in outcome


@pytest.mark.parametrize(
    "template", ["{NumberOfEmployees:s}", "{AnnualRevenue:<20s}", "{Company.upper}"]
)
def test_an_opportunity_name_that_cannot_be_filled_is_refused(
    mappings: Path, template: str
) -> None:
    data = set_at(SHIPPED_DATA["conversion.yaml"], ("opportunity_name",), template)
    (mappings / "conversion.yaml").write_text(dump(data), encoding="utf-8")

    outcome = load_or_error(mappings)

    assert isinstance(outcome, str) and "opportunity_name" in outcome


# 1 KB of YAML that aliases into a value of 10^9 items (a "billion laughs").
ALIAS_BOMB = (
    "[&l0 ["
    + ", ".join(["lol"] * 10)
    + "]"
    + "".join(f", &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 10))
    + "]"
)


@pytest.mark.parametrize(
    "value", ["{a: 1}", "[[CEO], [CTO]]", ALIAS_BOMB], ids=["mapping", "nested-list", "alias-bomb"]
)
def test_a_criterion_value_must_be_a_scalar_or_a_list_of_scalars(
    mappings: Path, value: str
) -> None:
    text = SHIPPED_TEXT["scoring.yaml"]
    assert text.count("value: Manager}") == 1
    (mappings / "scoring.yaml").write_text(text.replace("value: Manager}", f"value: {value}}}"))

    outcome = load_or_error(mappings)

    # Not `isinstance(outcome, str)`: pytest would print the RuleSet, a billion items long.
    message = outcome if isinstance(outcome, str) else "(loaded)"
    assert "rules[4].criteria[0]" in message


@pytest.mark.parametrize("case", ["not-writable", "tag", "control-char", "not-utf8"])
def test_every_problem_at_a_place_names_its_line(mappings: Path, case: str) -> None:
    target = mappings / ("fields.yaml" if case == "not-writable" else "scoring.yaml")
    text = target.read_text("utf-8")
    if case == "not-writable":
        target.write_text(text.replace("  - Rating\n", ""), encoding="utf-8")
    elif case == "tag":
        target.write_text(text.replace("max_score: 100", "max_score: !!int abc"), "utf-8")
    elif case == "control-char":
        target.write_text(text.replace("value: Manager", "value: Man\x07ager"), "utf-8")
    else:
        target.write_bytes(text.replace("Manager", "Man\xe4ger").encode("latin-1"))

    outcome = load_or_error(mappings)

    assert isinstance(outcome, str)
    assert re.match(r"^.+\.yaml:\d+: ", outcome), outcome

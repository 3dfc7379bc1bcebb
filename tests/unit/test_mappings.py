"""Loading mappings/*.yaml: every broken file is a ConfigError naming file, line and key path.

Each test copies the shipped mappings to a temporary directory and breaks one
thing. Positions are found from the YAML node marks of the copied text, so
the tests follow the shipped files as they evolve.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sfsync.errors import ConfigError
from sfsync.mappings import MAX_FILE_BYTES, load_rules, rules_version
from sfsync.rules.pipeline import RuleSet

SHIPPED = Path(__file__).resolve().parents[2] / "mappings"
SCORING = "scoring.yaml"
FIELDS = "fields.yaml"
SHIPPED_SCORING = (SHIPPED / SCORING).read_text(encoding="utf-8")


@pytest.fixture
def mappings(tmp_path: Path) -> Path:
    target = tmp_path / "mappings"
    shutil.copytree(SHIPPED, target)
    return target


def node_at(text: str, path: tuple[str | int, ...]) -> yaml.Node:
    """The YAML node at `path` (its key node for a mapping key) in `text`."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    for part in path:
        if isinstance(part, int):
            assert isinstance(node, yaml.SequenceNode)
            node = node.value[part]
        else:
            assert isinstance(node, yaml.MappingNode)
            node = next(v for k, v in node.value if k.value == part)
    return node


def key_node(text: str, path: tuple[str | int, ...]) -> yaml.Node:
    parent = node_at(text, path[:-1])
    assert isinstance(parent, yaml.MappingNode)
    return next(k for k, _v in parent.value if k.value == path[-1])


def replace_scalar(text: str, path: tuple[str | int, ...], new: str) -> tuple[str, int]:
    """`text` with the scalar at `path` replaced by `new`; and that scalar's 1-based line."""
    node = node_at(text, path)
    start, end = node.start_mark.index, node.end_mark.index
    return text[:start] + new + text[end:], node.start_mark.line + 1


def insert_line(text: str, line: int, content: str) -> str:
    """`text` with `content` inserted as 1-based line number `line`."""
    lines = text.splitlines(keepends=True)
    lines.insert(line - 1, content + "\n")
    return "".join(lines)


def load_error(directory: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_rules(directory)
    return str(info.value)


def scoring_text(directory: Path) -> str:
    return (directory / SCORING).read_text(encoding="utf-8")


def test_shipped_mappings_load(mappings: Path) -> None:
    rules = load_rules(mappings)
    assert isinstance(rules, RuleSet)
    assert rules.scoring.targets.score in rules.fields.write
    assert rules.version == rules_version(mappings)


def test_invalid_yaml_names_file_and_line(mappings: Path) -> None:
    text = scoring_text(mappings)
    line = len(text.splitlines()) + 1
    (mappings / SCORING).write_text(text + "broken: a: b\n", encoding="utf-8")
    assert f"{mappings / SCORING}:{line}: invalid YAML" in load_error(mappings)


@pytest.mark.parametrize("content", ["", "\n\n", "# only a comment\n", "---\n"])
def test_empty_file_refused(mappings: Path, content: str) -> None:
    (mappings / SCORING).write_text(content, encoding="utf-8")
    assert f"{mappings / SCORING}:1: file is empty" in load_error(mappings)


def test_non_utf8_file_refused(mappings: Path) -> None:
    (mappings / FIELDS).write_bytes(b"read:\n  - Na\xefve\xff\n")
    assert f"{mappings / FIELDS}:2: not UTF-8 text" in load_error(mappings)


def test_file_over_one_megabyte_refused(mappings: Path) -> None:
    text = scoring_text(mappings)
    (mappings / SCORING).write_text(text + "#" * MAX_FILE_BYTES + "\n", encoding="utf-8")
    assert "larger than" in load_error(mappings)


def test_missing_directory_refused(tmp_path: Path) -> None:
    assert "does not exist" in load_error(tmp_path / "nowhere")


@pytest.mark.parametrize("name", [FIELDS, SCORING])
def test_missing_file_refused(mappings: Path, name: str) -> None:
    (mappings / name).unlink()
    assert f"{mappings / name}: file not found" in load_error(mappings)


@pytest.mark.parametrize(
    ("path", "new", "key", "says"),
    [
        (
            ("rules", 2, "criteria", 0, "operator"),
            "containz",
            "rules[2].criteria[0].operator",
            "Input should be",
        ),
        (("rules", 1, "points"), "lots", "rules[1].points", "valid number"),
        (("rules", 0, "name"), "[a, b]", "rules[0].name", "valid string"),
        (("max_score",), "very high", "max_score", "valid number"),
        (("ratings", 0, "min_score"), "{x: 1}", "ratings[0].min_score", "valid number"),
        (("targets", "score"), "[Lead_Score__c]", "targets.score", "valid string"),
    ],
)
def test_wrong_value_names_file_line_and_key(
    mappings: Path, path: tuple[str | int, ...], new: str, key: str, says: str
) -> None:
    text, line = replace_scalar(scoring_text(mappings), path, new)
    (mappings / SCORING).write_text(text, encoding="utf-8")
    message = load_error(mappings)
    assert f"{mappings / SCORING}:{line}: {key}: " in message
    assert says in message


def test_missing_required_key(mappings: Path) -> None:
    text = scoring_text(mappings)
    points = key_node(text, ("rules", 0, "points"))
    rule_line = node_at(text, ("rules", 0)).start_mark.line + 1
    lines = text.splitlines(keepends=True)
    del lines[points.start_mark.line]
    (mappings / SCORING).write_text("".join(lines), encoding="utf-8")
    message = load_error(mappings)
    assert f"{mappings / SCORING}:{rule_line}: rules[0].points: Field required" in message


@pytest.mark.parametrize(
    ("path", "key"),
    [
        (("rules", 1, "points"), "rules[1].colour"),
        (("targets", "score"), "targets.colour"),
        (("max_score",), "colour"),
    ],
)
def test_extra_key_names_its_line(mappings: Path, path: tuple[str, ...], key: str) -> None:
    text = scoring_text(mappings)
    sibling = key_node(text, path)
    line = sibling.start_mark.line + 2
    indent = " " * sibling.start_mark.column
    (mappings / SCORING).write_text(insert_line(text, line, f"{indent}colour: blue"), "utf-8")
    message = load_error(mappings)
    assert f"{mappings / SCORING}:{line}: {key}: Extra inputs are not permitted" in message


def test_extra_key_in_fields_yaml(mappings: Path) -> None:
    text = (mappings / FIELDS).read_text(encoding="utf-8")
    line = len(text.splitlines()) + 1
    (mappings / FIELDS).write_text(text + "writes: [Rating]\n", encoding="utf-8")
    assert f"{mappings / FIELDS}:{line}: writes: Extra inputs" in load_error(mappings)


@pytest.mark.parametrize(
    ("logic", "says"),
    [
        ("1 AND 2 OR 3", "mixes AND and OR"),
        ("1 OR", "ends too early"),
        ("(1 AND 2", "ends too early"),
        ("(1 AND 2 3", "missing ')'"),
        ("1 XOR 2", "unexpected"),
        ("", "empty"),
        ("0", "start at 1"),
        ("1 AND 9", "names row(s) [9]"),
        ("1 2", "unexpected"),
    ],
)
def test_bad_filter_logic(mappings: Path, logic: str, says: str) -> None:
    text = scoring_text(mappings)
    points = key_node(text, ("rules", 0, "points"))
    indent = " " * points.start_mark.column
    line = points.start_mark.line + 2
    (mappings / SCORING).write_text(
        insert_line(text, line, f'{indent}filter_logic: "{logic}"'), encoding="utf-8"
    )
    message = load_error(mappings)
    assert f"{mappings / SCORING}:" in message and "rules[0]" in message
    assert says in message


def test_target_not_writable(mappings: Path) -> None:
    (mappings / FIELDS).write_text(
        "read: [Title]\nwrite: [Lead_Score__c, Score_Reason__c]\n", encoding="utf-8"
    )
    message = load_error(mappings)
    assert str(mappings / SCORING) in message and "targets.rating" in message
    assert "'Rating'" in message and "write" in message


def test_fields_yaml_needs_a_write_list(mappings: Path) -> None:
    (mappings / FIELDS).write_text("read: [Title]\nwrite: []\n", encoding="utf-8")
    assert f"{mappings / FIELDS}:2: write:" in load_error(mappings)


def test_rules_version_follows_the_files(mappings: Path) -> None:
    before = rules_version(mappings)
    assert rules_version(mappings) == before
    (mappings / "README.txt").write_text("not yaml", encoding="utf-8")
    assert rules_version(mappings) == before
    text = scoring_text(mappings)
    (mappings / SCORING).write_text(text + "\n# a comment changes the version too\n", "utf-8")
    changed = rules_version(mappings)
    assert changed != before
    assert load_rules(mappings).version == changed
    (mappings / SCORING).write_text(text, encoding="utf-8")
    assert rules_version(mappings) == before


# -- YAML features the loader must turn into ConfigError ------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "!!str many",
        "*undefined",
        "&a many",
        "!!python/object:os.system {}",
        "!!binary 'not base64 %%%'",
        pytest.param(
            "!!int abc",
        ),
        pytest.param(
            "!!float abc",
        ),
        pytest.param(
            "!!timestamp abc",
        ),
        pytest.param(
            "&loop [*loop]",
        ),
        pytest.param(
            "[" * 1000 + "]" * 1000,
            id="deep-nesting",
        ),
    ],
)
def test_yaml_tags_and_aliases_raise_config_error(mappings: Path, value: str) -> None:
    text, _line = replace_scalar(scoring_text(mappings), ("max_score",), value)
    (mappings / SCORING).write_text(text, encoding="utf-8")
    assert str(mappings / SCORING) in load_error(mappings)


# -- property: any mutation of the scoring text loads or is a ConfigError -------------------------

# YAML tags (!!int) and anchors (&a) are left out here: the cases above pin their known crashes.
JUNK = [
    ":",
    ": ",
    "-",
    "- ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "'",
    '"',
    "#",
    "\t",
    "|",
    ">",
    "%",
    "@",
    "`",
    "? ",
    "---",
    "...",
    "\\",
    "é",
    "🚀",
    "null",
    "~",
    "true",
    "1e9",
    "-5",
    "0x1F",
    "operator: in",
    "points: x",
    "  ",
    "\n",
    "\n  - ",
    "*a",
    "<<: ",
    "\u00a0",
    "\x85",
]

mutation = st.one_of(
    st.tuples(st.just("delete_line"), st.integers(min_value=0)),
    st.tuples(st.just("swap"), st.integers(min_value=0)),
    st.tuples(st.just("insert"), st.integers(min_value=0), st.sampled_from(JUNK)),
)


def mutate(text: str, op: tuple[object, ...]) -> str:
    kind, where = op[0], int(str(op[1]))
    if kind == "delete_line":
        lines = text.splitlines(keepends=True)
        if lines:
            del lines[where % len(lines)]
        return "".join(lines)
    if not text:
        return text
    pos = where % len(text)
    if kind == "swap" and pos + 1 < len(text):
        return text[:pos] + text[pos + 1] + text[pos] + text[pos + 2 :]
    if kind == "insert":
        return text[:pos] + str(op[2]) + text[pos:]
    return text


@settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(ops=st.lists(mutation, min_size=1, max_size=4))
def test_mutated_scoring_loads_or_raises_config_error(
    mappings: Path, ops: list[tuple[object, ...]]
) -> None:
    text = SHIPPED_SCORING
    for op in ops:
        text = mutate(text, op)
    (mappings / SCORING).write_text(text, encoding="utf-8")
    try:
        rules = load_rules(mappings)
    except ConfigError as exc:
        assert str(mappings / SCORING) in str(exc)
    else:
        assert isinstance(rules, RuleSet)

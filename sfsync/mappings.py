"""Load `mappings/*.yaml` into typed, frozen rule models; errors name file, line and key.

The rules version is a hash of the files' bytes, stored with every decision so
that an explanation always says which rules produced it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from sfsync.errors import ConfigError
from sfsync.rules.convert import ConversionConfig
from sfsync.rules.pipeline import FieldsConfig, RuleSet
from sfsync.rules.score import ScoringConfig

FIELDS_FILE = "fields.yaml"
SCORING_FILE = "scoring.yaml"
CONVERSION_FILE = "conversion.yaml"
MAX_FILE_BYTES = 1_000_000

Model = TypeVar("Model", bound=BaseModel)
Path_ = tuple[str | int, ...]


def load_rules(directory: Path) -> RuleSet:
    """Parse the mappings directory into a RuleSet, or raise ConfigError (exit 2)."""
    if not directory.is_dir():
        raise ConfigError(f"mappings directory {directory} does not exist")
    fields = load_model(directory / FIELDS_FILE, FieldsConfig)
    scoring = load_model(directory / SCORING_FILE, ScoringConfig)
    _check_targets_writable(directory, fields, scoring)
    conversion = None
    if (directory / CONVERSION_FILE).exists():
        conversion = load_model(directory / CONVERSION_FILE, ConversionConfig)
    return RuleSet(
        fields=fields, scoring=scoring, version=rules_version(directory), conversion=conversion
    )


def rules_version(directory: Path) -> str:
    """A short hash of every mappings file, in name order."""
    digest = hashlib.sha256()
    for path in sorted(directory.glob("*.yaml")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def load_model(path: Path, model: type[Model]) -> Model:
    """One YAML file validated into `model`; any problem becomes a ConfigError with its line."""
    data, lines = read_yaml(path)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(path, exc, lines)) from None


def read_yaml(path: Path) -> tuple[Any, dict[Path_, int]]:
    """The file's data and the line of each key path in it."""
    if not path.is_file():
        raise ConfigError(f"{path}: file not found")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ConfigError(f"{path}: file is larger than {MAX_FILE_BYTES} bytes")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.load(text, Loader=_Loader)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text ({exc.reason})") from None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise ConfigError(f"{path}:{line}: invalid YAML: {exc.problem}") from None
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        raise ConfigError(f"{path}:{line}: invalid character {exc.character!r} in YAML") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}:1: invalid YAML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be a mappings file") from None
    except (ValueError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{path}:1: invalid YAML value: {exc}") from None
    if data is None:
        raise ConfigError(f"{path}:1: file is empty")
    return data, dict(_node_lines(node, (), set()))


class _Loader(yaml.SafeLoader):
    """SafeLoader whose value errors (tagged junk such as `!!int abc`) carry their line."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, AttributeError) as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"invalid value ({exc})", node.start_mark
            ) from None


def _node_lines(node: yaml.Node | None, path: Path_, seen: set[int]) -> Iterator[tuple[Path_, int]]:
    # `seen` stops recursive aliases (`a: &x [*x]`), which would otherwise never end.
    if node is None or id(node) in seen:
        return
    seen.add(id(node))
    yield path, node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, str(key.value))
            yield child, key.start_mark.line + 1
            yield from ((p, n) for p, n in _node_lines(value, child, seen) if p != child)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _node_lines(item, (*path, index), seen)


def _format_errors(path: Path, exc: ValidationError, lines: dict[Path_, int]) -> str:
    messages = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not _is_pydantic_tag(p))
        line = _line_of(loc, lines)
        key = _key_text(loc) or "(top level)"
        message = str(err["msg"]).removeprefix("Value error, ")
        messages.append(f"{path}:{line}: {key}: {message}")
    return "\n".join(messages)


def _is_pydantic_tag(part: Any) -> bool:
    # Union members appear in error locations as type names; they are not keys in the file.
    return isinstance(part, str) and ("[" in part or part in {"function-after", "str", "int"})


def _line_of(loc: Path_, lines: dict[Path_, int]) -> int:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1


def _key_text(loc: Path_) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _check_targets_writable(directory: Path, fields: FieldsConfig, scoring: ScoringConfig) -> None:
    targets = scoring.targets.model_dump(exclude_none=True)
    allowed = set(fields.write)
    for role, name in targets.items():
        if name not in allowed:
            _data, lines = read_yaml(directory / SCORING_FILE)
            line = _line_of(("targets", role), lines)
            raise ConfigError(
                f"{directory / SCORING_FILE}:{line}: targets.{role}: field {name!r} is not listed "
                f"under 'write' in {directory / FIELDS_FILE}; sfsync writes only the fields there"
            )

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
from sfsync.model_file import load_model as load_model_file
from sfsync.rules.convert import ConversionConfig
from sfsync.rules.criteria import Criterion
from sfsync.rules.enrich_config import EnrichmentConfig, Fact
from sfsync.rules.enrich_data import EnrichmentData, load_enrichment_data, shipped_texts
from sfsync.rules.grade import GradingConfig
from sfsync.rules.lifecycle import LifecycleConfig
from sfsync.rules.predict import PredictiveRules
from sfsync.rules.routing_config import RoutingConfig
from sfsync.rules.ruleset import FACT_PREFIX, FieldsConfig, RuleSet
from sfsync.rules.score import ScoringConfig

FIELDS_FILE = "fields.yaml"
SCORING_FILE = "scoring.yaml"
CONVERSION_FILE = "conversion.yaml"
ENRICHMENT_FILE = "enrichment.yaml"
GRADING_FILE = "grading.yaml"
LIFECYCLE_FILE = "lifecycle.yaml"
ROUTING_FILE = "routing.yaml"
NOT_RULES = frozenset({"intake.yaml"})
MAX_FILE_BYTES = 1_000_000
MAX_FIRMOGRAPHICS_BYTES = 50_000_000

Model = TypeVar("Model", bound=BaseModel)
Path_ = tuple[str | int, ...]


def load_rules(directory: Path) -> RuleSet:
    """Parse the mappings directory into a RuleSet, or raise ConfigError (exit 2)."""
    if not directory.is_dir():
        raise ConfigError(f"mappings directory {directory} does not exist")
    fields = load_model(directory / FIELDS_FILE, FieldsConfig)
    scoring = load_model(directory / SCORING_FILE, ScoringConfig)
    _check_targets_writable(directory, fields, scoring)
    conversion = _optional(directory, CONVERSION_FILE, ConversionConfig)
    enrichment = _optional(directory, ENRICHMENT_FILE, EnrichmentConfig)
    grading = _optional(directory, GRADING_FILE, GradingConfig)
    lifecycle = _optional(directory, LIFECYCLE_FILE, LifecycleConfig)
    routing = _optional(directory, ROUTING_FILE, RoutingConfig)
    predictive = _predictive(directory, grading)
    rules = RuleSet(
        fields=fields,
        scoring=scoring,
        version=rules_version(directory, predictive),
        conversion=conversion,
        enrichment=enrichment,
        enrichment_data=_enrichment_data(directory, enrichment),
        grading=grading,
        lifecycle=lifecycle,
        predictive=predictive,
        routing=routing,
    )
    check_rule_writes(directory, rules)
    check_facts(directory, rules)
    return rules


def _optional(directory: Path, name: str, model: type[Model]) -> Model | None:
    """The file's model, or None when the mappings leave the file out."""
    path = directory / name
    return load_model(path, model) if path.exists() else None


def _enrichment_data(directory: Path, config: EnrichmentConfig | None) -> EnrichmentData | None:
    """The shipped lookup lists plus the org's additions and its own firmographics file."""
    if config is None:
        return None
    firmographics = None
    if config.firmographics:
        firmographics = (_read_firmographics(directory, config.firmographics), config.firmographics)
    return load_enrichment_data(shipped_texts(), config.extras(), firmographics)


def _read_firmographics(directory: Path, name: str) -> str:
    path = directory / name
    _data, lines = read_yaml(directory / ENRICHMENT_FILE)
    where = f"{directory / ENRICHMENT_FILE}:{_line_of(('firmographics',), lines)}: firmographics"
    if not path.is_file():
        raise ConfigError(f"{where}: file {path} not found (paths are relative to {directory})")
    if path.stat().st_size > MAX_FIRMOGRAPHICS_BYTES:
        raise ConfigError(f"{where}: {path} is larger than {MAX_FIRMOGRAPHICS_BYTES} bytes")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where}: {path} is not UTF-8 text ({exc.reason})") from None


def rules_version(directory: Path, predictive: PredictiveRules | None = None) -> str:
    """A short hash of every mappings file, in name order, and of the predictive model.

    intake.yaml (the web-form endpoint's settings: rate limits, field names)
    decides nothing about a lead: editing it makes no new rules version.
    """
    digest = hashlib.sha256()
    for path in sorted(directory.glob("*.yaml")):
        if path.name in NOT_RULES:
            continue
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    if predictive is not None:  # the model file lives apart (models/), and is no YAML
        digest.update(b"model\0" + predictive.digest.encode())
    return digest.hexdigest()[:12]


def _predictive(directory: Path, grading: GradingConfig | None) -> PredictiveRules | None:
    """grading.yaml's `predictive:` section with the model file it names, read once."""
    config = grading.predictive if grading is not None else None
    if config is None:
        return None
    try:
        model = load_model_file(directory / config.model)
    except ConfigError as exc:
        _data, lines = read_yaml(directory / GRADING_FILE)
        where = f"{directory / GRADING_FILE}:{_line_of(('predictive', 'model'), lines)}"
        raise ConfigError(f"{where}: predictive.model: {exc}") from None
    return PredictiveRules(config, model)


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
    except (ValueError, TypeError, AttributeError, LookupError) as exc:
        # PyYAML's own constructors fail this way on tagged junk ("!!int" with no digits).
        raise ConfigError(f"{path}:1: invalid YAML value: {exc}") from None
    if data is None:
        raise ConfigError(f"{path}:1: file is empty")
    return data, dict(_node_lines(node, (), set()))


class _Loader(yaml.SafeLoader):
    """SafeLoader whose value errors (tagged junk such as `!!int abc`) carry their line.

    Every key must be text: YAML makes `? ` with nothing after it a null key and
    `1:` or `yes:` a number or a boolean, which no mappings file uses; said here,
    at the key's own line, rather than later by the model without one.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        for key_node, _value in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<:` merges another mapping in; SafeLoader resolves it
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                shown = "empty" if key is None or key == "" else f"{key!r}, not text (quote it)"
                raise yaml.constructor.ConstructorError(
                    None, None, f"a key is {shown}", key_node.start_mark
                )
        return super().construct_mapping(node, deep)

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


# -- what the rule files write and read, checked across files ------------------


def rule_writes(rules: RuleSet) -> Iterator[tuple[str, Path_, str]]:
    """(file, key path, field) for every Lead field enrichment, grading and lifecycle write."""
    if rules.enrichment is not None:
        for i, fill in enumerate(rules.enrichment.fills):
            yield ENRICHMENT_FILE, ("fills", i, "field"), fill.field
    if rules.grading is not None:
        targets = rules.grading.targets
        for role in ("grade", "rating", "behavior_score"):
            name = getattr(targets, role)
            if name:
                yield GRADING_FILE, ("targets", role), name
        predictive = rules.grading.predictive
        if predictive is not None and predictive.target:
            yield GRADING_FILE, ("predictive", "target"), predictive.target
    config = rules.lifecycle
    if config is not None:
        yield LIFECYCLE_FILE, ("status_field",), config.status_field
        if config.stage_field:
            yield LIFECYCLE_FILE, ("stage_field",), config.stage_field
        if config.recycle is not None and config.recycle.owner_queue:
            yield LIFECYCLE_FILE, ("recycle", "owner_queue"), config.owner_field
    if rules.routing is not None:
        yield ROUTING_FILE, ("owner_field",), rules.routing.owner_field


def check_rule_writes(directory: Path, rules: RuleSet) -> None:
    """Every field a rule file writes is listed under `write` in fields.yaml (else exit 2)."""
    allowed = set(rules.fields.write)
    for file, key, name in rule_writes(rules):
        if name not in allowed:
            _data, lines = read_yaml(directory / file)
            raise ConfigError(
                f"{directory / file}:{_line_of(key, lines)}: {_key_text(key)}: field {name!r} is "
                f"not listed under 'write' in {directory / FIELDS_FILE}; sfsync writes only the "
                "fields there"
            )


def rule_criteria(rules: RuleSet) -> Iterator[tuple[str, Path_, Criterion]]:
    """(file, key path of the row's field, row) for every criteria row of every rule file."""
    for i, rule in enumerate(rules.scoring.rules):
        yield from _rows(SCORING_FILE, ("rules", i, "criteria"), rule.criteria)
    if rules.grading is not None:
        for i, profile in enumerate(rules.grading.grade.profile):
            yield from _rows(GRADING_FILE, ("grade", "profile", i, "criteria"), profile.criteria)
        for i, signal in enumerate(rules.grading.behavior.signals):
            yield from _rows(GRADING_FILE, ("behavior", "signals", i, "criteria"), signal.criteria)
    if rules.lifecycle is not None:
        for i, out in enumerate(rules.lifecycle.disqualify):
            yield from _rows(LIFECYCLE_FILE, ("disqualify", i, "criteria"), out.criteria)
        if rules.lifecycle.recycle is not None:
            criteria = rules.lifecycle.recycle.criteria
            yield from _rows(LIFECYCLE_FILE, ("recycle", "criteria"), criteria)
    if rules.routing is not None:
        for i, entry in enumerate(rules.routing.rules):
            yield from _rows(ROUTING_FILE, ("rules", i, "criteria"), entry.criteria)


def _rows(
    file: str, key: Path_, rows: tuple[Criterion, ...]
) -> Iterator[tuple[str, Path_, Criterion]]:
    for j, row in enumerate(rows):
        yield file, (*key, j, "field"), row


def check_facts(directory: Path, rules: RuleSet) -> None:
    """A `$fact` in a criteria row is one enrichment derives, and enrichment.yaml is there.

    Without this, a misspelt fact (or a missing enrichment.yaml) would make
    the row silently never match.
    """
    known = {fact.value for fact in Fact}
    for file, key, row in rule_criteria(rules):
        if not row.field.startswith(FACT_PREFIX):
            continue
        if row.field not in known:
            problem = f"{row.field!r} is not an enrichment fact (facts: {', '.join(sorted(known))})"
        elif rules.enrichment is None:
            problem = f"{row.field!r} is an enrichment fact, but there is no {ENRICHMENT_FILE}"
        else:
            continue
        _data, lines = read_yaml(directory / file)
        raise ConfigError(f"{directory / file}:{_line_of(key, lines)}: {_key_text(key)}: {problem}")

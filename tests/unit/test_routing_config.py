"""routing.yaml: the shipped file and its examples load; each mistake names file:line:key."""

from __future__ import annotations

from pathlib import Path

import pytest

from sfsync.errors import ConfigError
from sfsync.mappings import load_model
from sfsync.rules.routing_check import config_problems
from sfsync.rules.routing_config import RoutingConfig, Strategy, parse_duration
from tests.unit.routing_kit import ORG, config

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
SHIPPED = MAPPINGS / "routing.yaml"

GOOD = """\
intake: [Lead Intake]
default:
  queue: Lead Intake
rules:
  - name: DACH
    criteria:
      - {field: Country, operator: in, value: [DE, AT, CH]}
    assign: {team: dach}
  - name: Customers
    assign: account_owner
teams:
  dach:
    strategy: weighted_round_robin
    time_zone: Europe/Berlin
    members:
      - {user: ann@example.com, weight: 2}
      - user: bob@example.com
        weight: 1
"""


def _load(tmp_path: Path, text: str) -> RoutingConfig:
    path = tmp_path / "routing.yaml"
    path.write_text(text, encoding="utf-8")
    return load_model(path, RoutingConfig)


def test_the_shipped_file_loads() -> None:
    shipped = load_model(SHIPPED, RoutingConfig)

    assert shipped.default.queue == "Lead Intake"
    assert [r.assign.kind for r in shipped.rules] == ["account_owner", "queue", "queue", "queue"]


def _uncomment(lines: list[str], first: str, prefix: str) -> list[str]:
    """The commented block starting at the line `first`, up to a blank line, uncommented."""
    at = lines.index(first)
    end = next((i for i in range(at, len(lines)) if not lines[i].strip()), len(lines))
    lines[at:end] = [line.replace(prefix, " " * (len(prefix) - 2), 1) for line in lines[at:end]]
    return lines


def test_the_shipped_examples_load_when_uncommented(tmp_path: Path) -> None:
    """The commented examples are part of the documentation: they must stay valid."""
    lines = SHIPPED.read_text("utf-8").replace("teams: {}\n", "teams:\n").splitlines()
    lines = _uncomment(lines, "  # - name: US West", "  # ")
    lines = _uncomment(lines, "#   us_west:", "# ")
    lines = _uncomment(lines, "# sla:", "# ")
    lines = _uncomment(lines, "# webhook:", "# ")

    uncommented = _load(tmp_path, "\n".join(lines) + "\n")

    assert [r.name for r in uncommented.rules][-1] == "US West"
    assert set(uncommented.teams) == {"us_west", "us_east"}
    assert uncommented.teams["us_west"].strategy is Strategy.WEIGHTED_ROUND_ROBIN
    assert uncommented.sla is not None and uncommented.webhook is not None


def test_a_good_file_loads(tmp_path: Path) -> None:
    loaded = _load(tmp_path, GOOD)

    assert loaded.team_names() == ["dach"]
    assert [m.weight for m in loaded.teams["dach"].members] == [2, 1]
    assert "Country" in loaded.fields_read()


BAD = [
    # (replace this, with this) -> line, key, message part
    ("default:\n  queue: Lead Intake\n", "", 1, "default", "Field required"),
    ("queue: Lead Intake", "queue: Lead Intake\n  user: ann@example.com", 2, "default",
     "exactly one of user or queue"),
    ("{team: dach}", "{team: emea}", 8, "rules[0].assign.team", "unknown team 'emea'"),
    ("weight: 2}", "weight: 0}", 16, "teams.dach.members[0].weight", "greater than or equal to 1"),
    ("weight: 2}", "weight: -1}", 16, "teams.dach.members[0].weight", "greater than or equal"),
    ("weight: 1\n", "weight: 1.5\n", 18, "teams.dach.members[1].weight", "valid integer"),
    ("weight: 1\n", "weight: two\n", 18, "teams.dach.members[1].weight", "valid integer"),
    ("weight: 2}", "weight: 1001}", 16, "teams.dach.members[0].weight", "less than or equal"),
    ("Europe/Berlin", "Europe/Berln", 14, "teams.dach.time_zone",
     "unknown time zone 'Europe/Berln'"),
    ("Europe/Berlin", "../../etc/passwd", 14, "teams.dach.time_zone", "unknown time zone"),
    ("    assign: {team: dach}", "    filter_logic: 1 AND\n    assign: {team: dach}", 8,
     "rules[0].filter_logic",
     "ends too early"),
    ("    assign: {team: dach}", "    filter_logic: 1 AND 2 OR 3\n    assign: {team: dach}", 8,
     "rules[0].filter_logic", "mixes AND and OR"),
    ("    assign: {team: dach}", "    filter_logic: 1 AND 4\n    assign: {team: dach}", 5,
     "rules[0]", "names row(s) [4]"),
    ("weighted_round_robin", "fastest", 13, "teams.dach.strategy", "round_robin"),
    ("strategy:", "stratgy:", 13, "teams.dach.stratgy", "Extra inputs are not permitted"),
    ("assign: account_owner", "assign: the_boss", 10, "rules[1].assign",
     "'the_boss' is not an assignee"),
    ("assign: account_owner", "assign: {user: x, queue: y}", 10, "rules[1].assign",
     "exactly one of"),
    ("name: Customers", "name: DACH", 9, "rules[1].name", "rule name 'DACH' is used twice"),
    ("user: bob@example.com", "user: ANN@example.com", 12, "teams.dach", "listed twice"),
    ("members:\n", "overflow: apac\n    members:\n", 15, "teams.dach.overflow",
     "overflows to unknown team 'apac'"),
    ("members:\n", "overflow: dach\n    members:\n", 15, "teams.dach.overflow", "overflow loops"),
    ("members:\n", "hours: {start: '25:00'}\n    members:\n", 15, "teams.dach.hours.start",
     "not a time of day"),
    ("members:\n", "hours: {start: '09:00', end: '09:00'}\n    members:\n", 15,
     "teams.dach.hours", "start and end are the same"),
    ("members:\n", "hours: {days: [monday]}\n    members:\n", 15, "teams.dach.hours.days[0]",
     "'mon'"),
    ("weight: 1\n", "weight: 1\n        out_of_office: [{from: 2025-03-10, to: 2025-03-01}]\n", 19,
     "teams.dach.members[1].out_of_office[0]", "ends (2025-03-01) before it starts"),
    ("weight: 1\n", "weight: 1\n        cap: -3\n", 19, "teams.dach.members[1].cap",
     "greater than or equal to 0"),
    ("members:\n", "sla: {subject: Call, due_in: 2 hours}\n    members:\n", 15,
     "teams.dach.sla.due_in", "not a duration"),
    ("    assign: account_owner", "    assign: account_owner\n    notify: true", 11,
     "rules[1].notify", "notify needs a webhook section"),
    ("{field: Country, operator: in, value: [DE, AT, CH]}",
     "{field: PostalCode, operator: between, value: ['10000']}", 7, "rules[0].criteria[0]",
     "between needs [low, high]"),
    ("    members:\n", "    members: []\n", 15, "teams.dach.members", "at least 1 item"),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "line", "key", "message"), BAD)
def test_mistakes_name_file_line_and_key(
    tmp_path: Path, old: str, new: str, line: int, key: str, message: str
) -> None:
    assert old in GOOD
    text = GOOD.replace(old, new, 1)
    if new == "    members: []\n":  # drop the member lines too
        text = text.split("    members: []\n")[0] + "    members: []\n"

    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, text)

    text = str(caught.value)
    assert f"{tmp_path / 'routing.yaml'}:{line}: {key}: " in text, text
    assert message in text, text


def test_team_names_must_be_short(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r":12: teams\.x+: team name"):
        _load(tmp_path, GOOD.replace("dach", "x" * 65))


@pytest.mark.parametrize(("text", "delta"), [("30m", 30 * 60), ("2h", 7200), ("3D", 3 * 86400)])
def test_durations(text: str, delta: int) -> None:
    assert parse_duration(text).total_seconds() == delta


def test_problems_against_the_org() -> None:
    cfg = config(
        intake=["Lead Intake", "nobody"],
        default={"user": "dan@example.com"},
        rules=[
            {"name": "A", "assign": {"user": "ghost@example.com"}},
            {"name": "B", "assign": {"queue": "Support Tier 1"}},
            {"name": "C", "assign": {"team": "t"}},
        ],
        teams={"t": {"members": ["ann@example.com", "dan@example.com", "who@example.com"]}},
    )

    problems = [(p.path, p.message) for p in config_problems(cfg, ORG)]

    assert problems == [
        (("default", "user"), "user 'dan@example.com' is inactive and cannot own leads"),
        (("intake", 1), "'nobody' is neither a Lead queue nor a user"),
        (("rules", 0, "assign", "user"), "no user 'ghost@example.com' in the org"),
        (("rules", 1, "assign", "queue"), "'Support Tier 1' is not a queue that accepts Leads"),
        (("teams", "t", "members", 2, "user"), "no user 'who@example.com' in the org"),
    ]

"""`sfsync test-rules`: run the example leads of `mappings/tests/*.yaml` through the rules.

Admins keep rules in git and review them like code; these files are their
unit tests. Each case is decided offline, exactly as a sync cycle decides a
lead (`rules.pipeline.decide`, no org, no store), and the decision's summary
is compared with what the case expects. A malformed test file is a
ConfigError naming file, line and key (exit 2), like any mappings file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sfsync.errors import ConfigError
from sfsync.ids import to18
from sfsync.jobs.route_page import PageRouter, PriorRouting
from sfsync.jobs.rule_tests_file import NUMBER_CHECKS, Band, RuleCase, RuleTestFile
from sfsync.mappings import load_model, load_rules, read_yaml
from sfsync.models import Decision, Lead
from sfsync.routing_state import RoutingSnapshot
from sfsync.rules.behavior import Engagement
from sfsync.rules.pipeline import RuleSet, decide
from sfsync.rules.routing_config import RoutingConfig
from sfsync.rules.routing_facts import OrgUser, RoutingOrg

TESTS_FOLDER = "tests"
OFFLINE_INTEGRATION_USER = "integration user"
TOP_REASONS = 5
# The parts of a decision's reasons (`Contribution.part`) that explain each check.
PARTS: dict[str, tuple[str, ...]] = {
    "grade": ("grade",),
    "rating": ("rating",),
    "status": ("status",),
    "stage": ("status",),
    "owner": ("status", "routing"),
}


@dataclass(frozen=True)
class Check:
    """One expectation of a case and what the rules gave."""

    key: str
    expected: str
    got: str
    passed: bool


@dataclass(frozen=True)
class CaseResult:
    """A case, where it is written, and how each of its checks went."""

    file: Path
    line: int
    name: str
    checks: tuple[Check, ...]
    # The decision's biggest contributions, shown when a check fails.
    reasons: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        """Whether every check of the case passed."""
        return all(check.passed for check in self.checks)


@dataclass(frozen=True)
class RuleTestReport:
    """Every case of every test file, and the rules version they ran against."""

    rules_version: str
    files: tuple[Path, ...]
    cases: tuple[CaseResult, ...] = field(default=())

    @property
    def failed(self) -> int:
        """How many cases have a failing check."""
        return sum(1 for case in self.cases if not case.passed)

    @property
    def exit_code(self) -> int:
        """0 when every case passes, 1 otherwise."""
        return 1 if self.failed else 0

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-able data."""
        return {
            "rules_version": self.rules_version,
            "files": [str(f) for f in self.files],
            "passed": len(self.cases) - self.failed,
            "failed": self.failed,
            "cases": [
                {
                    "file": str(c.file),
                    "line": c.line,
                    "name": c.name,
                    "passed": c.passed,
                    "checks": [vars(check) for check in c.checks],
                    "reasons": list(c.reasons),
                }
                for c in self.cases
            ],
        }


def run_rule_tests(mappings: Path, now: datetime | None = None) -> RuleTestReport:
    """Load the rules and every test file, then decide and compare each case."""
    rules = offline(load_rules(mappings))
    files = rule_test_files(mappings)
    loaded = [(path, *load_cases(path)) for path in files]
    now = now or datetime.now(UTC)
    results = [
        run_case(path, lines.get((index,), 1), case, rules, now)
        for path, cases, lines in loaded
        for index, case in enumerate(cases)
    ]
    return RuleTestReport(rules.version, tuple(files), tuple(results))


def offline(rules: RuleSet) -> RuleSet:
    """The rules without an org: every queue and user the mappings name stands for itself.

    A cycle looks queue ids and users up in the org; offline there are none,
    so a recycled lead's owner shows as the queue's name (`owner: Marketing
    Nurture`), and a routed one as the queue, user or team member named in
    routing.yaml (every one of them taken as active).
    """
    queue = rules.recycle_queue
    if queue is not None and queue not in rules.queue_ids:
        rules = dataclasses.replace(rules, queue_ids={**rules.queue_ids, queue: queue})
    if rules.routing is not None and rules.routing_org is None:
        rules = dataclasses.replace(rules, routing_org=offline_org(rules.routing))
    return rules


def offline_org(config: RoutingConfig) -> RoutingOrg:
    """An org holding exactly the users and queues routing.yaml names, by those names."""
    users = {m.user for team in config.teams.values() for m in team.members}
    users |= {r.assign.user for r in config.rules if r.assign.user}
    queues = {r.assign.queue for r in config.rules if r.assign.queue}
    (users if config.default.user else queues).add(
        config.default.user or config.default.queue or ""
    )
    queues |= set(config.intake) - users
    return RoutingOrg(
        users=tuple(OrgUser(u, u, True, u) for u in sorted(users - {""})),
        queues={q: q for q in sorted(queues - {""})},
        integration_user_id=OFFLINE_INTEGRATION_USER,
    )


def rule_test_files(mappings: Path) -> list[Path]:
    """The test files in name order; none at all is a ConfigError (nothing would be tested)."""
    folder = mappings / TESTS_FOLDER
    files = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))
    if not files:
        raise ConfigError(f"{folder}: no rule tests (*.yaml) to run")
    return files


def load_cases(path: Path) -> tuple[tuple[RuleCase, ...], Mapping[tuple[str | int, ...], int]]:
    """The cases of one file and its line map; ConfigError with file:line:key when malformed."""
    cases = tuple(load_model(path, RuleTestFile).root)
    _data, lines = read_yaml(path)
    return cases, lines


def run_case(path: Path, line: int, case: RuleCase, rules: RuleSet, now: datetime) -> CaseResult:
    """Decide one example lead and compare the summary with the expectations."""
    at = case.now or now
    decision = decide_example(case, rules, at)
    summary = decision.summary
    checks = tuple(_check(key, want, summary.get(key)) for key, want in case.expect.expected())
    failed = [c.key for c in checks if not c.passed]
    return CaseResult(
        path, line, case.name, checks, top_reasons(decision, failed) if failed else ()
    )


def decide_example(case: RuleCase, rules: RuleSet, now: datetime) -> Decision:
    """The decision a sync cycle would make for the example lead at `now`."""
    # As the org's JSON holds them: dates and times are ISO text.
    values = {k: v.isoformat() if isinstance(v, date) else v for k, v in case.lead.items()}
    lead = Lead(
        id=_lead_id(values),
        system_modstamp=now,
        values=values,
        is_deleted=values.get("IsDeleted") is True,
        is_converted=values.get("IsConverted") is True,
    )
    decision = decide(lead, rules, case.last_written, now, engagement_of(case, now))
    if rules.routing is None or rules.routing_org is None:
        return decision
    # On empty round-robin state. A case without an owner is a lead that just arrived;
    # one with an owner is routed only if that owner is an intake queue (or sfsync).
    known = {lead.id: PriorRouting(known=True)} if values.get("OwnerId") else {}
    router = PageRouter(rules, rules.routing_org, {lead.id: lead}, known, False, now)
    return router([decision], RoutingSnapshot()).decisions[0]


def engagement_of(case: RuleCase, now: datetime) -> list[Engagement]:
    """The case's engagement as the connectors report it: kind, moment, detail."""
    return [
        Engagement(kind=a.kind, at=now - timedelta(days=a.days_ago), detail=a.detail)
        for a in case.engagement
    ]


def top_reasons(
    decision: Decision, failed: Sequence[str] = (), count: int = TOP_REASONS
) -> tuple[str, ...]:
    """Why the rules decided so: the lines of the failing checks' parts, then the biggest points.

    A status line carries no points, so ranking by points alone would hide
    the very rule that moved (or kept) the status.
    """
    parts = {part for key in failed for part in PARTS.get(key, ())}
    related = [r for r in decision.reasons if r.part in parts and not r.points]
    ranked = sorted((r for r in decision.reasons if r.points), key=lambda r: -abs(r.points))
    shown = list(dict.fromkeys([*related, *ranked[:count]]))
    return tuple(f"{r.rule} ({r.points:+g})" + (f": {r.detail}" if r.detail else "") for r in shown)


def _lead_id(values: Mapping[str, Any]) -> str:
    given = values.get("Id")
    return str(given) if given else to18("00Q000000000000")


def _check(key: str, want: Any, got: Any) -> Check:
    if key in NUMBER_CHECKS:
        return Check(key, _text(want), _text(got), _number_matches(want, got))
    options: Sequence[str | None] = want
    passed = any(_same_text(option, got) for option in options)
    shown = " or ".join(_text(o) for o in options)
    return Check(key, shown, _text(got), passed)


def _number_matches(want: Band | None, got: Any) -> bool:
    if want is None or got is None or isinstance(got, bool):
        return want is None and got is None
    return isinstance(got, int | float) and want.holds(float(got))


def _same_text(want: str | None, got: Any) -> bool:
    if want is None or got is None or got == "":
        return want is None and got in (None, "")
    return str(got) == want


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)

"""The parsed `mappings/routing.yaml`: rule entries, teams, members, SLA and webhook settings.

Rules read like Salesforce assignment-rule entries (criteria rows plus filter
logic, first match wins) and name an assignee: a user, a queue, a team, the
matched account's or contact's owner, or "keep the current owner". A
catch-all `default` owner is required, so no lead is ever left unassigned.
Everything that a file alone can tell is checked here (names, weights, time
zones, overflow cycles); what only the org knows (active users, Lead
queues) is checked by `routing.config_problems` against org facts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, time, timedelta
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from sfsync.rules.conditions import CriteriaRule
from sfsync.rules.criteria import Criterion

MAX_WEIGHT = 1000
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DURATION = re.compile(r"^\s*(\d+)\s*([mhd])\s*$", re.IGNORECASE)
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def _time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name such as Europe/Berlin)"
        ) from None
    return name


TimeZone = Annotated[str, AfterValidator(_time_zone)]


def parse_clock(text: str) -> time:
    """'09:30' as a time; anything else is a configuration error."""
    match = _CLOCK.match(str(text).strip())
    if match is None:
        raise ValueError(f"{text!r} is not a time of day like 09:00")
    return time(int(match[1]), int(match[2]))


def parse_duration(text: str) -> timedelta:
    """'30m', '2h' or '3d' as a timedelta."""
    match = _DURATION.match(str(text))
    if match is None:
        raise ValueError(f"{text!r} is not a duration like 30m, 2h or 3d")
    return timedelta(**{_UNITS[match[2].lower()]: int(match[1])})


Clock = Annotated[str, AfterValidator(lambda v: (parse_clock(v), v)[1])]
Duration = Annotated[str, AfterValidator(lambda v: (parse_duration(v), v)[1])]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DEFAULT_DAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Strategy(StrEnum):
    """How a team picks among its available members."""

    ROUND_ROBIN = "round_robin"
    WEIGHTED_ROUND_ROBIN = "weighted_round_robin"
    LEAST_LOADED = "least_loaded"


class Hours(_Frozen):
    """Working hours on some weekdays in the member's time zone; end < start runs past midnight."""

    days: tuple[Weekday, ...] = Field(default=DEFAULT_DAYS, min_length=1)
    start: Clock = "09:00"
    end: Clock = "17:00"

    @model_validator(mode="after")
    def _not_empty(self) -> Hours:
        if self.start == self.end:
            raise ValueError("hours: start and end are the same time")
        return self

    @cached_property
    def window(self) -> tuple[time, time]:
        """(start, end) as times."""
        return parse_clock(self.start), parse_clock(self.end)


class Absence(_Frozen):
    """Out of office from one date to another, both included (in the member's time zone)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    first: date = Field(alias="from")
    last: date = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> Absence:
        if self.last < self.first:
            raise ValueError(f"out of office ends ({self.last}) before it starts ({self.first})")
        return self


class Member(_Frozen):
    """A team member: a user (Id or username) with a weight, a cap and availability."""

    user: str = Field(min_length=1, max_length=80)
    weight: int = Field(default=1, ge=1, le=MAX_WEIGHT)
    # Most open leads this member may hold; None: the team's cap (or no cap).
    cap: int | None = Field(default=None, ge=0)
    time_zone: TimeZone | None = None
    hours: Hours | None = None
    out_of_office: tuple[Absence, ...] = ()
    skills: tuple[str, ...] = ()
    # False takes a member out of rotation without deleting their state.
    active: bool = True

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        # `- anna@example.com` is short for `- {user: anna@example.com}`.
        return {"user": data} if isinstance(data, str) else data

    @cached_property
    def skill_set(self) -> frozenset[str]:
        """The member's skills, folded."""
        return frozenset(s.casefold().strip() for s in self.skills)


class SkillSource(_Frozen):
    """A lead field whose value names a skill the owner needs (e.g. a language)."""

    field: str = Field(min_length=1)
    # Lead values (folded) -> skill; a value not listed is the skill itself.
    values: Mapping[str, str] = Field(default_factory=dict)

    def skill_for(self, value: Any) -> str | None:
        """The skill a lead value asks for; None for a blank value."""
        text = "" if value is None else str(value).casefold().strip()
        if not text:
            return None
        mapped = {k.casefold().strip(): v for k, v in self.values.items()}
        return mapped.get(text, text).casefold().strip()


class SlaConfig(_Frozen):
    """A follow-up Task for the new owner: subject ({Field} placeholders), due time, priority."""

    subject: str = Field(min_length=1, max_length=255)
    due_in: Duration = "2h"
    priority: str = Field(default="High", min_length=1, max_length=40)
    status: str = Field(default="Not Started", min_length=1, max_length=40)
    description: str | None = Field(default=None, max_length=4000)
    # Route the lead again (to someone else) when its owner leaves it untouched this long.
    reroute_after: Duration | None = None


class Team(_Frozen):
    """Members who share leads, how they share them, and where leads go when nobody can take one."""

    strategy: Strategy = Strategy.ROUND_ROBIN
    members: tuple[Member, ...] = Field(min_length=1)
    cap: int | None = Field(default=None, ge=0)
    time_zone: TimeZone | None = None
    hours: Hours | None = None
    skills_from: tuple[SkillSource, ...] = ()
    # Another team to try when nobody here is available; after the chain, the default owner.
    overflow: str | None = None
    sla: SlaConfig | None = None

    @model_validator(mode="after")
    def _members_once(self) -> Team:
        users = [m.user.casefold() for m in self.members]
        twice = sorted({u for u in users if users.count(u) > 1})
        if twice:
            raise ValueError(f"member(s) {twice} are listed twice")
        return self


class Assignee(_Frozen):
    """Who a rule gives leads to: exactly one of these."""

    user: str | None = Field(default=None, min_length=1)
    queue: str | None = Field(default=None, min_length=1)
    team: str | None = Field(default=None, min_length=1)
    owner_of: Literal["account", "contact"] | None = None
    keep_owner: bool = False

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        shorthands = {
            "account_owner": {"owner_of": "account"},
            "contact_owner": {"owner_of": "contact"},
            "keep_owner": {"keep_owner": True},
        }
        if isinstance(data, str):
            if data not in shorthands:
                raise ValueError(
                    f"{data!r} is not an assignee: use account_owner, contact_owner, keep_owner "
                    "or {user: ...} / {queue: ...} / {team: ...}"
                )
            return shorthands[data]
        return data

    @model_validator(mode="after")
    def _exactly_one(self) -> Assignee:
        chosen = [self.user, self.queue, self.team, self.owner_of, self.keep_owner or None]
        if sum(c is not None for c in chosen) != 1:
            raise ValueError("name exactly one of user, queue, team, owner_of or keep_owner")
        return self

    @property
    def kind(self) -> str:
        """user, queue, team, account_owner, contact_owner or keep_owner."""
        if self.owner_of:
            return f"{self.owner_of}_owner"
        if self.keep_owner:
            return "keep_owner"
        return "user" if self.user else "queue" if self.queue else "team"


class DefaultOwner(_Frozen):
    """The catch-all owner: a user or a queue."""

    user: str | None = Field(default=None, min_length=1)
    queue: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _exactly_one(self) -> DefaultOwner:
        if (self.user is None) == (self.queue is None):
            raise ValueError("default names exactly one of user or queue")
        return self


class RoutingRule(CriteriaRule):
    """One rule entry: when its criteria hold (first match wins), `assign` gets the lead."""

    name: str = Field(min_length=1, max_length=80)
    criteria: tuple[Criterion, ...] = ()
    assign: Assignee
    # Route again a lead sfsync routed earlier when it now matches here and its owner does
    # not fit this rule (never a lead a person assigned by hand).
    reroute: bool = False
    # Skills every member must have for these leads, besides the team's skills_from.
    skills: tuple[str, ...] = ()
    sla: SlaConfig | None = None
    # Tell the chat webhook about leads routed by this rule.
    notify: bool = False

    def matches(self, values: Mapping[str, Any]) -> bool:
        """Whether the entry applies; an entry without criteria matches every lead."""
        return not self.criteria or self.holds(values)


class WebhookConfig(_Frozen):
    """Hot-lead notices to a Slack-style webhook; the URL is a secret kept in the environment."""

    url_env: str = Field(default="SFSYNC_ROUTING_WEBHOOK_URL", pattern=r"^[A-Z_][A-Z0-9_]*$")
    # Hot leads: these criteria (or a rule with notify: true).
    hot: tuple[Criterion, ...] = ()
    hot_logic: str | None = None
    text: str = Field(
        default="Hot lead: {FirstName} {LastName} at {Company} -> {owner}", min_length=1
    )

    @model_validator(mode="after")
    def _logic_valid(self) -> WebhookConfig:
        if self.hot:
            CriteriaRule(criteria=self.hot, filter_logic=self.hot_logic)
        elif self.hot_logic is not None:
            raise ValueError("hot_logic needs hot criteria")
        return self

    @cached_property
    def hot_rule(self) -> CriteriaRule | None:
        """The hot-lead criteria, compiled; None when only rules with notify decide."""
        return CriteriaRule(criteria=self.hot, filter_logic=self.hot_logic) if self.hot else None


class RoutingConfig(_Frozen):
    """The parsed `mappings/routing.yaml`."""

    owner_field: str = "OwnerId"
    # Owners (queue names, usernames or Ids) whose leads wait to be routed.
    intake: tuple[str, ...] = ()
    default: DefaultOwner
    rules: tuple[RoutingRule, ...] = ()
    teams: Mapping[str, Team] = Field(default_factory=dict)
    sla: SlaConfig | None = None
    webhook: WebhookConfig | None = None

    @model_validator(mode="after")
    def _references(self) -> RoutingConfig:
        _check_names(self)
        _check_overflow(self)
        return self

    def team_names(self) -> list[str]:
        """Every team, sorted: the rows a routing transaction locks."""
        return sorted(self.teams)

    def fields_read(self) -> set[str]:
        """Lead fields the routing rules look at."""
        fields = {self.owner_field, "CreatedById"}
        fields |= {f for rule in self.rules for f in rule.fields_read()}
        fields |= {s.field for team in self.teams.values() for s in team.skills_from}
        if self.webhook:
            fields |= {row.field for row in self.webhook.hot}
        return fields


def _fail(loc: tuple[str | int, ...], message: str) -> None:
    """A validation error at a key path, so the file's line can be named (not the top level)."""
    error = PydanticCustomError("value_error", message)
    raise ValidationError.from_exception_data(
        "RoutingConfig", [InitErrorDetails(type=error, loc=loc, input=None)]
    )


def _check_names(config: RoutingConfig) -> None:
    for name in config.teams:
        if not name.strip() or len(name) > 64:
            _fail(("teams", name), f"team name {name!r} must be 1 to 64 characters")
    seen: set[str] = set()
    for index, rule in enumerate(config.rules):
        if rule.name in seen:
            _fail(("rules", index, "name"), f"rule name {rule.name!r} is used twice")
        seen.add(rule.name)
        team = rule.assign.team
        if team and team not in config.teams:
            _fail(("rules", index, "assign", "team"), f"unknown team {team!r}")
        if rule.notify and config.webhook is None:
            _fail(("rules", index, "notify"), "notify needs a webhook section")


def _check_overflow(config: RoutingConfig) -> None:
    for name, team in config.teams.items():
        seen = [name]
        nxt = team.overflow
        while nxt is not None:
            loc: tuple[str | int, ...] = ("teams", seen[-1], "overflow")
            if nxt not in config.teams:
                _fail(loc, f"team {seen[-1]!r} overflows to unknown team {nxt!r}")
            if nxt in seen:
                _fail(("teams", name, "overflow"), f"overflow loops: {' -> '.join([*seen, nxt])}")
            seen.append(nxt)
            nxt = config.teams[nxt].overflow

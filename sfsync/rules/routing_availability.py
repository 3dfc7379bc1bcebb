"""Whether a team member can take a lead now: active, not away, in hours, skilled, under the cap.

Times are judged in the member's own time zone (zoneinfo), so a rep in Tokyo
is out of hours while one in Berlin is in, and a working day shifts with
daylight saving time. The first reason that applies is the one reported.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from sfsync.rules.routing_config import WEEKDAYS, Absence, Hours, Member, Team

UTC_NAME = "UTC"


class SkipReason(StrEnum):
    """Why a member was passed over."""

    INACTIVE = "inactive"
    OUT_OF_OFFICE = "out_of_office"
    OUT_OF_HOURS = "out_of_hours"
    MISSING_SKILL = "missing_skill"
    AT_CAPACITY = "at_capacity"
    MISSED_SLA = "missed_sla"  # left this lead untouched past its SLA


@dataclass(frozen=True)
class Availability:
    """What availability needs besides the member: now, the lead's skills, the member's state."""

    now: datetime
    skills: frozenset[str]
    user_active: bool
    load: int


def unavailable(member: Member, team: Team, at: Availability) -> tuple[SkipReason, str] | None:
    """Why the member cannot take the lead now, or None when they can."""
    if not (member.active and at.user_active):
        why = "switched off in routing.yaml" if not member.active else "not an active user"
        return SkipReason.INACTIVE, why
    zone = member.time_zone or team.time_zone or UTC_NAME
    local = at.now.astimezone(ZoneInfo(zone))
    absence = away(member.out_of_office, local)
    if absence is not None:
        return SkipReason.OUT_OF_OFFICE, f"out of office {absence.first} to {absence.last}"
    hours = member.hours or team.hours
    if hours is not None and not in_hours(hours, local):
        day = WEEKDAYS[local.weekday()]
        return SkipReason.OUT_OF_HOURS, f"{day} {local:%H:%M} {zone} is outside working hours"
    missing = sorted(at.skills - member.skill_set)
    if missing:
        return SkipReason.MISSING_SKILL, f"lacks skill(s) {', '.join(missing)}"
    cap = member.cap if member.cap is not None else team.cap
    if cap is not None and at.load >= cap:
        return SkipReason.AT_CAPACITY, f"holds {at.load} open leads (cap {cap})"
    return None


def away(absences: tuple[Absence, ...], local: datetime) -> Absence | None:
    """The absence covering the member's local date, if any."""
    today = local.date()
    return next((a for a in absences if a.first <= today <= a.last), None)


def in_hours(hours: Hours, local: datetime) -> bool:
    """Whether a local time falls in the working hours; a night shift runs past midnight."""
    start, end = hours.window
    clock, day = local.time().replace(tzinfo=None), WEEKDAYS[local.weekday()]
    if start < end:
        return day in hours.days and start <= clock < end
    yesterday = WEEKDAYS[(local.weekday() - 1) % 7]
    return (day in hours.days and clock >= start) or (yesterday in hours.days and clock < end)


def needed_skills(sources: Set[str], extra: tuple[str, ...]) -> frozenset[str]:
    """The skills the lead asks for: from its fields, plus those a rule adds."""
    return frozenset(sources) | frozenset(s.casefold().strip() for s in extra)

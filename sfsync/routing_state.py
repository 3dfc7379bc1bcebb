"""Routing state as plain values: what the routing rules read and what the store keeps.

The rules (`sfsync.rules.routing`) read a `RoutingSnapshot` and return a
`RoutingDelta`; the store (`sfsync.store.routing`) reads the snapshot under
a lock and applies the delta in the transaction that records the decisions.
Both sides import only this module, which keeps the layering (rules never
see the store, the store never sees the rules).

Every number in a delta is an increment, so deltas merge by adding and the
store applies them with `x = x + d`, never overwriting a concurrent writer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sfsync.models import Decision

# (team name, member user id)
MemberKey = tuple[str, str]
K = TypeVar("K")


def _added(a: Mapping[K, int], b: Mapping[K, int]) -> Mapping[K, int]:
    if not b:
        return a  # the values are never changed in place: sharing is safe, and a batch is cheap
    total = dict(a)
    for key, value in b.items():
        total[key] = total.get(key, 0) + value
    return {k: v for k, v in total.items() if v or k in a}


@dataclass(frozen=True)
class RoutingDelta:
    """Changes one routing decision (or a batch of them) makes to the state, as increments."""

    # Smooth weighted round-robin credit, per (team, member).
    credits: Mapping[MemberKey, int] = field(default_factory=dict)
    # Leads the team gave each member.
    assigned: Mapping[MemberKey, int] = field(default_factory=dict)
    # Open leads per owner (a user id), whichever team or rule gave them.
    loads: Mapping[str, int] = field(default_factory=dict)
    # Leads each team gave out.
    picks: Mapping[str, int] = field(default_factory=dict)

    def merge(self, other: RoutingDelta) -> RoutingDelta:
        """Both deltas, as one."""
        if other.empty:
            return self
        return RoutingDelta(
            credits=_nonzero(_added(self.credits, other.credits)),
            assigned=_nonzero(_added(self.assigned, other.assigned)),
            loads=_nonzero(_added(self.loads, other.loads)),
            picks=_nonzero(_added(self.picks, other.picks)),
        )

    @property
    def empty(self) -> bool:
        """Whether applying it changes nothing."""
        return not (self.credits or self.assigned or self.loads or self.picks)

    def teams(self) -> set[str]:
        """The teams whose rows it touches."""
        return {t for t, _ in self.credits} | {t for t, _ in self.assigned} | set(self.picks)


def _nonzero(values: Mapping[K, int]) -> dict[K, int]:
    return {k: v for k, v in values.items() if v}


@dataclass(frozen=True)
class RoutingSnapshot:
    """The routing state as read: credits, counts and loads (absent keys are zero)."""

    credits: Mapping[MemberKey, int] = field(default_factory=dict)
    assigned: Mapping[MemberKey, int] = field(default_factory=dict)
    loads: Mapping[str, int] = field(default_factory=dict)
    picks: Mapping[str, int] = field(default_factory=dict)

    def credit(self, team: str, member: str) -> int:
        """A member's round-robin credit in a team."""
        return self.credits.get((team, member), 0)

    def load(self, owner: str) -> int:
        """Open leads an owner holds."""
        return self.loads.get(owner, 0)

    def apply(self, delta: RoutingDelta) -> RoutingSnapshot:
        """The state after `delta` (how a batch routes lead after lead before one write)."""
        if delta.empty:
            return self
        return RoutingSnapshot(
            credits=_added(self.credits, delta.credits),
            assigned=_added(self.assigned, delta.assigned),
            loads=_added(self.loads, delta.loads),
            picks=_added(self.picks, delta.picks),
        )


@dataclass(frozen=True)
class LeadRouting:
    """What the store keeps about one lead's routing (`LeadState.routing`, `load_owner`)."""

    routing: Mapping[str, Any] | None
    load_owner: str | None


@dataclass(frozen=True)
class RoutedPage:
    """A page's decisions with their owners, the state delta, and what to remember per lead."""

    decisions: Sequence[Decision]
    delta: RoutingDelta = field(default_factory=RoutingDelta)
    # Only the leads whose routing memory changes.
    leads: Mapping[str, LeadRouting] = field(default_factory=dict)


@dataclass(frozen=True)
class PageRouting:
    """How the store routes a page inside the transaction that records it.

    The store locks `teams`, reads the snapshot, calls `route` with it, applies
    the returned delta and records the returned decisions, all in one commit.
    """

    teams: Sequence[str]
    route: Callable[[RoutingSnapshot], RoutedPage]

"""How a team picks one of its available members: round-robin, weighted, or least-loaded.

Weighted round-robin is the "smooth" kind (nginx's): every pick adds each
available member's weight to their credit, the member with the most credit
wins and pays the total weight back. After n picks a member's credit is
n*w - W*count, so the shares stay within one lead of exact at every step and
the weights interleave (2:1 gives A B A A B A, not A A B). Plain round-robin
is the same with every weight 1. A member who is unavailable neither earns
nor pays, so nobody is owed a burst of leads when they come back.

Least-loaded gives the lead to one of the members with the fewest open
leads per unit of weight; the same credit (which every available member
earns) breaks ties, so equal loads rotate and the longest-waiting goes first.
Ties between equal credits go to the member listed first: deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from sfsync.routing_state import RoutingDelta, RoutingSnapshot
from sfsync.rules.routing_config import Strategy


@dataclass(frozen=True)
class Candidate:
    """An available member: the user Id and their weight."""

    user_id: str
    weight: int


def pick(
    team: str, strategy: Strategy, candidates: Sequence[Candidate], state: RoutingSnapshot
) -> tuple[str, RoutingDelta]:
    """The member who gets the lead, and the state change of the pick (no load change)."""
    if not candidates:
        raise ValueError("pick needs at least one candidate")
    pool = list(candidates)
    if strategy is Strategy.ROUND_ROBIN:
        pool = [Candidate(c.user_id, 1) for c in pool]
    eligible = least_loaded(pool, state) if strategy is Strategy.LEAST_LOADED else pool
    return smooth_weighted(team, pool, eligible, state)


def least_loaded(candidates: Sequence[Candidate], state: RoutingSnapshot) -> list[Candidate]:
    """The candidates whose open leads per unit of weight are fewest."""
    share = {c.user_id: Fraction(state.load(c.user_id), c.weight) for c in candidates}
    lowest = min(share.values())
    return [c for c in candidates if share[c.user_id] == lowest]


def smooth_weighted(
    team: str,
    candidates: Sequence[Candidate],
    eligible: Sequence[Candidate],
    state: RoutingSnapshot,
) -> tuple[str, RoutingDelta]:
    """One smooth weighted round-robin step: all candidates earn, the winner among `eligible` pays.

    For round-robin both lists are the same; least-loaded narrows `eligible` to the
    least loaded, and the credit then favours whoever has had fewest leads lately.
    """
    total = sum(c.weight for c in candidates)
    credit = {c.user_id: state.credit(team, c.user_id) + c.weight for c in candidates}
    # max() keeps the first of equal credits: the member listed first wins a tie.
    chosen = max(eligible, key=lambda c: credit[c.user_id]).user_id
    changes = {(team, c.user_id): c.weight for c in candidates}
    changes[(team, chosen)] -= total
    delta = RoutingDelta(
        credits={k: v for k, v in changes.items() if v},
        assigned={(team, chosen): 1},
        picks={team: 1},
    )
    return chosen, delta

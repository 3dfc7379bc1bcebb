"""routing.yaml against the org: every user is an active user, every queue takes Leads.

The file alone cannot tell whether `anna@example.com` still works here or
whether "EMEA Sales" accepts Leads; this can, given the org's users and Lead
queues. `sfsync check` reports the problems with their key paths (the
caller turns paths into file lines); the job runs the same check before it
writes owners. Team members who left are not problems: routing skips them
as inactive, which is what a team wants when someone leaves.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sfsync.rules.routing_config import RoutingConfig
from sfsync.rules.routing_facts import RoutingOrg

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class RoutingProblem:
    """A reference in routing.yaml the org cannot honour."""

    path: KeyPath
    message: str


def config_problems(config: RoutingConfig, org: RoutingOrg) -> list[RoutingProblem]:
    """Every owner routing.yaml names that is not an active user or a Lead queue."""
    return [*_owners(config, org), *_members(config, org)]


def _owners(config: RoutingConfig, org: RoutingOrg) -> Iterator[RoutingProblem]:
    if config.default.user:
        yield from _user(("default", "user"), config.default.user, org)
    if config.default.queue:
        yield from _queue(("default", "queue"), config.default.queue, org)
    for index, ref in enumerate(config.intake):
        if not org.owner_ids([ref]):
            yield RoutingProblem(("intake", index), f"{ref!r} is neither a Lead queue nor a user")
    for index, rule in enumerate(config.rules):
        if rule.assign.user:
            yield from _user(("rules", index, "assign", "user"), rule.assign.user, org)
        if rule.assign.queue:
            yield from _queue(("rules", index, "assign", "queue"), rule.assign.queue, org)


def _members(config: RoutingConfig, org: RoutingOrg) -> Iterator[RoutingProblem]:
    for name, team in config.teams.items():
        for index, member in enumerate(team.members):
            if org.user(member.user) is None:
                path = ("teams", name, "members", index, "user")
                yield RoutingProblem(path, f"no user {member.user!r} in the org")


def _user(path: KeyPath, ref: str, org: RoutingOrg) -> Iterator[RoutingProblem]:
    user = org.user(ref)
    if user is None:
        yield RoutingProblem(path, f"no user {ref!r} in the org")
    elif not user.active:
        yield RoutingProblem(path, f"user {ref!r} is inactive and cannot own leads")


def _queue(path: KeyPath, ref: str, org: RoutingOrg) -> Iterator[RoutingProblem]:
    if org.queue_id(ref) is None:
        yield RoutingProblem(path, f"{ref!r} is not a queue that accepts Leads")

"""What routing knows besides the lead's fields: the org's users and queues, the lead's past.

The job reads these (users and Lead queues once per cycle; per lead, whether
sfsync saw it before, the owner sfsync last wrote and the owners of the
account and contact matching found) and hands them in as plain values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

USER_PREFIX = "005"
QUEUE_PREFIX = "00G"


@dataclass(frozen=True)
class OrgUser:
    """A user as the org describes it."""

    id: str
    username: str
    active: bool = True
    name: str = ""


@dataclass(frozen=True)
class RoutingOrg:
    """The org's users, its queues that accept Leads, and the integration user sfsync acts as."""

    users: tuple[OrgUser, ...] = ()
    # Queue name -> Id, for queues listed in QueueSobject for Lead only.
    queues: Mapping[str, str] = field(default_factory=dict)
    integration_user_id: str | None = None

    @cached_property
    def _users(self) -> dict[str, OrgUser]:
        index: dict[str, OrgUser] = {}
        for user in self.users:
            # Ids in 15 or 18 characters (case-sensitive), usernames in any case.
            index.update({user.id: user, user.id[:15]: user, user.username.casefold(): user})
        return index

    @cached_property
    def _queues(self) -> dict[str, str]:
        index: dict[str, str] = {}
        for name, queue_id in self.queues.items():
            index.update({name.casefold(): queue_id, queue_id: queue_id, queue_id[:15]: queue_id})
        return index

    def user(self, ref: str | None) -> OrgUser | None:
        """The user an Id or username names; None if the org has no such user."""
        if not ref:
            return None
        return self._users.get(ref) or self._users.get(ref.casefold()) or self._users.get(ref[:15])

    def active_user_id(self, ref: str | None) -> str | None:
        """The Id of the active user `ref` names; None if unknown or inactive."""
        user = self.user(ref)
        return user.id if user is not None and user.active else None

    def queue_id(self, ref: str | None) -> str | None:
        """The Id of the Lead queue a name or Id names; None if there is none."""
        if not ref:
            return None
        return self._queues.get(ref) or self._queues.get(ref.casefold())

    def owner_ids(self, refs: Iterable[str]) -> frozenset[str]:
        """The Ids (queues first, then users) that names, usernames or Ids stand for."""
        found = {self.queue_id(r) or (u.id if (u := self.user(r)) else None) for r in refs}
        return frozenset(f for f in found if f)

    def same_owner(self, a: str | None, b: str | None) -> bool:
        """Whether two owner Ids are the same record (15- and 18-character forms agree)."""
        return bool(a) and bool(b) and str(a)[:15] == str(b)[:15]


@dataclass(frozen=True)
class LeadFacts:
    """What sfsync knows about one lead beyond its fields."""

    # sfsync has never decided about this lead before.
    is_new: bool = False
    # The OwnerId sfsync last wrote to the lead (None: sfsync never routed it).
    last_routed_owner: str | None = None
    # Owners of the account and contact that matching found for the lead, if any.
    account_owner_id: str | None = None
    contact_owner_id: str | None = None

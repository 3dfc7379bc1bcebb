"""What every part of `sfsync check` shares: a problem, the file it is in, the org's facts.

A `Source` is one mappings file read once with its line map, so that every
problem it reports names the file, the line and the key path, as loading does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sfsync.connectors.salesforce import ObjectInfo
from sfsync.ids import InvalidId, to18
from sfsync.mappings import Path_, read_yaml
from sfsync.rules.routing_facts import RoutingOrg


@dataclass(frozen=True)
class Problem:
    """One thing in the mappings the org cannot do."""

    file: Path
    line: int
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.key}: {self.message}"


@dataclass(frozen=True)
class Source:
    """One mappings file and the line of each key path in it."""

    path: Path
    lines: Mapping[Path_, int]

    @classmethod
    def read(cls, directory: Path, name: str) -> Source:
        """Read the file's line map (the file has already loaded, so it parses)."""
        _data, lines = read_yaml(directory / name)
        return cls(directory / name, lines)

    def problem(self, key: Path_, message: str) -> Problem:
        """A problem at `key`, on the line of the deepest part of the key the file holds.

        Keys the file leaves to their defaults (`owner_field`) point at the
        nearest enclosing key, or at line 1.
        """
        found = (self.lines.get(key[:end]) for end in range(len(key), -1, -1))
        line = next((n for n in found if n is not None), 1)
        return Problem(self.path, line, key_text(key), message)


def key_text(key: Path_) -> str:
    """`("rules", 3, "criteria", 0, "field")` as `rules[3].criteria[0].field`."""
    text = ""
    for part in key:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


@dataclass(frozen=True)
class Queue:
    """A queue (a Group of Type Queue) and whether it may own Leads (a QueueSobject says so)."""

    id: str
    name: str
    developer_name: str
    takes_leads: bool

    def named(self, text: str) -> bool:
        """Whether `text` is this queue's name, developer name or id (15 or 18 characters)."""
        if text in (self.name, self.developer_name):
            return True
        try:
            return to18(text) == self.id
        except InvalidId:
            return False


@dataclass(frozen=True)
class OrgFacts:
    """What the checks need to know about the org besides the Lead describe."""

    lead: ObjectInfo
    converted_statuses: frozenset[str] = frozenset()
    active_users: frozenset[str] = frozenset()
    # Describes of the objects conversion copies fields onto.
    targets: Mapping[str, ObjectInfo] = field(default_factory=dict)
    # The org's queues; None when not read (their check is then skipped).
    queues: tuple[Queue, ...] | None = None
    # Routing's users and Lead queues, when read with the rest (`org_facts(read_routing=True)`).
    routing: RoutingOrg | None = None

    def queue(self, text: str) -> Queue | None:
        """The queue a mappings file names (by name, developer name or id), if the org has it."""
        return next((q for q in self.queues or () if q.named(text)), None)

    def lead_queue_ids(self) -> dict[str, str]:
        """Name and developer name -> Id of every queue that takes Leads (`RuleSet.queue_ids`)."""
        found = [q for q in self.queues or () if q.takes_leads]
        return {key: q.id for q in found for key in (q.developer_name, q.name) if key}

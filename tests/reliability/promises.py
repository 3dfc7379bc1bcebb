"""The data promises (DESIGN.md §3), checked by comparing a troubled run with the reference.

An `Observation` is what a run left behind, reduced to what sfsync manages:
per lead the managed fields and the converted/deleted flags; the writes the
integration user made (ids of records created during the run replaced by
"new <prefix>", so twin orgs compare); conversions per lead; dead letters.

`check` names every broken promise (a `Problem` each):

- values: a lead's managed fields differ from the reference's;
- lost write: the reference made a write the troubled run never made;
- foreign write: the troubled run wrote values the reference never wrote;
- converted twice: more than one convert event for a lead;
- written after delete: the worker wrote a lead after a person deleted it;
- dead letter: the troubled run gave up on a write the reference made.

`exact=True` is for runs that reach every boundary drained (kills, faults):
everything must match. `exact=False` is for live runs (people editing while
daemons work): a daemon may skip an intermediate state that the reference
saw, so writes must be a subset (field by field) of the reference's and the
final values must match on every lead that is not deleted.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sfsync.emulator.org import WriteEvent
from sfsync.emulator.seed import SeededOrg
from sfsync.ids import is_id

MANAGED = ("Lead_Score__c", "Rating", "Score_Reason__c", "IsConverted", "IsDeleted")
# Dead letters a live run may leave: a person deleted the lead between re-check and write.
LIVE_RACES = frozenset({"ENTITY_IS_DELETED"})
UNSTABLE_FIELDS = frozenset({"ConvertedDate"})  # the org's date: not the worker's choice

WriteKey = tuple[str, str, str]  # (lead id, operation, canonical changes)


class PromiseBroken(AssertionError):
    """A troubled run broke a promise (raised by `Outcome.raise_if_broken`)."""


@dataclass(frozen=True)
class Observation:
    """What a run left behind (see the module docstring)."""

    state: dict[str, tuple[Any, ...]]
    writes: Counter[WriteKey]
    converts: Counter[str]
    written_after_delete: list[str]
    dead: frozenset[tuple[str, str]]
    outbox: dict[str, int] = field(default_factory=dict)

    @property
    def field_writes(self) -> set[tuple[str, str, str, str]]:
        """(lead, operation, field, value) of every write: what a live run is compared on."""
        found = set()
        for lead, operation, changes in self.writes:
            for name, value in json.loads(changes).items():
                found.add((lead, operation, name, json.dumps(value)))
        return found

    @property
    def repeats(self) -> int:
        """Writes sent again with identical values (harmless: idempotent)."""
        return sum(self.writes.values()) - len(self.writes)


def observe(seeded: SeededOrg, base: SeededOrg, status: Mapping[str, Any]) -> Observation:
    """The observation of `seeded`'s org now; `base` tells which records existed before."""
    org = seeded.org
    with org.lock:
        leads = dict(org.tables["Lead"])
        history = list(org.history)
    known = {record_id for table in base.org.tables.values() for record_id in table}
    me = seeded.integration_user_id
    contact_lead = {str(r["ConvertedContactId"]): i for i, r in leads.items() if r["IsConverted"]}
    return Observation(
        state={i: tuple(r[name] for name in MANAGED) for i, r in leads.items()},
        writes=Counter(_writes(history, me, known, contact_lead)),
        converts=Counter(e.record_id for e in history if e.operation == "convert"),
        written_after_delete=_written_after_delete(history, me),
        dead=frozenset((d["lead_id"], str(d["error_code"])) for d in status["dead_letters"]),
        outbox=dict(status["outbox"]),
    )


def _writes(
    history: Iterable[WriteEvent], me: str, known: set[str], contact_lead: Mapping[str, str]
) -> Iterable[WriteKey]:
    for event in history:
        if event.user_id != me:
            continue
        changes = _canonical(event.changes, known)
        if event.sobject == "Lead":
            yield (event.record_id, event.operation, changes)
        elif event.sobject == "Contact" and event.operation == "update":
            lead = contact_lead.get(event.record_id, f"contact {event.record_id}")
            yield (lead, "copy_to_contact", changes)


def _canonical(changes: Mapping[str, Any], known: set[str]) -> str:
    def value(v: Any) -> Any:
        if isinstance(v, str) and is_id(v) and len(v) == 18 and v not in known:
            return f"new {v[:3]}"
        return v

    kept = {k: value(v) for k, v in changes.items() if k not in UNSTABLE_FIELDS}
    return json.dumps(kept, sort_keys=True, default=str)


def _written_after_delete(history: Iterable[WriteEvent], me: str) -> list[str]:
    deleted: set[str] = set()
    found = []
    for event in history:
        if event.sobject != "Lead":
            continue
        if event.operation == "delete" and event.user_id != me:
            deleted.add(event.record_id)
        elif event.operation == "undelete":
            deleted.discard(event.record_id)
        elif event.user_id == me and event.record_id in deleted:
            found.append(event.record_id)
    return found


# -- the comparison ----------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One broken promise: which, on which lead, and what was seen."""

    promise: str
    lead: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.promise}: {self.lead} {self.detail}".rstrip()


def check(reference: Observation, troubled: Observation, *, exact: bool = True) -> list[Problem]:
    """Every broken promise (empty: all kept)."""
    problems = _values(reference, troubled, exact)
    problems += _writes_compared(reference, troubled, exact)
    problems += [Problem("converted twice", lead) for lead, n in troubled.converts.items() if n > 1]
    problems += [Problem("written after delete", lead) for lead in troubled.written_after_delete]
    extra_dead = set(troubled.dead - reference.dead)
    if not exact:
        extra_dead = {(lead, code) for lead, code in extra_dead if code not in LIVE_RACES}
    problems += [Problem("dead letter", lead, code) for lead, code in sorted(extra_dead)]
    return problems


def _values(reference: Observation, troubled: Observation, exact: bool) -> list[Problem]:
    problems = []
    for lead in sorted(set(reference.state) | set(troubled.state)):
        want, got = reference.state.get(lead), troubled.state.get(lead)
        if want == got:
            continue
        deleted = want is not None and got is not None and want[-1] and got[-1]
        if exact or not deleted:
            problems.append(Problem("values", lead, f"reference {want} troubled {got}"))
    return problems


def _writes_compared(reference: Observation, troubled: Observation, exact: bool) -> list[Problem]:
    if not exact:
        foreign = sorted(troubled.field_writes - reference.field_writes)
        return [
            Problem("foreign write", lead, f"{op} {name}={value}")
            for lead, op, name, value in foreign
        ]
    lost = sorted(set(reference.writes) - set(troubled.writes))
    extra = sorted(set(troubled.writes) - set(reference.writes))
    return [Problem("lost write", lead, f"{op} {changes}") for lead, op, changes in lost] + [
        Problem("foreign write", lead, f"{op} {changes}") for lead, op, changes in extra
    ]

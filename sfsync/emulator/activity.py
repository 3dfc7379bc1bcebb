"""Scripted people at work on a seeded org, between and during the worker's cycles.

Sales reps and the admin create leads, hand leads to each other, move them
through the statuses, correct their inputs and delete a few. Every change
goes through `Org.create` / `Org.update` / `Org.delete` as that person with
`auto_assign=False`, so validation, audit stamps and `SystemModstamp` are the
org's own, exactly as if the change had come over the API from a browser.

Leads in the duplicate ground truth keep their inputs (no input edits, no
deletes), so the ground truth stays true while people work.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from random import Random
from typing import Any

from sfsync.emulator.activity_leads import NewLeadMaker
from sfsync.emulator.org import Record, SaveResult
from sfsync.emulator.seed import SeededOrg
from sfsync.emulator.seed_companies import weighted
from sfsync.emulator.seed_setup import DEFAULT_STATUS
from sfsync.emulator.seed_words import INDUSTRY_WEIGHTS, TITLES

EVENT_KINDS = ("new_lead", "edit_owner", "edit_status", "edit_inputs", "delete")
EDIT_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("edit_owner", 30.0),
    ("edit_status", 35.0),
    ("edit_inputs", 30.0),
    ("delete", 5.0),
)
# Share of new leads that land in the intake queue rather than with a rep.
INTAKE_SHARE = 0.3
_PICK_TRIES = 50


@dataclass(frozen=True)
class ActivityEvent:
    """One change a person made: what, to which lead, the values sent, and who."""

    kind: str
    lead_id: str
    fields: dict[str, Any]
    user_id: str


class Activity:
    """People editing a seeded org, step by step or on a background thread."""

    def __init__(self, seeded: SeededOrg, seed: int = 7) -> None:
        self.seeded = seeded
        self.org = seeded.org
        self.rng = Random(seed)
        self.events: list[ActivityEvent] = []
        # Changes the org refused (validation rules, converted meanwhile...).
        self.rejected: list[tuple[ActivityEvent, SaveResult]] = []
        self._maker = NewLeadMaker(seeded.org, self.rng, seed)
        with self.org.lock:
            self._lead_ids = list(self.org.tables["Lead"])
        self._protected = {d.duplicate_id for d in seeded.duplicates} | {
            d.original_id for d in seeded.duplicates
        }
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._edits: dict[str, Callable[[], ActivityEvent | None]] = {
            "edit_owner": self._edit_owner,
            "edit_status": self._edit_status,
            "edit_inputs": self._edit_inputs,
            "delete": self._delete,
        }

    def step(self, new_leads: int = 5, edits: int = 5) -> list[ActivityEvent]:
        """Create `new_leads` leads and make up to `edits` edits; returns the accepted ones."""
        with self._lock:
            made = [self._new_lead() for _ in range(new_leads)]
            made += [self._edits[weighted(self.rng, EDIT_WEIGHTS)]() for _ in range(edits)]
        return [event for event in made if event is not None]

    def run_in_background(self, interval_s: float, steps: int, **kw: Any) -> threading.Thread:
        """Run `steps` steps `interval_s` apart on a daemon thread until done or `stop()`."""
        self._stop.clear()
        thread = threading.Thread(
            target=self._loop, args=(interval_s, steps, kw), name="sfsync-activity", daemon=True
        )
        thread.start()
        return thread

    def stop(self) -> None:
        """Ask the background thread to stop after the step in hand."""
        self._stop.set()

    def _loop(self, interval_s: float, steps: int, kw: dict[str, Any]) -> None:
        for _ in range(steps):
            if self._stop.is_set():
                return
            self.step(**kw)
            if self._stop.wait(interval_s):
                return

    # -- the changes ----------------------------------------------------------

    def _new_lead(self) -> ActivityEvent | None:
        fields = self._maker.fields()
        intake = self.seeded.queue_ids["Lead Intake"]
        owner = intake if self.rng.random() < INTAKE_SHARE else self._human()
        fields.update(Status=DEFAULT_STATUS, OwnerId=owner)
        user = self._human()
        result = self.org.create("Lead", fields, user_id=user, auto_assign=False)
        event = self._settle(ActivityEvent("new_lead", result.id or "", fields, user), result)
        if event is not None:
            self._lead_ids.append(event.lead_id)
        return event

    def _edit_owner(self) -> ActivityEvent | None:
        lead = self._pick(lambda r: True)
        if lead is None:
            return None
        owners = [u for u in self.seeded.human_user_ids if u != lead["OwnerId"]]
        return self._update("edit_owner", lead, {"OwnerId": self.rng.choice(owners)})

    def _edit_status(self) -> ActivityEvent | None:
        order = [s["MasterLabel"] for s in self.org.lead_statuses() if not s["IsConverted"]]
        lead = self._pick(lambda r: r["Status"] in order[:-1])
        if lead is None:
            return None
        # Forward only, as a rep works a lead; converting is not scripted.
        following = order[order.index(lead["Status"]) + 1 :]
        return self._update("edit_status", lead, {"Status": self.rng.choice(following[:2])})

    def _edit_inputs(self) -> ActivityEvent | None:
        lead = self._pick(lambda r: r["Id"] not in self._protected)
        if lead is None:
            return None
        rng = self.rng
        choices = {
            "Title": weighted(rng, TITLES),
            "Industry": weighted(rng, INDUSTRY_WEIGHTS),
            "NumberOfEmployees": rng.randint(1, 5000),
        }
        names = rng.sample(sorted(choices), k=rng.randint(1, len(choices)))
        return self._update("edit_inputs", lead, {name: choices[name] for name in names})

    def _delete(self) -> ActivityEvent | None:
        lead = self._pick(lambda r: r["Id"] not in self._protected)
        if lead is None:
            return None
        user = self._actor(lead)
        result = self.org.delete("Lead", lead["Id"], user_id=user)
        return self._settle(ActivityEvent("delete", lead["Id"], {}, user), result)

    # -- helpers --------------------------------------------------------------

    def _update(self, kind: str, lead: Record, fields: dict[str, Any]) -> ActivityEvent | None:
        user = self._actor(lead)
        result = self.org.update("Lead", lead["Id"], fields, user_id=user, auto_assign=False)
        return self._settle(ActivityEvent(kind, lead["Id"], fields, user), result)

    def _settle(self, event: ActivityEvent, result: SaveResult) -> ActivityEvent | None:
        if not result.success:
            self.rejected.append((event, result))
            return None
        self.events.append(event)
        return event

    def _pick(self, accept: Callable[[Record], bool]) -> Record | None:
        """A random live, unconverted lead that `accept` likes (None if none turns up)."""
        for _ in range(_PICK_TRIES if self._lead_ids else 0):
            lead = self.org.get("Lead", self.rng.choice(self._lead_ids))
            if lead and not lead["IsDeleted"] and not lead["IsConverted"] and accept(lead):
                return lead
        return None

    def _human(self) -> str:
        return self.rng.choice(self.seeded.human_user_ids)

    def _actor(self, lead: Record) -> str:
        """Who makes a change: the owner when a person owns the lead, else a colleague."""
        owner = lead["OwnerId"]
        return owner if owner in self.seeded.human_user_ids else self._human()

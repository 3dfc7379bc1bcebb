"""Lead capture: candidates (spreadsheet rows, form submissions) cleaned, matched, then created.

`capture` is the one core the spreadsheet import (`sfsync import`) and the
web-form intake share. For a batch of candidates it:

1. skips keys the capture ledger has done (re-running a file creates nothing
   twice) and resumes what an interrupted run left planned or in flight;
2. validates and cleans each candidate against the org's describe of Lead
   (`capture_clean`): rejected rows are reported with every reason;
3. matches the rest against the mirror and against each other
   (`capture_plan`): a duplicate of an org Lead or Contact fills that
   record's empty fields (policy `update`) or is skipped (`skip`); it never
   becomes a second record;
4. decides each new lead with the rules (score, grade, rating, status,
   enrichment fills) and routes it under the routing lock (`capture_route`),
   writing its plan to the ledger in the transaction that takes the turn;
5. creates the leads through sObject Collections, 200 a request
   (`capture_send`), and records each created lead with the LeadState,
   decision, follow-ups and mirror row the sync cycle expects of a lead
   sfsync routed itself, so the next cycle neither routes nor rescores it.

Bulk API 2.0 ingest is not used: at 200 records a request, 10,000 rows are
50 calls. See docs/CAPTURE.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import structlog

from sfsync.connectors.salesforce import SalesforceClient
from sfsync.jobs.capture_clean import validate
from sfsync.jobs.capture_run import CaptureRun
from sfsync.jobs.capture_types import (
    Action,
    Candidate,
    CaptureOutcome,
    CaptureSetup,
    DuplicatePolicy,
    Progress,
)
from sfsync.rules.pipeline import RuleSet
from sfsync.store import Store

log = structlog.get_logger("sfsync.capture")

__all__ = [
    "Action",
    "Candidate",
    "CaptureOutcome",
    "CaptureSetup",
    "DuplicatePolicy",
    "Progress",
    "capture",
    "validate",
]


def capture(
    client: SalesforceClient,
    store: Store,
    rules: RuleSet,
    candidates: Sequence[Candidate],
    *,
    policy: DuplicatePolicy = DuplicatePolicy.UPDATE,
    dry_run: bool = False,
    now: datetime | None = None,
    setup: CaptureSetup | None = None,
    day_first: bool = False,
    progress: Progress | None = None,
) -> list[CaptureOutcome]:
    """Capture the candidates; one outcome per candidate, in order (see the module docstring).

    With `dry_run` nothing is written to the org or the store (routing reads
    the state without taking a turn). `setup` saves its five calls when
    capture runs often (the intake endpoint); `day_first` reads 03/04/2024
    as 3 April; `progress` hears (phase, done, total).
    """
    when = now or datetime.now(UTC)
    if when.tzinfo is None:
        raise ValueError("capture needs a timezone-aware now")
    ready = setup.with_rules(rules) if setup is not None else CaptureSetup.load(client, rules)
    run = CaptureRun(
        client=client,
        store=store,
        setup=ready,
        policy=policy,
        dry_run=dry_run,
        now=when,
        day_first=day_first,
        progress=progress or _silent,
        run_id=f"capture:{uuid.uuid4().hex[:27]}",
    )
    outcomes = run.capture(candidates)
    log.info("sfsync.capture.finished", candidates=len(candidates), dry_run=dry_run,
             **counts(outcomes))  # fmt: skip
    return outcomes


def counts(outcomes: Sequence[CaptureOutcome]) -> dict[str, int]:
    """How many outcomes of each action (every action present, zero or not)."""
    found = dict.fromkeys((a.value for a in Action), 0)
    for outcome in outcomes:
        found[outcome.action.value] += 1
    return found


def _silent(_phase: str, _done: int, _total: int) -> None:
    return None

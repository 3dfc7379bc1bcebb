"""The worker under 5xx answers, dropped connections, row locks and an expiring session."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from sfsync.emulator.faults import FaultPlan
from sfsync.emulator.org import Org
from sfsync.emulator.schema import OrgSchema
from sfsync.emulator.seed import SeededOrg
from sfsync.emulator.server import Emulator
from sfsync.emulator.settings import ValidationRule
from sfsync.store import OutboxState
from tests.integration.conftest import Worker, worker_settings
from tests.integration.helpers import assert_scored, open_leads

MAX_CYCLES = 4


def _writes_per_lead(seeded: SeededOrg) -> dict[str, list[dict[str, object]]]:
    writes: dict[str, list[dict[str, object]]] = defaultdict(list)
    for event in seeded.org.writes_by(seeded.integration_user_id):
        if event.operation == "update":
            writes[event.record_id].append(dict(event.changes))
    return writes


@pytest.mark.slow
@pytest.mark.parametrize("seeded", [1000], indirect=True)
def test_faults_end_with_every_lead_written_once_in_effect(
    seeded: SeededOrg, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = FaultPlan(
        error_rate=0.10, lock_row_rate=0.05, drop_rate=0.02, expire_session_after_calls=7
    )
    with Emulator(seeded.org, faults=plan, seed=3) as emu:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(emu.ca_file))
        # Besides the random ones, one of each kind where it hurts most: on the writes.
        for kind in ("drop", "drop_after", "503", "500_html", "request_limit"):
            emu.faults.script(kind, path_contains="composite/sobjects", method="PATCH")
        worker = Worker(worker_settings(emu, store_url, sfsync_retry_attempts=8))
        try:
            for _ in range(MAX_CYCLES):
                worker.job.run_once()
                if not worker.store.outbox_counts().get("pending"):
                    break
        finally:
            worker.close()
        injected = emu.faults.injected

    assert injected["503"] + injected["500_html"] > 0
    assert injected["lock_row"] > 0 and injected["drop"] > 0 and injected["drop_after"] > 0
    assert injected["expire_session"] > 0
    assert_scored(seeded.org)
    for lead_id, patches in _writes_per_lead(seeded).items():
        first = patches[0]
        assert all(p == first for p in patches), f"{lead_id} written with different values"
    converted = {
        e.record_id
        for e in seeded.org.writes_by(seeded.integration_user_id)
        if e.operation == "convert"
    }
    assert set(_writes_per_lead(seeded)) <= set(open_leads(seeded.org)) | converted


def test_rejected_records_are_dead_lettered_without_blocking_their_batch(
    seeded: SeededOrg, emulator: Emulator, make_worker: Callable[..., Worker]
) -> None:
    blocked = sorted(open_leads(seeded.org))[:3]
    seeded.org.settings.validation_rules = [
        ValidationRule(
            name="Frozen accounts",
            message="Leads of frozen accounts cannot be edited",
            predicate=lambda record: record["Id"] in blocked,
            error_field="Company",
        )
    ]
    worker = make_worker()

    report = worker.job.run_once()

    assert report.rejected == 3 and report.written > 100
    dead = worker.store.outbox(OutboxState.DEAD)
    assert {d.lead_id for d in dead} == set(blocked)
    assert {d.error_code for d in dead} == {"FIELD_CUSTOM_VALIDATION_EXCEPTION"}
    assert all("frozen accounts" in (d.error_message or "") for d in dead)


@pytest.mark.parametrize("seeded", [2600], indirect=True)
def test_dead_cursor_and_short_pages_restart_the_pull_from_the_watermark(
    seeded: SeededOrg, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Emulator(seeded.org, faults=FaultPlan(short_page_rate=0.5), seed=9) as emu:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(emu.ca_file))
        emu.faults.script("invalid_locator", path_contains="/query/", method="GET")
        worker = Worker(worker_settings(emu, store_url))
        try:
            report = worker.job.run_once()
        finally:
            worker.close()
        injected = emu.faults.injected
        pages = [c for c in emu.calls.entries() if "/query" in c.path and c.status == 200]

    assert injected["invalid_locator"] == 1
    assert any((c.records or 0) < 2000 for c in pages[:-1])
    assert report.written > 2000
    assert_scored(seeded.org)


def _shrink_lead_field(org: Org, **changes: object) -> None:
    """An admin changes the org's Lead schema after sfsync read its describe."""
    lead = org.schema.objects["Lead"]
    fields = [replace(lead.fields[name], **{k: v}) for name, (k, v) in changes.items()]
    objects = {**org.schema.objects, "Lead": lead.with_fields(fields)}
    org.schema = OrgSchema(objects=objects)


def test_bad_picklist_and_too_long_values_are_dead_lettered_with_their_codes(
    seeded: SeededOrg, emulator: Emulator, make_worker: Callable[..., Worker]
) -> None:
    worker = make_worker()
    worker.job.prepare()  # the describe is read now; the org changes after
    _shrink_lead_field(
        seeded.org,
        Rating=("picklist", ("Warm", "Cold")),
        Score_Reason__c=("length", 12),
    )

    report = worker.job.run_once()

    dead = worker.store.outbox(OutboxState.DEAD)
    codes = {d.error_code for d in dead}
    assert codes == {"INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "STRING_TOO_LONG"}
    assert report.rejected == len(dead) > 0
    assert all(d.error_message for d in dead)
    lead_updates = [
        r
        for lead_id in open_leads(seeded.org)
        for r in worker.store.outbox_for(lead_id)
        if r.kind == "update"
    ]
    assert lead_updates and all(r.state == OutboxState.DEAD for r in lead_updates)


@pytest.mark.slow
@pytest.mark.parametrize("seeded", [1000], indirect=True)
def test_a_dead_engagement_cursor_runs_that_query_again(
    seeded: SeededOrg, store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Short pages make engagement's answers span pages; after the start-up read, the first
    # cursor read is CampaignMember's second page (engagement is mirrored before the pull's).
    with Emulator(seeded.org, faults=FaultPlan(short_page_rate=1.0), seed=9) as emu:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(emu.ca_file))
        troubled = Worker(worker_settings(emu, store_url))
        plain = Worker(worker_settings(emu, f"sqlite:///{tmp_path}/plain.db"))
        try:
            troubled.job.prepare()  # the start-up read's own cursors are not the point here
            emu.faults.script("invalid_locator", path_contains="/query/", method="GET")
            report = troubled.job.run_once()
            emu.faults.plan = FaultPlan()
            plain.job.run_once()
            mirrored, expected = troubled.store.events.count(), plain.store.events.count()
        finally:
            troubled.close()
            plain.close()
        asked_again = [
            c for c in emu.calls.entries() if "/queryAll/" in c.path and "CampaignMember" in c.query
        ]

    assert emu.faults.injected["invalid_locator"] == 1
    assert report.status == "ok"
    assert asked_again, "the CampaignMember query was not asked on its own after its cursor died"
    assert mirrored == expected > 0

"""Capture through Bulk API 2.0 insert jobs, against the emulator over HTTPS: never a lead twice.

The threshold is lowered so that a few hundred candidates go in one job.
Each fault test ends by counting the leads in the org (one per candidate),
the routing turns (one per lead) and the calls (no Collections create when
the job did the work).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from sfsync.emulator.seed import SeededOrg
from sfsync.emulator.server import Emulator
from sfsync.emulator.settings import ValidationRule
from sfsync.errors import OrgUnavailable
from sfsync.jobs.capture import Action, Candidate, CaptureOutcome
from sfsync.jobs.capture_clean import clean
from sfsync.store.capture import CaptureLedger, LedgerState
from tests.integration import test_capture_faults as faults
from tests.integration.conftest import Worker
from tests.integration.helpers import calls_since
from tests.integration.test_capture_faults import Capturer, created_ids, mine, people

INGEST = "/jobs/ingest"
CREATES = "composite/sobjects"
THRESHOLD = 100
team_mappings = faults.team_mappings  # the fixture: shipped mappings, a team of three reps
ODD = [
    'He said "no", then, "yes"',
    "line one\nline two\r\nline three",
    "Zoë Ødegård — Łódź 東京 🚀 ﷽",
    "  spaces kept inside  ",
    "#hash, comma; semicolon\ttab",
]


@pytest.fixture
def bulk_capturer(make_worker: Callable[..., Worker], team_mappings: Path) -> Capturer:
    worker = make_worker(sfsync_mappings=team_mappings, sfsync_import_bulk_threshold=THRESHOLD)
    return Capturer(worker, team_mappings)


def odd_people(count: int, tag: str) -> list[Candidate]:
    batch = people(count, tag)
    for n, candidate in enumerate(batch):
        candidate.values["Description"] = ODD[n % len(ODD)] + f" #{n}"
    return batch


def ingest_calls(emulator: Emulator, start: int) -> Counter[tuple[str, str]]:
    """(method, last path part) of the ingest calls since `start`."""
    found: Counter[tuple[str, str]] = Counter()
    for call in calls_since(emulator, start):
        if INGEST in call.path:
            tail = call.path.split(INGEST, 1)[1].strip("/").split("/")
            found[(call.method, tail[1] if len(tail) > 1 else ("job" if tail[0] else "jobs"))] += 1
    return found


def collection_creates(emulator: Emulator, start: int) -> int:
    return sum(1 for c in calls_since(emulator, start) if c.method == "POST" and CREATES in c.path)


def assert_created_once(
    outcomes: list[CaptureOutcome], seeded: SeededOrg, before: set[str], count: int
) -> set[str]:
    assert Counter(o.action for o in outcomes) == {Action.CREATED: count}
    new = created_ids(seeded, before)
    assert len(new) == count and {o.record_id for o in outcomes} == new
    return new


def test_a_batch_at_the_threshold_goes_in_one_job_and_comes_back_as_sent(
    seeded: SeededOrg, emulator: Emulator, bulk_capturer: Capturer
) -> None:
    before, turns = mine(seeded), bulk_capturer.team_total()
    batch = odd_people(250, "b")
    start = len(emulator.calls.entries())

    outcomes = bulk_capturer(batch)

    new = assert_created_once(outcomes, seeded, before, 250)
    calls = ingest_calls(emulator, start)
    assert calls[("POST", "jobs")] == 1 and calls[("PUT", "batches")] == 1
    assert calls[("PATCH", "job")] == 1 and calls[("DELETE", "job")] == 1
    assert calls[("GET", "successfulResults")] == 1
    assert collection_creates(emulator, start) == 0
    assert bulk_capturer.team_total() - turns == 250
    with seeded.org.lock:
        stored = {i: dict(seeded.org.tables["Lead"][i]) for i in new}
    by_id = {o.record_id: c for o, c in zip(outcomes, batch, strict=True)}
    for lead_id, record in stored.items():
        sent, problems = clean(by_id[lead_id].values, bulk_capturer.setup.describe)
        assert not problems
        assert record["Description"] == sent["Description"]  # as Collections would store it
        assert (record["LastName"], record["Email"]) == (sent["LastName"], sent["Email"])
        assert record["Lead_Score__c"] is not None  # numbers uploaded as text land as numbers
    descriptions = "".join(str(r["Description"]) for r in stored.values())
    assert all(text in descriptions for text in ('"no"', "two\r\nline", "東京 🚀 ﷽", "tab"))
    assert emulator.ingest_jobs.all() == []

    start = len(emulator.calls.entries())
    again = bulk_capturer(batch)
    assert {o.action for o in again} == {Action.ALREADY_DONE}
    assert created_ids(seeded, before) == new
    assert ingest_calls(emulator, start) == Counter()


def test_below_the_threshold_collections_create(
    seeded: SeededOrg, emulator: Emulator, bulk_capturer: Capturer
) -> None:
    before = mine(seeded)
    start = len(emulator.calls.entries())
    assert_created_once(bulk_capturer(people(THRESHOLD - 1, "u")), seeded, before, THRESHOLD - 1)
    assert ingest_calls(emulator, start) == Counter()
    assert collection_creates(emulator, start) == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", INGEST), ("PUT", "/batches"), ("PATCH", INGEST)],
    ids=["job-creation", "upload", "close"],
)
def test_a_lost_answer_on_a_job_step_creates_each_lead_once(
    seeded: SeededOrg, emulator: Emulator, bulk_capturer: Capturer, method: str, path: str
) -> None:
    before, turns = mine(seeded), bulk_capturer.team_total()
    emulator.faults.script("drop_after", path_contains=path, method=method)
    start = len(emulator.calls.entries())

    outcomes = bulk_capturer(people(150, f"l{method}"))

    assert_created_once(outcomes, seeded, before, 150)
    assert emulator.faults.pending() == 0
    assert collection_creates(emulator, start) == 0
    assert bulk_capturer.team_total() - turns == 150
    assert ingest_calls(emulator, start)[("PUT", "batches")] == (2 if method == "PUT" else 1)


def test_status_reads_that_fail_are_read_again(
    seeded: SeededOrg, emulator: Emulator, bulk_capturer: Capturer
) -> None:
    before = mine(seeded)
    emulator.faults.script("503", path_contains=INGEST + "/", method="GET", times=2)
    emulator.faults.script("500_html", path_contains="successfulResults", method="GET")

    outcomes = bulk_capturer(people(120, "r"))

    assert_created_once(outcomes, seeded, before, 120)
    assert emulator.faults.pending() == 0


@pytest.mark.parametrize("job_gone", [False, True], ids=["job-kept", "job-gone"])
def test_a_worker_that_dies_before_recording_results_is_resumed_by_the_next(
    seeded: SeededOrg,
    emulator: Emulator,
    bulk_capturer: Capturer,
    make_worker: Callable[..., Worker],
    team_mappings: Path,
    job_gone: bool,
) -> None:
    before, turns = mine(seeded), bulk_capturer.team_total()
    batch = people(180, "k")
    # The job completes in the org; its results never reach the worker.
    emulator.faults.script("503", path_contains="successfulResults", method="GET", times=50)
    with pytest.raises(OrgUnavailable):
        bulk_capturer(batch)
    assert len(created_ids(seeded, before)) == 180
    ledger = CaptureLedger(bulk_capturer.worker.store.engine)
    rows = ledger.rows([c.key for c in batch]).values()
    assert {r.state for r in rows} == {LedgerState.SENDING}
    assert len({r.record_id for r in rows}) == 1  # the job's id, recorded before it ran
    bulk_capturer.worker.close()
    emulator.faults.clear()
    if job_gone:  # deleted by someone, or past Salesforce's 7 days: the marker finds the leads
        (job,) = emulator.ingest_jobs.all()
        emulator.ingest_jobs.delete(job.id)
    start = len(emulator.calls.entries())

    successor = Capturer(
        make_worker(sfsync_mappings=team_mappings, sfsync_import_bulk_threshold=THRESHOLD),
        team_mappings,
    )
    outcomes = successor(batch)

    assert_created_once(outcomes, seeded, before, 180)
    calls = ingest_calls(emulator, start)
    assert calls[("POST", "jobs")] == 0 and calls[("GET", "successfulResults")] == (not job_gone)
    assert collection_creates(emulator, start) == 0
    assert successor.team_total() - turns == 180
    assert emulator.ingest_jobs.all() == []
    assert {o.action for o in successor(batch)} == {Action.ALREADY_DONE}


def test_a_job_never_created_is_looked_up_by_marker_then_sent(
    seeded: SeededOrg, emulator: Emulator, bulk_capturer: Capturer
) -> None:
    before = mine(seeded)
    batch = people(130, "n")
    emulator.faults.script("503", path_contains=INGEST, method="POST", times=50)
    with pytest.raises(OrgUnavailable):
        bulk_capturer(batch)
    ledger = CaptureLedger(bulk_capturer.worker.store.engine)
    assert ledger.count(LedgerState.SENDING) == 130
    emulator.faults.clear()
    start = len(emulator.calls.entries())

    outcomes = bulk_capturer(batch)

    assert_created_once(outcomes, seeded, before, 130)
    assert any("/query" in c.path for c in calls_since(emulator, start))  # the marker look-up
    assert ingest_calls(emulator, start)[("POST", "jobs")] == 1


def test_rows_the_org_refuses_are_reported_with_its_reason_and_give_their_turn_back(
    seeded: SeededOrg, emulator: Emulator, bulk_capturer: Capturer
) -> None:
    before, turns = mine(seeded), bulk_capturer.team_total()
    batch = people(140, "f")
    refused = {f"Quellf{n}x" for n in (2, 50, 99)}
    rule = ValidationRule("NoQuell", "Quell: is on the blocklist",
                          predicate=lambda r: r.get("LastName") in refused)  # fmt: skip
    seeded.org.settings.validation_rules = [rule]

    outcomes = bulk_capturer(batch)

    by_key = {o.key: o for o in outcomes}
    rejected = {k for k, o in by_key.items() if o.action is Action.REJECTED}
    assert rejected == {f"form:f{n}" for n in (2, 50, 99)}
    for key in rejected:
        assert by_key[key].reasons[0].startswith("the org refused it: FIELD_CUSTOM_VALIDATION")
        assert "Quell: is on the blocklist" in by_key[key].reasons[0]
    assert len(created_ids(seeded, before)) == 137
    assert bulk_capturer.team_total() - turns == 137
    assert CaptureLedger(bulk_capturer.worker.store.engine).count() == 137


def test_an_upload_that_never_arrives_fails_the_job_and_its_rows_are_sent_again(
    seeded: SeededOrg, emulator: Emulator, bulk_capturer: Capturer
) -> None:
    before, turns = mine(seeded), bulk_capturer.team_total()
    # Every try of the first upload is refused: the job is closed empty and ends Failed.
    attempts = bulk_capturer.worker.settings.sfsync_retry_attempts
    emulator.faults.script("503", path_contains="/batches", method="PUT", times=attempts)
    start = len(emulator.calls.entries())

    outcomes = bulk_capturer(people(160, "e"))

    assert_created_once(outcomes, seeded, before, 160)
    calls = ingest_calls(emulator, start)
    assert calls[("POST", "jobs")] == 2 and calls[("GET", "unprocessedrecords")] == 2
    assert any("/query" in c.path for c in calls_since(emulator, start))  # looked up first
    assert bulk_capturer.team_total() - turns == 160


def test_a_job_left_open_by_a_dead_run_is_aborted_then_its_rows_sent(
    seeded: SeededOrg, emulator: Emulator, bulk_capturer: Capturer
) -> None:
    before = mine(seeded)
    batch = people(110, "o")
    emulator.faults.script("503", path_contains="/batches", method="PUT", times=50)
    emulator.faults.script("503", path_contains=INGEST + "/", method="PATCH", times=50)
    with pytest.raises(OrgUnavailable):
        bulk_capturer(batch)
    (job,) = emulator.ingest_jobs.all()
    assert job.state == "Open"
    emulator.faults.clear()

    outcomes = bulk_capturer(batch)

    assert_created_once(outcomes, seeded, before, 110)
    assert emulator.ingest_jobs.get(job.id) is None  # aborted, then deleted


def colleagues(tag: str) -> list[Candidate]:
    """Same LastName, Company and no Email: one marker, but different people to matching."""
    return [
        Candidate(f"form:{tag}{n}", {"FirstName": first, "LastName": f"Quell{tag}",
                                     "Company": "Quellwerk Zwillinge AG", "Title": title}, "Web")
        for n, (first, title) in enumerate([("Anna", "CEO"), ("Berta", "CFO"), ("Carla", "CTO")])
    ]  # fmt: skip


def assert_each_lead_is_its_own(
    outcomes: list[CaptureOutcome], batch: list[Candidate], seeded: SeededOrg, before: set[str]
) -> None:
    created = {o.key: o.record_id for o in outcomes if o.action is Action.CREATED}
    assert len(created) == len(created_ids(seeded, before))
    mapped = [c for c in batch if c.key in created]
    assert len(mapped) >= 2  # else matching merged them and the case does not arise
    with seeded.org.lock:
        for candidate in mapped:
            record = seeded.org.tables["Lead"][created[candidate.key]]
            assert record["FirstName"] == candidate.values["FirstName"]
            assert record["Title"] == candidate.values["Title"]


def test_equal_markers_in_one_job_map_back_by_the_whole_row(
    seeded: SeededOrg, emulator: Emulator, bulk_capturer: Capturer
) -> None:
    before = mine(seeded)
    batch = colleagues("same")

    outcomes = bulk_capturer([*batch, *people(120, "m")])

    assert_each_lead_is_its_own(outcomes, batch, seeded, before)


def test_equal_markers_after_a_lost_collections_answer_are_told_apart(
    seeded: SeededOrg, emulator: Emulator, bulk_capturer: Capturer
) -> None:
    before = mine(seeded)
    batch = colleagues("lost")
    emulator.faults.script("drop_after", path_contains=CREATES, method="POST")

    outcomes = bulk_capturer(batch)  # below the threshold: Collections, its answer lost

    assert emulator.faults.pending() == 0
    assert_each_lead_is_its_own(outcomes, batch, seeded, before)

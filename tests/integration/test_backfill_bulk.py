"""`sfsync backfill` over Bulk API 2.0 against the emulator over HTTPS.

The threshold is set low so the seeded org's objects go through Bulk query
jobs; the mirror they make must equal the REST path's, the calls must be the
few a job needs, faults on a results page are retried, and a failed job
stops the backfill with Salesforce's message and deletes the job.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from sfsync.cli import app
from sfsync.connectors.bulk import BulkQueries, PollPolicy
from sfsync.connectors.salesforce import SalesforceClient
from sfsync.emulator.calllog import CallEntry
from sfsync.emulator.seed import SeededOrg
from sfsync.emulator.server import Emulator
from sfsync.errors import ConfigError, OrgUnavailable
from sfsync.jobs.backfill import BackfillResult, backfill
from sfsync.jobs.match_setup import load_matcher
from sfsync.store import Store
from sfsync.store.mirror import TABLE
from tests.integration.conftest import MAPPINGS, worker_settings
from tests.integration.helpers import client_credentials

MATCHER = load_matcher(MAPPINGS)
PAGE = 100
OBJECTS = ("Account", "Contact", "Lead")


class Backfiller:
    """A store and a client against the emulator, closed at the end of the test."""

    def __init__(self, emulator: Emulator, store_url: str) -> None:
        self.client = SalesforceClient(worker_settings(emulator, store_url))
        self.store = Store(store_url)

    def run(self, threshold: int, page_size: int = PAGE, **options: Any) -> BackfillResult:
        bulk = BulkQueries(self.client, page_size=page_size)
        return backfill(self.client, self.store, MATCHER, bulk=bulk, bulk_threshold=threshold,
                        **options)  # fmt: skip

    def rows(self) -> dict[str, dict[str, Any]]:
        """The mirror, row by row, without the time each row was written."""
        with self.store.engine.connect() as conn:
            found = conn.execute(sa.select(TABLE)).mappings().all()
        return {row["id"]: {k: v for k, v in row.items() if k != "synced_at"} for row in found}

    def close(self) -> None:
        self.client.close()
        self.store.close()


@pytest.fixture
def mirror(emulator: Emulator, store_url: str) -> Iterator[Backfiller]:
    opened = Backfiller(emulator, store_url)
    yield opened
    opened.close()


@pytest.fixture
def reference(emulator: Emulator, tmp_path: Path) -> Iterator[Backfiller]:
    """A second mirror, filled over REST, on SQLite."""
    opened = Backfiller(emulator, f"sqlite:///{tmp_path}/reference.db")
    yield opened
    opened.close()


def since(emu: Emulator, start: int) -> list[CallEntry]:
    return [c for c in emu.calls.entries()[start:] if c.counted]


def kind(call: CallEntry) -> str:
    """What a call was, in a word: queryAll, describe Lead, create, poll, results, delete."""
    if "/jobs/query" in call.path:
        tail = call.path.split("/jobs/query")[1]
        if tail == "":
            return "create"
        if tail.endswith("/results"):
            return "results"
        return {"GET": "poll", "DELETE": "delete", "PATCH": "abort"}[call.method]
    if call.path.endswith("/describe"):
        return "describe " + call.path.rsplit("/", 2)[-2]
    return call.path.rstrip("/").rsplit("/", 1)[-1]


def test_bulk_backfill_mirrors_what_rest_does_with_the_calls_a_job_needs(
    seeded: SeededOrg, emulator: Emulator, mirror: Backfiller, reference: Backfiller
) -> None:
    by_rest = reference.run(threshold=10**9)
    assert {r.api for r in by_rest.objects.values()} == {"rest"}
    start = len(emulator.calls.entries())
    by_bulk = mirror.run(threshold=10)
    calls = since(emulator, start)

    assert mirror.rows() == reference.rows()
    tables = seeded.org.tables
    expected: list[str] = []
    for sobject in OBJECTS:
        outcome, size = by_bulk.objects[sobject], len(tables[sobject])
        pages = math.ceil(size / PAGE)
        assert size > 10 and outcome.api == "bulk"
        assert (outcome.read, outcome.pages) == (size, pages)
        assert outcome.deleted == by_rest.objects[sobject].deleted
        # The REST query whose totalSize chose Bulk; the job created, polled until
        # JobComplete (InProgress first), its pages by locator, typed by describe; deleted.
        expected += ["queryAll", "create", "poll", "poll", "results", f"describe {sobject}"]
        expected += ["results"] * (pages - 1) + ["delete"]
    assert by_bulk.objects["Lead"].deleted > 0  # queryAll: deleted and merged leads came too
    assert [kind(c) for c in calls] == expected

    results = [c for c in calls if kind(c) == "results"]
    assert all("maxRecords=100" in c.query for c in results)
    assert [("locator=" in c.query) for c in results].count(False) == len(OBJECTS)
    assert sum(c.records or 0 for c in results) == sum(len(tables[s]) for s in OBJECTS)
    assert len(emulator.bulk_jobs) == 0  # every job deleted


def test_after_a_bulk_backfill_the_next_run_reads_only_changes(
    seeded: SeededOrg, emulator: Emulator, mirror: Backfiller
) -> None:
    mirror.run(threshold=10)
    lead_id = next(i for i, r in seeded.org.tables["Lead"].items() if not r["IsDeleted"])
    user = emulator.run_as_user_id
    assert seeded.org.update("Lead", lead_id, {"LastName": "Bulkmoved"}, user_id=user).success
    again = mirror.run(threshold=10)
    # The cursor moved after the Bulk job: only the overlap's few records are read, over REST.
    assert again.objects["Lead"].incremental and again.objects["Lead"].api == "rest"
    assert again.objects["Lead"].read < 10
    assert mirror.rows()[lead_id]["fields"]["LastName"] == "Bulkmoved"


@pytest.mark.parametrize("fault", ["503", "500_html", "drop", "truncated", "expire_session"])
def test_a_fault_on_a_results_page_is_retried(
    fault: str, seeded: SeededOrg, emulator: Emulator, mirror: Backfiller, reference: Backfiller
) -> None:
    reference.run(threshold=10**9)
    emulator.faults.script(fault, path_contains="/results", times=1)
    result = mirror.run(threshold=10, objects=("Lead",))
    assert emulator.faults.pending() == 0
    assert result.objects["Lead"].read == len(seeded.org.tables["Lead"])
    leads = {i: r for i, r in reference.rows().items() if r["sobject"] == "Lead"}
    assert mirror.rows() == leads
    assert len(emulator.bulk_jobs) == 0


def test_a_5xx_when_creating_or_polling_is_retried(
    seeded: SeededOrg, emulator: Emulator, mirror: Backfiller
) -> None:
    emulator.faults.script("503", path_contains="/jobs/query", method="POST")
    emulator.faults.script("503", path_contains="/jobs/query/", method="GET")
    result = mirror.run(threshold=10, objects=("Lead",))
    assert result.objects["Lead"].read == len(seeded.org.tables["Lead"])
    assert emulator.faults.pending() == 0


def test_a_failed_job_stops_the_backfill_with_salesforces_message(
    emulator: Emulator, mirror: Backfiller
) -> None:
    emulator.bulk_jobs.fail_next("UNKNOWN_EXCEPTION: the API retried more than 15 times")
    with pytest.raises(OrgUnavailable, match="retried more than 15 times") as caught:
        mirror.run(threshold=10, objects=("Lead",))
    message = str(caught.value)
    assert "Bulk API 2.0 query job 750" in message and "on Lead failed" in message
    assert mirror.store.watermark("mirror.Lead") is None and mirror.rows() == {}
    assert len(emulator.bulk_jobs) == 0 and len(emulator.bulk_jobs.deleted) == 1


def test_a_query_the_org_refuses_is_a_config_error(emulator: Emulator, mirror: Backfiller) -> None:
    queries = BulkQueries(mirror.client)
    with pytest.raises(ConfigError, match="No such column 'Nope__c' on entity 'Lead'"):
        list(queries.pages("SELECT Id, Nope__c FROM Lead"))
    assert len(emulator.bulk_jobs) == 0


def test_stopping_early_deletes_the_job(seeded: SeededOrg, emulator: Emulator,
                                        mirror: Backfiller) -> None:  # fmt: skip
    pages = BulkQueries(mirror.client, page_size=50).pages("SELECT Id FROM Lead")
    first = next(pages)
    assert len(first) == 50 and len(emulator.bulk_jobs) == 1
    pages.close()
    assert len(emulator.bulk_jobs) == 0


def test_the_command_uses_bulk_above_the_threshold_without_logging_the_token(
    seeded: SeededOrg, emulator: Emulator, env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = emulator.credentials.access_token
    monkeypatch.setenv("SF_ACCESS_TOKEN", token)
    monkeypatch.setenv("SF_INSTANCE_URL", emulator.instance_url)
    monkeypatch.setenv("SFSYNC_BULK_THRESHOLD", "10")
    outcome = CliRunner().invoke(app, ["--log-json", "backfill", "--json"])
    assert outcome.exit_code == 0, outcome.output
    summary = json.loads(outcome.stdout)
    assert {summary[s]["api"] for s in OBJECTS} == {"bulk"}
    assert summary["Lead"]["read"] == len(seeded.org.tables["Lead"])
    logged = [json.loads(line) for line in outcome.stderr.splitlines() if line.startswith("{")]
    events = {e["event"] for e in logged}
    assert {"sfsync.bulk.job_created", "sfsync.bulk.page", "sfsync.bulk.job_deleted"} <= events
    assert token not in outcome.output


def test_the_command_says_which_api_read_each_object(
    seeded: SeededOrg, emulator: Emulator, env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client_credentials(emulator, monkeypatch)
    monkeypatch.setenv("SFSYNC_BULK_THRESHOLD", str(len(seeded.org.tables["Account"])))
    outcome = CliRunner().invoke(app, ["--log-json", "backfill"])
    assert outcome.exit_code == 0, outcome.output
    assert "✓ Account:" in outcome.stdout and "REST page(s)" in outcome.stdout
    assert "Bulk API 2.0 page(s)" in outcome.stdout


def test_a_job_that_never_finishes_is_aborted_and_deleted(
    emulator: Emulator, mirror: Backfiller
) -> None:
    emulator.bulk_jobs.polls_to_complete = 10**6
    queries = BulkQueries(mirror.client, poll=PollPolicy(max_polls=3, wait_scale=0.0))
    start = len(emulator.calls.entries())
    with pytest.raises(OrgUnavailable, match="did not finish after 3 status reads"):
        list(queries.pages("SELECT Id FROM Lead"))
    assert [kind(c) for c in since(emulator, start)] == [
        "create", "poll", "poll", "poll", "abort", "delete"
    ]  # fmt: skip
    assert len(emulator.bulk_jobs) == 0

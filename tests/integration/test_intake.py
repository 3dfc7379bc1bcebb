"""Web forms to leads, for real: `sfsync intake serve` and `sfsync intake process` as processes.

Posts go over HTTP to the endpoint; the worker creates the leads in the
emulator over HTTPS. The worker is killed (-9) while the org holds the
answer to its first create, so those leads exist but nobody recorded them;
the next run, after the lease, must find them instead of creating them again.
"""

from __future__ import annotations

import http.client
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from sfsync.emulator.org import Org
from sfsync.emulator.seed import SeededOrg
from sfsync.emulator.server import Emulator
from sfsync.jobs.backfill import backfill
from sfsync.jobs.match_setup import load_matcher
from sfsync.store import Store
from sfsync.store.intake import IntakeQueue, SubmissionState
from tests.integration.conftest import MAPPINGS, Worker

START_DEADLINE_S = 30
SCRIPT = "<script>alert('owned')</script> please call"
INTAKE_YAML = """\
forms:
  contact:
    source: Web - contact form
    fields: {first_name: FirstName, last_name: LastName, email: Email, company: Company,
             phone: Phone, message: Description}
    required: [LastName, Company, Email]
    constants: {LeadSource: Web}
    honeypot: homepage
rate_limits:
  per_ip: {requests: 1000, per_seconds: 60}
processing:
  batch: 4
  lease_seconds: 2
  poll_seconds: 1
"""


@pytest.fixture
def mappings(tmp_path: Path) -> Path:
    directory = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, directory)
    (directory / "intake.yaml").write_text(INTAKE_YAML, encoding="utf-8")
    return directory


def env_for(emu: Emulator, store_url: str, mappings: Path, *, credentials: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SF_", "SFSYNC_"))}
    env.update(
        REQUESTS_CA_BUNDLE=str(emu.ca_file),
        SFSYNC_DATABASE_URL=store_url,
        SFSYNC_MAPPINGS=str(mappings),
        SFSYNC_RETRY_WAIT_SCALE="0",
    )
    if credentials:
        env.update(
            SF_LOGIN_URL=emu.login_url,
            SF_CLIENT_ID=emu.credentials.client_id,
            SF_CLIENT_SECRET=emu.credentials.client_secret,
        )
    return env


def sfsync(*args: str) -> list[str]:
    return [sys.executable, "-m", "sfsync", "--log-json", *args]


@contextmanager
def serving(env: dict[str, str], cwd: Path, *flags: str) -> Iterator[tuple[str, list[str]]]:
    """`sfsync intake serve` on a free port; yields its URL; SIGTERM at the end, exit 0."""
    proc = subprocess.Popen(
        sfsync("intake", "serve", "--port", "0", *flags),
        env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        url = _wait_for_url(proc, lines)
        yield url, lines
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        lines += out.decode().splitlines()
    assert proc.returncode == 0, err.decode()[-2000:]


def _wait_for_url(proc: subprocess.Popen[bytes], lines: list[str]) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < deadline:
        ready, _w, _x = select.select([proc.stdout], [], [], 0.2)
        if ready:
            line = proc.stdout.readline().decode()
            lines.append(line)
            if "intake endpoint on " in line:
                return line.split("intake endpoint on ", 1)[1].split()[0]
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
    raise AssertionError(f"the endpoint did not start: {lines}")


def post(url: str, fields: dict[str, str], *, as_json: bool = False) -> tuple[int, Any]:
    host = url.removeprefix("http://")
    body = json.dumps(fields) if as_json else urlencode(fields)
    kind = "application/json" if as_json else "application/x-www-form-urlencoded"
    conn = http.client.HTTPConnection(host, timeout=10)
    try:
        conn.request("POST", "/intake/contact", body, {"Content-Type": kind})
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


def person(n: int, **extra: str) -> dict[str, str]:
    return {
        "first_name": "Ada", "last_name": f"Formfill{n}", "company": f"Intake Works {n}",
        "email": f"ada.formfill{n}@intake-works{n}.example.com", **extra,
    }  # fmt: skip


def leads_with_email(org: Org) -> Counter[str]:
    with org.lock:
        return Counter(
            str(r["Email"]).lower()
            for r in org.tables["Lead"].values()
            if r.get("Email") and not r["IsDeleted"]
        )


def run_process(env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        sfsync("intake", "process", "--json"),
        env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def processed(env: dict[str, str], cwd: Path) -> dict[str, Any]:
    proc = run_process(env, cwd)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()[-3000:]
    result: dict[str, Any] = json.loads(out)
    return result


@pytest.mark.slow
def test_posted_forms_become_leads_exactly_once_across_a_kill(
    seeded: SeededOrg,
    emulator: Emulator,
    make_worker: Callable[..., Worker],
    store_url: str,
    mappings: Path,
    tmp_path: Path,
) -> None:
    worker = make_worker()
    backfill(worker.client, worker.store, load_matcher(MAPPINGS))  # the mirror matching reads
    existing = next(
        r for r in seeded.org.tables["Lead"].values()
        if r.get("Email") and not r["IsDeleted"] and not r["IsConverted"]
    )  # fmt: skip
    before = leads_with_email(seeded.org)
    queue_only = env_for(emulator, store_url, mappings, credentials=False)

    with serving(queue_only, tmp_path, "--queue-only") as (url, _lines):
        answers = [post(url, person(n), as_json=n % 2 == 1) for n in range(10)]
        answers.append(post(url, person(0, phone="+1 415 555 0100")))  # the same person again
        answers.append(post(url, person(10, message=SCRIPT)))
        answers.append(
            post(
                url,
                {
                    "first_name": existing["FirstName"],
                    "last_name": existing["LastName"],
                    "company": existing["Company"],
                    "email": existing["Email"],
                },
            )
        )
        answers.append(post(url, person(11, phone="call me maybe")))  # the org's rules refuse
        spam = post(url, person(12, homepage="http://spam.example"))
        refused = [post(url, person(13, email="x@mailinator.com")), post(url, {"email": "a@b.c"})]
    assert [status for status, _body in answers] == [202] * 14
    assert spam[0] == 202 and [s for s, _b in refused] == [422, 422]
    ids = [body["id"] for _status, body in answers]

    # First run: killed while the org holds its answer to the first create (the leads exist).
    with_credentials = env_for(emulator, store_url, mappings, credentials=True)
    gate = emulator.faults.hold("composite/sobjects", method="POST", when="after")
    first = run_process(with_credentials, tmp_path)
    assert gate.reached.wait(60), "the worker never sent a create"
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    gate.release()
    created_before_restart = sum(leads_with_email(seeded.org).values()) - sum(before.values())
    assert created_before_restart >= 1

    time.sleep(2.1)  # the killed worker's lease runs out
    second = processed(with_credentials, tmp_path)
    assert second["claimed"] >= 14 - 4

    store = Store(store_url)
    try:
        queue = IntakeQueue(store.session)
        states = {i: queue.get(i) for i in ids}
        counts = queue.counts()
    finally:
        store.close()
    assert counts == {"done": 13, "dead": 1}, counts
    dead = states[ids[13]]
    assert dead is not None and dead.state is SubmissionState.DEAD
    assert dead.reason is not None and "Phone" in dead.reason
    assert {states[i].action for i in ids[:10]} <= {"created", "already_done"}  # type: ignore[union-attr]
    assert states[ids[10]].action in {"duplicate", "updated", "already_done"}  # type: ignore[union-attr]
    assert states[ids[12]].matched_id == existing["Id"]  # type: ignore[union-attr]

    # Exactly once: every posted person is one lead; the org's own lead was not doubled.
    after = leads_with_email(seeded.org)
    for n in (*range(11),):
        assert after[person(n)["email"]] == 1, person(n)["email"]
    assert after[existing["Email"].lower()] == before[existing["Email"].lower()]
    assert after[person(11)["email"]] == after[person(12)["email"]] == 0  # refused, honeypot
    assert after[person(13)["email"].lower()] == 0
    creates = [
        e for e in seeded.org.writes_by(seeded.integration_user_id) if e.operation == "create"
    ]
    assert len(creates) == 11
    with seeded.org.lock:
        scripted = [r for r in seeded.org.tables["Lead"].values() if r.get("Description") == SCRIPT]
    assert len(scripted) == 1  # stored as the plain text it was

    # A third run finds nothing to do and creates nothing.
    third = processed(with_credentials, tmp_path)
    assert third["claimed"] == 0
    assert leads_with_email(seeded.org) == after


@pytest.mark.slow
def test_immediately_creates_the_lead_right_after_the_post(
    seeded: SeededOrg, emulator: Emulator, store_url: str, mappings: Path, tmp_path: Path
) -> None:
    env = env_for(emulator, store_url, mappings, credentials=True)
    with serving(env, tmp_path, "--immediately") as (url, _lines):
        statuses = [post(url, person(n))[0] for n in range(3)]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = leads_with_email(seeded.org)
            if all(found[person(n)["email"]] for n in range(3)):
                break
            time.sleep(0.1)
    assert statuses == [202] * 3
    found = leads_with_email(seeded.org)
    assert [found[person(n)["email"]] for n in range(3)] == [1, 1, 1]

"""`sfsync intake status | retry | serve | process`: output, exit codes, clear errors."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sfsync.cli import app
from sfsync.store import Store
from sfsync.store.intake import IntakeQueue, NewSubmission

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name in ("SF_ACCESS_TOKEN", "SF_CLIENT_ID", "SF_CLIENT_SECRET", "SF_USERNAME",
                 "SF_PASSWORD", "SF_SECURITY_TOKEN", "SF_PRIVATE_KEY_FILE"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    url = f"sqlite:///{tmp_path}/state.db"
    monkeypatch.setenv("SFSYNC_DATABASE_URL", url)
    monkeypatch.setenv("SFSYNC_MAPPINGS", str(MAPPINGS))
    yield url


def dead_letters(url: str, n: int) -> list[str]:
    store = Store(url)
    try:
        queue = IntakeQueue(store.session)
        ids = [
            queue.enqueue(NewSubmission("contact", "Web", {"LastName": f"Doe {i}"}))
            for i in range(n)
        ]
        for claimed in queue.claim(n, timedelta(minutes=5)):
            queue.dead_letter(claimed, "Phone: 'call me maybe' is not a phone number", "rejected")
    finally:
        store.close()
    return ids


def test_status_lists_counts_and_dead_letters(env: str) -> None:
    ids = dead_letters(env, 2)
    result = runner.invoke(app, ["intake", "status", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["counts"] == {"dead": 2}
    assert {d["id"] for d in data["dead"]} == set(ids)
    text = runner.invoke(app, ["intake", "status"]).output
    assert "0 queued, 0 processing, 0 done, 2 dead" in text
    assert "is not a phone number" in text


def test_retry_by_id_or_all(env: str) -> None:
    ids = dead_letters(env, 3)
    assert "1 submission(s) queued again" in runner.invoke(app, ["intake", "retry", ids[0]]).output
    assert "2 submission(s) queued again" in runner.invoke(app, ["intake", "retry", "--all"]).output
    assert runner.invoke(app, ["intake", "retry"]).exit_code == 2
    assert runner.invoke(app, ["intake", "retry", ids[0], "--all"]).exit_code == 2


def test_serve_stops_at_start_up_when_a_secret_is_unset(env: str, tmp_path: Path) -> None:
    mappings = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, mappings)
    text = (mappings / "intake.yaml").read_text(encoding="utf-8")
    (mappings / "intake.yaml").write_text(
        text.replace("# secret_env: SFSYNC_INTAKE_SECRET_CONTACT", "secret_env: NO_SUCH_SECRET_X"),
        encoding="utf-8",
    )
    result = runner.invoke(app, ["intake", "serve", "--port", "0", "--mappings", str(mappings)])
    assert result.exit_code == 2
    assert "intake.yaml:" in result.output
    assert "forms.contact.secret_env: NO_SUCH_SECRET_X is not set or empty" in result.output


def test_serve_refuses_a_bad_intake_file_with_its_line(env: str, tmp_path: Path) -> None:
    mappings = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, mappings)
    (mappings / "intake.yaml").write_text("forms:\n  contact:\n    source: Web\n", "utf-8")
    result = runner.invoke(app, ["intake", "serve", "--port", "0", "--mappings", str(mappings)])
    assert result.exit_code == 2
    assert f"{mappings / 'intake.yaml'}:2: forms.contact.fields: Field required" in result.output


def test_process_needs_credentials(env: str) -> None:
    result = runner.invoke(app, ["intake", "process"])
    assert result.exit_code == 2
    assert "no Salesforce credentials" in result.output

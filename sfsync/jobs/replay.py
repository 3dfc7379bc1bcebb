"""Record one cycle against the org; replay it offline with other rules; diff the writes.

Both sides start from an empty, throw-away state store (a first run: full
pull, sweep included). The worker's own store is never touched, and the
replay asks the org exactly what the recording did, so it can be served from
the file. The replay's clock starts at the recording's start, so rules that
read `now` decide as they did then.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from sfsync import __version__
from sfsync.config import AuthMode, Settings, load_settings
from sfsync.connectors.playback import NotInRecording, Playback, Writes, recorded_writes
from sfsync.connectors.recording import Recording, RecordingWriter, attach, load_recording
from sfsync.connectors.redaction import REDACTED, Redactor
from sfsync.connectors.salesforce import SalesforceClient
from sfsync.errors import SfsyncError
from sfsync.jobs.plan import PlannedChange
from sfsync.jobs.sync import Clock, CycleReport, SyncJob, utcnow
from sfsync.mappings import load_rules
from sfsync.rules.pipeline import RuleSet, same_value
from sfsync.store import Store

REPLAY_CLIENT_ID = "sfsync-replay"
COUNTS = ("pulled", "decided", "written", "rejected", "retry_later", "api_calls")


@dataclass(frozen=True)
class FieldDiff:
    """One field of one lead written differently now than in the recording."""

    lead_id: str
    field: str
    old: Any
    new: Any
    old_written: bool
    new_written: bool


@dataclass
class ReplayResult:
    """What the replayed cycle did, what the recorded one did, and how their writes differ."""

    recording: Path
    meta: Mapping[str, Any]
    status: str
    recorded_status: str | None
    error: str | None
    counts: dict[str, int]
    writes: Writes
    recorded: Writes
    diff: list[FieldDiff] = field(default_factory=list)

    @property
    def same(self) -> bool:
        """True when the rules now write exactly what the recorded run wrote, and end alike."""
        same_end = self.recorded_status is None or self.status == self.recorded_status
        return not self.diff and same_end


# -- record ------------------------------------------------------------------------------


def record_cycle(
    settings: Settings,
    out: Path,
    *,
    dry_run: bool = False,
    sensitive_fields: Iterable[str] = (),
    sensitive_values: Iterable[str] = (),
    clock: Clock = utcnow,
) -> tuple[CycleReport, int]:
    """Run one cycle against the org, recording every request; returns the report and count."""
    rules = load_rules(settings.sfsync_mappings)
    redactor = Redactor([*secrets_of(settings), *sensitive_values], sensitive_fields)
    started = clock()
    meta = recording_meta(settings, rules.version, dry_run, started)
    with _empty_store("sfsync-record-") as store:
        writer = RecordingWriter(out, meta, redactor)
        client = SalesforceClient(settings)
        attach(client.session, writer)
        outcome: dict[str, Any] = {"status": "interrupted"}
        try:
            report = SyncJob(client, store, rules, settings, clock=clock).run_once(dry_run=dry_run)
            outcome = outcome_of(report)
        except SfsyncError as exc:
            outcome = {"status": "failed", "error": exc.user_message}
            raise
        finally:
            writer.close(outcome)
            client.close()
    return report, writer.count


def secrets_of(settings: Settings) -> list[str | None]:
    """Every secret the settings hold, the private key's text included."""
    values = [settings.sf_client_secret, settings.sf_password, settings.sf_security_token]
    values.append(settings.sf_access_token)
    secrets = [v.get_secret_value() if v else None for v in values]
    if settings.sf_password and settings.sf_security_token:
        secrets.append(secrets[1] + secrets[2])  # type: ignore[operator]
    if settings.sf_private_key_file and settings.sf_private_key_file.is_file():
        secrets.append(settings.sf_private_key_file.read_text(errors="replace"))
    return secrets


def recording_meta(
    settings: Settings, rules_version: str, dry_run: bool, started: datetime
) -> dict[str, Any]:
    """The recording's header: what a replay needs to ask the same questions."""
    return {
        "sfsync_version": __version__,
        "recorded_at": started.isoformat(),
        "dry_run": dry_run,
        "auth_mode": settings.auth_mode().value,
        "login_url": settings.sf_login_url,
        "instance_url": settings.sf_instance_url,
        "api_version": settings.sf_api_version,
        "client_name": settings.sfsync_client_name,
        "overlap_seconds": settings.sfsync_overlap_seconds,
        "api_budget_share": settings.sfsync_api_budget_share,
        "retry_attempts": settings.sfsync_retry_attempts,
        "rules_version": rules_version,
    }


def outcome_of(report: CycleReport) -> dict[str, Any]:
    """The recording's footer: how the run ended and, for a dry run, what it planned."""
    outcome: dict[str, Any] = {"status": report.status}
    outcome.update({name: getattr(report, name) for name in COUNTS})
    if report.dry_run:
        outcome["planned_writes"] = plan_writes(report.plan)
    return outcome


# -- replay ------------------------------------------------------------------------------


def replay_cycle(path: Path, mappings: Path) -> ReplayResult:
    """Run the recorded cycle offline with the rules in `mappings`; diff its writes."""
    recording = load_recording(path)
    rules = load_rules(mappings)
    dry_run = bool(recording.meta.get("dry_run"))
    with _empty_store("sfsync-replay-") as store:
        report, writes, error = _run_offline(recording, store, rules, mappings)
        run = store.recent_runs(1)[0]
    if dry_run:
        writes = plan_writes(report.plan) if report else {}
    outcome = recording.outcome or {}
    recorded = dict(outcome.get("planned_writes") or {}) if dry_run else recorded_writes(recording)
    return ReplayResult(
        recording=path,
        meta=recording.meta,
        status=run.status,
        recorded_status=outcome.get("status"),
        error=error,
        counts={name: int(getattr(run, name, 0) or 0) for name in COUNTS},
        writes=writes,
        recorded=recorded,
        diff=diff_writes(recorded, writes),
    )


def _run_offline(
    recording: Recording, store: Store, rules: RuleSet, mappings: Path
) -> tuple[CycleReport | None, Writes, str | None]:
    """The cycle served from the recording: its report (None if it failed), writes and error.

    A cycle that fails the way the recorded one did is a result, not an
    error; a request missing from the recording is an error.
    """
    settings = replay_settings(recording.meta, store.url, mappings)
    client = SalesforceClient(settings)
    job = SyncJob(client, store, rules, settings, clock=shifted_clock(recording.meta))
    playback = Playback(recording)
    try:
        with playback:
            report = job.run_once(dry_run=bool(recording.meta.get("dry_run")))
        return report, playback.writes, None
    except NotInRecording:
        raise
    except SfsyncError as exc:
        return None, playback.writes, exc.user_message
    finally:
        client.close()


def replay_settings(meta: Mapping[str, Any], store_url: str, mappings: Path) -> Settings:
    """Settings that reach the recorded org's URLs with placeholder credentials.

    Every field is given, so nothing comes from the environment: a replay
    behaves the same on a laptop with real credentials set and in CI.
    """
    values: dict[str, Any] = {name: info.default for name, info in Settings.model_fields.items()}
    values.update(
        sf_login_url=meta.get("login_url") or values["sf_login_url"],
        sf_instance_url=meta.get("instance_url"),
        sf_api_version=str(meta.get("api_version") or values["sf_api_version"]),
        sfsync_client_name=meta.get("client_name") or values["sfsync_client_name"],
        sfsync_overlap_seconds=meta.get("overlap_seconds", values["sfsync_overlap_seconds"]),
        sfsync_api_budget_share=meta.get("api_budget_share", values["sfsync_api_budget_share"]),
        sfsync_retry_attempts=meta.get("retry_attempts", values["sfsync_retry_attempts"]),
        sfsync_retry_wait_scale=0.0,
        sfsync_database_url=SecretStr(store_url),
        sfsync_mappings=mappings,
    )
    if meta.get("auth_mode") == AuthMode.ACCESS_TOKEN.value:
        values.update(sf_access_token=SecretStr(REDACTED))
    else:
        values.update(sf_client_id=REPLAY_CLIENT_ID, sf_client_secret=SecretStr(REDACTED))
    return load_settings(**values)


def shifted_clock(meta: Mapping[str, Any]) -> Clock:
    """A clock that starts at the recording's start time and runs at real speed."""
    try:
        start = datetime.fromisoformat(str(meta.get("recorded_at")))
    except ValueError:
        return utcnow
    origin = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - origin)


def plan_writes(plan: Iterable[PlannedChange]) -> Writes:
    """A dry run's plan as lead id → field → value."""
    writes: Writes = {}
    for change in plan:
        writes.setdefault(change.lead_id, {})[change.field] = change.new
    return writes


def diff_writes(old: Writes, new: Writes) -> list[FieldDiff]:
    """Every (lead, field) written differently, or only on one side, ordered by lead and field."""
    rows = []
    for lead_id in sorted(old.keys() | new.keys()):
        before, after = old.get(lead_id, {}), new.get(lead_id, {})
        for name in sorted(before.keys() | after.keys()):
            both = name in before and name in after
            if both and same_value(before[name], after[name]):
                continue
            rows.append(
                FieldDiff(
                    lead_id, name, before.get(name), after.get(name), name in before, name in after
                )
            )
    return rows


@contextmanager
def _empty_store(prefix: str) -> Iterator[Store]:
    """A fresh SQLite store in a temporary directory, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        store = Store(f"sqlite:///{tmp}/state.db")
        try:
            yield store
        finally:
            store.close()

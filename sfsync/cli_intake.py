"""`sfsync intake serve | process | status | retry`: the web-form endpoint and its queue.

The main app registers the group with `cli_intake.register(app)`.
Exit codes: 0 done, 2 invalid intake.yaml, mappings or settings (or the port
is taken), 3 authentication failed, 4 the org could not be reached, 6 the
state database could not be reached.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from sfsync.config import DEFAULT_MAPPINGS, database_url, load_settings
from sfsync.console import exits_cleanly, out
from sfsync.intake.app import IntakeApp
from sfsync.intake.config import INTAKE_FILE, Processing, form_secrets, load_intake
from sfsync.intake.immediate import ImmediateProcessor
from sfsync.intake.server import DEFAULT_INTAKE_HOST, DEFAULT_INTAKE_PORT, IntakeServer
from sfsync.mappings import load_rules
from sfsync.rules.enrich_data import load_enrichment_data, shipped_texts
from sfsync.rules.enrich_email import EmailLists
from sfsync.rules.ruleset import RuleSet
from sfsync.store import Store
from sfsync.store.intake import IntakeQueue, SubmissionState

if TYPE_CHECKING:  # imported when a command runs: `sfsync --help` needs no connector
    from sfsync.connectors.salesforce import SalesforceClient
    from sfsync.jobs.intake import IntakeResult

# Most submissions `sfsync intake process` takes in one run.
PROCESS_LIMIT = 500
app = typer.Typer(help="Web-form intake: the endpoint and its queue.", no_args_is_help=True)
MappingsOption = Annotated[
    Path | None, typer.Option("--mappings", help="Rules directory (default: SFSYNC_MAPPINGS)")
]


def register(main: typer.Typer) -> None:
    """Add the `intake` group to the main app."""
    main.add_typer(app, name="intake")


@app.command("serve")
@exits_cleanly
def serve_command(
    host: Annotated[str, typer.Option(help="Address to bind")] = DEFAULT_INTAKE_HOST,
    port: Annotated[int, typer.Option(min=0, max=65_535, help="Port (0 picks one)")] = (
        DEFAULT_INTAKE_PORT
    ),
    immediately: Annotated[
        bool | None,
        typer.Option(
            "--immediately/--queue-only",
            help="Create leads right after queueing (default: intake.yaml processing.immediately)",
        ),
    ] = None,
    mappings: MappingsOption = None,
) -> None:
    """Accept form posts on POST /intake/<form>, queue them, answer 202, until SIGTERM."""
    directory = mappings or _mappings()
    config = load_intake(directory)
    secrets = form_secrets(config, directory)  # an unset secret stops start-up, not a post
    rules = load_rules(directory)
    immediate = config.processing.immediately if immediately is None else immediately
    client = _client() if immediate else None
    store = Store(database_url())
    processor = _processor(client, store, rules, config.processing) if client else None
    on_queued = processor.notify if processor else None
    endpoint = IntakeApp(
        config, IntakeQueue(store.session), email_lists(rules), secrets, on_queued=on_queued
    )
    try:
        with IntakeServer(endpoint, host, port) as server:
            if processor is not None:
                processor.start()
            forms = ", ".join(f"/intake/{name}" for name in config.forms)
            mode = "processing immediately" if processor else "queueing for the worker"
            out.print(f"intake endpoint on {server.url} ({forms}); {mode}", highlight=False)
            _wait_for_signal()
    finally:
        if processor is not None:
            processor.close()
        if client is not None:
            client.close()
        store.close()
    out.print(json.dumps({"answered": endpoint.stats.snapshot()}), highlight=False)


def _client() -> SalesforceClient:
    from sfsync.connectors.salesforce import SalesforceClient

    return SalesforceClient(load_settings())


def _processor(
    client: SalesforceClient, store: Store, rules: RuleSet, processing: Processing
) -> ImmediateProcessor:
    from sfsync.jobs.intake import CachedSetup, process_submissions

    setup = CachedSetup(client, rules)

    def one_pass() -> int:
        result = process_submissions(
            client, store, rules, processing.batch, processing=processing, setup=setup
        )
        return result.claimed

    return ImmediateProcessor(one_pass, processing.poll_seconds)


@app.command("process")
@exits_cleanly
def process_command(
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="Most submissions")] = (
        PROCESS_LIMIT
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Create leads from queued submissions once (what the worker does on its next pass)."""
    from sfsync.connectors.salesforce import SalesforceClient
    from sfsync.jobs.intake import process_submissions

    settings = load_settings()
    rules = load_rules(settings.sfsync_mappings)
    processing = _processing(settings.sfsync_mappings)
    store = Store(settings.sfsync_database_url.get_secret_value())
    client = SalesforceClient(settings)
    try:
        result = process_submissions(client, store, rules, limit, processing=processing)
    finally:
        client.close()
        store.close()
    _print_result(result, as_json)


def _print_result(result: IntakeResult, as_json: bool) -> None:
    if as_json:
        out.print_json(json.dumps(result.as_dict()))
        return
    actions = ", ".join(f"{n} {a}" for a, n in sorted(result.actions.items())) or "none"
    out.print(
        f"{result.claimed} submission(s): {result.done} done, {result.retried} to retry, "
        f"{result.dead} dead-lettered ({actions})",
        highlight=False,
    )


@app.command("status")
@exits_cleanly
def status_command(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Submissions per state, and the latest dead letters with their reasons."""
    store = Store(database_url())
    try:
        queue = IntakeQueue(store.session)
        counts, dead = queue.counts(), queue.in_state(SubmissionState.DEAD, limit=20)
    finally:
        store.close()
    if as_json:
        rows = [{"id": d.submission_id, "form": d.form, "reason": d.reason} for d in dead]
        out.print_json(json.dumps({"counts": counts, "dead": rows}))
        return
    states = ", ".join(f"{counts.get(s, 0)} {s}" for s in SubmissionState)
    out.print(f"submissions: {states}", highlight=False)
    for d in dead:
        out.print(f"  dead {d.submission_id} ({escape(d.form)}): {escape(d.reason or '')}")


@app.command("retry")
@exits_cleanly
def retry_command(
    ids: Annotated[list[str] | None, typer.Argument(help="Submission ids")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every dead submission")] = False,
) -> None:
    """Queue dead-lettered submissions again (after fixing what rejected them)."""
    if bool(ids) == all_:
        raise typer.BadParameter("name submission ids or pass --all (not both)")
    store = Store(database_url())
    try:
        count = IntakeQueue(store.session).retry_dead(None if all_ else ids)
    finally:
        store.close()
    out.print(f"{count} submission(s) queued again", highlight=False)


def email_lists(rules: RuleSet) -> EmailLists:
    """The disposable and free-mail lists: enrichment's (with the org's additions) or shipped."""
    data = rules.enrichment_data or load_enrichment_data(shipped_texts())
    return data.email


def _processing(directory: Path) -> Processing:
    """intake.yaml's processing settings; `process` works from defaults without the file."""
    if (directory / INTAKE_FILE).exists():
        return load_intake(directory).processing
    return Processing()


def _mappings() -> Path:
    """SFSYNC_MAPPINGS, without asking for org credentials (queueing needs none)."""
    return Path(os.environ.get("SFSYNC_MAPPINGS") or DEFAULT_MAPPINGS)


def _wait_for_signal() -> None:
    stop = threading.Event()

    def handle(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    stop.wait()

"""The `sfsync` command line: parse, load settings, call a job. Nothing else lives here.

Exit codes: 0 the cycle completed (record-level failures are reported and kept
for retry), 1 an unexpected error (or, for `replay --check`, writes differ),
2 invalid configuration or mappings, 3 authentication failed, 4 the org could
not be reached or its API limit is spent, 5 a replay asked for a request the
recording does not hold, 6 the state database could not be reached.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Annotated

import structlog
import typer
from rich.text import Text

from sfsync import cli_events, cli_match, cli_rules, cli_service, cli_train, logs, memory, report
from sfsync.cli_import import register as register_import
from sfsync.cli_intake import register as register_intake
from sfsync.cli_replay import record, replay
from sfsync.cli_routing import register as register_routing
from sfsync.config import Settings, database_url, load_settings
from sfsync.connectors.salesforce import SalesforceClient
from sfsync.console import err, exits_cleanly, out
from sfsync.emulator.cli import app as emulator_app
from sfsync.jobs.sync import SyncJob
from sfsync.mappings import load_rules
from sfsync.store import Store

app = typer.Typer(
    help="Pull Salesforce Leads, decide scoring and routing locally, write the outcome back.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(emulator_app, name="emulator")
app.command("record")(record)
app.command("replay")(replay)
dead_letters_app = typer.Typer(help="Writes the org refused: list, retry or drop them.")
app.add_typer(dead_letters_app, name="dead-letters")
cli_service.register(app)
cli_events.register(app)
cli_rules.register(app)
cli_train.register(app)
cli_match.register(app)
register_routing(app)
register_import(app)
register_intake(app)
log = structlog.get_logger("sfsync.cli")


@app.callback()
def main(
    log_json: Annotated[
        bool | None, typer.Option("--log-json/--log-console", help="Log format (default: auto)")
    ] = None,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR")] = "INFO",
) -> None:
    """sfsync: lead scoring, matching and routing for Salesforce, run beside the org."""
    logs.configure(json=log_json, level=log_level)


def _open(settings: Settings) -> tuple[Store, SalesforceClient]:
    store = Store(settings.sfsync_database_url.get_secret_value())
    return store, SalesforceClient(settings)


@app.command()
@exits_cleanly
def run(
    once: Annotated[bool, typer.Option("--once", help="Run one cycle, then exit")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Decide and print the plan; write nothing")
    ] = False,
) -> None:
    """Sync leads: one cycle with --once, else a daemon on SFSYNC_INTERVAL_SECONDS."""
    settings = load_settings()
    rules = load_rules(settings.sfsync_mappings)
    if dry_run and not once:
        raise typer.BadParameter("--dry-run goes with --once")
    max_memory = 0 if once else memory.max_memory_mb()
    store, client = _open(settings)
    job = SyncJob(client, store, rules, settings)
    restart = False
    try:
        if once:
            result = job.run_once(dry_run=dry_run)
            report.print_cycle(out, result)
        else:
            from sfsync.jobs.daemon import run_daemon
            from sfsync.service import run_observed, serving

            with serving(store) as metrics:
                restart = run_daemon(
                    job,
                    settings.sfsync_interval_seconds,
                    lambda: run_observed(job, metrics),
                    cron=settings.sfsync_schedule,
                    max_memory_mb=max_memory,
                )
    finally:
        client.close()
        store.close()
    if restart:
        memory.restart()


@app.command()
@exits_cleanly
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Last runs, watermark, outbox backlog, dead letters and API usage (reads only the store)."""
    store = Store(database_url())
    try:
        report.print_status(out, store, as_json=as_json)
    finally:
        store.close()


@app.command()
@exits_cleanly
def check() -> None:
    """Validate mappings/ and check them against the org's describe (fields, picklists)."""
    from sfsync.jobs.check import check_mappings, org_facts

    settings = load_settings()
    rules = load_rules(settings.sfsync_mappings)
    client = SalesforceClient(settings)
    try:
        routing = rules.routing is not None
        facts = org_facts(client, rules, read_queues=True, read_routing=routing)  # one call
        if facts.routing is not None:
            rules = dataclasses.replace(rules, routing_org=facts.routing)
        problems = check_mappings(settings.sfsync_mappings, rules, facts)
    finally:
        client.close()
    for problem in problems:
        err.print(Text.assemble(("✗ ", "red"), str(problem)), highlight=False)
    if problems:
        raise typer.Exit(2)
    out.print(f"✓ {settings.sfsync_mappings}: rules {rules.version} fit the org", highlight=False)


@app.command()
@exits_cleanly
def explain(
    lead_id: Annotated[str, typer.Argument(help="Lead id, 15 or 18 characters")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Why this lead got its score, rating and writes (reads only the state store)."""
    from sfsync.explain import explanation, print_explanation

    store = Store(database_url())
    try:
        print_explanation(out, explanation(store, lead_id), as_json=as_json)
    finally:
        store.close()


@app.command()
@exits_cleanly
def undo(
    run_id: Annotated[str, typer.Argument(help="The run to undo (see `sfsync status`)")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the plan; write nothing")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Restore the values a run replaced, skipping (and listing) what changed since."""
    from sfsync.jobs.undo import undo_run

    settings = load_settings()
    store, client = _open(settings)
    try:
        result = undo_run(client, store, run_id, dry_run=dry_run)
    finally:
        client.close()
        store.close()
    report.print_undo(out, result, as_json=as_json, dry_run=dry_run)


@dead_letters_app.command("list")
@exits_cleanly
def dead_letters_list(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Dead letters with Salesforce's error code and message."""
    store = Store(database_url())
    try:
        report.print_dead_letters(out, store, as_json=as_json)
    finally:
        store.close()


@dead_letters_app.command("retry")
@exits_cleanly
def dead_letters_retry(
    ids: Annotated[list[int] | None, typer.Argument(help="Dead-letter ids")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Retry every dead letter")] = False,
) -> None:
    """Queue dead letters again; the next cycle sends them (after re-checking the lead)."""
    if bool(ids) == all_:
        raise typer.BadParameter("name dead-letter ids or pass --all (not both)")
    store = Store(database_url())
    try:
        count = store.retry_dead(None if all_ else ids)
    finally:
        store.close()
    out.print(f"{count} dead letter(s) queued for the next cycle", highlight=False)


@dead_letters_app.command("drop")
@exits_cleanly
def dead_letters_drop(
    ids: Annotated[list[int], typer.Argument(help="Dead-letter ids")],
) -> None:
    """Give up on dead letters; they stay in the audit trail but are never sent."""
    store = Store(database_url())
    try:
        count = store.drop_dead(ids)
    finally:
        store.close()
    out.print(f"{count} dead letter(s) dropped", highlight=False)


@app.command()
@exits_cleanly
def demo(
    leads: Annotated[int, typer.Option(min=10, max=200_000, help="Leads in the seeded org")] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of the generated org")] = 42,
    mappings: Annotated[Path, typer.Option(help="Rules directory")] = Path("mappings"),
) -> None:
    """Seed the emulator, run cycles with simulated people in between, show what changed."""
    from sfsync.demo import run_demo

    logs.configure(level="WARNING")  # the demo's own output tells the story; warnings still show
    run_demo(out, leads=leads, seed=seed, mappings=mappings)


def entrypoint() -> None:
    """Console-script entry point."""
    sys.exit(app())

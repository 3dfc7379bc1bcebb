"""`sfsync routing simulate`: how routing.yaml would split the org's recent leads; writes nothing.

The main app registers the group with `cli_routing.register(app)`.
Exit codes: 0 printed, 2 invalid mappings or settings, 3 authentication
failed, 4 the org could not be reached.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from sfsync.config import load_settings
from sfsync.connectors.salesforce import SalesforceClient
from sfsync.console import exits_cleanly, out
from sfsync.jobs.routing_simulate import Share, Simulation, recent_leads, routing_org, simulate
from sfsync.mappings import load_model, load_rules
from sfsync.routing_state import RoutingSnapshot
from sfsync.rules.routing_config import RoutingConfig
from sfsync.store import Store, unavailable
from sfsync.store.routing import RoutingStore
from sfsync.store.tables import utcnow

ROUTING_FILE = "routing.yaml"
BAR_WIDTH = 40

app = typer.Typer(help="Lead routing: try routing.yaml on the org's leads.", no_args_is_help=True)


def register(main: typer.Typer) -> None:
    """Add the `routing` group to the main app."""
    main.add_typer(app, name="routing")


@app.command("simulate")
@exits_cleanly
def simulate_command(
    leads: Annotated[int, typer.Option("--leads", min=1, max=50_000, help="Recent leads")] = 500,
    mappings: Annotated[
        Path | None, typer.Option(help="Rules directory (default: SFSYNC_MAPPINGS)")
    ] = None,
    at_now: Annotated[
        bool, typer.Option("--now", help="Route every lead as of now, not as of its CreatedDate")
    ] = False,
    from_store: Annotated[
        bool,
        typer.Option("--from-store", help="Start from the stored round-robin state and loads"),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Print who would get the org's N most recent open leads (a table and a bar chart)."""
    settings = load_settings()
    directory = mappings or settings.sfsync_mappings
    rules = load_rules(directory)
    config = load_model(directory / ROUTING_FILE, RoutingConfig)
    state = _stored_state(settings.sfsync_database_url.get_secret_value(), config) if (
        from_store
    ) else RoutingSnapshot()  # fmt: skip
    client = SalesforceClient(settings)
    try:
        org = routing_org(client)
        records = recent_leads(client, config, rules, leads)
    finally:
        client.close()
    result = simulate(records, org, config, rules, now=utcnow() if at_now else None, state=state)
    if as_json:
        out.print_json(json.dumps(_as_dict(result)))
    else:
        print_simulation(out, result)


def _stored_state(url: str, config: RoutingConfig) -> RoutingSnapshot:
    """The stored state, read without locks or migrations (the simulation writes nothing)."""
    store = Store(url, upgrade=False)
    try:
        return RoutingStore(store.engine).snapshot(config.team_names())
    except sa.exc.DBAPIError as exc:  # no routing tables yet, or no database
        raise unavailable(exc) from None
    finally:
        store.close()


def print_simulation(console: Console, result: Simulation) -> None:
    """The split as a table, then as bars."""
    console.print(
        f"Routing {result.leads} recent lead(s) as if they arrived now in intake "
        "(nothing is written):",
        highlight=False,
    )
    console.print(_table(result))
    console.print(_bars(result.shares))
    rules = ", ".join(f"{name} {count}" for name, count in sorted(result.by_rule.items()))
    console.print(f"By rule: {rules or 'none'}", highlight=False)
    if result.kept:
        console.print(f"Owner kept (keep_owner): {result.kept}", highlight=False)
    for problem in result.problems:
        console.print(Text.assemble(("✗ ", "red"), problem), highlight=False)


def _table(result: Simulation) -> Table:
    table = Table(title="Expected distribution per owner")
    for name, justify in (("Owner", "left"), ("Kind", "left"), ("Teams", "left"),
                          ("Leads", "right"), ("Share", "right"), ("If all available", "right"),
                          ("Skipped (reason: times)", "left")):  # fmt: skip
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for share in result.shares:
        table.add_row(
            Text(share.label),
            share.kind,
            Text(", ".join(share.teams)),
            str(share.leads),
            f"{share.leads / result.leads:.1%}" if result.leads else "-",
            f"{share.target:.1f}" if share.target is not None else "-",
            ", ".join(f"{k}: {v}" for k, v in sorted(share.skipped.items())),
        )
    return table


def _bars(shares: tuple[Share, ...]) -> Text:
    width = max((len(s.label) for s in shares), default=0)
    most = max((s.leads for s in shares), default=0) or 1
    text = Text()
    for share in shares:
        bar = "█" * round(BAR_WIDTH * share.leads / most)
        text.append(f"{share.label:<{width}} │", style="bold")
        text.append(bar, style="cyan")
        text.append(f" {share.leads}\n")
    return text


def _as_dict(result: Simulation) -> dict[str, object]:
    return {
        "leads": result.leads,
        "kept": result.kept,
        "unassigned": result.unassigned,
        "by_rule": dict(result.by_rule),
        "problems": list(result.problems),
        "owners": [
            {
                "owner_id": s.owner_id,
                "label": s.label,
                "kind": s.kind,
                "teams": list(s.teams),
                "leads": s.leads,
                "target": s.target,
                "skipped": dict(s.skipped),
            }
            for s in result.shares
        ],
    }

"""`sfsync train`: fit the predictive model on the org's history, save it, show what it learnt.

The model file goes to `models/lead_model.json` in the mappings folder unless
`--out` says otherwise; grading.yaml's `predictive:` section points at it.
`register(app)` adds the command to the main app.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sfsync.config import load_settings
from sfsync.connectors.salesforce import SalesforceClient
from sfsync.console import exits_cleanly, out
from sfsync.jobs.train import DEFAULT_MIN_AGE_DAYS, TrainResult, train_model
from sfsync.model_file import check_writable, save_model
from sfsync.rules.predict import Factor, global_factors

DEFAULT_MODEL = Path("models") / "lead_model.json"
FACTORS_SHOWN = 8
# Below this held-out AUC the model ranks leads little better than a coin.
WEAK_AUC = 0.6


def train_command(
    out_path: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Model file to write (default: models/lead_model.json in the mappings folder)",
        ),
    ] = None,
    min_age_days: Annotated[
        int,
        typer.Option(
            "--min-age-days",
            min=1,
            max=3650,
            help="Learn from leads created at least this many days ago",
        ),
    ] = DEFAULT_MIN_AGE_DAYS,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Fit the predictive score on the org's converted and unconverted leads; report its AUC."""
    settings = load_settings()
    path = out_path or _default_path(settings.sfsync_mappings)
    check_writable(path)  # before any API call: a typo in --out should cost nothing
    client = SalesforceClient(settings)
    try:
        result = train_model(client, min_age_days=min_age_days, now=datetime.now(UTC))
    finally:
        client.close()
    save_model(result.model, path)
    if as_json:
        out.print_json(json.dumps(summary(result, path)))
    else:
        print_training(out, result, path)


def _default_path(mappings: Path) -> Path:
    """models/lead_model.json under the mappings folder, making `models/` if needed."""
    path = mappings / DEFAULT_MODEL
    if mappings.is_dir():
        path.parent.mkdir(exist_ok=True)
    return path


def summary(result: TrainResult, path: Path) -> dict[str, Any]:
    """What training found, as plain data (the --json output)."""
    facts = result.model.training
    factors = global_factors(result.model)
    return {
        "model": str(path),
        "auc": facts.auc,
        "leads": facts.leads,
        "converted": facts.converted,
        "base_rate": round(result.base_rate, 4),
        "held_out": facts.held_out,
        "held_out_converted": facts.held_out_converted,
        "deleted_skipped": facts.deleted_skipped,
        "min_age_days": facts.min_age_days,
        "top_factors": {
            "positive": [_factor(f, result) for f in factors[:FACTORS_SHOWN] if f.weight > 0],
            "negative": [_factor(f, result) for f in factors[::-1][:FACTORS_SHOWN] if f.weight < 0],
        },
    }


def _factor(factor: Factor, result: TrainResult) -> dict[str, Any]:
    leads = result.leads_per_level.get((factor.feature, factor.level), 0)
    return {"feature": factor.feature, "level": factor.level, "weight": factor.weight,
            "leads": leads}  # fmt: skip


def print_training(console: Console, result: TrainResult, path: Path) -> None:
    """The figures and the strongest factors, for people."""
    data = summary(result, path)
    console.print(
        f"[green]✓[/] trained on {data['leads']:,} leads created more than "
        f"{data['min_age_days']} days ago ({data['converted']:,} converted, "
        f"base rate {data['base_rate']:.1%}); {data['deleted_skipped']:,} deleted leads left out"
    )
    console.print(
        f"  held-out AUC [bold]{data['auc']:.3f}[/] on {data['held_out']:,} leads "
        f"({data['held_out_converted']:,} converted)"
    )
    if data["auc"] < WEAK_AUC:
        console.print(
            f"  [yellow]the model ranks leads little better than chance (AUC < {WEAK_AUC}); "
            "give it a small `points` value or more history[/]"
        )
    console.print(_factor_table(data["top_factors"]))
    console.print(f"  saved {escape(str(path))}", highlight=False)


def _factor_table(factors: dict[str, list[dict[str, Any]]]) -> Table:
    table = Table(title="Strongest factors (log-odds against the average lead)")
    for column, justify in (("Feature", "left"), ("Level", "left"), ("Weight", "right"),
                            ("Training leads", "right")):  # fmt: skip
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for row in (*factors["positive"], *factors["negative"]):
        style = "green" if row["weight"] > 0 else "red"
        table.add_row(
            escape(row["feature"]), escape(row["level"]), f"[{style}]{row['weight']:+.2f}[/]",
            f"{row['leads']:,}",
        )  # fmt: skip
    return table


def register(app: typer.Typer) -> None:
    """Add `train` to a Typer app (the main `sfsync` app)."""
    app.command("train")(exits_cleanly(train_command))

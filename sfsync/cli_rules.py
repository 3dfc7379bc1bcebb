"""`sfsync test-rules`: the admins' rule tests, as a pass/fail table (or JSON).

Exit codes: 0 every case passes, 1 a case fails, 2 the mappings or a test
file are malformed (file:line: key: reason). Needs no org and no store.
`register(app)` adds the command to the main app.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from sfsync.config import DEFAULT_MAPPINGS
from sfsync.console import exits_cleanly, out
from sfsync.jobs.rule_tests import CaseResult, RuleTestReport, run_rule_tests


def register(app: typer.Typer) -> None:
    """Add `test-rules` to the main command line."""
    app.command("test-rules")(rule_tests_command)


@exits_cleanly
def rule_tests_command(
    mappings: Annotated[
        Path,
        typer.Option(envvar="SFSYNC_MAPPINGS", help="Rules directory; tests are in its tests/"),
    ] = DEFAULT_MAPPINGS,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Run the example leads of mappings/tests/*.yaml through the rules; offline."""
    report = run_rule_tests(mappings)
    if as_json:
        out.print_json(json.dumps(report.as_dict()))
    else:
        print_report(out, report)
    raise typer.Exit(report.exit_code)


def print_report(console: Console, report: RuleTestReport) -> None:
    """The pass/fail table, the reasons behind each failure, and the totals."""
    console.print(_table(report))
    for case in report.cases:
        if not case.passed:
            _print_failure(console, case)
    passed = len(report.cases) - report.failed
    style = "red" if report.failed else "green"
    totals = f"{passed} passed, {report.failed} failed (rules {report.rules_version})"
    console.print(Text(totals, style=style), highlight=False)


def _table(report: RuleTestReport) -> Table:
    table = Table(title="Rule tests", title_justify="left")
    for column in ("", "Case", "Check", "Expected", "Got"):
        table.add_column(column, overflow="fold")
    for case in report.cases:
        where = f"{case.file.name}:{case.line}"
        for index, check in enumerate(case.checks):
            mark = Text("✓", "green") if check.passed else Text("✗", "bold red")
            name = Text(f"{case.name}\n{where}", "default" if case.passed else "red")
            table.add_row(
                mark,
                name if index == 0 else Text(""),
                check.key,
                Text(check.expected),
                Text(check.got, "" if check.passed else "red"),
                end_section=index == len(case.checks) - 1,
            )
    return table


def _print_failure(console: Console, case: CaseResult) -> None:
    # Text, not markup: rule names and details come from the mappings ("[", "]" included).
    console.print(
        Text.assemble(("✗ ", "bold red"), f"{case.file}:{case.line}: {case.name}"),
        highlight=False,
    )
    for reason in case.reasons or ("(the decision gave no reasons)",):
        console.print(Text(f"    {reason}"), highlight=False)

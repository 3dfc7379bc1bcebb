"""Replay test fixtures: the recorded files, a CLI with record and replay, rules copies."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import typer
import yaml

from sfsync import logs
from sfsync.cli_replay import record, replay
from tests.fixtures.make_fixtures import FIXTURE_MAPPINGS, FIXTURES

CYCLE = FIXTURES / "cycle.yaml"
CYCLE_FAULTS = FIXTURES / "cycle_faults.yaml"
CYCLE_DRY_RUN = FIXTURES / "cycle_dry_run.yaml"
ALL_FIXTURES = (CYCLE, CYCLE_FAULTS, CYCLE_DRY_RUN)

# The two commands as the main app registers them; logs go to stderr as under `sfsync`.
app = typer.Typer()
app.callback()(lambda: logs.configure(json=True, level="WARNING"))
app.command("record")(record)
app.command("replay")(replay)


def flat(text: str) -> str:
    """Output with Rich's line wrapping undone."""
    return " ".join(text.split())


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    """A copy of the fixtures' rules a test may edit."""
    target = tmp_path / "mappings"
    shutil.copytree(FIXTURE_MAPPINGS, target)
    return target


def set_hot_threshold(mappings: Path, min_score: int) -> None:
    """Edit the copy's scoring.yaml: the Hot band starts at `min_score`."""
    path = mappings / "scoring.yaml"
    data = yaml.safe_load(path.read_text())
    for band in data["ratings"]:
        if band["rating"] == "Hot":
            band["min_score"] = min_score
    path.write_text(yaml.safe_dump(data, sort_keys=False))

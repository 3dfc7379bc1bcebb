"""A pytest plugin for rule tests: replay recorded cycles against your mappings.

Load it with `pytest_plugins = ["sfsync.testing"]` in your root conftest.py,
then::

    def test_rules_write_what_they_wrote(sfsync_replay):
        sfsync_replay.assert_unchanged("fixtures/week-12.yaml")

    def test_lower_hot_threshold(sfsync_replay):
        result = sfsync_replay("fixtures/week-12.yaml", mappings="mappings-next")
        assert {d.field for d in result.diff} == {"Rating"}

Relative paths are read from pytest's root directory; the rules directory
defaults to the `sfsync_mappings` ini option, else `mappings`. Replays run
offline and leave nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from sfsync.jobs.replay import FieldDiff, ReplayResult, replay_cycle

DEFAULT_MAPPINGS = "mappings"
DIFF_LINES_SHOWN = 30


def pytest_addoption(parser: pytest.Parser) -> None:
    """The `sfsync_mappings` ini option: the rules directory replays use by default."""
    parser.addini("sfsync_mappings", "rules directory for sfsync replays", default=DEFAULT_MAPPINGS)


@dataclass(frozen=True)
class Replayer:
    """Replays recordings against a rules directory (what `sfsync replay` does)."""

    root: Path
    mappings: Path

    def __call__(self, recording: str | Path, mappings: str | Path | None = None) -> ReplayResult:
        """Replay `recording` with `mappings` (default: the configured rules)."""
        rules = self._path(mappings) if mappings is not None else self.mappings
        return replay_cycle(self._path(recording), rules)

    def assert_unchanged(
        self, recording: str | Path, mappings: str | Path | None = None
    ) -> ReplayResult:
        """Replay, and fail with a readable diff unless the writes are those recorded."""
        result = self(recording, mappings)
        if not result.same:
            pytest.fail(describe(result), pytrace=False)
        return result

    def _path(self, value: str | Path) -> Path:
        path = Path(value)
        return path if path.is_absolute() else self.root / path


def describe(result: ReplayResult) -> str:
    """A replay's differences as text, one field a line (for assertion messages)."""
    lines = [f"replay of {result.recording} differs from the recording:"]
    if result.recorded_status is not None and result.status != result.recorded_status:
        lines.append(f"  cycle ended {result.status!r}, recorded {result.recorded_status!r}")
    lines += [f"  {_line(d)}" for d in result.diff[:DIFF_LINES_SHOWN]]
    if len(result.diff) > DIFF_LINES_SHOWN:
        lines.append(f"  ... and {len(result.diff) - DIFF_LINES_SHOWN} more")
    return "\n".join(lines)


def _line(d: FieldDiff) -> str:
    old = repr(d.old) if d.old_written else "(not written)"
    new = repr(d.new) if d.new_written else "(not written)"
    return f"{d.lead_id} {d.field}: {old} → {new}"


@pytest.fixture
def sfsync_replay(pytestconfig: pytest.Config) -> Replayer:
    """Replay sfsync recordings against your rules: `sfsync_replay(path, mappings=None)`."""
    root = Path(pytestconfig.rootpath)
    mappings = Path(str(pytestconfig.getini("sfsync_mappings")))
    return Replayer(root, mappings if mappings.is_absolute() else root / mappings)

"""The pytest plugin users load with `pytest_plugins = ["sfsync.testing"]`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.fixtures.make_fixtures import FIXTURE_MAPPINGS as MAPPINGS
from tests.replay.conftest import CYCLE, set_hot_threshold

if TYPE_CHECKING:
    from sfsync.testing import Replayer

pytest_plugins = ["pytester", "sfsync.testing"]


def test_the_fixture_replays_against_the_configured_rules(sfsync_replay: Replayer) -> None:
    result = sfsync_replay.assert_unchanged(CYCLE, mappings=MAPPINGS)

    assert result.same and result.writes


def test_a_users_suite_sees_a_readable_diff(pytester: pytest.Pytester, rules_copy: Path) -> None:
    set_hot_threshold(rules_copy, 40)
    pytester.makeconftest('pytest_plugins = ["sfsync.testing"]')
    pytester.makeini(f"[pytest]\nsfsync_mappings = {MAPPINGS}\n")
    pytester.makepyfile(
        test_rules=f"""
        def test_shipped_rules(sfsync_replay):
            sfsync_replay.assert_unchanged({str(CYCLE)!r})

        def test_next_rules(sfsync_replay):
            sfsync_replay.assert_unchanged({str(CYCLE)!r}, mappings={str(rules_copy)!r})
        """
    )

    outcome = pytester.runpytest_inprocess("-p", "no:cacheprovider")

    outcome.assert_outcomes(passed=1, failed=1)
    outcome.stdout.fnmatch_lines(["*differs from the recording:*", "*Rating: 'Warm' → 'Hot'*"])

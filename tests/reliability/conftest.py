"""One launcher for the reliability tests: it forks `sfsync` processes (see launcher.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability.launcher import Launcher


@pytest.fixture(scope="session")
def launcher() -> Iterator[Launcher]:
    started = Launcher()
    yield started
    started.close()

"""The real worker against the emulator over HTTPS: fixtures and helpers.

Nothing of sfsync's own code is mocked here: the job, connector, store and
rules run as in production; only the org is the emulator.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sfsync.config import Settings, load_settings
from sfsync.connectors.salesforce import SalesforceClient
from sfsync.emulator.seed import SeededOrg, build_org
from sfsync.emulator.server import Emulator
from sfsync.jobs.sync import SyncJob
from sfsync.mappings import load_rules
from sfsync.store import Store

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"


@pytest.fixture
def seeded(request: pytest.FixtureRequest) -> SeededOrg:
    """A seeded org: 300 leads unless a test parametrizes it indirectly with a size."""
    leads: int = getattr(request, "param", 300)
    return build_org(leads=leads, seed=11)


@pytest.fixture
def emulator(seeded: SeededOrg, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """The seeded org served over HTTPS; requests trusts its CA for the test."""
    with Emulator(seeded.org) as emu:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(emu.ca_file))
        yield emu


def worker_settings(emu: Emulator, store_url: str, **overrides: Any) -> Settings:
    """Settings a deployed worker would have, pointing at the emulator."""
    values: dict[str, Any] = {
        "sf_login_url": emu.login_url,
        "sf_instance_url": emu.instance_url,
        "sf_client_id": emu.credentials.client_id,
        "sf_client_secret": emu.credentials.client_secret,
        "sfsync_database_url": store_url,
        "sfsync_mappings": MAPPINGS,
        "sfsync_retry_wait_scale": 0.0,
    }
    values.update(overrides)
    return load_settings(**values)


class Worker:
    """The real job wired as the CLI wires it, closed at the end of the test."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        rules = load_rules(settings.sfsync_mappings)  # first: a bad file leaves nothing open
        self.store = Store(settings.sfsync_database_url.get_secret_value())
        self.client = SalesforceClient(settings)
        try:
            self.job = SyncJob(self.client, self.store, rules, settings)
        except Exception:  # e.g. a webhook variable unset: nothing may stay open
            self.close()
            raise

    def close(self) -> None:
        self.client.close()
        self.store.close()


@pytest.fixture
def make_worker(emulator: Emulator, store_url: str) -> Iterator[Callable[..., Worker]]:
    """Build workers against the emulator and the store under test."""
    workers: list[Worker] = []

    def build(**overrides: Any) -> Worker:
        worker = Worker(worker_settings(emulator, store_url, **overrides))
        workers.append(worker)
        return worker

    yield build
    for worker in workers:
        worker.close()


@pytest.fixture
def env(emulator: Emulator, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A clean environment with only the store, mappings and TLS trust set."""
    for name in list(os.environ):
        if name.startswith(("SF_", "SFSYNC_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SFSYNC_DATABASE_URL", store_url)
    monkeypatch.setenv("SFSYNC_MAPPINGS", str(MAPPINGS))
    monkeypatch.setenv("SFSYNC_RETRY_WAIT_SCALE", "0")
    monkeypatch.setenv("SF_LOGIN_URL", emulator.login_url)
    yield store_url

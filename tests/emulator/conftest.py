"""Fixtures for the HTTPS emulator tests: a small org, a running emulator, an API client.

Every fixture that talks to the emulator points REQUESTS_CA_BUNDLE at the
emulator's CA: the machine sets it to the system bundle, and requests lets it
override `session.verify`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from sfsync.emulator.connected_app import new_private_key
from sfsync.emulator.org import Org
from sfsync.emulator.server import Emulator
from tests.emulator.server_kit import Api, OrgIds, StartEmulator, build_test_org


@pytest.fixture(scope="session")
def app_key() -> rsa.RSAPrivateKey:
    """One connected-app key for the whole run: RSA generation is the slow part of a start."""
    return new_private_key()


@pytest.fixture
def org_and_ids() -> tuple[Org, OrgIds]:
    return build_test_org()


@pytest.fixture
def ids(org_and_ids: tuple[Org, OrgIds]) -> OrgIds:
    return org_and_ids[1]


@pytest.fixture
def org(org_and_ids: tuple[Org, OrgIds]) -> Org:
    return org_and_ids[0]


@pytest.fixture
def emulator(
    org: Org, app_key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Emulator]:
    """A running emulator over the test org; requests trusts its CA."""
    with Emulator(org, app_key=app_key) as emu:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(emu.ca_file))
        yield emu


@pytest.fixture
def api(emulator: Emulator) -> Iterator[Api]:
    with requests.Session() as session:
        yield Api(emulator, session)


@pytest.fixture
def start_emulator(
    org: Org, app_key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> Iterator[StartEmulator]:
    """Start an emulator over the test org with custom options; returns a client for it."""
    with ExitStack() as stack:

        def start(**options: Any) -> Api:
            emu = stack.enter_context(Emulator(org, app_key=app_key, **options))
            monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(emu.ca_file))
            return Api(emu, stack.enter_context(requests.Session()))

        yield start

"""Starting and stopping the emulator: threads, sockets, files, and concurrent clients."""

from __future__ import annotations

import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from sfsync.emulator.org import Org
from sfsync.emulator.server import Emulator, EmulatorNotRunning, integration_user_id
from tests.emulator.server_kit import Api, OrgIds, StartEmulator


def connection_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "sfsync-emulator-connection"]


def test_stop_closes_open_keep_alive_connections(start_emulator: StartEmulator) -> None:
    api = start_emulator()
    assert api.get("limits").status_code == 200
    assert connection_threads()
    ca_file, port = api.emu.ca_file, api.emu.port
    api.emu.stop()
    assert connection_threads() == []
    assert not ca_file.exists()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    api.emu.stop()


def test_properties_need_a_running_emulator(org: Org, app_key: rsa.RSAPrivateKey) -> None:
    emu = Emulator(org, app_key=app_key)
    with pytest.raises(EmulatorNotRunning):
        _ = emu.instance_url
    with emu:
        assert emu.instance_url == f"https://127.0.0.1:{emu.port}"
        assert emu.login_url == emu.instance_url
        assert emu.credentials.private_key_file.read_bytes().startswith(b"-----BEGIN PRIVATE KEY")
    with pytest.raises(EmulatorNotRunning):
        _ = emu.credentials


def test_the_connected_app_runs_as_the_integration_user(emulator: Emulator, ids: OrgIds) -> None:
    assert integration_user_id(emulator.org) == ids.integration
    assert emulator.credentials.username == "integration@sfsync.example"
    session = emulator.sessions.lookup(emulator.credentials.access_token)
    assert session is not None and session.user_id == ids.integration


def test_an_org_without_active_users_is_refused() -> None:
    with pytest.raises(ValueError, match="no active user"):
        Emulator(Org())


def test_concurrent_clients_are_all_served_and_counted(api: Api) -> None:
    def burst(_: int) -> list[int]:
        with requests.Session() as session:
            client = Api(api.emu, session)
            return [client.query("SELECT Id FROM Lead LIMIT 5").status_code for _ in range(10)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = [s for batch in pool.map(burst, range(8)) for s in batch]
    assert statuses == [200] * 80
    assert api.emu.usage.used == 80
    assert api.emu.calls.count(path_contains="/query") == 80

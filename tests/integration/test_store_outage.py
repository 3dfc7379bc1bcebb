"""The state database goes away mid-run (connections refused), then comes back."""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from sfsync.emulator.activity import Activity
from sfsync.emulator.seed import SeededOrg
from sfsync.emulator.server import Emulator
from tests.integration.helpers import assert_scored
from tests.integration.test_crash import _worker_env
from tests.integration.test_daemon import WAIT_S, _all_scored, _daemon, _events, _wait_for


class Forwarder:
    """A TCP forwarder to PostgreSQL that can be cut (refusing and dropping) and restored."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            if self._listener is not None:
                self._listener.close()
                self._listener = None
            for sock in self._sockets:
                # shutdown, not just close: it wakes the pipe threads and sends the FIN
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def forwarded_url(postgres_url: str) -> Iterator[tuple[str, Forwarder]]:
    parts = urlsplit(postgres_url)
    forwarder = Forwarder((parts.hostname or "127.0.0.1", parts.port or 5432))
    forwarder.start()
    netloc = f"{parts.username}@127.0.0.1:{forwarder.port}" if parts.username else None
    yield urlunsplit(parts._replace(netloc=netloc or f"127.0.0.1:{forwarder.port}")), forwarder
    forwarder.cut()


def test_the_worker_waits_for_the_database_and_loses_nothing(
    seeded: SeededOrg, forwarded_url: tuple[str, Forwarder], tmp_path: Path
) -> None:
    url, forwarder = forwarded_url
    log = tmp_path / "d.log"
    with Emulator(seeded.org) as emu:
        daemon = _daemon(_worker_env(emu, url), log, interval=1)
        try:
            _wait_for(lambda: _all_scored(seeded), "the first pass")
            forwarder.cut()
            Activity(seeded, seed=5).step(new_leads=6, edits=4)
            _wait_for(lambda: "sfsync.daemon.store_unavailable" in _events(log), "an outage")
            assert not _all_scored(seeded)
            forwarder.start()
            _wait_for(lambda: _all_scored(seeded), "the pass after the outage")
        finally:
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=WAIT_S) == 0
    assert_scored(seeded.org)
    assert "password" not in log.read_text().lower()

"""The status page renders in headless Chromium (Debian's `chromium`); keeps docs/status-page.png.

Skipped when /usr/bin/chromium is absent, unless SFSYNC_REQUIRE_CHROMIUM=1.
Chromium only ever talks to the test's own server on 127.0.0.1.
"""

from __future__ import annotations

import os
import struct
import subprocess
import zlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from sfsync.service import Metrics, StatusApp, StatusServer
from sfsync.store import Store
from tests.service.conftest import populate

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "status-page.png"
WIDTH, HEIGHT = 1280, 2600
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("SFSYNC_REQUIRE_CHROMIUM") == "1":
            pytest.fail(f"SFSYNC_REQUIRE_CHROMIUM=1 but {CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    store = Store(f"sqlite:///{tmp_path}/s.db")
    populate(store, message="Rating: bad value for restricted picklist field: Lukewarm")
    try:
        with StatusServer(StatusApp(store, Metrics(store), timedelta(minutes=15)), port=0) as srv:
            yield srv.url + "/"
    finally:
        store.close()


def browse(chromium: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    command = [str(chromium), *FLAGS, f"--user-data-dir={profile}", *args]
    env = {**os.environ, "HOME": str(tmp_path)}
    return subprocess.run(command, capture_output=True, text=True, timeout=90, env=env, check=False)


def test_status_page_renders_in_chromium(chromium: Path, url: str, tmp_path: Path):
    dom = browse(chromium, tmp_path, "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count("<svg") >= 5 and "Lead analytics" in dom.stdout
    assert "<script" not in dom.stdout
    shot = tmp_path / "shot.png"
    result = browse(
        chromium, tmp_path, f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={shot}", url
    )
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    assert png_size(shot) == (WIDTH, HEIGHT)
    assert distinct_bytes(shot) > 10  # not a blank page
    if os.environ.get("SFSYNC_UPDATE_SCREENSHOT") == "1":  # refresh docs/ on purpose only
        SCREENSHOT.parent.mkdir(exist_ok=True)
        SCREENSHOT.write_bytes(shot.read_bytes())


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def distinct_bytes(path: Path) -> int:
    """Distinct byte values in the decompressed pixels: 1 or 2 for a blank image."""
    data, pos, idat = path.read_bytes(), 8, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        if data[pos + 4 : pos + 8] == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    return len(set(zlib.decompress(idat)))

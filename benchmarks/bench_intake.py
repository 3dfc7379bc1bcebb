"""How many form posts the intake endpoint accepts per second, each committed before its 202.

Run: .venv/bin/python -m benchmarks.bench_intake [POSTS] [CLIENTS] [POSTGRES_ADMIN_URL]
(prints figures, asserts nothing).

The real endpoint (`IntakeServer` over `IntakeApp`, shipped intake.yaml's
contact form, rate limits off so that the flood is measured rather than
refused) on 127.0.0.1, queueing into SQLite (WAL, synchronous=FULL: every
202 is fsynced) and, given a URL, PostgreSQL. CLIENTS threads each keep one
HTTP/1.1 connection and post form-encoded contacts as fast as answers come.
The clients run in the same process, so the figure is a floor: they take
CPU from the server. Reported: accepted posts per second, and the latency
of one post (median, 99th percentile).
"""

from __future__ import annotations

import http.client
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa

from sfsync import logs
from sfsync.intake.app import IntakeApp
from sfsync.intake.config import RateLimits, load_intake
from sfsync.intake.server import IntakeServer
from sfsync.rules.enrich_data import load_enrichment_data, shipped_texts
from sfsync.store import Store
from sfsync.store.intake import IntakeQueue

MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"
POSTS = 4000
CLIENTS = 8


def _client(address: tuple[str, int], start: int, count: int, latencies: list[float]) -> None:
    conn = http.client.HTTPConnection(*address, timeout=30)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    for n in range(start, start + count):
        body = urlencode({
            "first_name": "Ada", "last_name": f"Bench{n}", "company": f"Bench Works {n % 97}",
            "email": f"ada.bench{n}@bench{n % 97}.example.com", "message": "<b>hi</b> " * 20,
        })  # fmt: skip
        began = time.perf_counter()
        conn.request("POST", "/intake/contact", body, headers)
        response = conn.getresponse()
        response.read()
        latencies.append(time.perf_counter() - began)
        if response.status != 202:
            raise RuntimeError(f"post {n}: {response.status}")
    conn.close()


def measure(url: str, posts: int, clients: int) -> dict[str, float]:
    """Posts per second and latency against a fresh store at `url`."""
    store = Store(url)
    config = load_intake(MAPPINGS).model_copy(
        update={"rate_limits": RateLimits(per_ip=None, per_email=None)}
    )
    queue = IntakeQueue(store.session)
    app = IntakeApp(config, queue, load_enrichment_data(shipped_texts()).email)
    latencies: list[float] = []
    try:
        with IntakeServer(app, "127.0.0.1", 0) as server:
            host, port = server.url.removeprefix("http://").rsplit(":", 1)
            share = posts // clients
            threads = [
                threading.Thread(target=_client, args=((host, int(port)), i * share, share,
                                                       latencies))
                for i in range(clients)
            ]  # fmt: skip
            began = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - began
        queued = queue.counts().get("queued", 0)
    finally:
        store.close()
    ordered = sorted(latencies)
    return {
        "posts": len(latencies),
        "queued": queued,
        "per_second": len(latencies) / elapsed,
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[int(len(ordered) * 0.99) - 1] * 1000,
    }


def main() -> None:
    logs.configure(level="WARNING")  # as `sfsync intake serve` logs by default: not per request
    posts = int(sys.argv[1]) if len(sys.argv) > 1 else POSTS
    clients = int(sys.argv[2]) if len(sys.argv) > 2 else CLIENTS
    folder = Path(tempfile.mkdtemp(prefix="bench-intake-"))
    try:
        report("sqlite", f"sqlite:///{folder}/intake.db", posts, clients)
        if len(sys.argv) > 3:
            with postgres_schema(sys.argv[3]) as url:
                report("postgresql", url, posts, clients)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def report(name: str, url: str, posts: int, clients: int) -> None:
    figures = measure(url, posts, clients)
    print(
        f"{name}: {figures['posts']:.0f} posts, {clients} clients: "
        f"{figures['per_second']:.0f} accepted/s, p50 {figures['p50_ms']:.1f} ms, "
        f"p99 {figures['p99_ms']:.1f} ms ({figures['queued']:.0f} queued)"
    )


@contextmanager
def postgres_schema(admin_url: str) -> Iterator[str]:
    """A throw-away schema on the server (as the tests' `postgres_url` fixture makes one)."""
    schema = f"bench_intake_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(admin_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{admin_url}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


if __name__ == "__main__":
    main()

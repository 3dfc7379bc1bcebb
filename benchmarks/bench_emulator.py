"""Serve query pages of a 100,000-lead org over HTTPS and time them, as a client sees them.

Run: .venv/bin/python -m benchmarks.bench_emulator [LEADS]. Prints the time to the
first page (the query runs over every lead and sorts), then p50/p95/max of the
following 2,000-record pages (`nextRecordsUrl`), over one keep-alive connection.
Target (issue 2): a 2,000-record page in under 200 ms. Nothing is asserted.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import requests

from sfsync.emulator.seed import build_org
from sfsync.emulator.server import Emulator

SOQL = (
    "SELECT Id, SystemModstamp, IsDeleted, FirstName, LastName, Company, Title, Email, "
    "Country, LeadSource, Industry, NumberOfEmployees, Status, OwnerId "
    "FROM Lead WHERE SystemModstamp >= 2000-01-01T00:00:00Z ORDER BY SystemModstamp, Id"
)


def measure(leads: int) -> tuple[float, list[float]]:
    """Seconds for the first page and for each following page."""
    seeded = build_org(leads=leads, seed=1)
    with Emulator(seeded.org) as emu, requests.Session() as http:
        os.environ["REQUESTS_CA_BUNDLE"] = str(emu.ca_file)
        http.headers.update(
            {
                "Authorization": f"Bearer {emu.credentials.access_token}",
                "Sforce-Query-Options": "batchSize=2000",
            }
        )
        began = time.perf_counter()
        page = http.get(f"{emu.instance_url}/services/data/v62.0/queryAll", params={"q": SOQL})
        first = time.perf_counter() - began
        times: list[float] = []
        body = page.json()
        while not body["done"]:
            began = time.perf_counter()
            body = http.get(emu.instance_url + body["nextRecordsUrl"]).json()
            times.append(time.perf_counter() - began)
    return first, times


def figures(leads: int = 100_000) -> dict[str, float]:
    """First page and following pages, in milliseconds (for `benchmarks.run`)."""
    first, pages = measure(leads)
    ordered = sorted(pages)
    return {
        "leads": leads,
        "first_ms": first * 1000,
        "pages": len(pages),
        "p50_ms": statistics.median(pages) * 1000 if pages else 0.0,
        "p95_ms": ordered[int(0.95 * (len(ordered) - 1))] * 1000 if pages else 0.0,
        "max_ms": max(pages) * 1000 if pages else 0.0,
    }


def main(leads: int = 100_000) -> None:
    """Print the figures for one org size."""
    first, pages = measure(leads)
    ordered = sorted(pages)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    print(f"leads {leads:,}: first page {first * 1000:.0f} ms (query over all leads + sort)")
    print(
        f"next {len(pages)} pages of 2,000: p50 {statistics.median(pages) * 1000:.0f} ms, "
        f"p95 {p95 * 1000:.0f} ms, max {max(pages) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)

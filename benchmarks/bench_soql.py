"""Time the emulator's SOQL engine on the worker's incremental pull over 100,000 leads.

Run: .venv/bin/python -m benchmarks.bench_soql (prints figures, asserts nothing).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sfsync.emulator import soql
from sfsync.emulator.org import Org

ROWS = 100_000
PAGE = 2_000
START = datetime(2024, 1, 1, tzinfo=UTC)
QUERY = (
    "SELECT Id, Email, SystemModstamp FROM Lead "
    "WHERE SystemModstamp >= {since} ORDER BY SystemModstamp, Id"
)


def build_org() -> Org:
    """An org with ROWS leads whose stamps are spread over ROWS minutes, out of order."""
    org = Org()
    rows = [
        {
            "LastName": f"Lead {n}",
            "Company": "Acme",
            "Email": f"lead{n}@example.com",
            # A stride coprime with ROWS scatters stamps so the sort has real work.
            "SystemModstamp": START + timedelta(minutes=(n * 7919) % ROWS),
        }
        for n in range(ROWS)
    ]
    org.load("Lead", rows, stamp=START)
    return org


def figures() -> dict[str, float]:
    """Milliseconds to load, parse, execute and render a page (for `benchmarks.run`)."""
    began = time.perf_counter()
    org = build_org()
    loaded = time.perf_counter()
    since = (START + timedelta(minutes=ROWS // 2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    soql.parse(QUERY.format(since=since), org.schema)
    warmed = time.perf_counter()
    query = soql.parse(QUERY.format(since=since), org.schema)
    parsed = time.perf_counter()
    result = soql.execute(query, org.tables, include_deleted=True, api_version="62.0")
    executed = time.perf_counter()
    result.page(0, PAGE)
    rendered = time.perf_counter()
    return {
        "rows": ROWS,
        "matching": result.total_size,
        "load_ms": 1000 * (loaded - began),
        "parse_ms": 1000 * (parsed - warmed),
        "execute_ms": 1000 * (executed - parsed),
        "render_ms": 1000 * (rendered - executed),
    }


def main() -> None:
    """Print load, parse, execute and page-render times."""
    began = time.perf_counter()
    org = build_org()
    loaded = time.perf_counter()
    since = (START + timedelta(minutes=ROWS // 2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    soql.parse(QUERY.format(since=since), org.schema)  # builds the grammar's tables once
    warmed = time.perf_counter()
    query = soql.parse(QUERY.format(since=since), org.schema)
    parsed = time.perf_counter()
    result = soql.execute(query, org.tables, include_deleted=True, api_version="62.0")
    executed = time.perf_counter()
    page = result.page(0, PAGE)
    rendered = time.perf_counter()
    print(f"load {ROWS:,} leads     {1000 * (loaded - began):8.1f} ms")
    print(f"first parse (grammar)  {1000 * (warmed - loaded):8.1f} ms")
    print(f"parse                  {1000 * (parsed - warmed):8.1f} ms")
    print(f"execute ({result.total_size:,} rows) {1000 * (executed - parsed):8.1f} ms")
    print(f"render {len(page):,}-row page  {1000 * (rendered - executed):8.1f} ms")


if __name__ == "__main__":
    main()

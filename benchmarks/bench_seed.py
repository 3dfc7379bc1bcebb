"""Time `build_org` for seeded orgs of 1,000, 10,000 and 100,000 leads.

Run: .venv/bin/python -m benchmarks.bench_seed [SIZE ...] (prints a table, asserts nothing).
Each size starts from cold Faker pools, so the figures include drawing them.
The target is 100,000 leads in under 30 s on a 2-core machine.
"""

from __future__ import annotations

import resource
import sys
import time

from sfsync.emulator.seed import build_org
from sfsync.emulator.seed_pools import build_pools

SIZES = (1_000, 10_000, 100_000)


def measure(leads: int) -> tuple[float, int]:
    """Seconds to build an org of `leads` leads, and the records it holds in all."""
    build_pools.cache_clear()
    began = time.perf_counter()
    seeded = build_org(leads)
    elapsed = time.perf_counter() - began
    return elapsed, sum(len(table) for table in seeded.org.tables.values())


def figures(leads: int) -> dict[str, float]:
    """One size's figures, for `benchmarks.run` (which runs each size in its own process)."""
    elapsed, records = measure(leads)
    return {"leads": leads, "seconds": elapsed, "records": records, "leads_per_s": leads / elapsed}


def main(sizes: tuple[int, ...] = SIZES) -> None:
    """Print one row per size: time, records, throughput and the process's peak memory."""
    print(f"{'leads':>9} {'seconds':>8} {'records':>9} {'leads/s':>9} {'peak MB':>8}")
    for leads in sizes:
        elapsed, records = measure(leads)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        rate = leads / elapsed if elapsed else 0.0
        print(f"{leads:>9,} {elapsed:>8.2f} {records:>9,} {rate:>9,.0f} {peak_mb:>8,}")


if __name__ == "__main__":
    main(tuple(int(arg) for arg in sys.argv[1:]) or SIZES)

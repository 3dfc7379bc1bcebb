"""Matching at scale: N incoming leads against a mirror of M records.

Run: .venv/bin/python -m benchmarks.bench_matching [--incoming N] [--mirror M ...] [--db URL]

A million-record mirror takes 7-15 minutes to build: build it once into a
file (`--db sqlite:////tmp/mirror1m.db --mirror 1000000`), then match against
it again with `--reuse` (same --db and --mirror).

1. build: seeded orgs (about 100,000 leads each, distinct seeds, ids retagged)
   fill a mirror of M records through `mirror_row`, as `sfsync backfill` would;
2. match: a fresh process loads the rules, reads N new leads (another seeded
   org: its planted duplicates among themselves, companies shared with the
   mirror's by chance) and calls `find_matches` on pages of 2,000 leads, as the
   sync cycle would. It reports the time, candidates read and peak memory
   (VmHWM of that process alone).

Nothing is asserted. Targets (issue 5): 10,000 against 1,000,000 in < 60 s,
peak memory < 1 GB; issue 11: 2,000 leads per CPU second against 1,000,000.
Figures go to docs/MATCHING.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks.mirror_fill import fill, org_rows, retag
from sfsync.emulator.seed import build_org
from sfsync.jobs.match_setup import load_matcher
from sfsync.store import Store
from sfsync.store.mirror import counts

LEADS_PER_ORG = 100_000
RECORDS_PER_LEAD = 1.3  # an org holds about 0.1 accounts and 0.2 contacts per lead
PAGE = 2_000
TAGS = "ABCDEFGHIJKLMNOP"
INCOMING_SEED = 999


def build(url: str, records: int, mappings: Path) -> float:
    """Fill the mirror at `url` with about `records` records; seconds it took."""
    matcher = load_matcher(mappings)
    store = Store(url)
    began = time.perf_counter()
    leads_left = round(records / RECORDS_PER_LEAD)
    try:
        for index in range(0, leads_left, LEADS_PER_ORG):
            size = min(LEADS_PER_ORG, leads_left - index)
            seeded = build_org(leads=size, seed=100 + index // LEADS_PER_ORG)
            filled = fill(store, org_rows(seeded, matcher, TAGS[index // LEADS_PER_ORG]))
            del seeded
            print(f"  +{filled:,} records ({time.perf_counter() - began:.0f} s)", flush=True)
        live = sum(v["live"] + v["deleted"] for v in counts(store.engine).values())
        print(f"  mirror holds {live:,} records", flush=True)
    finally:
        store.close()
    return time.perf_counter() - began


def incoming(count: int, path: Path) -> None:
    """Write `count` new leads (values as the pull gives them) to a JSON file."""
    seeded = build_org(leads=count, seed=INCOMING_SEED)
    leads = []
    for record in seeded.org.tables["Lead"].values():
        values = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in record.items()}
        leads.append({**values, "Id": retag(record["Id"], "Z")})
    path.write_text(json.dumps(leads, default=str), encoding="utf-8")


def match(url: str, leads_file: Path, mappings: Path) -> dict[str, Any]:
    """Match the leads of `leads_file` page by page (run in a fresh process)."""
    from sfsync.jobs.match import find_matches

    began = time.perf_counter()
    matcher = load_matcher(mappings)
    leads = json.loads(leads_file.read_text(encoding="utf-8"))
    store = Store(url)
    loaded, cpu = time.perf_counter(), time.process_time()
    found = 0
    try:
        for start in range(0, len(leads), PAGE):
            results = find_matches(store, leads[start : start + PAGE], matcher)
            found += sum(len(m) for m in results.values())
    finally:
        store.close()
    done = time.perf_counter()
    return {
        "leads": len(leads),
        "matches": found,
        "setup_s": round(loaded - began, 2),
        "match_s": round(done - loaded, 2),
        # CPU seconds: what the figure would be on an idle machine (benchmarks share it).
        "cpu_s": round(time.process_time() - cpu, 2),
        "peak_mb": peak_mb(),
    }


def peak_mb() -> int:
    """This process's peak resident memory in MB.

    VmHWM, not ru_maxrss: Linux carries ru_maxrss over an exec, so a child of
    the process that built the orgs would report the parent's peak.
    """
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def run(
    incoming_count: int, records: int, db: str | None, mappings: Path, *, reuse: bool = False
) -> None:
    with tempfile.TemporaryDirectory(prefix="sfsync-bench-match-") as folder:
        url = db or f"sqlite:///{folder}/mirror.db"
        print(f"mirror of {records:,} records:", flush=True)
        if not reuse:
            seconds = build(url, records, mappings)
            print(f"  built in {seconds:.0f} s ({records / seconds:,.0f} records/s)", flush=True)
        leads_file = Path(folder) / "incoming.json"
        incoming(incoming_count, leads_file)
        command = [sys.executable, "-m", "benchmarks.bench_matching", "--match-only",
                   url, str(leads_file), str(mappings)]  # fmt: skip
        answer = subprocess.run(command, check=True, capture_output=True, text=True)
        figures = json.loads(answer.stdout.strip().splitlines()[-1])
        print(
            f"  {figures['leads']:,} incoming leads: {figures['match_s']} s matching "
            f"({figures['leads'] / figures['match_s']:,.0f} leads/s), {figures['cpu_s']} s CPU "
            f"({figures['leads'] / figures['cpu_s']:,.0f} leads/CPU s), {figures['matches']:,} "
            f"matches, start-up {figures['setup_s']} s, peak {figures['peak_mb']:,} MB",
            flush=True,
        )


def main(argv: list[str]) -> None:
    if argv[:1] == ["--match-only"]:
        url, leads_file, mappings = argv[1:4]
        print(json.dumps(match(url, Path(leads_file), Path(mappings))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incoming", type=int, default=10_000)
    parser.add_argument("--mirror", type=int, nargs="*", default=[100_000])
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--mappings", type=Path, default=Path("mappings"))
    parser.add_argument("--reuse", action="store_true", help="--db holds a mirror already")
    args = parser.parse_args(argv)
    for records in args.mirror:
        run(args.incoming, records, args.db, args.mappings, reuse=args.reuse and bool(args.db))


if __name__ == "__main__":
    main(sys.argv[1:])

"""`sfsync backfill` over REST queryAll pages against Bulk API 2.0 query jobs, on the emulator.

Run: .venv/bin/python -m benchmarks.bench_backfill [--records 100000] [--page 10000 50000]

A seeded org of about `--records` Accounts, Contacts and Leads (1.3 records
per lead) is served over HTTPS by an emulator in a process of its own (its
query and CSV work do not share the worker's interpreter). The seed makes at
most 100,000 leads (its company names run out near a million firms); a
larger org is padded with copies of its leads under new ids, which costs
the backfill the same. Each mode then backfills a fresh SQLite mirror in a
fresh worker process: REST (threshold above the org's size) and Bulk 2.0
(threshold 0) with each `--page` size. Reported per mode: wall time,
records/s, the API calls by kind (counted on the worker's session), the
worker's CPU seconds and peak memory (VmHWM), the emulator's CPU seconds
(the org's side of the work; with the worker's, a figure that does not
depend on how busy the machine is), and a digest of the mirror so the modes
can be seen to agree. The poll waits are the real ones (0.25 s,
then doubling, with jitter). Nothing is asserted; figures go to
docs/MATCHING.md.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

from sfsync.config import load_settings
from sfsync.connectors.bulk import BulkQueries
from sfsync.connectors.salesforce import SalesforceClient
from sfsync.emulator.cli import connection_details
from sfsync.emulator.org import Org
from sfsync.emulator.seed import build_org
from sfsync.emulator.server import Emulator
from sfsync.jobs.backfill import backfill
from sfsync.jobs.match_setup import load_matcher
from sfsync.store import Store
from sfsync.store.mirror import TABLE

RECORDS_PER_LEAD = 1.3
SEED = 7
NEVER = 10**12
MAX_SEEDED_LEADS = 100_000
# What a copy of a lead does not keep: `Org.load` gives it a new id and stamps it now.
_FRESH = frozenset({"Id", "CreatedDate", "LastModifiedDate", "SystemModstamp"})


def padded_org(records: int) -> Org:
    """A seeded org of about `records` records; past the seed's size, copies of its leads.

    Copy n of a lead gets its own e-mail and last name (`ann3@...`, `Smith 3`)
    and is stamped when it is made. Copies that kept their original's
    SystemModstamp would come right after it in REST's ORDER BY SystemModstamp,
    so REST would write near-identical keys together and SQLite would find
    their index pages hot: a flattering order a real org does not have
    (measured: REST's worker CPU for a million records fell from 201 s to
    143 s with such copies, while the Bulk path reads in Id order).
    """
    seeded = build_org(leads=min(MAX_SEEDED_LEADS, round(records / RECORDS_PER_LEAD)), seed=SEED)
    org = seeded.org
    have = sum(len(org.tables[s]) for s in ("Account", "Contact", "Lead"))
    leads = list(org.tables["Lead"].values())
    extra = max(0, records - have)
    copies = (_copy(lead, 1 + i // len(leads)) for i, lead in enumerate(_cycle(leads, extra)))
    org.load("Lead", copies)
    return org


def _cycle(leads: list[dict[str, Any]], count: int) -> Iterator[dict[str, Any]]:
    return itertools.islice(itertools.cycle(leads), count)


def _copy(lead: dict[str, Any], n: int) -> dict[str, Any]:
    copy = {k: v for k, v in lead.items() if k not in _FRESH}
    email = lead.get("Email")
    if email and "@" in email:
        local, domain = email.split("@", 1)
        copy["Email"] = f"{local}{n}@{domain}"
    if lead.get("LastName"):
        copy["LastName"] = f"{lead['LastName']} {n}"
    return copy


def serve(records: int) -> None:
    """In a child: build the org, print how to reach it, serve until stdin ends."""
    with Emulator(padded_org(records)) as emu:
        print(json.dumps(connection_details(emu)), flush=True)
        for _line in sys.stdin:
            pass


class OrgProcess:
    """The padded org's emulator in a process of its own (see `serve`)."""

    def __init__(self, records: int) -> None:
        command = [sys.executable, "-m", "benchmarks.bench_backfill", "--serve", str(records)]
        self.child = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.child.stdout is not None
        line = self.child.stdout.readline()
        if not line:
            raise RuntimeError("the emulator process ended early")
        self.details: dict[str, str] = json.loads(line)

    def cpu_seconds(self) -> float:
        """CPU the emulator process has used so far (user + system)."""
        fields = Path(f"/proc/{self.child.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def __enter__(self) -> OrgProcess:
        return self

    def __exit__(self, *_: object) -> None:
        assert self.child.stdin is not None
        self.child.stdin.close()
        self.child.wait(timeout=120)


def call_kind(method: str, url: str) -> str:
    """A word for the call: queryAll, describe, create, poll, results, delete, token."""
    path = url.split("?", 1)[0].rstrip("/")
    if "/jobs/query" in path:
        tail = path.split("/jobs/query", 1)[1]
        if not tail:
            return "bulk create"
        if tail.endswith("/results"):
            return "bulk results"
        return {"GET": "bulk poll", "DELETE": "bulk delete"}.get(method, "bulk abort")
    if path.endswith("/describe"):
        return "describe"
    if re.search(r"/query(?:All)?/[^/]+$", path):
        return "queryMore"
    return path.rsplit("/", 1)[-1]


def digest(url: str) -> tuple[int, str]:
    """Rows in the mirror and a hash of them (without `synced_at`), to compare modes."""
    engine = sa.create_engine(url)
    columns = [c for c in TABLE.c if c.name != "synced_at"]
    sha = hashlib.sha256()
    rows = 0
    with engine.connect() as conn:
        for row in conn.execute(sa.select(*columns).order_by(TABLE.c.id)):
            sha.update(repr(tuple(row)).encode())
            rows += 1
    engine.dispose()
    return rows, sha.hexdigest()[:12]


def peak_mb() -> int:
    """This process's peak resident memory (VmHWM) in MB."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def worker(details: dict[str, str], mode: str, page: int, db: str) -> dict[str, Any]:
    """In a child: one full backfill into `db`; what it took."""
    settings = load_settings(
        sf_login_url=details["login_url"],
        sf_instance_url=details["instance_url"],
        sf_client_id=details["client_id"],
        sf_client_secret=details["client_secret"],
        sfsync_database_url=db,
        sfsync_mappings=Path("mappings"),
    )
    calls: Counter[str] = Counter()

    def count(response: requests.Response, *_: Any, **__: Any) -> None:
        calls[call_kind(response.request.method or "", response.request.url or "")] += 1

    client = SalesforceClient(settings)
    client.session.hooks["response"].append(count)
    store = Store(db)
    threshold = NEVER if mode == "rest" else 0
    began, cpu = time.perf_counter(), time.process_time()
    try:
        bulk = BulkQueries(client, page_size=page)
        result = backfill(client, store, load_matcher(Path("mappings")), bulk=bulk,
                          bulk_threshold=threshold)  # fmt: skip
    finally:
        client.close()
        store.close()
    wall, used = time.perf_counter() - began, time.process_time() - cpu
    records = sum(r.read for r in result.objects.values())
    return {
        "mode": mode if mode == "rest" else f"bulk {page:,}",
        "records": records,
        "seconds": round(wall, 1),
        "per_second": round(records / wall),
        "cpu": round(used, 1),
        "peak_mb": peak_mb(),
        "calls": dict(calls),
        "pages": sum(r.pages for r in result.objects.values()),
    }


def run_mode(details: dict[str, str], mode: str, page: int, workdir: Path) -> dict[str, Any]:
    db = f"sqlite:///{workdir}/{mode}-{page}.db"
    payload = json.dumps({"details": details, "mode": mode, "page": page, "db": db})
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_backfill", "--child"],
        input=payload,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "REQUESTS_CA_BUNDLE": details["ca_file"]},
    )
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    figures["mirror_rows"], figures["digest"] = digest(db)
    return figures


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| mode | records | wall | records/s | API calls | of them | worker CPU | org CPU "
        "| peak memory | mirror |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        calls = r["calls"]
        shown = ", ".join(f"{n} {k}" for k, n in sorted(calls.items()) if k != "token")
        lines.append(
            f"| {r['mode']} | {r['records']:,} | {r['seconds']} s | {r['per_second']:,} "
            f"| {sum(n for k, n in calls.items() if k != 'token')} | {shown} | {r['cpu']} s "
            f"| {r['org_cpu']} s | {r['peak_mb']} MB | {r['mirror_rows']:,} rows, {r['digest']} |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    if argv[:1] == ["--child"]:
        job = json.loads(sys.stdin.read())
        print(json.dumps(worker(job["details"], job["mode"], job["page"], job["db"])))
        return
    if argv[:1] == ["--serve"]:
        serve(int(argv[1]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--page", type=int, nargs="*", default=[10_000, 50_000])
    args = parser.parse_args(argv)
    print(f"seeding an org of about {args.records:,} records ...", flush=True)
    began = time.perf_counter()
    with OrgProcess(args.records) as org, tempfile.TemporaryDirectory() as tmp:
        print(f"  served after {time.perf_counter() - began:.0f} s", flush=True)
        details = org.details
        modes = [("rest", 2_000)] + [("bulk", page) for page in args.page]
        rows = []
        for mode, page in modes:
            before = org.cpu_seconds()
            rows.append(run_mode(details, mode, page, Path(tmp)))
            rows[-1]["org_cpu"] = round(org.cpu_seconds() - before, 1)
            print(json.dumps(rows[-1]), flush=True)
    print(table(rows))


if __name__ == "__main__":
    main(sys.argv[1:])

"""`make bench` / `make bench-quick`: every benchmark, its figures written to docs/.

Run: .venv/bin/python -m benchmarks.run [--quick] [--out DIR]
Each measurement runs in a process of its own (fresh caches, its own peak
RSS) and hands its figures back as JSON; at the end the tables go to
`DIR/bench-results.md` and the growth plot to `DIR/bench-growth.png`
(`-quick` in both names for the quick suite, so it never overwrites the full
one). docs/PERFORMANCE.md explains the figures. Nothing is asserted:
benchmarks measure; tests check behaviour.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any

from benchmarks.report import Results, write_plot, write_tables

DOCS = Path(__file__).resolve().parents[1] / "docs"
SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000, 10_000)
LATENCY_MS = 100  # issue 11: 10,000 changed leads at 100 ms a call, under 15 s
NAIVE_SAMPLE = 500  # leads the per-lead script writes one by one (~55 s at 100 ms a call)
RSS_MINUTES = 3.0  # the daemon's steady state, after its first cycle
LATENCY_WINDOW_S, LATENCY_ARRIVALS = 180.0, 30  # new intake leads, at a 15 s poll interval


@dataclass(frozen=True)
class Job:
    """One measurement: a figures function and its arguments, run in a child process."""

    group: str
    function: str  # "module:function" under benchmarks/
    kwargs: dict[str, Any] = field(default_factory=dict)


def suite(quick: bool) -> list[Job]:
    """What the full and the quick suites measure."""
    sizes = QUICK_SIZES if quick else SIZES
    jobs = [Job("seed", "bench_seed:figures", {"leads": n}) for n in sizes]
    jobs.append(Job("soql", "bench_soql:figures"))
    jobs.append(Job("pages", "bench_emulator:figures", {"leads": 10_000 if quick else 100_000}))
    jobs.append(Job("rules", "bench_rules:figures", {"count": 5_000 if quick else 20_000}))
    jobs += [Job("cycle", "bench_cycle:measure_size", {"leads": n}) for n in sizes]
    latency = {"leads": 10_000, "latency_ms": LATENCY_MS, "phases": True, "naive_max": 0}
    if quick:
        return [*jobs, Job("latency", "bench_cycle:measure_size", latency)]
    # One write at a time (as before issue 11) and the default; the org in this process
    # and in its own, where its work no longer shares the worker's interpreter.
    for org_process in (False, True):
        for concurrency in (1, 4):
            kwargs = {**latency, "concurrency": concurrency, "org_process": org_process}
            jobs.append(Job("latency", "bench_cycle:measure_size", kwargs))
    # The scripts a user would write instead, on sfsync's own changes (bench_naive.py:
    # one call a lead, so the per-lead script writes a sample and is extrapolated).
    naive = {"latency_ms": LATENCY_MS, "sample": NAIVE_SAMPLE}
    jobs += [Job("alternatives", "bench_naive:figures", {**naive, "leads": n}) for n in QUICK_SIZES]
    # The daemon as deployed: memory while people edit, and new-lead-to-owner latency.
    rss = {"leads": 10_000, "minutes": RSS_MINUTES}
    jobs.append(Job("daemon_rss", "bench_daemon_rss:figures", rss))
    window = {"window_s": LATENCY_WINDOW_S, "arrivals": LATENCY_ARRIVALS}
    jobs.append(Job("owner_latency", "bench_owner_latency:figures", window))
    return jobs


def run_suite(quick: bool, out: Path) -> Path:
    """Run every job, then write the tables and the plot; returns the tables' path."""
    results = Results(quick=quick, machine=_machine())
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for index, job in enumerate(suite(quick)):
            label = f"{job.function} {json.dumps(job.kwargs)}"
            print(f"== {label}", flush=True)
            started = time.perf_counter()
            figures = _run_child(job, Path(tmp) / f"{index}.json", Path(tmp) / f"{index}.log")
            results.add(job.group, figures)
            print(f"   ({time.perf_counter() - started:.1f} s)", flush=True)
    results.total_seconds = time.perf_counter() - began
    suffix = "-quick" if quick else ""
    tables, plot = out / f"bench-results{suffix}.md", out / f"bench-growth{suffix}.png"
    write_plot(results, plot)
    write_tables(results, tables, plot.name)
    print(f"wrote {tables} and {plot} in {results.total_seconds:.0f} s")
    return tables


def _run_child(job: Job, result: Path, log: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.run", "--job", json.dumps(asdict(job))]
    with log.open("w") as output:
        code = subprocess.call([*command, "--to", str(result)], stdout=output, stderr=output)
    if code != 0:
        sys.stdout.write(log.read_text()[-4000:])
        raise SystemExit(f"benchmark {job.function} failed (exit {code})")
    figures: dict[str, Any] = json.loads(result.read_text())
    return figures


def run_job(job: Job, to: Path) -> None:
    """In the child: call the figures function, add the peak RSS, write JSON."""
    module_name, name = job.function.split(":")
    module = importlib.import_module(f"benchmarks.{module_name}")
    value = getattr(module, name)(**job.kwargs)
    figures = asdict(value) if is_dataclass(value) and not isinstance(value, type) else value
    figures["process_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    to.write_text(json.dumps(figures))


def _machine() -> str:
    return f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def main(argv: list[str]) -> None:
    """Either the whole suite (parent) or one job (child)."""
    parser = argparse.ArgumentParser(description="run the benchmarks, write docs/bench-*")
    parser.add_argument("--quick", action="store_true", help="small sizes, under 2 minutes")
    parser.add_argument("--out", type=Path, default=DOCS)
    parser.add_argument("--job", help=argparse.SUPPRESS)
    parser.add_argument("--to", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.job:
        run_job(Job(**json.loads(args.job)), args.to)
        return
    run_suite(args.quick, args.out)


if __name__ == "__main__":
    main(sys.argv[1:])

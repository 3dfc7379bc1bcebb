"""`make bench`: every benchmark in turn, figures printed (docs/PERFORMANCE.md keeps them).

Run: .venv/bin/python -m benchmarks.run [--quick]. Nothing is asserted: benchmarks
measure; tests check behaviour.
"""

from __future__ import annotations

import importlib
import sys
import time

SUITE = ("bench_seed", "bench_soql", "bench_emulator")


def main(quick: bool = False) -> None:
    """Run each benchmark module's `main()`, with its wall time."""
    for name in SUITE:
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"\n== {name} ==", flush=True)
        began = time.perf_counter()
        if quick and name == "bench_seed":
            module.main((1_000, 10_000))
        elif quick and name == "bench_emulator":
            module.main(10_000)
        else:
            module.main()
        print(f"({time.perf_counter() - began:.1f} s)", flush=True)


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])

# Every target builds .venv first, so a fresh clone needs nothing else.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench bench-quick clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/sfsync demo

lint: $(STAMP)
	$(BIN)/ruff check sfsync tests benchmarks
	$(BIN)/ruff format --check sfsync tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

# The whole suite: lint, types, layering, then unit, emulator and integration
# tests against SQLite and PostgreSQL (PostgreSQL must be reachable: no skip).
test: lint
	SFSYNC_REQUIRE_POSTGRES=1 $(BIN)/pytest

# The benchmarks also need the `bench` extra (matplotlib, for the growth plot).
BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install -q -e '.[dev,bench]'
	touch $(BENCH_STAMP)

# Full suite (1k/10k/100k leads, about 10 minutes): docs/bench-results.md and docs/bench-growth.png.
bench: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks.run

# Small sizes, under 2 minutes: docs/bench-results-quick.md and docs/bench-growth-quick.png.
bench-quick: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks.run --quick

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

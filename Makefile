# A newcomer's two commands: `make run` and `make test`. Both install into .venv first (idempotent).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install run test lint bench bench-blocks bench-cold-blocks bench-compile bench-node fuzz clean

FUZZ_SECONDS ?= 300
FUZZ_SEED    ?= $(shell date +%s)

install: $(STAMP)

$(STAMP): pyproject.toml tests/fuzz/requirements-oracle.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,bench,lint]'
	$(PY) -m pip install -q --no-deps -r tests/fuzz/requirements-oracle.txt || echo "warning: fuzz oracle (ethereum-execution) not installed; fuzzing compares against the interpreter only"
	touch $(STAMP)

run: install
	$(VENV)/bin/evm-mlir node --genesis genesis/dev.json --datadir ./data --http.addr 127.0.0.1 --http.port 8545

test: install
	$(PY) -m pytest tests

# ruff (lint and format, pyproject.toml [tool.ruff]) and mypy (strict on common/, state/, evm/ including
# evm/compiler/), as .ci/run runs them before the tests
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# Differential fuzzing campaign (interpreter, mlir, executable spec): FUZZ_SECONDS, FUZZ_SEED;
# RAY=HOST:PORT (or auto) spreads it over a Ray cluster, one seed stream per worker (docs/cluster.md).
fuzz: install
	$(PY) -m tests.fuzz.harness --seconds $(FUZZ_SECONDS) --seed $(FUZZ_SEED) --json reports/fuzz-last.json $(if $(RAY),--ray $(RAY))

# py-evm runs in a venv of its own (its pins differ from ours): bench/suite.py drives it as a subprocess.
PYEVM_VENV := .venv-pyevm

$(PYEVM_VENV)/.installed:
	test -x $(PYEVM_VENV)/bin/python || $(PYTHON) -m venv $(PYEVM_VENV)
	$(PYEVM_VENV)/bin/pip install -q py-evm==0.12.1b1
	touch $@

# The execution-spec-tests benchmark blocks (bench/blocks.py): every engine per family, each in a fresh process.
BENCH_FIXTURES ?= ../shared/fixtures/benchmark
BLOCK_TIMEOUT  ?= 300

bench: install $(PYEVM_VENV)/.installed
	PYEVM_PYTHON=$(PYEVM_VENV)/bin/python $(PY) bench/suite.py
	$(MAKE) --no-print-directory bench-blocks

bench-blocks: install
	@if [ -d "$(BENCH_FIXTURES)" ]; then \
	  $(PY) bench/blocks.py --timeout $(BLOCK_TIMEOUT) --json reports/bench-blocks.json $(BENCH_FIXTURES); \
	else echo "bench-blocks: $(BENCH_FIXTURES) not found (set BENCH_FIXTURES); block benchmark not run"; fi

# Issue 12's criterion: the 100M blocks with --evm mlir and an empty cache against --evm interpreter (bench/cold_blocks.py)
bench-cold-blocks: install
	@if [ -d "$(BENCH_FIXTURES)" ]; then \
	  $(PY) bench/cold_blocks.py --json reports/cold-blocks.json $(BENCH_FIXTURES); \
	else echo "bench-cold-blocks: $(BENCH_FIXTURES) not found (set BENCH_FIXTURES); not run"; fi

# The node under load beside anvil (bench/node_load.py): ethers v6 and, on linux-x64, anvil 1.7.1 from npm.
bench-compile: install
	$(PY) bench/compile_time.py
	$(PY) bench/compile_time.py --shapes

bench-node: install
	cd bench/ethers && npm ci --no-audit --no-fund --prefer-offline
	$(PY) bench/node_load.py --rounds 3

clean:
	rm -rf $(VENV) $(PYEVM_VENV) data build *.egg-info

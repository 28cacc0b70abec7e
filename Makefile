# A newcomer's two commands: `make run` and `make test`. Both install into .venv first (idempotent).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install run test bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,bench]'
	touch $(STAMP)

run: install
	$(VENV)/bin/evm-mlir node --genesis genesis/dev.json --datadir ./data --http.addr 127.0.0.1 --http.port 8545

test: install
	$(PY) -m pytest tests

bench: install
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) data build *.egg-info

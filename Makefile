# Everything a fresh clone needs: `make run` starts the system, `make test` checks it.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: install run test lint typecheck unit bench faults clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

run: install
	$(PY) scripts/run.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy shared services

test: install lint typecheck
	$(PY) scripts/infra.py --postgres
	$(VENV)/bin/pytest

unit: install
	$(VENV)/bin/pytest tests/unit

bench: install
	$(PY) scripts/infra.py --postgres
	@for f in bench/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

faults: install
	$(PY) -m tests.faults.suite

clean:
	rm -rf var $(VENV)

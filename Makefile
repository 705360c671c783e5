# Everything a fresh clone needs: `make run` starts the system, `make test` checks it.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
# Test workers: the tests mostly wait on the broker, databases and service processes, so more
# workers than cores keep both cores busy. `make test TEST_WORKERS=0` runs them in one process.
TEST_WORKERS ?= 4

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
	$(VENV)/bin/mypy shared services tests

test: install lint typecheck
	$(PY) scripts/infra.py --postgres --chromium
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadfile

unit: install
	$(VENV)/bin/pytest tests/unit

bench: install
	$(PY) scripts/infra.py --postgres
	@for f in bench/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

faults: install
	$(PY) -m tests.faults.suite

clean:
	rm -rf var $(VENV)

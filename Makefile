# threadlift — two commands do all the set-up on a fresh machine with Python 3.11:
#   make demo   creates .venv, installs, builds the seeded demo workspace, writes a report
#   make test   installs test dependencies (incl. Debian chromium for the report check) and runs the tests

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO   ?= demo-out

.PHONY: install demo test test-fast test-slow lint typecheck chromium bench clean hillstrom wheel-check

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/threadlift demo --out $(DEMO)
	@echo "Open $(DEMO)/report/report.html in a browser."
	@echo "The programme (global holdout) report: $(DEMO)/programme/report/report.html"

chromium:
	bash scripts/install_chromium.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

test-fast: $(STAMP)
	$(BIN)/pytest -m "not slow" -q

test: $(STAMP) chromium lint typecheck
	$(BIN)/pytest -m "not slow" -q

test-slow: $(STAMP) chromium
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,spark]'
	$(BIN)/pytest -m slow -q || [ $$? -eq 5 ]

# The built wheel, installed in a fresh venv, runs the demo and a report outside the checkout.
wheel-check:
	PYTHON=$(PYTHON) bash scripts/wheel_check.sh

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache

hillstrom: $(STAMP)
	$(BIN)/python -m threadlift.datasets.hillstrom data/hillstrom
	rm -f data/hillstrom/hillstrom.duckdb data/hillstrom/hillstrom.duckdb.wal
	$(BIN)/threadlift load contacts data/hillstrom/canonical/contacts.csv -w data/hillstrom/hillstrom.duckdb
	$(BIN)/threadlift load actions data/hillstrom/canonical/actions.csv -w data/hillstrom/hillstrom.duckdb
	$(BIN)/threadlift load assignments data/hillstrom/canonical/assignments.csv --experiment data/hillstrom/canonical/hillstrom.toml -w data/hillstrom/hillstrom.duckdb
	$(BIN)/threadlift report data/hillstrom/canonical/hillstrom.toml --out data/hillstrom/report --as-of 2008-04-01T00:00:00Z -w data/hillstrom/hillstrom.duckdb

# The two commands: `make run` serves the app, `make test` runs the linter and the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
WORKERS ?= 2
THREADS ?= 4
LOCK := requirements.lock
# Test processes: one per core by default; TEST_WORKERS=0 runs the tests in pytest's own process.
# Each takes the next test from the others' queues when its own runs out (work stealing).
TEST_WORKERS ?= auto
PYTEST := $(BIN)/python -m pytest --numprocesses $(TEST_WORKERS) --dist worksteal
CATALOGUES := $(wildcard crm/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGUES:.po=.mo)

.PHONY: run dev test test-fast lint install install-dev migrate translations extract-messages lock \
	clean bench bench-digests load audit

# No gunicorn access log: the app logs a line per request itself, with its timing and user.
run: install translations migrate
	$(BIN)/gunicorn --bind $(HOST):$(PORT) --workers $(WORKERS) --threads $(THREADS) wsgi:app

dev: install translations migrate
	$(BIN)/flask --app crm run --debug --host $(HOST) --port $(PORT)

test: install-dev translations
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(PYTEST) $(PYTEST_ARGS)

# The edit-test loop: the suite on SQLite only, without the browser and crash tests or the linter.
test-fast: install-dev translations
	CRM_TEST_DATABASE_URL= $(PYTEST) -m "not browser and not crash" $(PYTEST_ARGS)

# Time the pages at 100,000 leads and 1,000,000 activities (databases built once in bench/data/).
# BENCH_ARGS="--leads 5000 --activities 50000 --repeat 10" makes a quick run. DB=postgres times
# the same on the PostgreSQL server at BENCH_POSTGRES (the data copied there once).
BENCH_POSTGRES ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres
bench: install translations
	$(BIN)/python -m bench.run $(if $(filter postgres,$(DB)),--postgres $(BENCH_POSTGRES)) $(BENCH_ARGS)

# 1,000 morning digests made and sent to an SMTP server on this machine, timed (budget: 60 s).
bench-digests: install-dev translations
	$(BIN)/python -m bench.digests $(BENCH_ARGS)

# A team at work for a minute on a copy of the benchmark database, served as `make run` serves.
# LOAD_ARGS="--postgres" runs two servers on one PostgreSQL database instead.
load: install translations
	$(BIN)/python -m bench.load --workers $(WORKERS) --threads $(THREADS) $(LOAD_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Exact versions come from the lock file, so installs a month apart get the same code.
$(VENV)/.installed: $(BIN)/python pyproject.toml $(LOCK)
	$(BIN)/pip install --quiet --constraint $(LOCK) --editable '.[postgres]'
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet --constraint $(LOCK) --editable '.[postgres,dev]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(BIN)/flask --app crm db upgrade

translations: install $(COMPILED)

%.mo: %.po
	$(BIN)/pybabel compile --use-fuzzy --input-file $< --output-file $@ --statistics

# Refresh the catalogues after adding or changing user-visible strings.
extract-messages: install
	$(BIN)/pybabel extract --mapping babel.cfg --no-location --sort-output \
		--keywords _l --keywords lazy_pgettext:1c,2 --output crm/translations/messages.pot .
	$(BIN)/pybabel update --input-file crm/translations/messages.pot \
		--output-dir crm/translations --no-fuzzy-matching --ignore-obsolete

# Re-resolve the newest versions allowed by pyproject.toml and pin them.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade pip
	.lock-venv/bin/pip install --quiet '.[postgres,dev]'
	.lock-venv/bin/pip freeze --exclude-editable | grep -v '^crm' > $(LOCK)
	rm -rf .lock-venv

# Known vulnerabilities in the locked versions (from PyPI's advisory data). pip-audit has a venv
# of its own, so neither it nor what it needs enters the app's lock. --strict: a package it could
# not look up fails the audit instead of passing unchecked.
PIP_AUDIT := 2.10.1
AUDIT_VENV := .audit-venv

$(AUDIT_VENV)/.pip-audit-$(PIP_AUDIT):
	rm -rf $(AUDIT_VENV)
	$(PYTHON) -m venv $(AUDIT_VENV)
	$(AUDIT_VENV)/bin/pip install --quiet pip-audit==$(PIP_AUDIT)
	touch $@

audit: $(AUDIT_VENV)/.pip-audit-$(PIP_AUDIT)
	$(AUDIT_VENV)/bin/pip-audit --strict --requirement $(LOCK) --no-deps --disable-pip \
		--progress-spinner off

clean:
	rm -rf $(VENV) build *.egg-info $(COMPILED)

# Quick start: `make run` starts the gateway, `make test` runs the whole suite.
VENV := .venv
BIN := $(VENV)/bin
PYTHON := $(BIN)/python

.PHONY: run test reliability bench lint layout migrate fake-upstream screenshots

$(PYTHON):
	@py=$$(scripts/find-python) && "$$py" -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PYTHON)
	$(PYTHON) -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PYTHON)
	$(PYTHON) -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

migrate: $(VENV)/.installed
	$(PYTHON) manage.py migrate --noinput

run: migrate
	$(PYTHON) manage.py runproxy

test: $(VENV)/.installed-dev
	$(PYTHON) -m pytest

reliability: $(VENV)/.installed-dev
	$(PYTHON) scripts/reliability.py

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

layout: $(PYTHON)
	$(PYTHON) scripts/layout.py

bench: $(VENV)/.installed-dev
	$(PYTHON) scripts/bench.py $(BENCH_ARGS)

fake-upstream: $(VENV)/.installed
	$(PYTHON) manage.py fakeupstream --port 9100

screenshots: $(VENV)/.installed-dev
	$(PYTHON) scripts/screenshots.py

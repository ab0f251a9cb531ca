# readbot: two commands for a newcomer. Both work offline, with no API keys.
#   make run    set up (.venv), index the shipped reading, show the three jobs (readbot demo)
#   make test   set up (.venv with dev tools) and run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
QUESTION ?= What does Ilya mean by the age of research?

.PHONY: run test check lint bench setup

$(BIN)/readbot: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c deploy/requirements.lock -e '.[dev]'
	@touch $@

setup: $(BIN)/readbot

run: setup
	$(BIN)/readbot ingest
	$(BIN)/readbot demo --question "$(QUESTION)"

test: setup check
	$(BIN)/python -m pytest -q

# lint, formatting, layering (import contracts in pyproject.toml) and types: quick, run first
check: setup
	$(BIN)/ruff check bot tests benchmarks
	$(BIN)/ruff format --check bot tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy

bench: setup
	$(BIN)/python benchmarks/bench_retrieval.py

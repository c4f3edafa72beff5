# Every target builds its own virtual environment on first use (.venv), so a fresh clone needs
# nothing but python3 >= 3.11 and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: serve validate test lint bench fmt clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## validate the graph, then serve it on http://127.0.0.1:8000/graphql (refuses invalid data)
serve: $(STAMP)
	$(BIN)/clinic-kg serve

## validate ontology/, shapes/ and kg/
validate: $(STAMP)
	$(BIN)/clinic-kg validate

## rewrite ontology/, shapes/ and kg/ in canonical Turtle (`clinic-kg fmt --check` only checks)
fmt: $(STAMP)
	$(BIN)/clinic-kg fmt

## run the test suite
test: $(STAMP)
	$(BIN)/pytest -n 2 -q

## ruff (lint + format check) and mypy --strict
lint: $(STAMP)
	$(BIN)/ruff check server tests
	$(BIN)/ruff format --check server tests
	$(BIN)/mypy

## benchmarks (not part of make test; installs wrk, Jena and the Oxigraph CLI when missing):
## `make bench` (~40 min: tests/benchmarks/RESULTS.md), `make bench BENCH=--quick` (~2 min smoke test)
bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m tests.benchmarks $(BENCH)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

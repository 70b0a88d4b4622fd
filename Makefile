# chinwag: two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 12345
DATA   ?= ./data

.PHONY: run test lint screenshot typecheck pytest bench fuzz format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

HTTP_PORT ?= 8080

run: $(STAMP)
	@echo "The chat page: http://$(HOST):$(HTTP_PORT)/  (terminal clients: $(HOST):$(PORT))"
	$(BIN)/chinwag serve --host $(HOST) --port $(PORT) --http-port $(HTTP_PORT) --data $(DATA)

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench fuzz
	$(BIN)/ruff format --check src tests bench fuzz

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	@.ci/install-browser
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m bench

FUZZ_RUNS ?= 100000
fuzz: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,fuzz]'
	$(BIN)/python -m fuzz $(FUZZ_RUNS)

screenshot: $(STAMP)
	$(BIN)/python -m tests.browser.screenshot docs/screenshot.png

format: $(STAMP)
	$(BIN)/ruff check --fix src tests bench fuzz
	$(BIN)/ruff format src tests bench fuzz

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache build src/*.egg-info

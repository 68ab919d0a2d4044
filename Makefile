# Two commands for a newcomer: `make demo` and `make test`. Both create .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
PIP := $(BIN)/python -m pip --disable-pip-version-check --quiet
REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: demo test lint typecheck redis clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip setuptools wheel

$(STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install -e ".[test]"
	touch $(STAMP) $@

demo: $(STAMP)
	$(BIN)/kabar demo seeds

redis:
	@$(BIN)/python scripts/ensure_redis.py "$(REDIS_URL)"

test: $(TEST_STAMP) redis
	$(BIN)/python -m pytest

lint: $(TEST_STAMP)
	$(BIN)/ruff check src services tests benchmarks scripts
	$(BIN)/mypy

typecheck: lint

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache

# Two commands for a newcomer: `make demo` and `make test`. Both create .venv themselves.
# `make engines` starts real Elasticsearch and OpenSearch on loopback (scripts/engines.py); `make engines-stop`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
PIP := $(BIN)/python -m pip --disable-pip-version-check --quiet
REDIS_URL ?= redis://127.0.0.1:6379/0

# constraints.txt pins every dependency (runtime and test) for make and the Dockerfile alike.
# Regenerate it after changing dependencies in pyproject.toml: `make lock`.
CONSTRAINTS := constraints.txt
UV_VERSION := 0.13.8

.PHONY: demo test lint typecheck redis engines engines-stop clean lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip setuptools wheel

$(STAMP): pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP) install --constraint $(CONSTRAINTS) -e .
	touch $@

$(TEST_STAMP): pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP) install --constraint $(CONSTRAINTS) -e ".[test]"
	touch $(STAMP) $@

lock: | $(BIN)/python
	$(PIP) install "uv==$(UV_VERSION)"
	$(BIN)/uv pip compile pyproject.toml --extra test --python-version 3.11 --universal \
		--custom-compile-command "make lock" --output-file $(CONSTRAINTS)

demo: $(STAMP)
	$(BIN)/kabar demo seeds

redis:
	@$(BIN)/python scripts/ensure_redis.py "$(REDIS_URL)"

# The test session starts its own engines (tests/conftest.py), on free ports, and stops them.
test: $(TEST_STAMP) redis
	$(BIN)/python -m pytest

engines: $(STAMP)
	@$(BIN)/python scripts/engines.py start

engines-stop: $(STAMP)
	@$(BIN)/python scripts/engines.py stop

# mypy --strict covers the benchmarks too, except quality.py, ner.py and langid.py (lambdas with default
# arguments, optional baselines without stubs). --follow-imports=silent: kabar's packages are the plain mypy line's
# business, and services/enrich/training (which some benchmarks import) is not strict-clean.
lint: $(TEST_STAMP)
	$(BIN)/ruff check src services tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/mypy --strict scripts/engines.py
	MYPYPATH=scripts:benchmarks:services/enrich/training $(BIN)/mypy --strict --follow-imports=silent \
		$(addprefix benchmarks/,support.py faults.py load.py search.py memory.py enrich.py entity_rules.py \
		neardup_lookup.py story_lookup.py pipeline.py pipeline_feed.py pipeline_inprocess.py pipeline_measure.py \
		pipeline_report.py pipeline_services.py pipeline_stack.py)

typecheck: lint

clean:
	rm -rf $(VENV) .venv-checkov data .pytest_cache .mypy_cache .ruff_cache

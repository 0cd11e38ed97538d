# The two commands of the README. Both set everything up (a local .venv) on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# RLlib pins gymnasium 1.2.2 and BenchMARL torchrl < 0.12, so their tests (tests/rllib,
# tests/benchmarl) run in an environment of their own
PINNED_VENV := .venv-pinned
PINNED_STAMP := $(PINNED_VENV)/.installed
# a base install (no extra: no torch, no matplotlib) for tests/base_install: what `pip install -e .`
# gives a user; pytest is its only addition
BASE_VENV := .venv-base
BASE_STAMP := $(BASE_VENV)/.installed

# the quality gate that `make test` runs first (issue 23): lint, format, types, then the test suite
# with coverage, each package against its own threshold
COV_MIN_ENV := 90
COV_MIN_AGENTS := 85

.PHONY: setup bench test gate lint typecheck coverage-report clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check -U pip 2>&1 | grep -v "is ignored" || true
	@# torch pinned in the same command so pip takes the local CPU build, not a multi-GB CUDA one
	@$(BIN)/python -m pip install -q --disable-pip-version-check "torch==2.13.0" -e ".[dev]" 2>&1 | grep -v "is ignored" || true
	@$(BIN)/python -c "import edgesched_env, agents, torch, sb3_contrib" && touch $(STAMP)

$(PINNED_STAMP): pyproject.toml Makefile
	@test -x $(PINNED_VENV)/bin/python || $(PY) -m venv $(PINNED_VENV)
	@$(PINNED_VENV)/bin/python -m pip install -q --disable-pip-version-check -U pip 2>&1 | grep -v "is ignored" || true
	@$(PINNED_VENV)/bin/python -m pip install -q --disable-pip-version-check "torch==2.13.0" -e ".[rllib,benchmarl]" "pytest>=8" "pytest-xdist>=3" "hypothesis>=6.100" 2>&1 | grep -v "is ignored" || true
	@$(PINNED_VENV)/bin/python -c "import ray.rllib, benchmarl, edgesched_env, agents" && touch $(PINNED_STAMP)

$(BASE_STAMP): pyproject.toml Makefile
	@test -x $(BASE_VENV)/bin/python || $(PY) -m venv $(BASE_VENV)
	@$(BASE_VENV)/bin/python -m pip install -q --disable-pip-version-check -U pip 2>&1 | grep -v "is ignored" || true
	@$(BASE_VENV)/bin/python -m pip install -q --disable-pip-version-check -e . "pytest>=8" 2>&1 | grep -v "is ignored" || true
	@$(BASE_VENV)/bin/python -c "import edgesched_env, agents.cli" && touch $(BASE_STAMP)

setup: $(STAMP)

bench: $(STAMP)
	$(BIN)/edgesched bench --seeds 3 --workers 2

test: gate $(PINNED_STAMP) $(BASE_STAMP)
	EDGESCHED_PINNED=1 $(PINNED_VENV)/bin/python -m pytest -n 2 -q -p no:cacheprovider tests/rllib tests/benchmarl tests/test_docs.py -k "rllib or benchmarl"
	@# --confcutdir: not tests/conftest.py (it imports hypothesis, which a base install lacks)
	EDGESCHED_BASE=1 $(BASE_VENV)/bin/python -m pytest -q -p no:cacheprovider --confcutdir=tests/base_install tests/base_install

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

# strict on edgesched_env, the default checks on agents (pyproject.toml's [tool.mypy])
typecheck: $(STAMP)
	$(BIN)/mypy edgesched_env agents

# both packages' reports of the last coverage run (missing lines of the files not fully covered),
# then fail if either is below its threshold
COVERAGE_REPORT = status=0; \
	$(BIN)/python -m coverage report --include='edgesched_env/*' --fail-under=$(COV_MIN_ENV) || status=1; \
	$(BIN)/python -m coverage report --include='agents/*' --fail-under=$(COV_MIN_AGENTS) || status=1; \
	exit $$status

gate: lint typecheck
	$(BIN)/python -m pytest -n 2 -q --cov --cov-report=
	@$(COVERAGE_REPORT)

coverage-report: $(STAMP)
	@$(COVERAGE_REPORT)

clean:
	rm -rf $(VENV) $(PINNED_VENV) $(BASE_VENV) build *.egg-info .pytest_cache .coverage .coverage.*

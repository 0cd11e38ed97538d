# The two commands of the README. Both set everything up (a local .venv) on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# RLlib pins gymnasium 1.2.2, so its tests (tests/rllib) run in an environment of their own
RLLIB_VENV := .venv-rllib
RLLIB_STAMP := $(RLLIB_VENV)/.installed

.PHONY: setup bench test lint clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check -U pip 2>&1 | grep -v "is ignored" || true
	@# torch pinned in the same command so pip takes the local CPU build, not a multi-GB CUDA one
	@$(BIN)/python -m pip install -q --disable-pip-version-check "torch==2.13.0" -e ".[dev]" 2>&1 | grep -v "is ignored" || true
	@$(BIN)/python -c "import edgesched_env, agents, torch, sb3_contrib" && touch $(STAMP)

$(RLLIB_STAMP): pyproject.toml Makefile
	@test -x $(RLLIB_VENV)/bin/python || $(PY) -m venv $(RLLIB_VENV)
	@$(RLLIB_VENV)/bin/python -m pip install -q --disable-pip-version-check -U pip 2>&1 | grep -v "is ignored" || true
	@$(RLLIB_VENV)/bin/python -m pip install -q --disable-pip-version-check "torch==2.13.0" -e ".[rllib]" "pytest>=8" "hypothesis>=6.100" 2>&1 | grep -v "is ignored" || true
	@$(RLLIB_VENV)/bin/python -c "import ray.rllib, edgesched_env, agents" && touch $(RLLIB_STAMP)

setup: $(STAMP)

bench: $(STAMP)
	$(BIN)/edgesched bench --seeds 3 --workers 2

test: $(STAMP) $(RLLIB_STAMP)
	$(BIN)/python -m pytest -n 2 -q
	EDGESCHED_RLLIB=1 $(RLLIB_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/rllib

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) $(RLLIB_VENV) build *.egg-info .pytest_cache

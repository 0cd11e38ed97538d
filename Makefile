# The two commands of the README. Both set everything up (a local .venv) on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup bench test lint clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check -U pip 2>&1 | grep -v "is ignored" || true
	@# torch pinned in the same command so pip takes the local CPU build, not a multi-GB CUDA one
	@$(BIN)/python -m pip install -q --disable-pip-version-check "torch==2.13.0" -e ".[dev]" 2>&1 | grep -v "is ignored" || true
	@$(BIN)/python -c "import edgesched_env, agents, torch, sb3_contrib" && touch $(STAMP)

setup: $(STAMP)

bench: $(STAMP)
	$(BIN)/edgesched bench --seeds 3 --workers 2

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache

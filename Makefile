# Linli — one command to run, one to test. Everything installs into ./.venv from requirements.lock.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install up demo test lint fuzz bench soak docs screenshots lock lock-runtime clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip uv
	$(BIN)/uv pip install -q -p $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install -q -p $(BIN)/python --no-deps -e .
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the locked dependencies

up: install ## migrate every store and run all services on http://127.0.0.1:8000
	$(BIN)/linli db upgrade
	$(BIN)/linli run

demo: install ## load the demo communities (明珠花苑, 智汇城, 3502, 北翟营)
	$(BIN)/linli db upgrade
	$(BIN)/linli demo

TEST_WORKERS ?= 2
test: install lint ## lint, types, then the whole suite in $(TEST_WORKERS) processes (a test file stays in one)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

lint: install ## ruff (lint and format check) and mypy (strict for shared/ and every domain/)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fuzz: install ## schemathesis over every operation with many examples (LINLI_FUZZ_EXAMPLES, default 200)
	LINLI_FUZZ_EXAMPLES=$${LINLI_FUZZ_EXAMPLES:-200} $(BIN)/python -m pytest tests/edge/test_fuzz.py

bench: install ## benchmarks (not tests): writes bench/results/latest.{json,md} and charts
	$(BIN)/python -m bench

soak: install ## 10 minutes of mixed traffic against linli run, RSS each minute (docs/benchmarks.md, figure 10)
	$(BIN)/python -m bench --only soak

docs: install ## regenerate docs/events/*.json, docs/asyncapi.json and docs/openapi/*.json
	$(BIN)/linli docs

screenshots: install ## refresh docs/img/ from the console's browser test
	LINLI_SCREENSHOT_DIR=docs/img $(BIN)/python -m pytest tests/ops/test_console_browser.py

lock: ## re-pin dependencies after editing pyproject.toml: the full lock (.venv, CI) and the runtime-only one (image)
	$(BIN)/uv pip compile pyproject.toml --all-extras -p 3.11 -q -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml -p 3.11 -q -o requirements-runtime.lock

lock-runtime: ## re-pin only the image's dependencies (no dev or bench extras)
	$(BIN)/uv pip compile pyproject.toml -p 3.11 -q -o requirements-runtime.lock

clean:
	rm -rf $(VENV) var .pytest_cache

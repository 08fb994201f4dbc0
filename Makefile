# CloudSwarm: every entry point a developer or CI needs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TASKS_VENV := .venv-tasks
CHECKOV_VENV := .venv-checkov
export GOOGLE_CLOUD_PROJECT ?= cloudswarm-local

.PHONY: help setup prereqs lint format test test-unit test-integration test-e2e dev stack-up stack-down demo lock clean bundle deploy web web-setup bench soak

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-18s %s\n", $$1, $$2}'

prereqs: ## Check what setup cannot install itself (gcloud emulators, Java, Node, Terraform)
	@$(PYTHON) emulators/prereqs.py

setup: prereqs $(VENV)/.stamp $(TASKS_VENV)/.stamp $(CHECKOV_VENV)/.stamp web-setup ## Install everything (idempotent): venvs, web packages, Chromium

$(VENV)/.stamp: pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

# The Cloud Tasks emulator needs protobuf<5, which clashes with the Google clients: own venv.
$(TASKS_VENV)/.stamp: emulators/tasks-requirements.lock
	test -x $(TASKS_VENV)/bin/python || $(PYTHON) -m venv $(TASKS_VENV)
	$(TASKS_VENV)/bin/pip install -q --disable-pip-version-check -r emulators/tasks-requirements.lock
	touch $@

# checkov (the deployment scan) pins a dependency tree of its own that clashes with ours: own venv.
$(CHECKOV_VENV)/.stamp: terraform/checkov-requirements.lock
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install -q --disable-pip-version-check -r terraform/checkov-requirements.lock
	touch $@

lock: ## Re-pin the project's dependencies into requirements.lock (needs the network)
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install -q --disable-pip-version-check -e '.[dev]'
	.venv-lock/bin/pip freeze --exclude-editable | grep -v '^cloudswarm' > requirements.lock
	rm -rf .venv-lock

# checkov scans terraform/ offline (--skip-download: no guidelines fetched from its vendor; no update
# check). A failed check or a file it cannot parse fails lint; a check that does not apply is
# skipped inline in the .tf, with its reason.
lint: setup ## ruff check and format check (the core import ban included), mypy (strict on the core), checkov on terraform/
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	CKV_SKIP_PACKAGE_UPDATE_CHECK=true CKV_PARSE_ERROR_FAIL=true $(CHECKOV_VENV)/bin/checkov \
		--directory terraform --framework terraform --skip-download --compact --quiet

format: setup ## Apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: setup lint ## Lint, then unit, integration and e2e tests against the real emulators
	$(PY) -m pytest tests/unit tests/integration tests/e2e

test-unit: setup ## Unit tests only (pure, no services)
	$(PY) -m pytest tests/unit

test-integration: setup ## Integration tests (starts the emulators it needs)
	$(PY) -m pytest tests/integration

test-e2e: setup ## End-to-end tests (the whole local stack)
	$(PY) -m pytest tests/e2e

dev: setup web ## Run the whole local stack (emulators, functions, pusher, model server, scheduler, UI) in the foreground; Ctrl-C stops all of it
	$(PY) -m emulators.stack dev --profile full

PROFILE ?= full
stack-up: setup web ## Start the local stack in the background (PROFILE=full, the default, or emulators; see .run/)
	$(PY) -m emulators.stack up --profile $(PROFILE)

stack-down: ## Stop the local stack started by stack-up
	@if [ -x $(PY) ]; then $(PY) -m emulators.stack down; else echo "nothing to stop (no venv)"; fi

demo: setup web ## Run a real swarm on the local stack: a running one if it is whole, else its own (local model server unless ANTHROPIC_API_KEY is set)
	$(PY) -m emulators.demo $(if $(TEAM),--team $(TEAM))

clean: stack-down ## Remove the venvs and run folders
	rm -rf $(VENV) $(TASKS_VENV) $(CHECKOV_VENV) .run .pytest_cache .ruff_cache

bundle: $(VENV)/.stamp ## Build the reproducible Cloud Functions source zip (dist/functions/functions.zip)
	$(PY) functions/bundle.py --out dist/functions

deploy: bundle ## Deploy to your GCP project with Terraform (docs/deploy.md; needs terraform/terraform.tfvars)
	bash terraform/scripts/deploy.sh

# `npm install` from the lock rather than `npm ci`: the registry reachable here lacks some other
# platforms' builds of Tailwind's optional native packages, which `npm ci` insists on finding.
# With the lock present, `npm install` installs exactly the locked versions.
NPM_INSTALL := npm install --no-audit --no-fund

web: ## Build the web UI into web/dist (installs its packages first when missing or stale)
	@if [ ! -f web/node_modules/.package-lock.json ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then \
		cd web && $(NPM_INSTALL); fi
	cd web && npx --no-install vite build --logLevel warn

web-setup: ## Install the web UI's packages and Debian's Chromium for its browser tests (idempotent)
	@if [ ! -f web/node_modules/.package-lock.json ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then \
		cd web && $(NPM_INSTALL); fi
	@test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium)

bench: setup ## Measure turn overhead, Firestore per turn, throughput, kill-switch halt, caching, imports (bench/results.*)
	$(PY) -m bench

SOAK_MINUTES ?= 30
soak: setup ## The large scenario on repeat under chaos for SOAK_MINUTES (30), function processes sampled (bench/soak.json, results.md)
	$(PY) -m bench.soak --minutes $(SOAK_MINUTES)

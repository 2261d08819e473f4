# Batch ML on S3, Athena and ECS Fargate. `make` (or `make help`) lists the targets.
.DEFAULT_GOAL := help
SHELL := bash
.SHELLFLAGS := -euo pipefail -c

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
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
setup: $(VENV)/.installed terraform-config ## Create the development environment (.venv with the three images and the tools)

$(VENV)/.installed: requirements-dev.txt $(foreach i,$(IMAGES),images/$(i)/pyproject.toml)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip --version >/dev/null 2>&1 || $(BIN)/python -m ensurepip --default-pip >/dev/null
	test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements-dev.txt $(foreach i,$(IMAGES),-e images/$(i))
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

.PHONY: test
test: setup ## Run the whole test suite (images, contract, Terraform, end to end)
	$(BIN)/pytest -n 2 --dist loadfile

.PHONY: lint
lint: setup ## ruff, terraform fmt -check and terraform validate
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	terraform fmt -check -recursive terraform
	for dir in $(TF_DIRS); do \
		terraform -chdir=$$dir init -backend=false -input=false >/dev/null && \
		terraform -chdir=$$dir validate -no-color || exit 1; \
	done

.PHONY: fmt
fmt: setup ## Format Python and Terraform code in place
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	terraform fmt -recursive terraform

.PHONY: clean
clean: ## Remove the environment, build outputs and demo results
	rm -rf $(VENV) build demo-output .pytest_cache .ruff_cache
	find terraform -name .terraform -type d -prune -exec rm -rf {} +

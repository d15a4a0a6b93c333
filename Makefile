# The two commands: `make dev` (the local stack) and `make test` (every check).
# Both install what they need first (scripts/setup.sh: pinned Python venv, Rust components).

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1
# One shared target dir for every build, test and cargo-lambda run.
export CARGO_TARGET_DIR ?= $(CURDIR)/target

.PHONY: setup build dev test lint fmt-check clippy template-lint unit e2e openapi

setup:
	@bash scripts/setup.sh

build: setup
	cargo build --workspace --bins

## make dev: moto (DynamoDB + Secrets Manager), the fake Stripe, cargo lambda watch and the local
## API gateway on http://127.0.0.1:$${API_PORT:-3000}. Ctrl-C stops everything.
dev: build
	$(PY) scripts/dev_stack.py

## make test: formatting, clippy, template lint, unit tests, end-to-end tests over the local stack.
test: setup lint unit e2e

lint: fmt-check clippy template-lint

fmt-check:
	cargo fmt --all -- --check

clippy:
	cargo clippy --workspace --all-targets -- -D warnings

template-lint: setup
	$(VENV)/bin/cfn-lint template.yaml
	$(VENV)/bin/sam validate --lint --template template.yaml
	$(VENV)/bin/pytest -q tests/template

unit:
	cargo test --workspace

e2e: build
	$(VENV)/bin/pytest -q tests/e2e

## make openapi: rewrite openapi.json from the Rust types (`make unit` fails while it is stale).
openapi:
	UPDATE_OPENAPI=1 cargo test -p billing-core --lib openapi

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

.PHONY: setup build dev test lint fmt-check clippy template-lint unit e2e e2e-stripe reliability-full security openapi web-setup web-test package package-test bench reliability readme

setup:
	@bash scripts/setup.sh

# The default members (Cargo.toml): every function, the fake Stripe and the benchmark's empty
# function — not the contract tool, whose `openapi` feature would change billing-core's build.
build: setup
	cargo build --bins

## make dev: moto (DynamoDB + Secrets Manager), the fake Stripe, cargo lambda watch, the local
## API gateway on http://127.0.0.1:$${API_PORT:-3000} and the web app on :$${WEB_PORT:-3001}.
## Ctrl-C stops everything.
dev: build web-setup
	$(PY) scripts/dev_stack.py

## make test: formatting, clippy, template lint, unit tests, end-to-end tests over the local stack,
## the reliability and security suites, the web app's checks and browser tests, then every README
## command run against `make dev`. Each stage is timed (scripts/stages.sh prints the table).
TEST_STAGES := setup fmt-check clippy template-lint unit e2e reliability security web-test readme
test:
	@MAKE="$(MAKE)" bash scripts/stages.sh $(TEST_STAGES)

lint: fmt-check clippy template-lint

fmt-check:
	cargo fmt --all -- --check

# Once, over the whole workspace: the contract tool turns billing-core's `openapi` feature on, so
# every line is linted (the feature only adds code).
clippy:
	cargo clippy --workspace --all-targets -- -D warnings

template-lint: setup
	$(VENV)/bin/cfn-lint template.yaml
	$(VENV)/bin/sam validate --lint --template template.yaml
	$(VENV)/bin/pytest -q tests/template

unit:
	cargo test --workspace --exclude billing-contract
	cargo test -p billing-contract

## make e2e: the suite against a stack of its own, then again under the fake's non-default
## readings of undocumented Stripe behaviour and webhooks in an older API version (E2E_VARIANT=1),
## then `make e2e-stripe` rehearsed against an empty fake (only Stripe's public API, no network).
e2e: build
	$(VENV)/bin/pytest -q tests/e2e
	E2E_VARIANT=1 $(VENV)/bin/pytest -q -p no:cacheprovider tests/e2e
	scripts/e2e-stripe --rehearse
	$(PY) tests/security/scan_logs.py .dev/logs/e2e .dev/logs/e2e-billing-disabled .dev/logs/e2e-variant \
		.dev/logs/e2e-variant-billing-disabled

## make e2e-stripe: the suite against Stripe test mode (needs network and a test account, so not
## on CI): STRIPE_SECRET_KEY=sk_test_… STRIPE_PUBLISHABLE_KEY=pk_test_… make e2e-stripe
e2e-stripe: build
	scripts/e2e-stripe

## make reliability: races from 4 processes, a webhook storm, and Stripe/DynamoDB fault injection at
## every upstream step, against its own stack on free 127.0.0.1 ports. RELIABILITY_SCALE=N: bigger.
reliability: build
	$(VENV)/bin/pytest -q tests/reliability

## make reliability-full: every fault kind on every upstream step (Stripe and DynamoDB, timeouts
## held on every attempt), about 20 minutes on 2 cores; its last result is in the README.
reliability-full: build
	RELIABILITY_FULL_MATRIX=1 $(VENV)/bin/pytest -q tests/reliability

## make security: authorization matrix (every route × roles, bad tokens, cross-org ids), schemathesis
## fuzzing from openapi.json (SECURITY_FUZZ_EXAMPLES, default 20; SECURITY_FUZZ_SEED replays),
## oversized and nested bodies, no panics, no secrets in its logs; its own stack on free ports.
security: build
	$(VENV)/bin/pytest -q tests/security

web-setup:
	@bash scripts/setup-web.sh

## make web-test: the billing web app — eslint, tsc, OpenAPI drift, Vitest (stories), storybook
## build, next build, Playwright (Debian Chromium) against its own stack on free 127.0.0.1 ports.
web-test: build web-setup
	cd web && bash scripts/test.sh

## make readme: every shell block of README.md, web/README.md and tests/*/README.md, checked as its
## marker says (tests/readme): `make dev` is started on free ports, the commands run against it, the
## benchmark harness runs in its quick mode.
readme: build web-setup
	$(VENV)/bin/pytest -q tests/readme

## make openapi: rewrite openapi.json from the endpoints' contracts (`make unit` fails while it
## is stale); the contract tool tests/contract builds billing-core with its `openapi` feature.
openapi:
	UPDATE_OPENAPI=1 cargo test -p billing-contract

## make package: `sam build` of every function for provided.al2023 arm64, offline; prints the sizes.
package: setup
	bash scripts/package.sh

## make package-test: make package, then check each bootstrap (aarch64 ELF, glibc <= 2.34, no
## debug info). Separate from `make test` because the release arm64 build takes ~20 min on 2 cores;
## .ci/run runs both.
package-test: package
	$(VENV)/bin/pytest -q tests/package

## make bench: the performance benchmark (tests/bench/README.md) — cold start, warm round trip,
## upstream calls, peak RSS against an empty lambda_http and a Python baseline, package sizes
## (from `make package`, run it first); writes tests/bench/results.md.
bench: setup
	bash tests/bench/run.sh

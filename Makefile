# Tenantry. `make test` is what CI runs (.ci/run); the local stack is scripts/stack.sh.
SHELL := /bin/bash
.DEFAULT_GOAL := help

STACK := scripts/stack.sh
SOAK_DURATION ?= 3m

.PHONY: help run spa e2e console test lint fuzz generate bench stack-up stack-down stack-status stack-tools outbox-status soak

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  make %-13s %s\n", $$1, $$2 }'

run: stack-up ## start the stack (if needed) and run the server on 127.0.0.1:8080 (mail lands in mailpit, http://127.0.0.1:8025)
	eval "$$($(STACK) env)" && go run ./cmd/tenantry serve

spa: ## serve the example SPA (examples/react-spa) on http://127.0.0.1:5173 against `make run`'s server; run `make run` in another shell first
	@[[ -d node_modules/vite ]] || npm ci --ignore-scripts --no-audit --no-fund
	npm run spa

e2e: stack-up ## only the browser end-to-end tests (Chromium; screenshots in e2e-artifacts/)
	eval "$$($(STACK) env)" && npm run e2e

console: ## rebuild the sales console (web/playground) into internal/server/playground, which the binary embeds
	npm run build:console

test: ## everything CI checks: generated code (Go and TypeScript), gofmt, vet, staticcheck, tsc, vitest, go test against the emulators, browser tests in Chromium
	scripts/test.sh

fuzz: stack-up ## run every Go fuzzer for FUZZTIME each (default 10m; `make test` runs them 4s each), e.g. make fuzz FUZZTIME=30s
	eval "$$($(STACK) env)" && scripts/fuzz.sh $(or $(FUZZTIME),10m)

lint: ## gofmt, go vet and staticcheck only
	scripts/test.sh lint

generate: ## regenerate the checked-in generated code (gqlgen, firestore.rules, the TypeScript client's types)
	go generate ./...
	npm run codegen

bench: stack-up ## run the benchmarks against the emulators, mailpit and stripe-mock (BENCHFLAGS="-benchtime 1x" for one pass) (figures are printed, not asserted)
	eval "$$($(STACK) env)" && go test -run '^$$' -bench . $(BENCHFLAGS) ./bench/...

outbox-status: stack-up ## outbox counts by state and the dead-lettered entries (local stack)
	eval "$$($(STACK) env)" && go run ./cmd/tenantry jobs outbox-status

stack-tools: ## install the pinned tools the stack needs (mailpit, stripe-mock, fake-gcs-server) into .stack/bin
	$(STACK) tools

stack-up: ## start the local emulators, mailpit, stripe-mock and fake-gcs-server (idempotent)
	$(STACK) up

stack-down: ## stop the services stack-up started
	$(STACK) down

stack-status: ## show which services answer
	$(STACK) status

soak: stack-up ## the load run: 3 replicas, concurrency 32, faults on a schedule, then the invariants (SOAK_DURATION=3m, at most 10m; SOAK_MAX_REQUESTS; SOAK_LOG_DIR keeps the replicas' logs)
	eval "$$($(STACK) env)" && SOAK_DURATION=$(SOAK_DURATION) go test -tags soak -count=1 -timeout 60m -run TestSoak -v ./bench/soak

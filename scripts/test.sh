#!/usr/bin/env bash
# What `make test` runs (and `make lint`, with the argument "lint").
#
#   scripts/test.sh        stack (started only if not already up), generated-code drift checks
#                          (Go, the TypeScript client's types, the embedded sales console), gofmt,
#                          go vet, staticcheck, TypeScript type checks and vitest, go test against
#                          the emulators, each fuzzer for TEST_FUZZTIME (default 4s), then the
#                          browser end-to-end tests (e2e/) in Chromium
#   scripts/test.sh lint   gofmt, go vet, staticcheck only (no stack, no tests)
#
# The browser tests need Debian's chromium (/usr/bin/chromium, or CHROMIUM): without it they are
# not run and a warning box says so, except on CI (CI=true), where a missing Chromium fails.
#
# The emulators that are not already answering are started in the background while the static
# checks run, and only those are stopped again when the script exits (a trap), whatever the
# outcome. Tests need the emulators: if they cannot be started this script fails; it never skips.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
STACK="$ROOT/scripts/stack.sh"
MODE="${1:-all}"

T_START="${EPOCHREALTIME/,/.}"
secs() { awk -v a="$1" -v b="${EPOCHREALTIME/,/.}" 'BEGIN { printf "%.1f", b - a }'; }
PHASE_T0=""
PHASE_NAME=""
begin() {
	PHASE_NAME="$1"
	PHASE_T0="${EPOCHREALTIME/,/.}"
	printf '\n==> %s\n' "$PHASE_NAME"
}
end() { printf '<== %s: ok (%ss)\n' "$PHASE_NAME" "$(secs "$PHASE_T0")"; }
fail() {
	printf '\nFAIL: %s\n' "$*" >&2
	exit 1
}

# --- static checks --------------------------------------------------------------------------

check_generated() {
	begin "generated code is up to date (go generate ./...)"
	go generate ./...
	if ! git diff --exit-code -- graph firestore.rules resolvers; then
		fail "generated code is stale: run go generate ./... and commit"
	fi
	# On CI the checkout is clean, so new untracked files there are generated files nobody committed.
	if [[ "${CI:-}" == true ]]; then
		local untracked
		untracked="$(git ls-files --others --exclude-standard -- graph firestore.rules resolvers)"
		if [[ -n "$untracked" ]]; then
			printf '%s\n' "$untracked" >&2
			fail "generated code is stale: run go generate ./... and commit"
		fi
	fi
	end
}

# The JavaScript workspaces (npm ci installs them): the client's generated types must match
# schema.graphqls, and the embedded sales console's build its sources and locked packages.
check_js_generated() {
	begin "TypeScript client types and the embedded sales console are up to date"
	[[ -d node_modules/@graphql-codegen/cli ]] || fail "node_modules is missing the JavaScript workspaces: run npm ci --ignore-scripts"
	npm run --silent codegen -w @tenantry/react >/dev/null || fail "graphql-codegen failed (npm run codegen -w @tenantry/react)"
	if ! git diff --exit-code -- clients/react/src/generated; then
		fail "clients/react/src/generated is stale: run npm run codegen -w @tenantry/react and commit"
	fi
	node web/playground/digest.mjs --check || fail "the embedded sales console is stale"
	end
}

check_typescript() {
	begin "tsc --noEmit (client, example SPA, sales console) and vitest"
	local ws
	for ws in clients/react examples/react-spa web/playground; do
		npx --no-install tsc --noEmit -p "$ws" || fail "TypeScript errors in $ws"
	done
	(cd clients/react && npx --no-install vitest run) || fail "vitest failed in clients/react"
	end
}

check_gofmt() {
	begin "gofmt -l"
	local files unformatted
	files="$(find . \( -name node_modules -o -name .stack -o -name .git \) -prune -o -name '*.go' -print)"
	if [[ -n "$files" ]]; then
		# shellcheck disable=SC2086 # word splitting intended; Go file names have no spaces here
		unformatted="$(gofmt -l $files)"
		if [[ -n "$unformatted" ]]; then
			printf '%s\n' "$unformatted" >&2
			fail "these files are not gofmt-formatted: run gofmt -w on them"
		fi
	fi
	end
}

check_vet() {
	begin "go vet ./..."
	go vet ./... || fail "go vet reported problems"
	end
}

check_staticcheck() {
	begin "staticcheck ./..."
	go tool staticcheck ./... || fail "staticcheck reported problems"
	end
}

if [[ "$MODE" == lint ]]; then
	check_gofmt
	check_vet
	check_staticcheck
	printf '\nlint: ok (%ss)\n' "$(secs "$T_START")"
	exit 0
fi
[[ "$MODE" == all ]] || fail "unknown mode '$MODE' (want: lint, or nothing)"

# --- stack: start what is not up, in the background --------------------------------------------

STARTED=()  # services this script started, and so stops
UP_PID=""   # the background `stack.sh up`
UP_LOG="$ROOT/.stack/logs/test-stack-up.log"

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [[ -n "$UP_PID" ]] && kill -0 "$UP_PID" 2>/dev/null; then
		kill "$UP_PID" 2>/dev/null || true
		wait "$UP_PID" 2>/dev/null || true
	fi
	if ((${#STARTED[@]})); then
		printf '\n==> stopping the services this run started: %s\n' "${STARTED[*]}"
		"$STACK" down "${STARTED[@]}" || true
	fi
	printf '\ntest.sh: %s after %ss\n' "$([[ $rc -eq 0 ]] && echo ok || echo "FAILED (exit $rc)")" "$(secs "$T_START")"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for s in $("$STACK" services); do
	"$STACK" status "$s" >/dev/null 2>&1 || STARTED+=("$s")
done
mkdir -p "$(dirname "$UP_LOG")"
if ((${#STARTED[@]})); then
	printf '==> starting in the background: %s (log %s)\n' "${STARTED[*]}" "$UP_LOG"
	"$STACK" up "${STARTED[@]}" >"$UP_LOG" 2>&1 &
	UP_PID=$!
else
	printf '==> local stack already up; reusing it and leaving it running\n'
fi

check_generated
check_js_generated
check_gofmt
check_vet
check_staticcheck
check_typescript

# --- tests against the emulators --------------------------------------------------------------

begin "local stack ready"
if [[ -n "$UP_PID" ]]; then
	up_rc=0
	wait "$UP_PID" || up_rc=$?
	UP_PID=""
	cat "$UP_LOG"
	((up_rc == 0)) || fail "the local stack did not start (scripts/stack.sh up exited $up_rc); tests need the emulators"
fi
"$STACK" status || fail "the emulators are not reachable; tests need them (scripts/stack.sh up)"
end

begin "go test -count=1 -timeout 12m ./..."
eval "$("$STACK" env)"
go test -count=1 -timeout 12m ./... || fail "go test failed"
end

# The seeds ran above as tests; now each fuzzer mutates them for a short while (make fuzz for longer).
begin "fuzzers, ${TEST_FUZZTIME:=4s} each (scripts/fuzz.sh)"
scripts/fuzz.sh "$TEST_FUZZTIME" || fail "a fuzzer failed: its input is in testdata/fuzz/ of the package above"
end

# --- the browser end-to-end tests -------------------------------------------------------------

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [[ -x "$CHROMIUM" ]]; then
	begin "browser end-to-end tests in Chromium (e2e/, screenshots in ${E2E_ARTIFACTS:-e2e-artifacts})"
	mkdir -p "${E2E_ARTIFACTS:-e2e-artifacts}"
	CHROMIUM="$CHROMIUM" node --test --test-concurrency=1 \
		--test-reporter=spec --test-reporter-destination=stdout \
		--test-reporter=tap --test-reporter-destination="${E2E_ARTIFACTS:-e2e-artifacts}/results.tap" \
		e2e/ || fail "the browser end-to-end tests failed (screenshots: ${E2E_ARTIFACTS:-e2e-artifacts}/)"
	end
elif [[ "${CI:-}" == true ]]; then
	fail "no Chromium at $CHROMIUM: CI must run the browser tests (apt-get install -y chromium)"
else
	printf '\n%s\n' "#########################################################################################"
	printf '%s\n' "#  WARNING: the browser end-to-end tests (e2e/) did NOT run: no Chromium at $CHROMIUM."
	printf '%s\n' "#  Install it with: apt-get update && apt-get install -y chromium   (CI installs it itself)"
	printf '%s\n\n' "#########################################################################################"
fi

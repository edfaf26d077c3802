#!/usr/bin/env bash
# Runs every native Go fuzzer (func FuzzXxx in a _test.go file) with -fuzz for a while each:
#
#   scripts/fuzz.sh [FUZZTIME]     FUZZTIME as go test -fuzztime takes it (default 10s), e.g. 10m
#
# Their seeds (f.Add and testdata/fuzz/<FuzzName>/) already run as tests in every `go test`. The
# fuzzers of tests/ need the stack (eval "$(scripts/stack.sh env)" first). A failing input is
# written to testdata/fuzz/<FuzzName>/ of its package: commit it, and it stays a seed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
FUZZTIME="${1:-10s}"
# Go minimizes every new interesting input for up to 60s by default, and counts no executions
# meanwhile; the fuzzers at the edges cost milliseconds an input, so a short run would spend its
# whole time minimizing. Failing inputs are minimized too, within the same bound.
MINIMIZE="${FUZZMINIMIZETIME:-3s}"

mapfile -t found < <(grep -rE --include='*_test.go' -l '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' \
	--exclude-dir=node_modules --exclude-dir=.stack --exclude-dir=.git . | sort)
((${#found[@]})) || { echo "fuzz.sh: no fuzzers found" >&2; exit 1; }
for file in "${found[@]}"; do
	pkg="./$(dirname "${file#./}")"
	for name in $(grep -oE '^func Fuzz[A-Za-z0-9_]*' "$file" | cut -d' ' -f2); do
		printf -- '--- %s %s (%s)\n' "$pkg" "$name" "$FUZZTIME"
		go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$MINIMIZE" "$pkg"
	done
done

#!/usr/bin/env bash
# Tenantry's local stack: real emulators on loopback, fixed ports.
#
#   scripts/stack.sh up [service...]      start what is not already answering, wait until ready
#   scripts/stack.sh down [service...]    stop what `up` started (quiet no-op when nothing runs)
#   scripts/stack.sh status [service...]  one line per service; exit 1 if any is not answering
#   scripts/stack.sh env                  export lines: eval "$(scripts/stack.sh env)"
#   scripts/stack.sh services             the known service names, one per line
#   scripts/stack.sh tools                install the pinned tools the services need (mailpit, stripe-mock, fake-gcs-server), if missing
#
# Services (all bound to 127.0.0.1):
#   firestore  Firestore emulator (java)                  127.0.0.1:8181  project demo-tenantry
#   auth       Firebase Auth emulator (firebase-tools)    127.0.0.1:9099
#   mailpit    SMTP sink with an HTTP API (mailpit)       SMTP 127.0.0.1:1025, HTTP 127.0.0.1:8025
#   stripe     Stripe API mock (stripe-mock)              HTTP 127.0.0.1:12111, HTTPS 127.0.0.1:12112
#   storage    Cloud Storage emulator (fake-gcs-server)   HTTP 127.0.0.1:9199, bucket tenantry-exports (exports)
#
# A service that already answers on its port is reused, not restarted, and `down` leaves it alone
# (it only stops processes whose pid file `up` wrote in .stack/). Logs are in .stack/logs/ (NAME.log,
# and NAME.log.1 from the run before).
#
# Rules: the Firestore emulator loads firestore.rules once, at start, and does not watch the file.
# After editing firestore.rules run `scripts/stack.sh down && scripts/stack.sh up`, or load rules at
# run time with PUT /emulator/v1/projects/demo-tenantry:securityRules (the rules tests do this via
# internal/testenv's Env.SetRules).
#
# Tools: mailpit, stripe-mock and fake-gcs-server are Go modules pinned below (MAILPIT_VERSION,
# STRIPE_MOCK_VERSION, FAKE_GCS_VERSION);
# `up` (or `tools`) installs them with `go install` into .stack/bin when a binary is missing, so CI
# needs nothing but Go. Tests read delivered mail through mailpit's HTTP API
# (internal/testenv/mailpit.go). stripe-mock is stateless: it answers every Stripe call with a
# canned object (its OpenAPI spec matches stripe-go v76, API version 2023-10-16) and keeps nothing.
# fake-gcs-server stands in for Cloud Storage (the firebase-tools Storage emulator needs Java 21 and
# downloads a jar at first start); it keeps objects in memory, and Tenantry creates the exports'
# bucket in it on first use.
#
# Adding a service: write the
# svc_<name>_* functions in the "services" section below, append the name to SERVICES, and add its
# variables to cmd_env.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK_DIR="$ROOT/.stack"
LOG_DIR="$STACK_DIR/logs"
SCRATCH_DIR="$STACK_DIR/scratch" # HOME and TMPDIR for the firebase CLI

PROJECT_ID="demo-tenantry"
HOST="127.0.0.1"
FIRESTORE_PORT=8181
AUTH_PORT=9099
FIRESTORE_JAR="${FIRESTORE_EMULATOR_JAR:-/usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar}"
MAILPIT_SMTP_PORT=1025
MAILPIT_HTTP_PORT=8025
MAILPIT_VERSION="v1.33.1"
BIN_DIR="$STACK_DIR/bin" # pinned tools installed by `go install` (GOBIN)
MAILPIT_BIN="$BIN_DIR/mailpit"
STRIPE_HTTP_PORT=12111
STRIPE_HTTPS_PORT=12112
STRIPE_MOCK_VERSION="v0.162.0" # its spec matches stripe-go v76 (API version 2023-10-16)
STRIPE_MOCK_BIN="$BIN_DIR/stripe-mock"
STORAGE_PORT=9199
FAKE_GCS_VERSION="v1.56.1"
FAKE_GCS_BIN="$BIN_DIR/fake-gcs-server"
EXPORT_BUCKET="tenantry-exports"

# Start order; `down` stops in reverse order.
SERVICES=(firestore auth mailpit stripe storage)

log() { printf 'stack: %s\n' "$*" >&2; }
die() {
	printf 'stack: ERROR: %s\n' "$*" >&2
	exit 1
}

now() { printf '%s' "${EPOCHREALTIME/,/.}"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# http_code URL prints the HTTP status code, or 000 when nothing answers.
http_code() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------------
# services: for each name in SERVICES, define
#   svc_<name>_addr      host:port, for messages
#   svc_<name>_ready     exit 0 when the service answers as expected
#   svc_<name>_start     start it in the background in its own session; the started process must
#                        write its own pid to "$(pid_file <name>)" (see spawn)
#   svc_<name>_timeout   seconds to wait for readiness
#   svc_<name>_signal    signal for a graceful stop (sent to the whole process group)
#   svc_<name>_match     a string the process's command line contains (guards against pid reuse)
# ---------------------------------------------------------------------------------------------

# --- firestore: the Firestore emulator, the java process itself (no gcloud wrapper) ---
svc_firestore_addr() { echo "$HOST:$FIRESTORE_PORT"; }
svc_firestore_ready() {
	local body
	body="$(curl -s --max-time 2 "http://$HOST:$FIRESTORE_PORT/" 2>/dev/null || true)"
	[[ "$body" == Ok* ]]
}
svc_firestore_timeout() { echo 60; }
svc_firestore_signal() { echo TERM; }
svc_firestore_match() { echo CloudFirestore; }
svc_firestore_start() {
	[[ -f "$FIRESTORE_JAR" ]] || die "Firestore emulator jar not found at $FIRESTORE_JAR (set FIRESTORE_EMULATOR_JAR)"
	command -v java >/dev/null || die "java not found (the Firestore emulator needs Java 11+)"
	spawn firestore "$ROOT" \
		java -Duser.language=en -cp "$FIRESTORE_JAR" \
		com.google.cloud.datastore.emulator.firestore.CloudFirestore \
		--host "$HOST" --port "$FIRESTORE_PORT" --project_id "$PROJECT_ID" \
		--rules "$ROOT/firestore.rules"
}

# --- auth: the Firebase Auth emulator from the pinned firebase-tools ---
svc_auth_addr() { echo "$HOST:$AUTH_PORT"; }
svc_auth_ready() { [[ "$(http_code "http://$HOST:$AUTH_PORT/")" != 000 ]]; }
svc_auth_timeout() { echo 90; }
svc_auth_signal() { echo INT; }
svc_auth_match() { echo firebase; }
svc_auth_start() {
	if [[ ! -x "$ROOT/node_modules/.bin/firebase" ]]; then
		log "node_modules/.bin/firebase missing: npm ci --ignore-scripts --no-audit --no-fund"
		(cd "$ROOT" && npm ci --ignore-scripts --no-audit --no-fund) >&2 || die "npm ci failed"
	fi
	mkdir -p "$SCRATCH_DIR/home" "$SCRATCH_DIR/tmp"
	HOME="$SCRATCH_DIR/home" TMPDIR="$SCRATCH_DIR/tmp" \
		NO_UPDATE_NOTIFIER=1 \
		spawn auth "$ROOT" \
		npx --no firebase emulators:start --only auth --project "$PROJECT_ID"
}

# --- mailpit: the SMTP sink, pinned Go module, with its HTTP API for tests ---
svc_mailpit_addr() { echo "smtp $HOST:$MAILPIT_SMTP_PORT, http $HOST:$MAILPIT_HTTP_PORT"; }
svc_mailpit_ready() {
	[[ "$(http_code "http://$HOST:$MAILPIT_HTTP_PORT/readyz")" == 200 ]] &&
		(exec 3<>"/dev/tcp/$HOST/$MAILPIT_SMTP_PORT") 2>/dev/null
}
svc_mailpit_timeout() { echo 30; }
svc_mailpit_signal() { echo TERM; }
svc_mailpit_match() { echo mailpit; }
svc_mailpit_start() {
	install_mailpit
	# --max 0: keep every message (the default prunes beyond 500, and benchmarks send thousands);
	# no version check and no reverse DNS (there is no network here). No TLS and no SMTP auth:
	# SMTP_URL has no credentials locally (Tenantry never sends a password without TLS).
	spawn mailpit "$ROOT" \
		"$MAILPIT_BIN" \
		--smtp "$HOST:$MAILPIT_SMTP_PORT" --listen "$HOST:$MAILPIT_HTTP_PORT" \
		--max 0 --disable-version-check --smtp-disable-rdns --quiet
}

# install_mailpit installs the pinned mailpit into .stack/bin unless it is already there.
install_mailpit() { install_go_tool mailpit github.com/axllent/mailpit "$MAILPIT_VERSION" "$MAILPIT_BIN"; }

# --- stripe: stripe-mock, pinned Go module, plain HTTP for Tenantry (STRIPE_API_URL) ---
svc_stripe_addr() { echo "http $HOST:$STRIPE_HTTP_PORT, https $HOST:$STRIPE_HTTPS_PORT"; }
# Any HTTP answer will do: stripe-mock answers 401 to a request without an API key.
svc_stripe_ready() { [[ "$(http_code "http://$HOST:$STRIPE_HTTP_PORT/v1/customers")" != 000 ]]; }
svc_stripe_timeout() { echo 30; }
svc_stripe_signal() { echo TERM; }
svc_stripe_match() { echo stripe-mock; }
svc_stripe_start() {
	install_stripe_mock
	# Both listeners bound explicitly to loopback: without -https-addr stripe-mock would also
	# open its default HTTPS port on every interface.
	spawn stripe "$ROOT" \
		"$STRIPE_MOCK_BIN" \
		-http-addr "$HOST:$STRIPE_HTTP_PORT" -https-addr "$HOST:$STRIPE_HTTPS_PORT"
}

install_stripe_mock() { install_go_tool stripe-mock github.com/stripe/stripe-mock "$STRIPE_MOCK_VERSION" "$STRIPE_MOCK_BIN"; }

# --- storage: fake-gcs-server, pinned Go module, the Cloud Storage JSON API (STORAGE_EMULATOR_HOST) ---
svc_storage_addr() { echo "http $HOST:$STORAGE_PORT"; }
svc_storage_ready() { [[ "$(http_code "http://$HOST:$STORAGE_PORT/storage/v1/b")" == 200 ]]; }
svc_storage_timeout() { echo 30; }
svc_storage_signal() { echo TERM; }
svc_storage_match() { echo fake-gcs-server; }
svc_storage_start() {
	install_fake_gcs
	# Plain HTTP on loopback, objects in memory; -public-host makes the URLs it hands out (media
	# links, resumable upload sessions) point back at the same address.
	spawn storage "$ROOT" \
		"$FAKE_GCS_BIN" \
		-scheme http -host "$HOST" -port "$STORAGE_PORT" -public-host "$HOST:$STORAGE_PORT" -backend memory
}

install_fake_gcs() { install_go_tool fake-gcs-server github.com/fsouza/fake-gcs-server "$FAKE_GCS_VERSION" "$FAKE_GCS_BIN"; }

# install_go_tool NAME MODULE VERSION BIN installs MODULE@VERSION into .stack/bin unless BIN is
# already that version.
install_go_tool() {
	local name="$1" module="$2" version="$3" bin="$4"
	# The stamp records which version the binary is (binaries built by go install report "dev").
	if [[ -x "$bin" && "$(cat "$bin.version" 2>/dev/null)" == "$version" ]]; then
		return 0
	fi
	command -v go >/dev/null || die "go not found: $name is installed with go install"
	mkdir -p "$BIN_DIR"
	log "$name: go install $module@$version into $BIN_DIR (once; takes a minute or two)"
	GOBIN="$BIN_DIR" GOFLAGS="${GOFLAGS:-} -buildvcs=false" go install "$module@$version" >&2 ||
		die "$name: go install failed"
	echo "$version" >"$bin.version"
}

cmd_tools() {
	install_mailpit
	install_stripe_mock
	install_fake_gcs
}

# ---------------------------------------------------------------------------------------------
# machinery
# ---------------------------------------------------------------------------------------------

pid_file() { echo "$STACK_DIR/$1.pid"; }
log_file() { echo "$LOG_DIR/$1.log"; }

is_service() {
	local s
	for s in "${SERVICES[@]}"; do [[ "$s" == "$1" ]] && return 0; done
	return 1
}

# spawn NAME DIR CMD... runs CMD in DIR in a new session (so it is its own process group and a
# Ctrl-C in the calling terminal does not reach it), logging to .stack/logs/NAME.log. The inner
# shell writes its own pid and then execs CMD, so the pid file holds CMD's pid (for java: the java
# process itself) and that pid is also the process group id.
spawn() {
	local name="$1" dir="$2"
	shift 2
	local pf lf
	pf="$(pid_file "$name")"
	lf="$(log_file "$name")"
	rm -f "$pf"
	if [[ -f "$lf" ]]; then mv -f "$lf" "$lf.1"; fi # keep the previous run's log
	printf '=== %s: %s\n' "$(date -u +%FT%TZ)" "$*" >"$lf"
	(cd "$dir" && setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pf" "$@" </dev/null >>"$lf" 2>&1 &)
	local i
	for i in $(seq 1 50); do
		[[ -s "$pf" ]] && return 0
		sleep 0.05
	done
	die "$name: the process did not start (see $lf)"
}

# owned_pid NAME prints the pid of the process `up` started for NAME, if it still runs.
owned_pid() {
	local pf pid cmdline=""
	pf="$(pid_file "$1")"
	[[ -s "$pf" ]] || return 1
	pid="$(<"$pf")"
	if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
		cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
		if [[ "$cmdline" == *"$("svc_$1_match")"* ]]; then
			echo "$pid"
			return 0
		fi
	fi
	rm -f "$pf" # stale
	return 1
}

tail_log() {
	local lf
	lf="$(log_file "$1")"
	if [[ -f "$lf" ]]; then
		printf -- '--- last 40 lines of %s ---\n' "$lf" >&2
		tail -n 40 "$lf" >&2
		printf -- '--- end of %s ---\n' "$lf" >&2
	fi
}

# launch_service NAME starts NAME unless it already answers; returns 1 when it was reused.
declare -A STARTED_AT=()
launch_service() {
	local s="$1" pid
	if "svc_${s}_ready"; then
		if pid="$(owned_pid "$s")"; then
			log "$s: already running on $("svc_${s}_addr") (pid $pid)"
		else
			log "$s: already answering on $("svc_${s}_addr"), reusing it (not started by this script; down leaves it alone)"
		fi
		return 1
	fi
	if pid="$(owned_pid "$s")"; then
		log "$s: pid $pid from an earlier up is not answering; stopping it first"
		stop_service "$s"
	fi
	STARTED_AT[$s]="$(now)"
	"svc_${s}_start"
}

# await_service NAME waits until NAME (launched by launch_service) answers, or fails with its log.
await_service() {
	local s="$1" t0="${STARTED_AT[$1]}" timeout pid
	pid="$(<"$(pid_file "$s")")"
	timeout="$("svc_${s}_timeout")"
	while ! "svc_${s}_ready"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			tail_log "$s"
			rm -f "$(pid_file "$s")"
			die "$s: the process (pid $pid) exited before $("svc_${s}_addr") answered; log: $(log_file "$s")"
		fi
		if awk -v a="$t0" -v b="$(now)" -v t="$timeout" 'BEGIN { exit !(b - a > t) }'; then
			tail_log "$s"
			stop_service "$s"
			die "$s: not ready on $("svc_${s}_addr") after ${timeout}s; log: $(log_file "$s")"
		fi
		sleep 0.2
	done
	log "$s: ready on $("svc_${s}_addr") in $(elapsed "$t0")s (pid $pid, log $(log_file "$s"))"
}

stop_service() {
	local s="$1" pid sig i
	pid="$(owned_pid "$s")" || return 0
	sig="$("svc_${s}_signal")"
	# The pid is its own process group (setsid): signal the group, so npx's children go too.
	kill -s "$sig" -- "-$pid" 2>/dev/null || kill -s "$sig" "$pid" 2>/dev/null || true
	# Wait for the whole group: npx may exit before the firebase CLI has finished shutting down.
	for i in $(seq 1 100); do # up to 20 s
		kill -0 -- "-$pid" 2>/dev/null || kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 -- "-$pid" 2>/dev/null || kill -0 "$pid" 2>/dev/null; then
		log "$s: pid $pid ignored SIG$sig for 20s, sending SIGKILL"
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
		sleep 0.2
	fi
	# Leftovers in the group (a node child that outlived npx, say).
	kill -KILL -- "-$pid" 2>/dev/null || true
	rm -f "$(pid_file "$s")"
	log "$s: stopped (pid $pid)"
}

# select_services SERVICE... sets NAMES to the given services (validated), or to all of them.
NAMES=()
select_services() {
	if [[ $# -eq 0 ]]; then
		NAMES=("${SERVICES[@]}")
		return
	fi
	local s
	for s in "$@"; do
		is_service "$s" || die "unknown service '$s' (known: ${SERVICES[*]})"
	done
	NAMES=("$@")
}

cmd_up() {
	local s launched=()
	select_services "$@"
	mkdir -p "$LOG_DIR" "$SCRATCH_DIR"
	# Start everything first, then wait: the services boot in parallel.
	for s in "${NAMES[@]}"; do
		if launch_service "$s"; then launched+=("$s"); fi
	done
	for s in "${launched[@]}"; do await_service "$s"; done
}

cmd_down() {
	local i
	select_services "$@"
	for ((i = ${#NAMES[@]} - 1; i >= 0; i--)); do stop_service "${NAMES[i]}"; done
}

cmd_status() {
	local s pid rc=0
	select_services "$@"
	for s in "${NAMES[@]}"; do
		if "svc_${s}_ready"; then
			if pid="$(owned_pid "$s")"; then
				echo "$s: up on $("svc_${s}_addr") (pid $pid, started by stack.sh)"
			else
				echo "$s: up on $("svc_${s}_addr") (external)"
			fi
		else
			if pid="$(owned_pid "$s")"; then
				echo "$s: NOT answering on $("svc_${s}_addr") (pid $pid running; log $(log_file "$s"))"
			else
				echo "$s: down"
			fi
			rc=1
		fi
	done
	return "$rc"
}

cmd_env() {
	cat <<EOF
export FIRESTORE_EMULATOR_HOST=$HOST:$FIRESTORE_PORT
export FIREBASE_AUTH_EMULATOR_HOST=$HOST:$AUTH_PORT
export GOOGLE_CLOUD_PROJECT=$PROJECT_ID
export SMTP_URL=smtp://$HOST:$MAILPIT_SMTP_PORT
export MAILPIT_API=http://$HOST:$MAILPIT_HTTP_PORT
export STRIPE_API_URL=http://$HOST:$STRIPE_HTTP_PORT
export STRIPE_SECRET_KEY=sk_test_123
export STRIPE_WEBHOOK_SECRET=whsec_test
export STORAGE_EMULATOR_HOST=$HOST:$STORAGE_PORT
export TENANTRY_EXPORT_BUCKET=$EXPORT_BUCKET
EOF
}

usage() {
	sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit "${1:-2}"
}

main() {
	[[ $# -ge 1 ]] || usage
	local cmd="$1"
	shift
	case "$cmd" in
	up) cmd_up "$@" ;;
	down) cmd_down "$@" ;;
	status) cmd_status "$@" ;;
	env) cmd_env ;;
	services) printf '%s\n' "${SERVICES[@]}" ;;
	tools) cmd_tools ;;
	-h | --help | help) usage 0 ;;
	*)
		log "unknown command '$cmd'"
		usage
		;;
	esac
}

main "$@"

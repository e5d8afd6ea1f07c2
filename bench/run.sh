#!/usr/bin/env bash
# make bench: supervisord and ocp-agent side by side on identical managed
# programs (bench/managed), measured by bench/cmd/benchdrive; prints one
# table. Everything lives in a temporary directory, and everything started
# here is killed at the end, on failure too.
#
# Environment: BENCH_IDLE (idle CPU window, default 60s), BENCH_LOAD
# (length of each load run, default 10s), BENCH_BURSTS (rounds of 100
# stops, starts and restarts at once, default 5), BENCH_KEEP=1 keeps the
# directory.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
GO=${GO:-go}
IDLE=${BENCH_IDLE:-60s}
LOAD=${BENCH_LOAD:-10s}
BURSTS=${BENCH_BURSTS:-5}

if ! command -v supervisord >/dev/null; then
	echo "== installing supervisor (Debian package)" >&2
	if [ "$(id -u)" -ne 0 ]; then
		echo "bench: supervisord is missing and installing it needs root" >&2
		exit 1
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq supervisor >/dev/null
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ocp-bench.XXXXXX")
SV_PID=
AGENT_PID=

# kill_managed ends the managed programs still running: only processes
# whose executable is this run's copy of the managed program.
kill_managed() {
	local p exe
	for p in /proc/[0-9]*; do
		exe=$(readlink "$p/exe" 2>/dev/null) || continue
		if [ "$exe" = "$WORK/managed" ]; then
			kill -KILL "${p#/proc/}" 2>/dev/null || true
		fi
	done
}

# stop_managers stops supervisord (which stops its programs) and the agent
# (which leaves them running, by design), then kills what is left.
stop_managers() {
	if [ -n "$SV_PID" ]; then
		kill -TERM "$SV_PID" 2>/dev/null || true
		for _ in $(seq 100); do kill -0 "$SV_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$SV_PID" 2>/dev/null || true
		wait "$SV_PID" 2>/dev/null || true
		SV_PID=
	fi
	if [ -n "$AGENT_PID" ]; then
		kill -TERM "$AGENT_PID" 2>/dev/null || true
		for _ in $(seq 100); do kill -0 "$AGENT_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$AGENT_PID" 2>/dev/null || true
		wait "$AGENT_PID" 2>/dev/null || true
		AGENT_PID=
	fi
	kill_managed
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	stop_managers
	if [ "${BENCH_KEEP:-}" = 1 ] || [ "$rc" -ne 0 ]; then
		echo "bench: logs and state kept in $WORK" >&2
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT INT TERM

echo "== building into $WORK" >&2
# The agent is built as the packages build it (make package): static,
# stripped.
(cd "$ROOT" && CGO_ENABLED=0 $GO build -trimpath -ldflags '-s -w' -o "$WORK/ocp-agent" ./cmd/ocp-agent \
	&& $GO build -trimpath -o "$WORK/managed" ./bench/managed \
	&& $GO build -trimpath -o "$WORK/benchdrive" ./bench/cmd/benchdrive)
DRIVE="$WORK/benchdrive"
RESULTS="$WORK/results.jsonl"

# start DIR [sv] [agent]: starts the managers of a phase on its configs.
start() {
	local dir=$1; shift
	for m in "$@"; do
		case $m in
		sv)
			supervisord -n -c "$dir/supervisord.conf" >"$dir/sv/stdout.log" 2>&1 &
			SV_PID=$!
			;;
		agent)
			"$WORK/ocp-agent" run --config "$dir/agent.yaml" >"$dir/agent/agent.log" 2>&1 &
			AGENT_PID=$!
			;;
		esac
	done
}

# phase NAME N OPS MANAGERS... -- DRIVER-FLAGS...: configs for N
# programs, the managers started on them, and the driver's measures of
# NAME when it is one of its phases; the managers are left running.
phase() {
	local name=$1 n=$2 ops=$3; shift 3
	local managers=()
	while [ "$1" != -- ]; do managers+=("$1"); shift; done
	shift
	DIR="$WORK/$name"
	ADDR="127.0.0.1:$("$DRIVE" freeport)"
	mkdir -p "$DIR"
	"$DRIVE" config -dir "$DIR" -managed "$WORK/managed" -addr "$ADDR" -n "$n" $ops
	echo "== $name: ${managers[*]} with $n listening programs" >&2
	start "$DIR" "${managers[@]}"
	if [ "${name#phase}" != "$name" ]; then
		"$DRIVE" "$name" -dir "$DIR" -managed "$WORK/managed" -addr "$ADDR" -n "$n" \
			-sv-pid "${SV_PID:-0}" -agent-pid "${AGENT_PID:-0}" -out "$RESULTS" "$@"
	fi
}

# restarted MANAGER N KEY SINCE [-same]: the driver waits until the
# manager, started again, lists all N programs running.
restarted() {
	local m=$1 n=$2 key=$3 since=$4; shift 4
	local pids=(-sv-pid 0 -agent-pid "$AGENT_PID")
	[ "$m" = sv ] && pids=(-sv-pid "$SV_PID" -agent-pid 0)
	"$DRIVE" restarted -dir "$DIR" -managed "$WORK/managed" -addr "$ADDR" -n "$n" \
		"${pids[@]}" -out "$RESULTS" -key "$key" -since "$since" "$@"
}

# stop_one PID: SIGTERM, and wait for it to end.
stop_one() {
	kill -TERM "$1" 2>/dev/null || true
	while kill -0 "$1" 2>/dev/null; do sleep 0.01; done
	wait "$1" 2>/dev/null || true
}

phase phase100 100 "" sv agent -- -idle "$IDLE" -bursts "$BURSTS"
stop_managers
# The same 100 under the agent alone, each checked over TCP every 10 s.
phase phasehealth 100 -health agent -- -idle "$IDLE"
stop_managers
phase phase20 18 -ops sv agent -- -load "$LOAD"
stop_managers

# 1000 programs under the agent; then the upgrade case: the agent stopped
# (its programs keep running) and started again, from its exec until its
# API lists all 1000 adopted.
phase phase1000 1000 "" agent -- -idle "$IDLE"
stop_one "$AGENT_PID"
since=$(date +%s%N)
start "$DIR" agent
restarted agent 1000 restart1000 "$since" -same
stop_managers

# supervisord cannot adopt: what restarting it over 1000 programs costs,
# from its SIGTERM (it stops them all) until it runs them all again.
since=$(date +%s%N)
phase sv1000 1000 "" sv --
restarted sv 1000 start1000 "$since"
since=$(date +%s%N)
stop_one "$SV_PID"
start "$DIR" sv
restarted sv 1000 restart1000 "$since"
stop_managers

echo >&2
echo "$(date -u +%Y-%m-%d) on $(nproc) cores, $(uname -sr), supervisord $(supervisord --version), $($GO version | cut -d' ' -f3)"
echo
"$DRIVE" table "$RESULTS"

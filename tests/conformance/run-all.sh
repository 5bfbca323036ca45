#!/usr/bin/env bash
# Conformance of build/conformance-server to spec 2025-11-25 (legacy: initialize, sessions) and to
# spec 2026-07-28 (stateless: per-request _meta), each over both transports:
#   1. HTTP:  starts the server with --http --port 0 --port-file, runs run.sh http, stops it;
#   2. stdio: run.sh stdio (through stdio_http_bridge.mjs).
# Four legs in all, each with a fresh server (or bridge). Builds nothing. Server binary:
# $CONFORMANCE_SERVER (default build/conformance-server). $SUITE_FLAGS replaces the two
# requirement sets with one set of suite flags (e.g. "--requirements 2026-07-28", or
# "--scenario server-stateless --spec-version 2026-07-28"): then two legs. Results under
# tests/conformance/results/run-all-<stamp>/<set>/{http,stdio}. The last line sums the scored
# checks of every leg: "N passed, M failed". Exit 0 only if every leg passes.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BIN="${CONFORMANCE_SERVER:-$ROOT/build/conformance-server}"
LOG_LEVEL="${SERVER_LOG_LEVEL:-warn}"
NODE="$(command -v node || echo "$ROOT/node_modules/.bin/node")"
RUN="$HERE/results/run-all-$(date +%Y%m%d-%H%M%S)"

# Each set: a directory name, then the suite flags after "|".
if [ -n "${SUITE_FLAGS:-}" ]; then
  SETS=("custom|$SUITE_FLAGS")
else
  SETS=("2025-11-25|--requirements 2025-11-25" "2026-07-28|--requirements 2026-07-28")
fi

[ -x "$BIN" ] || { echo "run-all: ${BIN#"$ROOT"/} not found or not executable; build it first" >&2; exit 2; }
mkdir -p "$RUN"

# Everything started here is killed on every exit path, including Ctrl-C and SIGTERM.
server_pid=""; leg_pid=""
cleanup() {
  [ -n "$leg_pid" ] && kill -TERM "$leg_pid" 2>/dev/null   # run.sh's own trap stops its bridge
  [ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null
  wait 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Runs one run.sh leg in the background and waits for it, so the traps above fire at once.
leg() {
  local dir="$1"; shift
  RESULTS_DIR="$dir" "$HERE/run.sh" "$@" &
  leg_pid=$!
  wait "$leg_pid"; local rc=$?
  leg_pid=""
  return "$rc"
}

# The HTTP leg of one set: the server picks a free port and writes it to the port file once
# listening (waited for at most 10 s), and is stopped after the suite.
http_leg() {
  local dir="$1"; shift
  mkdir -p "$dir/work"
  rm -f "$dir/server.port"
  (cd "$dir/work" && exec "$BIN" --http --port 0 --host 127.0.0.1 --port-file "$dir/server.port" --log-level "$LOG_LEVEL") \
    </dev/null >"$dir/server-stdout.log" 2>"$dir/server-stderr.log" &
  server_pid=$!
  local port="" rc
  for _ in $(seq 1 100); do
    if [ -s "$dir/server.port" ] && grep -Eq '^[0-9]+$' "$dir/server.port"; then port="$(cat "$dir/server.port")"; break; fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -n "$port" ]; then
    leg "$dir/http" http "http://127.0.0.1:$port/mcp" "$@"; rc=$?
  else
    echo "run-all: server did not write --port-file within 10 s; stderr:"; tail -20 "$dir/server-stderr.log"; rc=1
  fi
  kill -TERM "$server_pid" 2>/dev/null
  for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; server_pid=""
  return "$rc"
}

verdict() { [ "$1" -eq 0 ] && echo PASS || echo "FAIL (exit $1)"; }
totals() {  # the suite's own "Total:" line plus its count of unscored failures
  sed 's/\x1b\[[0-9;]*m//g' "$1/suite.log" 2>/dev/null | grep -E '^(Total|Not scored)' | sed 's/ These do not.*//' | paste -sd ';' -
}

# Final count over all legs: scored checks only. A leg that passed (exit 0) has no failures by
# definition (unscored or expected failures); a leg that failed counts at least one failure, so
# a framing error or a server that never started is never reported as "0 failed".
passed=0; failed=0; all_ok=1; lines=()
for set in "${SETS[@]}"; do
  name="${set%%|*}"
  read -r -a flags <<<"${set#*|}"
  dir="$RUN/$name"
  mkdir -p "$dir"
  t0=$SECONDS
  http_leg "$dir" "${flags[@]}"; http_rc=$?
  http_s=$((SECONDS - t0))
  # stdio through the bridge: a fresh server process per legacy session, one for stateless traffic.
  t0=$SECONDS
  leg "$dir/stdio" stdio "$BIN" --stdio --log-level "$LOG_LEVEL" -- "${flags[@]}"; stdio_rc=$?
  stdio_s=$((SECONDS - t0))
  for l in http:$http_rc:$http_s stdio:$stdio_rc:$stdio_s; do
    IFS=: read -r mode rc secs <<<"$l"
    read -r p f < <("$NODE" "$HERE/summarize.mjs" "$dir/$mode" --counts 2>/dev/null || echo "0 0")
    [ "$rc" -eq 0 ] && f=0
    [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ] && f=1
    [ "$rc" -eq 0 ] || all_ok=0
    passed=$((passed + ${p:-0})); failed=$((failed + f))
    lines+=("$(printf '%-10s %-5s: %s (%s s) %s  -> %s' "$name" "$mode" "$(verdict "$rc")" "$secs" "$(totals "$dir/$mode")" "${dir#"$ROOT"/}/$mode")")
  done
done
echo
echo "==== conformance summary: ${BIN#"$ROOT"/} ===="
printf '%s\n' "${lines[@]}"
echo "$passed passed, $failed failed"
[ "$all_ok" -eq 1 ]

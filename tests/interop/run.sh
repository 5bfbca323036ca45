#!/usr/bin/env bash
# Interop: the official TypeScript SDK clients against our binaries over stdio and Streamable
# HTTP: 1.x with the legacy handshake (interop.mjs) and 2.x negotiating 2026-07-28 (modern.mjs);
# plus MCP Inspector's CLI (tools/list) against hpc-mcp over stdio.
#
#   tests/interop/run.sh
#
# Binaries: build/conformance-server (all checks, fixtures required) and build/hpc-mcp (generic
# checks; fixture checks are skipped and say so). Override with $CONFORMANCE_SERVER / $HPC_MCP,
# server log level with $SERVER_LOG_LEVEL (default warn). Builds nothing.
# Last line: "N passed, M failed"; exit 1 if M > 0.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
NODE="$(command -v node || echo "$ROOT/node_modules/.bin/node")"
CONF="${CONFORMANCE_SERVER:-$ROOT/build/conformance-server}"
HPC="${HPC_MCP:-$ROOT/build/hpc-mcp}"
LOG_LEVEL="${SERVER_LOG_LEVEL:-warn}"

passed=0; failed=0
server_pid=""; interop_pid=""
tmp="$(mktemp -d)"
cleanup() {
  [ -n "$interop_pid" ] && kill -TERM "$interop_pid" 2>/dev/null
  [ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Runs one interop.mjs invocation and adds its "N passed, M failed" line to the totals.
# Output goes through a file, not $(...), so a stray grandchild cannot hold a pipe open.
# It runs in the background and is waited for, so SIGTERM/SIGINT reach the cleanup at once.
tally() {
  local script="$HERE/interop.mjs"
  if [ "$1" = "--modern" ]; then script="$HERE/modern.mjs"; shift; fi
  "$NODE" "$script" "$@" >"$tmp/out" 2>&1 &
  interop_pid=$!
  wait "$interop_pid"
  interop_pid=""
  sed '$d' "$tmp/out"
  local last; last="$(tail -1 "$tmp/out")"
  if [[ "$last" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    passed=$((passed + BASH_REMATCH[1])); failed=$((failed + BASH_REMATCH[2]))
  else
    echo "FAIL ${script##*/} $* ended without a result line: $last"; failed=$((failed + 1))
  fi
}

# Starts "$1" over HTTP on a free port (--port 0 --port-file) in a scratch dir; sets $port.
# Not meant for $(...): the server would inherit the substitution's pipe and block it.
start_http() {
  local bin="$1" portfile="$tmp/port"
  rm -f "$portfile"; mkdir -p "$tmp/work"; port=""
  (cd "$tmp/work" && exec "$bin" --http --port 0 --host 127.0.0.1 --port-file "$portfile" --log-level "$LOG_LEVEL") \
    </dev/null >"$tmp/server-stdout.log" 2>"$tmp/server-stderr.log" &
  server_pid=$!
  for _ in $(seq 1 100); do   # at most 10 s
    if [ -s "$portfile" ] && grep -Eq '^[0-9]+$' "$portfile"; then port="$(cat "$portfile")"; return 0; fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  return 1
}

stop_http() {
  kill -TERM "$server_pid" 2>/dev/null
  for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$server_pid" 2>/dev/null
  wait "$server_pid" 2>/dev/null
  server_pid=""
}

# One binary over both transports, with the 1.x client (interop.mjs, legacy handshake) and the
# 2.x client negotiating 2026-07-28 (modern.mjs). $3: fixtures mode for interop.mjs
# (require|auto); $4: --kind for modern.mjs (conformance|hpc).
one_binary() {
  local name="$1" bin="$2" fixtures="$3" kind="$4" before
  if [ ! -x "$bin" ]; then
    echo "FAIL [$name] binary missing: ${bin#"$ROOT"/} (build it first)"; failed=$((failed + 1)); return
  fi
  tally --label "$name stdio" --fixtures "$fixtures" --stdio "$bin" --stdio --log-level "$LOG_LEVEL"
  tally --modern --label "$name 2026 stdio" --kind "$kind" --stdio "$bin" --stdio --log-level "$LOG_LEVEL"
  if start_http "$bin"; then
    before=$failed
    tally --label "$name http" --fixtures "$fixtures" --http "http://127.0.0.1:$port/mcp"
    tally --modern --label "$name 2026 http" --kind "$kind" --http "http://127.0.0.1:$port/mcp"
    stop_http
    if [ "$failed" -gt "$before" ] && [ -s "$tmp/server-stderr.log" ]; then
      echo "--- $name http server stderr (tail):"; tail -20 "$tmp/server-stderr.log"
    fi
  else
    echo "FAIL [$name http] server did not write its --port-file within 10 s; stderr:"; tail -20 "$tmp/server-stderr.log"
    failed=$((failed + 1)); stop_http
  fi
}

start=$SECONDS
one_binary conformance-server "$CONF" require conformance
one_binary hpc-mcp "$HPC" auto hpc
if [ -x "$HPC" ]; then
  # No --log-level here: the inspector would take it as its own option.
  tally --label "hpc-mcp inspector" --inspector --stdio "$HPC" --stdio
fi
echo "interop finished in $((SECONDS - start)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

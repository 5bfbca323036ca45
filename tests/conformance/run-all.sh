#!/usr/bin/env bash
# Conformance of build/conformance-server to spec 2025-11-25, over both transports:
#   1. HTTP:  starts the server with --http --port 0 --port-file, runs run.sh http, stops it;
#   2. stdio: run.sh stdio (through stdio_http_bridge.mjs).
# Builds nothing. Server binary: $CONFORMANCE_SERVER (default build/conformance-server); suite
# flags: $SUITE_FLAGS (default "--requirements 2025-11-25"). Results under
# tests/conformance/results/run-all-<stamp>/{http,stdio}. Exit 0 only if both legs pass.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BIN="${CONFORMANCE_SERVER:-$ROOT/build/conformance-server}"
read -r -a SUITE <<<"${SUITE_FLAGS:---requirements 2025-11-25}"
LOG_LEVEL="${SERVER_LOG_LEVEL:-warn}"
NODE="$(command -v node || echo "$ROOT/node_modules/.bin/node")"
RUN="$HERE/results/run-all-$(date +%Y%m%d-%H%M%S)"

[ -x "$BIN" ] || { echo "run-all: ${BIN#"$ROOT"/} not found or not executable; build it first" >&2; exit 2; }
mkdir -p "$RUN/work"

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
  RESULTS_DIR="$RUN/$dir" "$HERE/run.sh" "$@" &
  leg_pid=$!
  wait "$leg_pid"; local rc=$?
  leg_pid=""
  return "$rc"
}

# Leg 1: HTTP. The server picks a free port and writes it to the port file once listening.
t0=$SECONDS
(cd "$RUN/work" && exec "$BIN" --http --port 0 --host 127.0.0.1 --port-file "$RUN/server.port" --log-level "$LOG_LEVEL") \
  </dev/null >"$RUN/server-stdout.log" 2>"$RUN/server-stderr.log" &
server_pid=$!
port=""
for _ in $(seq 1 100); do   # at most 10 s
  if [ -s "$RUN/server.port" ] && grep -Eq '^[0-9]+$' "$RUN/server.port"; then port="$(cat "$RUN/server.port")"; break; fi
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -n "$port" ]; then
  leg http http "http://127.0.0.1:$port/mcp" "${SUITE[@]}"; http_rc=$?
else
  echo "run-all: server did not write --port-file within 10 s; stderr:"; tail -20 "$RUN/server-stderr.log"; http_rc=1
fi
kill -TERM "$server_pid" 2>/dev/null
for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
kill -KILL "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; server_pid=""
http_s=$((SECONDS - t0))

# Leg 2: stdio through the bridge (one fresh server process per suite session).
t0=$SECONDS
leg stdio stdio "$BIN" --stdio --log-level "$LOG_LEVEL" -- "${SUITE[@]}"; stdio_rc=$?
stdio_s=$((SECONDS - t0))

verdict() { [ "$1" -eq 0 ] && echo PASS || echo "FAIL (exit $1)"; }
totals() {  # the suite's own "Total:" line plus its count of unscored failures
  sed 's/\x1b\[[0-9;]*m//g' "$RUN/$1/suite.log" 2>/dev/null | grep -E '^(Total|Not scored)' | sed 's/ These do not.*//' | paste -sd ';' -
}
# Final count over both legs: scored checks only. A leg that passed (exit 0) has no failures by
# definition (unscored or expected failures); a leg that failed counts at least one failure, so
# a framing error or a server that never started is never reported as "0 failed".
passed=0; failed=0
for l in http:$http_rc stdio:$stdio_rc; do
  read -r p f < <("$NODE" "$HERE/summarize.mjs" "$RUN/${l%%:*}" --counts 2>/dev/null || echo "0 0")
  rc=${l##*:}
  [ "$rc" -eq 0 ] && f=0
  [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ] && f=1
  passed=$((passed + ${p:-0})); failed=$((failed + f))
done
echo
echo "==== conformance summary: ${BIN#"$ROOT"/}, ${SUITE[*]} ===="
echo "http : $(verdict "$http_rc") (${http_s} s) $(totals http)  -> ${RUN#"$ROOT"/}/http"
echo "stdio: $(verdict "$stdio_rc") (${stdio_s} s) $(totals stdio)  -> ${RUN#"$ROOT"/}/stdio"
echo "$passed passed, $failed failed"
[ "$http_rc" -eq 0 ] && [ "$stdio_rc" -eq 0 ]

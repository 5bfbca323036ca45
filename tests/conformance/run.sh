#!/usr/bin/env bash
# Runs the official MCP conformance suite against one server.
#
#   tests/conformance/run.sh http <url> [suite flags...]
#       the server is already listening at <url> (loopback only, e.g. http://127.0.0.1:PORT/mcp)
#   tests/conformance/run.sh stdio <command> [args...] [-- suite flags...]
#       starts stdio_http_bridge.mjs for <command> (argv, no shell), tests through it, stops it
#
# Suite flags go to `conformance server`, e.g. --requirements 2025-11-25, --scenario ping, --verbose.
# Results: tests/conformance/results/<stamp>-<mode>/ (or $RESULTS_DIR): suite.log, one
# server-<scenario>-*/checks.json per scenario and, for stdio, bridge-stderr.log.
# Exit status: 0 only if the suite passed (modulo the expected failures, see below) and, for stdio,
# the child kept to stdio framing and did not die on its own.
# Expected failures: with --requirements <rev>, expected-failures-<rev>.yml when that file exists,
# else expected-failures.yml (one baseline for every requirement set while they agree).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
NODE22="$ROOT/node_modules/.bin/node"   # the suite needs Node >= 22 (fs.globSync)
SUITE="$ROOT/node_modules/@modelcontextprotocol/conformance/dist/index.js"
# The bridge and summary only need the SDK, which runs on the system Node 20 as well.
NODE="$(command -v node || echo "$NODE22")"

usage() {
  sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

[ $# -ge 2 ] || usage
mode="$1"; shift
if [ ! -x "$NODE22" ] || [ ! -f "$SUITE" ]; then echo "run.sh: run 'npm ci' first (need $NODE22 and the suite)" >&2; exit 2; fi

server_cmd=(); suite_flags=()
case "$mode" in
  http) url="$1"; shift; suite_flags=("$@") ;;
  stdio)
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do server_cmd+=("$1"); shift; done
    [ $# -gt 0 ] && shift   # drop the "--"
    suite_flags=("$@")
    [ ${#server_cmd[@]} -gt 0 ] || usage ;;
  *) usage ;;
esac

out="${RESULTS_DIR:-$HERE/results/$(date +%Y%m%d-%H%M%S)-$mode-$$}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

# The baseline of the requirement set being run, if it has one of its own: the suite fails a run
# on an entry that passes, so a failure expected under one set cannot be listed for both.
EXPECTED="$HERE/expected-failures.yml"
for ((i = 0; i + 1 < ${#suite_flags[@]}; i++)); do
  if [ "${suite_flags[i]}" = --requirements ] && [ -f "$HERE/expected-failures-${suite_flags[i + 1]}.yml" ]; then
    EXPECTED="$HERE/expected-failures-${suite_flags[i + 1]}.yml"
  fi
done

# Only pass the baseline when it lists something (entries are block-list items
# "  - scenario[:check-id]"); with "server: []" the flag would be a no-op.
expected_flags=()
if grep -Eq '^[[:space:]]*-[[:space:]]*[^[:space:]#]' "$EXPECTED" 2>/dev/null; then
  expected_flags=(--expected-failures "$EXPECTED")
fi

bridge_pid=""; suite_pid=""
# shellcheck disable=SC2317  # (cleanup is only called by the EXIT trap)
cleanup() {
  [ -n "$suite_pid" ] && kill -TERM "$suite_pid" 2>/dev/null
  [ -n "$bridge_pid" ] && kill -TERM "$bridge_pid" 2>/dev/null
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits (at most 10 s) for a port file written by a process that is still alive.
wait_port() {
  local file="$1" pid="$2"
  for _ in $(seq 1 100); do
    if [ -s "$file" ] && grep -Eq '^[0-9]+$' "$file"; then cat "$file"; return 0; fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

if [ "$mode" = stdio ]; then
  # The server runs in a scratch dir, so any state it writes stays under results/.
  mkdir -p "$out/work"
  cmd0="${server_cmd[0]}"
  case "$cmd0" in */*) server_cmd[0]="$(cd "$(dirname "$cmd0")" && pwd)/$(basename "$cmd0")" ;; esac
  "$NODE" "$HERE/stdio_http_bridge.mjs" --port 0 --port-file "$out/bridge.port" --cwd "$out/work" \
    -- "${server_cmd[@]}" 2>"$out/bridge-stderr.log" &
  bridge_pid=$!
  port="$(wait_port "$out/bridge.port" "$bridge_pid")" || {
    echo "run.sh: bridge did not start; see $out/bridge-stderr.log" >&2; tail -5 "$out/bridge-stderr.log" >&2; exit 1; }
  url="http://127.0.0.1:$port/mcp"
fi

echo "conformance: $mode $url ${suite_flags[*]} -> ${out#"$ROOT"/}"
# The suite runs in the background and is waited for, so a SIGTERM/SIGINT to this script acts
# at once (bash defers traps while a foreground job runs) and cleanup can stop the suite too.
exec {log_fd}> >(tee "$out/suite.log")
tee_pid=$!
"$NODE22" "$SUITE" server --url "$url" -o "$out" "${expected_flags[@]}" "${suite_flags[@]}" >&"$log_fd" 2>&1 &
suite_pid=$!
rc=0
wait "$suite_pid" || rc=$?
suite_pid=""
exec {log_fd}>&-
wait "$tee_pid" 2>/dev/null || true

if [ "$mode" = stdio ]; then
  # Stop the bridge and collect its verdict on stdio framing. It exits within ~6 s of SIGTERM;
  # after 10 s it is killed, so this never blocks for long.
  kill -TERM "$bridge_pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$bridge_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$bridge_pid" 2>/dev/null || true
  bridge_rc=0
  wait "$bridge_pid" || bridge_rc=$?
  bridge_pid=""
  if [ "$bridge_rc" -ne 0 ]; then
    echo "FAIL bridge (exit $bridge_rc):"
    grep -E '^FAIL (stdio-framing|child-exit)' "$out/bridge-stderr.log" | sort -u | head -20 || true
    grep -q '^FAIL stdio-framing' "$out/bridge-stderr.log" && echo "FAIL stdio-framing: the server wrote non-JSON-RPC output to stdout"
    rc=1
  else
    echo "stdio-framing: ok (every stdout line was a JSON-RPC message)"
  fi
fi

"$NODE" "$HERE/summarize.mjs" "$out" || true
echo "conformance $mode: $([ "$rc" -eq 0 ] && echo PASS || echo "FAIL (exit $rc)"), results in ${out#"$ROOT"/}"
exit "$rc"

#!/usr/bin/env bash
# Runs the benchmark (bench/README.md): tools/call over stdio and HTTP against
# limit_server (the ceiling), build/conformance-server (ours) and the
# TypeScript SDK server, in the same session, runs interleaved, then prints
# medians, ratios and the target checks.
#
#   bench/run.sh [--quick] [--runs N] [--out DIR] [--cases REGEX] [BUILD_DIR]
#
# Builds nothing: BUILD_DIR (default build/) must hold bench/mcp_bench and
# bench/limit_server; conformance-server is used when present. Placement is
# split: the driver on CPU $DRV_CPU (0), servers on CPU $SRV_CPU (1).
# Every run is bounded (--phase-s per phase, --deadline-s per run).

set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/.." && pwd)"

usage() {
  sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 2
}

quick=0
runs=""
out_dir=""
cases_re='.'
build_dir="${root}/build"
while (($#)); do
  case "$1" in
    --quick) quick=1 ;;
    --runs) runs="$2"; shift ;;
    --out) out_dir="$2"; shift ;;
    --cases) cases_re="$2"; shift ;;
    -h|--help) usage ;;
    -*) echo "run.sh: unknown option $1" >&2; usage ;;
    *) build_dir="$1" ;;
  esac
  shift
done
build_dir="$(cd "${build_dir}" 2>/dev/null && pwd)" || {
  echo "run.sh: no build directory (configure and build first)" >&2; exit 2; }

# Counts: the same for every server. Phases are also capped in time so that
# a slow server finishes within the budget (it then does fewer calls; its
# rows are marked *). Full: 3 interleaved runs, ~3 min; quick: 1 run, ~30 s.
if ((quick)); then
  : "${RUNS:=1}" "${WARMUP:=1000}" "${STDIO_N:=10000}" "${STDIO_K:=200000}"
  : "${HTTP_N:=5000}" "${HTTP_K:=100000}" "${PHASE_S:=3}" "${DEADLINE_S:=40}"
  : "${PHASE_S_OURS:=10}"
else
  : "${RUNS:=3}" "${WARMUP:=2000}" "${STDIO_N:=20000}" "${STDIO_K:=300000}"
  : "${HTTP_N:=10000}" "${HTTP_K:=100000}" "${PHASE_S:=5}" "${DEADLINE_S:=60}"
  # Our server gets room for all 100k HTTP calls: the memory check needs them.
  : "${PHASE_S_OURS:=15}"
fi
runs="${runs:-${RUNS}}"
: "${DRV_CPU:=0}" "${SRV_CPU:=1}" "${NODE:=node}"
# NICE=-10 (root) lets the measured processes win their CPUs from other work
# on a shared machine; unset, they run at normal priority.
prio=()
[[ -n "${NICE:-}" ]] && prio=(nice -n "${NICE}")
: "${TS_SDK_SERVER:=${here}/ts_sdk_server.mjs}"
if (($(nproc) < 2)); then
  echo "run.sh: one CPU only: driver and server share it" >&2
  DRV_CPU=0 SRV_CPU=0
fi

bench="${build_dir}/bench/mcp_bench"
limit="${build_dir}/bench/limit_server"
ours="${build_dir}/conformance-server"
for bin in "${bench}" "${limit}"; do
  [[ -x "${bin}" ]] || {
    echo "run.sh: missing ${bin} (build the mcp_bench and limit_server targets)" >&2
    exit 2
  }
done

# Cases: name transport server-command... (HTTP commands get --port 0
# --port-file F appended; stdio commands are spawned by the driver). Words
# are joined with \x1f so that paths may contain spaces.
declare -a cases=()
add_case() {
  [[ "$1" =~ ${cases_re} ]] && cases+=("$(printf '%s\x1f' "$@")")
  return 0
}
add_case limit-stdio stdio "${limit}" --stdio
[[ -x "${ours}" ]] && add_case ours-stdio stdio "${ours}" --stdio
# The same server spoken to in the stateless 2026-07-28 era (a *-modern
# name selects that wire; the TS SDK 1.x speaks only the legacy one).
[[ -x "${ours}" ]] && add_case ours-stdio-modern stdio "${ours}" --stdio
have_ts=0
if "${NODE}" --version >/dev/null 2>&1 && [[ -f "${TS_SDK_SERVER}" ]] &&
   [[ "${TS_SDK_SERVER}" != "${here}/ts_sdk_server.mjs" ||
      -d "${root}/node_modules/@modelcontextprotocol/sdk" ]]; then
  have_ts=1
  add_case ts-stdio stdio "${NODE}" "${TS_SDK_SERVER}" --stdio
fi
add_case limit-http http "${limit}" --http
[[ -x "${ours}" ]] && add_case ours-http http "${ours}" --http
[[ -x "${ours}" ]] && add_case ours-http-modern http "${ours}" --http
if ((have_ts)); then
  add_case ts-http http "${NODE}" "${TS_SDK_SERVER}" --http
  ((quick)) || add_case ts-http-sse http "${NODE}" "${TS_SDK_SERVER}" --http --sse
fi
[[ -x "${ours}" ]] || echo "run.sh: no ${ours}: ours-* cases skipped" >&2
((have_ts)) || echo "run.sh: no node or SDK (npm ci at the repo root): ts-* skipped" >&2
((${#cases[@]})) || { echo "run.sh: no case matches ${cases_re}" >&2; exit 2; }

out_dir="${out_dir:-${here}/results/$(date +%Y%m%d-%H%M%S)}"
mkdir -p "${out_dir}/logs" || exit 2
results="${out_dir}/results.jsonl"
: > "${results}"

server_pid=""
stop_server() {
  [[ -n "${server_pid}" ]] || return 0
  kill -TERM "${server_pid}" 2>/dev/null
  for _ in $(seq 40); do
    kill -0 "${server_pid}" 2>/dev/null || break
    sleep 0.05
  done
  kill -KILL "${server_pid}" 2>/dev/null
  wait "${server_pid}" 2>/dev/null
  server_pid=""
}
trap stop_server EXIT
trap 'stop_server; exit 130' INT TERM

# Records a failure line for a run that produced no JSON of its own.
record_failure() {
  printf '{"label":"%s","ok":false,"error":"%s"}\n' "$1" "$2" >> "${results}"
}

run_case() {
  local rep="$1" name="$2" transport="$3"
  shift 3
  local log="${out_dir}/logs/${name}.${rep}"
  local phase_s="${PHASE_S}"
  [[ "${name}" == ours-* ]] && phase_s="${PHASE_S_OURS}"
  local -a common=(--label "${name}" --warmup "${WARMUP}" --phase-s "${phase_s}"
                   --deadline-s "${DEADLINE_S}")
  [[ "${name}" == *-modern ]] && common+=(--wire 2026-07-28)
  local line
  if [[ "${transport}" == stdio ]]; then
    line="$(cd "${root}" && "${prio[@]}" taskset -c "${DRV_CPU}" "${bench}" "${common[@]}" \
              --n "${STDIO_N}" --k "${STDIO_K}" --window 64 \
              --server-cpu "${SRV_CPU}" --stdio -- "$@" 2>"${log}.txt")"
  else
    local port_file="${out_dir}/logs/${name}.${rep}.port"
    rm -f "${port_file}"
    (cd "${root}" && exec "${prio[@]}" taskset -c "${SRV_CPU}" "$@" --port 0 \
        --port-file "${port_file}") >"${log}.server.txt" 2>&1 &
    server_pid=$!
    for _ in $(seq 200); do  # up to 10 s to listen
      [[ -s "${port_file}" ]] && break
      kill -0 "${server_pid}" 2>/dev/null || break
      sleep 0.05
    done
    if [[ ! -s "${port_file}" ]]; then
      stop_server
      record_failure "${name}" "server did not write its port file"
      echo "  ${name} run ${rep}: FAILED (server did not start; ${log}.server.txt)"
      return
    fi
    line="$("${prio[@]}" taskset -c "${DRV_CPU}" "${bench}" "${common[@]}" \
              --n "${HTTP_N}" --k "${HTTP_K}" --conc 8 \
              --http "http://127.0.0.1:$(cat "${port_file}")/mcp" \
              --server-pid "${server_pid}" 2>"${log}.txt")"
    stop_server
  fi
  if [[ "${line}" == "{"* ]]; then
    printf '%s\n' "${line}" >> "${results}"
  else
    record_failure "${name}" "driver printed no result"
  fi
  # One progress line: throughput and verdict from the driver's table.
  printf '  %-12s run %s: %s | %s\n' "${name}" "${rep}" \
    "$(grep -m1 '^  tput' "${log}.txt" | tr -s ' ' | cut -c2-)" \
    "$(grep -m1 '^  verified' "${log}.txt" | tr -s ' ' | cut -c2-)"
}

# Placement only means something on an otherwise idle machine.
read -r load1 _ < /proc/loadavg
if awk -v l="${load1}" 'BEGIN { exit !(l > 0.5) }'; then
  echo "run.sh: warning: load average ${load1}: other work is running," \
       "numbers will be noisy" >&2
fi
echo "mcp bench: ${#cases[@]} cases x ${runs} runs, driver CPU ${DRV_CPU}," \
     "server CPU ${SRV_CPU}${NICE:+, nice ${NICE}}, load ${load1}; results in ${out_dir}"
start=$(date +%s)
for ((rep = 1; rep <= runs; rep++)); do
  for c in "${cases[@]}"; do
    IFS=$'\x1f' read -r -a words <<< "${c}"
    run_case "${rep}" "${words[@]}"
  done
done
echo "done in $(($(date +%s) - start)) s"
echo
"${NODE}" "${here}/report.mjs" "${results}" --markdown "${out_dir}/summary.md"

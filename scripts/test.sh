#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run): installs what is missing,
# builds, then runs every stage and reports each. Idempotent.
#
#   scripts/test.sh            everything
#   scripts/test.sh unit ...   only the named stages (see STAGES below)
#
# The last line is "N passed, M failed" over all stages' tests; the exit
# status is non-zero when any stage failed.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

STAGES=(testbed unit conformance interop fuzz)
(($#)) && STAGES=("$@")

scripts/install-deps.sh || exit 1
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || exit 1
ninja -C build || exit 1

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
total_pass=0 total_fail=0 failed_stages=()

# count LOG: adds the stage's "N passed, M failed" (or Catch2's summary) to
# the totals; a stage that failed without a countable line counts as one
# failure.
count() {
  local log=$1 rc=$2 p=0 f=0 line
  if line=$(grep -Eo 'All tests passed \([0-9]+ assertions? in [0-9]+ test cases?\)' "$log" | tail -1); then
    p=$(sed -E 's/.* in ([0-9]+) test case.*/\1/' <<<"$line")
  elif line=$(grep -Eo 'test cases: *[0-9]+ \| *[0-9]+ passed \| *[0-9]+ failed' "$log" | tail -1); then
    p=$(sed -E 's/.*\| *([0-9]+) passed.*/\1/' <<<"$line")
    f=$(sed -E 's/.*\| *([0-9]+) failed.*/\1/' <<<"$line")
  elif line=$(grep -Eo '[0-9]+ passed, [0-9]+ failed' "$log" | tail -1); then
    p=$(sed -E 's/([0-9]+) passed.*/\1/' <<<"$line")
    f=$(sed -E 's/.*, ([0-9]+) failed/\1/' <<<"$line")
  fi
  ((rc != 0 && f == 0)) && f=1
  total_pass=$((total_pass + p)) total_fail=$((total_fail + f))
}

run_stage() {
  local name=$1; shift
  local log="$logs/$name.log" start=$SECONDS rc
  echo "=== $name: $*"
  "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  count "$log" "$rc"
  if ((rc == 0)); then
    echo "=== $name: ok ($((SECONDS - start)) s)"
  else
    echo "=== $name: FAILED (exit $rc, $((SECONDS - start)) s)"
    failed_stages+=("$name")
  fi
}

# The testbed's settings (TESTBED_SSH_HOST, ...) for the stages after it.
testbed_env() {
  local env="${TESTBED_DIR:-${TMPDIR:-/tmp}/hpc-testbed}/env.sh"
  # shellcheck disable=SC1090
  [[ -f $env ]] && . "$env"
}

for stage in "${STAGES[@]}"; do
  case $stage in
    testbed)
      run_stage testbed scripts/testbed/up.sh --install
      testbed_env ;;
    unit)
      testbed_env
      run_stage unit build/hpc_mcp_tests --order rand --warn NoAssertions ;;
    conformance) run_stage conformance tests/conformance/run-all.sh ;;
    interop) run_stage interop tests/interop/run.sh ;;
    fuzz) run_stage fuzz scripts/fuzz.sh 20 ;;
    *) echo "unknown stage '$stage' (known: testbed unit conformance interop fuzz)"; exit 2 ;;
  esac
done

# digest LOG: what failed in a stage, short enough to survive in the tail of
# a long CI log (the fuzz stage alone prints thousands of lines): Catch2's
# failure blocks (from the dashed header to the ===== rule after a FAILED or
# an unexpected exception), else the lines that say FAIL.
digest() {
  local log=$1
  if grep -q '^=\{79\}$' "$log"; then
    awk '/^-{79}$/ && !inblock { inblock = 1; n = 0 }
         inblock { block[++n] = $0 }
         inblock && /FAILED|unexpected exception/ { bad = 1 }
         /^={79}$/ { if (bad) for (i = 1; i <= n && i <= 40; i++) print block[i];
                     inblock = 0; bad = 0; n = 0 }' "$log"
  else
    grep -E 'FAIL|not ok|Error' "$log"
  fi | head -150
}

echo
if ((${#failed_stages[@]})); then
  for stage in "${failed_stages[@]}"; do
    echo "=== what failed in $stage:"
    digest "$logs/$stage.log"
  done
  echo
  echo "failed stages: ${failed_stages[*]}"
else
  echo "all stages passed: ${STAGES[*]}"
fi
echo "$total_pass passed, $total_fail failed"
((${#failed_stages[@]} == 0))

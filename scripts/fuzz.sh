#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang, ASan and UBSan in
# build-fuzz/, and fuzzes the JSON-RPC dispatch for a bounded time.
#
#   scripts/fuzz.sh [SECONDS] [LIBFUZZER_FLAG...]
#
# SECONDS defaults to 30; CI runs it briefly, `scripts/fuzz.sh 3600` is a
# real session. Exits non-zero when the fuzzer finds a crash, a leak, a hang
# or a broken protocol invariant; the input is then in
# build-fuzz/artifacts/. Reproduce one with
#   build-fuzz/dispatch_fuzzer build-fuzz/artifacts/crash-<sha1>
# and keep it as a regression seed in tests/fuzz/corpus/.
#
# The build is separate from build/ (gcc) because libFuzzer is clang's; it
# needs clang and libclang-rt-14-dev (scripts/install-deps.sh on Debian 12).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-30}"
shift || true
if ! [[ "${seconds}" =~ ^[0-9]+$ ]]; then
  echo "usage: scripts/fuzz.sh [SECONDS] [LIBFUZZER_FLAG...]" >&2
  exit 2
fi
build="${root}/build-fuzz"

# -O1 keeps ASan reports readable and the build short; no -DNDEBUG, so that
# nlohmann::json's assertions (e.g. a const operator[] on a missing key)
# trap instead of reading out of bounds.
sanitize="-fsanitize=address,undefined,fuzzer-no-link"
sanitize+=" -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
if [[ ! -f "${build}/build.ninja" ]]; then
  CC=clang CXX=clang++ cmake -S "${root}" -B "${build}" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
    -DCMAKE_CXX_FLAGS="${sanitize}" \
    -DHPC_MCP_BUILD_TESTS=OFF \
    -DHPC_MCP_FUZZ=ON >/dev/null
fi
cmake --build "${build}" --target dispatch_fuzzer

# libFuzzer adds what it finds to its first corpus directory: a copy, so
# that the seeds in the repository change only by hand.
corpus="${build}/corpus"
rm -rf "${corpus}"
mkdir -p "${corpus}" "${build}/artifacts"
cp "${root}"/tests/fuzz/corpus/* "${corpus}/"

export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
set +e
"${build}/dispatch_fuzzer" \
  -max_total_time="${seconds}" \
  -timeout=10 \
  -rss_limit_mb=2048 \
  -dict="${root}/tests/fuzz/jsonrpc.dict" \
  -artifact_prefix="${build}/artifacts/" \
  -print_final_stats=1 \
  "$@" "${corpus}"
rc=$?
set -e
# The "N passed, M failed" line is what scripts/test.sh counts.
if [[ ${rc} -eq 0 ]]; then
  echo "fuzz: ${seconds} s without a finding: 1 passed, 0 failed"
else
  echo "fuzz: the fuzzer failed (exit ${rc}); inputs in ${build}/artifacts/: 0 passed, 1 failed"
fi
exit ${rc}

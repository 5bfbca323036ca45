#!/usr/bin/env bash
# Installs what hpc-mcp needs to build and test, on Debian 12, as root.
# Idempotent: packages already present are not fetched again.
#
#   scripts/install-deps.sh          build and test dependencies
#   scripts/install-deps.sh --build  only what building the server needs
set -euo pipefail
cd "$(dirname "$0")/.."

build_pkgs=(g++ cmake ninja-build pkg-config
  nlohmann-json3-dev libcpp-httplib-dev libyaml-cpp-dev libssh2-1-dev
  libspdlog-dev catch2 libvalijson-dev libssl-dev)
# clang and its runtime: the libFuzzer target. procps: pkill/ps in scripts.
test_pkgs=(clang libclang-rt-14-dev procps curl)

want=("${build_pkgs[@]}")
[[ "${1:-}" == "--build" ]] || want+=("${test_pkgs[@]}")
command -v node >/dev/null 2>&1 || want+=(nodejs npm)

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing Debian packages: ${missing[*]}; run this script as root" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The JavaScript test tooling (conformance suite, TypeScript SDK, Inspector),
# pinned by package-lock.json. Reinstalled only when the lockfile changed.
if [[ "${1:-}" != "--build" ]]; then
  stamp=node_modules/.package-lock.json
  if [[ ! -f $stamp || package-lock.json -nt $stamp ]]; then
    echo "install-deps: npm ci" >&2
    npm ci --no-audit --no-fund --loglevel=error >&2
  fi
fi

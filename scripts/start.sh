#!/usr/bin/env bash
# Installs what is missing, builds, and starts hpc-mcp on its embedded
# default (the `local` profile, MCP over stdio). Extra arguments go to the
# server, e.g. `scripts/start.sh --http --port 8765`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --build
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
ninja -C build hpc-mcp >&2
exec build/hpc-mcp "$@"

#!/usr/bin/env bash
# Runs the whole test suite (installing the Debian libraries first if they are missing).
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/install-dependencies.sh
swift build --build-tests
# Everything but the runtime's end-to-end tests, in parallel.
swift test --skip-build --skip '^OutpostTests\.'
# The runtime's tests use real sockets and real time: one at a time, so that the CPU-heavy
# suites above (key derivation, swarm sweeps) never starve a heartbeat or a deadline.
swift test --skip-build --filter '^OutpostTests\.' --no-parallel

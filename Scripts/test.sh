#!/usr/bin/env bash
# Runs the whole test suite (installing the Debian libraries first if they are missing).
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/install-dependencies.sh
swift build --build-tests
# Everything but the runtime's end-to-end tests, in parallel.
swift test --skip-build --skip '^OutpostTests\.'
# The runtime's tests need real sockets and real deadlines: one at a time, after the CPU-heavy
# suites above (key derivation, swarm sweeps), so that no deadline passes for want of CPU. The
# client's logic is tested in simulated worlds (virtual time) in the parallel phase.
swift test --skip-build --filter '^OutpostTests\.' --no-parallel

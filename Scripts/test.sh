#!/usr/bin/env bash
# Runs the whole test suite (installing the Debian libraries first if they are missing).
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/install-dependencies.sh
swift build --build-tests
swift test --skip-build

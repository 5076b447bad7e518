#!/usr/bin/env bash
# Runs outpost-sim (installing the Debian libraries first if they are missing).
# With no arguments it runs the default scenario.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/install-dependencies.sh
swift run -c release outpost-sim "$@"

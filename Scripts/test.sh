#!/usr/bin/env bash
# The whole test suite: installs dependencies, builds, runs unit and compatibility tests.
# Compatibility tests apply deltas with Debian's stock ostree CLI and serve them over
# HTTP on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${DELTAGEN_SKIP_APT:-0}" != 1 ]; then bash Scripts/install-deps.sh; fi
ostree --version | sed -n 2p
swift build --build-tests
# XCTest only: the suite has no Swift Testing tests, and its empty run would say "0 tests".
swift test --skip-build --disable-swift-testing 2>&1 | tee .build/test-output.txt
passed=$(grep -c "^Test Case '.*' passed" .build/test-output.txt || true)
failed=$(grep -c "^Test Case '.*' failed" .build/test-output.txt || true)
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]

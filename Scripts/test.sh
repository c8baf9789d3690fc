#!/usr/bin/env bash
# The whole test suite: installs dependencies, builds, runs unit and compatibility tests.
# Compatibility tests apply deltas with Debian's stock ostree CLI and serve them over
# HTTP on 127.0.0.1 only.
#
# The current-client layer (CurrentClientTests) runs Debian 13's ostree in a trixie root
# built here once per run with debootstrap (Scripts/trixie-root.sh), kept in
# .build/trixie-root between local runs, and passed to the tests as DELTAGEN_TRIXIE_ROOT
# with /proc mounted inside it for the length of the run. When the root cannot be built
# (no network), those tests skip, and the summary below names them.
#
# After the Swift tests, the Debian package is built and tested in a Debian 12 root
# (Scripts/package-deb.sh, Scripts/test-deb.sh); it prints PASS or FAIL and counts as one test.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${DELTAGEN_SKIP_APT:-0}" != 1 ]; then bash Scripts/install-deps.sh; fi
ostree --version | sed -n 2p
# Swift 6 language mode everywhere (Package.swift); any compiler warning fails the build.
swift build --build-tests -Xswiftc -warnings-as-errors

trixie=$PWD/.build/trixie-root
proc_mounted=0
cleanup() { if [ "$proc_mounted" = 1 ]; then umount "$trixie/proc" || umount -l "$trixie/proc"; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM
if bash Scripts/trixie-root.sh "$trixie"; then
  if ! mountpoint -q "$trixie/proc"; then mount -t proc proc "$trixie/proc" && proc_mounted=1; fi
  export DELTAGEN_TRIXIE_ROOT=$trixie
else
  echo "trixie root unavailable: the current-client layer (CurrentClientTests) will be skipped"
  unset DELTAGEN_TRIXIE_ROOT
  export DELTAGEN_TRIXIE_UNAVAILABLE="Scripts/trixie-root.sh could not build the trixie root (no network to the Debian mirror, or no debootstrap)"
fi

# XCTest only: the suite has no Swift Testing tests, and its empty run would say "0 tests".
status=0
swift test --skip-build --disable-swift-testing 2>&1 | tee .build/test-output.txt || status=$?
passed=$(grep -c "^Test Case '.*' passed" .build/test-output.txt || true)
failed=$(grep -c "^Test Case '.*' failed" .build/test-output.txt || true)
skipped=$(grep -c "^Test Case '.*' skipped" .build/test-output.txt || true)

# The Debian package, a step of its own after the Swift tests: a release build
# (Scripts/package-deb.sh, in .build-release), installed into a fresh Debian 12 root without
# Swift where it generates, shows and verifies a delta (Scripts/test-deb.sh). It counts as one
# test in the summary below.
deb_start=$(date +%s)
rm -rf .build/deb && mkdir -p .build/deb
if bash Scripts/package-deb.sh .build/deb >.build/deb-build.log 2>&1; then
  if bash Scripts/test-deb.sh .build/deb/deltagen_*_amd64.deb; then deb=PASS; else deb=FAIL; fi
else
  tail -n 20 .build/deb-build.log
  echo "deb package: FAIL (Scripts/package-deb.sh; log in .build/deb-build.log)"
  deb=FAIL
fi
echo "Debian package step: $deb in $(( $(date +%s) - deb_start ))s"
if [ "$deb" = PASS ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

# ThreadSanitizer over the parallel pipeline: the scheduler, the packer, the compressors
# and the verifier, in unit tests and in deltagen runs with several jobs (the binary the
# compatibility tests run is the instrumented one). A separate scratch path keeps the
# instrumented build apart from the main one. Any report, from the test process or from a
# deltagen it ran, fails the script.
tsan_status=0
tsan_filter='CoreSlotsTests|DoorbellTests|PartPackerTests|PartCompressorTests|ApplyOfflineTests.testOutputIsByteIdenticalAcrossRunsJobsAndRepoModes|MemoryLimitTests|CIJobTests.testFanOutGivesTheSameDeltasAndStatsAsOneJob'
tsan_logs=$PWD/.build-tsan/reports
tsan_started=$(date +%s)
swift build --build-tests --sanitize=thread --scratch-path .build-tsan || tsan_status=$?
rm -rf "$tsan_logs" && mkdir -p "$tsan_logs"
if [ "$tsan_status" -eq 0 ]; then
  TSAN_OPTIONS="halt_on_error=0 log_path=$tsan_logs/report" \
    swift test --skip-build --disable-swift-testing --sanitize=thread --scratch-path .build-tsan \
      --filter "$tsan_filter" 2>&1 | tee .build/tsan-output.txt || tsan_status=$?
fi
tsan_reports=$(cat "$tsan_logs"/report* 2>/dev/null | grep -c "WARNING: ThreadSanitizer" || true)
tsan_passed=$(grep -c "^Test Case '.*' passed" .build/tsan-output.txt 2>/dev/null || true)
tsan_failed=$(grep -c "^Test Case '.*' failed" .build/tsan-output.txt 2>/dev/null || true)
if [ "$tsan_reports" -gt 0 ]; then
  echo "ThreadSanitizer reports (in $tsan_logs):"
  cat "$tsan_logs"/report* | grep -A12 "WARNING: ThreadSanitizer" | head -200
fi
echo "ThreadSanitizer: ${tsan_passed} tests passed, ${tsan_failed} failed, ${tsan_reports} reports, $(( $(date +%s) - tsan_started )) s"
passed=$((passed + tsan_passed))
failed=$((failed + tsan_failed))

if [ "$skipped" -gt 0 ]; then
  echo "skipped tests (name: reason):"
  sed -nE 's/^.*: ([A-Za-z0-9_]+\.[A-Za-z0-9_]+) : Test skipped - (.*)$/  \1: \2/p' .build/test-output.txt
fi
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
[ "$failed" -eq 0 ] && [ "$status" -eq 0 ] && [ "$tsan_status" -eq 0 ] && [ "$tsan_reports" -eq 0 ]

#!/usr/bin/env bash
# Fuzzes the delta reader (superblock, inline parts, payload, op replay) with libFuzzer.
# Usage: Scripts/fuzz.sh [SECONDS]   (default 60)
# Seeds are real inline deltas, from deltagen and from ostree's generator, of the test repo.
# Findings land in .build-fuzz/crashes; replay one with .build/debug/DeltaFuzz FILE.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
swift build --product DeltaFuzz --scratch-path .build-fuzz \
  -Xswiftc -sanitize=fuzzer -Xswiftc -DFUZZING -Xswiftc -use-ld=lld >/dev/null 2>&1 ||
  { echo "error: the fuzz build failed; rerun the swift build line above to see why" >&2; exit 1; }
swift build --product deltagen >/dev/null 2>&1
work=.build-fuzz/work seeds=.build-fuzz/seeds corpus=.build-fuzz/corpus
rm -rf "$work"; mkdir -p "$work" "$seeds" "$corpus" .build-fuzz/crashes
bash TestRepos/make-test-repo.sh --big-size 1024 "$work/repo" >/dev/null
for args in "v1 v2" "v2 v3" "--empty v1" "--max-chunk-size 1 --empty v3"; do
  name=$(echo "$args" | tr ' ' '_')
  # shellcheck disable=SC2086
  .build/debug/deltagen generate-delta --repo "$work/repo" --inline --min-fallback-size 0 \
    --filename "$seeds/deltagen$name" $args >/dev/null
done
ostree --repo="$work/repo" static-delta generate --inline --min-fallback-size=0 --from=v1 --to=v2 \
  --filename="$seeds/ostree_v1_v2" >/dev/null 2>&1
.build-fuzz/debug/DeltaFuzz -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
  -artifact_prefix=.build-fuzz/crashes/ "$corpus" "$seeds"

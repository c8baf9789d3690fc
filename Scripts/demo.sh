#!/usr/bin/env bash
# Installs what deltagen needs, builds it, and runs the main job on a built-in sample repo:
# create the repo, generate a delta, show it, and apply it with stock ostree.
# Usage: Scripts/demo.sh [WORKDIR]   (default: a new temporary directory)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${DELTAGEN_SKIP_APT:-0}" != 1 ]; then bash Scripts/install-deps.sh; fi
swift build -c release --product deltagen >/dev/null
deltagen="$(swift build -c release --show-bin-path)/deltagen"

work=${1:-$(mktemp -d)}
mkdir -p "$work"
repo=$work/repo
rm -rf "$repo" "$work/client" "$work/checkout-"*
echo "== Sample repository: $repo"
bash TestRepos/make-test-repo.sh "$repo"

echo "== deltagen generate-delta v1 v2 (self-contained: no fallbacks, so apply-offline accepts it)"
"$deltagen" generate-delta --repo "$repo" --min-fallback-size 0 v1 v2
from=$(ostree --repo="$repo" rev-parse v1)
to=$(ostree --repo="$repo" rev-parse v2)

echo "== deltagen show"
"$deltagen" show --repo "$repo" "$from-$to"

echo "== stock ostree: apply-offline into a bare-user repo holding only v1, then fsck"
ostree --repo="$work/client" init --mode=bare-user
ostree --repo="$work/client" pull-local "$repo" "$from" >/dev/null
delta_dir=$(dirname "$(find "$repo/deltas" -path '*-*/superblock')")
ostree --repo="$work/client" static-delta apply-offline "$delta_dir"
ostree --repo="$work/client" fsck
ostree --repo="$work/client" checkout -U "$to" "$work/checkout-client"
ostree --repo="$repo" checkout -U "$to" "$work/checkout-source"
diff -r --no-dereference "$work/checkout-source" "$work/checkout-client"
echo "== OK: the client's $to is identical to the source's"

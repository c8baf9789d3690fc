#!/usr/bin/env bash
# Builds (or reuses) a Debian 13 "trixie" root holding Debian's ostree, for the
# current-client test layer: `debootstrap --variant=minbase --include=ostree trixie DIR`
# from debootstrap's default mirror. A finished root is marked with DIR/.deltagen-complete
# and reused as is; a half-built one (killed run, no network) is removed and rebuilt.
#
# Usage: Scripts/trixie-root.sh DIR      exit 0 with DIR ready, 1 when it cannot be built
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
dir=$1
if [ -e "$dir/.deltagen-complete" ] && [ -x "$dir/usr/bin/ostree" ]; then
  echo "trixie root: reusing $dir ($(chroot "$dir" ostree --version | sed -n 2p | tr -d ' '))"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "trixie root: debootstrap is not installed" >&2; exit 1; }
# A previous run may have left /proc mounted inside a half-built root.
if mountpoint -q "$dir/proc" 2>/dev/null; then umount "$dir/proc"; fi
rm -rf "$dir" "$dir.partial"
mkdir -p "$(dirname "$dir")"
start=$(date +%s)
log=$(mktemp)
if ! debootstrap --variant=minbase --include=ostree trixie "$dir.partial" >"$log" 2>&1; then
  echo "trixie root: debootstrap failed after $(( $(date +%s) - start ))s; last lines:" >&2
  tail -n 5 "$log" >&2
  rm -rf "$dir.partial" "$log"
  exit 1
fi
rm -f "$log"
touch "$dir.partial/.deltagen-complete"
mv "$dir.partial" "$dir"
echo "trixie root: built $dir in $(( $(date +%s) - start ))s ($(chroot "$dir" ostree --version | sed -n 2p | tr -d ' '))"

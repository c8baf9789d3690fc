#!/usr/bin/env bash
# Installs deltagen_*.deb into a fresh Debian 12 root that has no Swift, and generates,
# shows and verifies a delta there on a repository made by the root's own ostree; stock
# ostree then applies the delta offline. Prints "deb package: PASS" or "deb package: FAIL"
# last, and exits non-zero on FAIL.
#
# Usage: Scripts/test-deb.sh DEB
#
# The root is `debootstrap --variant=minbase bookworm`, built once into .build/bookworm-root
# (with its apt lists) and reused between runs, as Scripts/trixie-root.sh does for trixie.
# Each run installs into a copy, so the cached root stays clean; the packages apt fetched
# are kept in .build/bookworm-apt-cache, so later runs need no network.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DEB" >&2; exit 2; }
cd "$(dirname "$0")/.."
deb=$(realpath "$1")
pristine=$PWD/.build/bookworm-root
apt_cache=$PWD/.build/bookworm-apt-cache
start=$(date +%s)
work=""
mounted=""

cleanup() {
  if [ -n "$mounted" ] && mountpoint -q "$mounted"; then umount "$mounted" || umount -l "$mounted"; fi
  if [ -n "$work" ]; then rm -rf "$work"; fi
}
finish() {
  local status=$?
  cleanup
  if [ "$status" -eq 0 ]; then echo "deb package: PASS ($(( $(date +%s) - start ))s)"
  else echo "deb package: FAIL ($(( $(date +%s) - start ))s)"; fi
  exit "$status"
}
trap finish EXIT
trap 'exit 130' INT TERM

if [ ! -e "$pristine/.deltagen-complete" ]; then
  command -v debootstrap >/dev/null || { echo "debootstrap is not installed" >&2; exit 1; }
  rm -rf "$pristine" "$pristine.partial"
  mkdir -p "$(dirname "$pristine")"
  log=$(mktemp)
  if ! debootstrap --variant=minbase bookworm "$pristine.partial" >"$log" 2>&1; then
    tail -n 5 "$log" >&2; rm -f "$log"; exit 1
  fi
  rm -f "$log"
  cp /etc/resolv.conf "$pristine.partial/etc/resolv.conf"
  chroot "$pristine.partial" apt-get update -qq
  touch "$pristine.partial/.deltagen-complete"
  mv "$pristine.partial" "$pristine"
  echo "bookworm root: built in $(( $(date +%s) - start ))s"
fi
if chroot "$pristine" sh -c 'command -v swift swiftc' >/dev/null 2>&1; then
  echo "the bookworm root has a Swift toolchain; it must not" >&2; exit 1
fi

work=$(mktemp -d /var/tmp/deltagen-deb.XXXXXX)
cp -a "$pristine" "$work/root"
root=$work/root
cp /etc/resolv.conf "$root/etc/resolv.conf"
mkdir -p "$apt_cache"
cp "$apt_cache"/*.deb "$root/var/cache/apt/archives/" 2>/dev/null || true
cp "$deb" "$root/tmp/"
mount -t proc proc "$root/proc"
mounted=$root/proc

in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "/tmp/$(basename "$deb")" >"$work/apt.log" 2>&1 \
  || { tail -n 20 "$work/apt.log" >&2; exit 1; }
cp -n "$root"/var/cache/apt/archives/*.deb "$apt_cache/" 2>/dev/null || true
echo "installed: $(in_root dpkg-query -W -f '${Package} ${Version}' deltagen), $(in_root ostree --version | sed -n 2p | tr -d ' ')"
in_root man -w deltagen >/dev/null 2>&1 || [ -e "$root/usr/share/man/man1/deltagen.1.gz" ] \
  || { echo "no man page installed" >&2; exit 1; }

in_root bash -euo pipefail -c '
  cd /tmp
  ostree --repo=repo init --mode=archive
  mkdir -p v1/usr/bin v1/usr/share/data v1/etc
  for i in $(seq 1 40); do seq "$i" 3000 > "v1/usr/share/data/file$i"; done
  head -c 400000 /usr/bin/apt > v1/usr/bin/tool
  echo 1 > v1/etc/version
  ostree --repo=repo commit -b main --tree=dir=v1 -s v1 > from
  cp -a v1 v2
  echo 2 > v2/etc/version
  for i in $(seq 1 40 | sed -n "1~3p"); do seq "$i" 3100 > "v2/usr/share/data/file$i"; done
  head -c 420000 /usr/bin/apt > v2/usr/bin/tool
  ostree --repo=repo commit -b main --tree=dir=v2 -s v2 > to
  from=$(cat from) to=$(cat to)
  deltagen generate-delta --repo repo --min-fallback-size 0 "$from" "$to"
  deltagen show --repo repo "$from-$to"
  deltagen verify --repo repo "$from-$to"
  # The stock client applies it to a bare-user repository that holds only v1.
  ostree --repo=client init --mode=bare-user
  ostree --repo=client pull-local repo "$from" >/dev/null
  ostree --repo=client static-delta apply-offline "$(dirname "$(find repo/deltas -path "*-*/superblock")")"
  ostree --repo=client fsck >/dev/null
  ostree --repo=client checkout -U "$to" client-out
  ostree --repo=repo checkout -U "$to" source-out
  diff -r --no-dereference source-out client-out
  echo "delta applied by ostree $(ostree --version | sed -n 2p | tr -d " ")"
'

#!/usr/bin/env bash
# make-test-repo.sh - deterministic OSTree test repository for deltagen.
#
# Usage: TestRepos/make-test-repo.sh [--mode archive|bare-user|bare] [--big-size BYTES] REPO_DIR
#
# Creates REPO_DIR (must not exist) with `ostree init --mode=MODE` (default
# archive) and three commits on branch `main`; refs v1, v2, v3 and main -> v3.
# Prints "v1 <csum>", "v2 <csum>", "v3 <csum>" on stdout; all else on stderr.
#
# Determinism: fixed subjects/bodies/timestamps, --owner-uid/gid=0, every file
# and directory chmod'ed explicitly (umask irrelevant; ostree ignores mtimes),
# content from a seeded generator (AES-128-CTR keystream with key=sha256(seed)
# via openssl; python3 random.Random(seed) fallback - that fallback yields
# DIFFERENT, but still reproducible, checksums). The commit checksums do not
# depend on the repo mode. Needs user.* xattr support in $TMPDIR (default /tmp).
#
# v1 cases (why):
#   empty.txt / tiny.txt / small.bin / medium.bin(200K) - size edge cases for
#     inline vs. bsdiff vs. rollsum handling;
#   data/big.img (> 4,000,000 B fallback threshold, --big-size) - fallback
#     objects; mix of text + pseudo-random blocks so xz stays fast;
#   bin/tool 0755, bin/suid-helper 04755, secret/ 0700 + secret/key.pem 0600 -
#     modes must survive in file headers / dirmeta;
#   links/{dangling,to-dir,to-file}, usr/lib/libfoo.so.1 - symlink objects;
#   empty-dir/ - dirtree with no entries; deep/l01/../l14/ - deep recursion;
#   xattr/with-xattrs.txt (user.foo, user.abc) + xattr on xattr/ dir - xattrs
#     in file headers and dirmeta;
#   dup/{a.dat,b.dat,sub/c.dat} - same content object under several names;
#   unicode/ - non-ASCII (UTF-8) names; docs/*.txt (seq) text, *.bin blobs.
# v2 (vs v1): in-place binary edits (small.bin, medium.bin, bin/tool), append
#   to docs/numbers.txt, rename old/rename-me.txt -> old/renamed.txt, delete
#   old/obsolete.txt, move data/move-me.bin -> archive/moved/, new files incl.
#   data/big2.img (> 4 MB), retarget links/to-file, chmod docs/mode-change.sh
#   0644 -> 0755, change user.foo value, libfoo.so.1.2.3 -> libfoo.so.1.2.4
#   (slightly edited content; tests name-based similarity matching).
# v3 (vs v2): small edits (tiny.txt, deep leaf, big.img in place), remove
#   empty-dir/, add new/v3.txt, detached metadata (deltagen.test=detached-v3).
set -euo pipefail
umask 022

die() { echo "make-test-repo.sh: error: $*" >&2; exit 1; }

MODE=archive
BIG_SIZE=5000000
REPO=
while [ $# -gt 0 ]; do
  case "$1" in
    --mode) [ $# -ge 2 ] || die "--mode needs a value"; MODE=$2; shift 2 ;;
    --mode=*) MODE=${1#--mode=}; shift ;;
    --big-size) [ $# -ge 2 ] || die "--big-size needs a value"; BIG_SIZE=$2; shift 2 ;;
    --big-size=*) BIG_SIZE=${1#--big-size=}; shift ;;
    -h|--help) sed -n '2,4p' "$0" >&2; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) [ -z "$REPO" ] || die "only one REPO_DIR allowed"; REPO=$1; shift ;;
  esac
done
[ -n "$REPO" ] || die "usage: $0 [--mode archive|bare-user|bare] [--big-size BYTES] REPO_DIR"
case "$MODE" in archive|bare-user|bare) ;; *) die "invalid mode '$MODE'" ;; esac
[[ "$BIG_SIZE" =~ ^[0-9]+$ ]] && [ "$BIG_SIZE" -ge 1024 ] || die "--big-size must be a byte count >= 1024"
[ ! -e "$REPO" ] && [ ! -L "$REPO" ] || die "'$REPO' already exists"
command -v ostree >/dev/null || die "ostree not found"
command -v setfattr >/dev/null || die "setfattr (attr package) not found"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/make-test-repo.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
R=$WORK/root
mkdir -p "$R"

# rand SEED N: N deterministic pseudo-random bytes on stdout.
if command -v openssl >/dev/null; then
  rand() {
    local key; key=$(printf '%s' "$1" | sha256sum | cut -c1-32)
    head -c "$2" /dev/zero | openssl enc -aes-128-ctr -K "$key" -iv 00000000000000000000000000000000
  }
else
  command -v python3 >/dev/null || die "need openssl or python3"
  rand() {
    python3 -c 'import random,sys; sys.stdout.buffer.write(random.Random(sys.argv[1]).randbytes(int(sys.argv[2])))' "$1" "$2"
  }
fi
# put PATH SEED N: write N pseudo-random bytes to $R/PATH.
put() { mkdir -p "$(dirname "$R/$1")"; rand "$2" "$3" >"$R/$1"; }
# txt PATH LINE...: write text lines to $R/PATH.
txt() { local p=$1; shift; mkdir -p "$(dirname "$R/$p")"; printf '%s\n' "$@" >"$R/$p"; }
# patch PATH OFFSET STRING: overwrite bytes in place.
patch() { printf '%s' "$3" | dd of="$R/$1" bs=1 seek="$2" conv=notrunc status=none; }
# bigfile PATH SEED SIZE: 32 KiB random blocks alternating with ~100 KiB of text.
bigfile() {
  local f=$R/$1 i=0; mkdir -p "$(dirname "$f")"; : >"$f"
  while [ "$(stat -c %s "$f")" -lt "$3" ]; do
    rand "$2-$i" 32768 >>"$f"
    seq -f "$2 block $i line %06g: the quick brown fox jumps over the lazy dog" 1 1400 >>"$f"
    i=$((i + 1))
  done
  truncate -s "$3" "$f"
}
# Explicit modes: dirs 0755, files 0644, then the special cases in MODES.
MODES=("0755:bin/tool" "04755:bin/suid-helper" "0700:secret" "0600:secret/key.pem")
fix_modes() {
  find "$R" -type d -exec chmod 0755 {} +
  find "$R" -type f -exec chmod 0644 {} +
  local e
  for e in "${MODES[@]}"; do
    if [ -e "$R/${e#*:}" ]; then chmod "${e%%:*}" "$R/${e#*:}"; fi
  done
}
# commit N TIMESTAMP [extra ostree args]: commit $R as vN, print checksum.
commit() {
  local n=$1 ts=$2; shift 2
  fix_modes
  local c
  c=$(ostree commit --repo="$REPO" --branch=main --subject="v$n" \
        --body="deltagen test repository, commit v$n" \
        --add-metadata-string=version="$n.0" --timestamp="@$ts" \
        --owner-uid=0 --owner-gid=0 --fsync=false "$@" "$R")
  ostree refs --repo="$REPO" --create="v$n" "$c" >&2
  echo "$c"
}

mkdir -p "$(dirname "$REPO")"  # parent directories are created, the repo itself must be new
ostree init --repo="$REPO" --mode="$MODE" >&2

# ---------------------------------------------------------------- v1
: >"$R/empty.txt"
printf 'hi\n' >"$R/tiny.txt"
put small.bin small 3000
put data/medium.bin medium 204800
bigfile data/big.img big1 "$BIG_SIZE"
{ printf '\177ELF\002\001\001\000'; rand tool 40952; } >"$WORK/tool"
mkdir -p "$R/bin"; cp "$WORK/tool" "$R/bin/tool"
txt bin/suid-helper '#!/bin/sh' 'echo "running as $(id -u)"'
txt secret/key.pem '-----BEGIN FAKE KEY-----' 'bm90IGEgcmVhbCBrZXk=' '-----END FAKE KEY-----'
seq 1 20000 >"$WORK/numbers"; mkdir -p "$R/docs"; cp "$WORK/numbers" "$R/docs/numbers.txt"
txt docs/readme.txt 'deltagen test tree' 'line two' 'line three'
txt docs/mode-change.sh '#!/bin/sh' 'echo mode change'
mkdir -p "$R/links"
ln -s ../does/not/exist "$R/links/dangling"
ln -s ../docs "$R/links/to-dir"
ln -s ../tiny.txt "$R/links/to-file"
mkdir -p "$R/empty-dir"
deep=deep; for i in $(seq -w 1 14); do deep=$deep/l$i; done
txt "$deep/leaf.txt" 'at the bottom of 14 levels'
txt xattr/with-xattrs.txt 'this file carries user xattrs'
setfattr -n user.foo -v bar "$R/xattr/with-xattrs.txt"
setfattr -n user.abc -v 123 "$R/xattr/with-xattrs.txt"
setfattr -n user.dirattr -v on-a-directory "$R/xattr"
put dup/a.dat dup 10000
mkdir -p "$R/dup/sub"; cp "$R/dup/a.dat" "$R/dup/b.dat"; cp "$R/dup/a.dat" "$R/dup/sub/c.dat"
txt 'unicode/héllo-wörld.txt' 'bonjour, monde'
txt 'unicode/日本語.txt' 'こんにちは世界'
put usr/lib/libfoo.so.1.2.3 libfoo 61440
ln -s libfoo.so.1.2.3 "$R/usr/lib/libfoo.so.1"
txt etc/config.ini '[main]' 'answer=42' 'name=deltagen'
txt old/obsolete.txt 'deleted in v2'
txt old/rename-me.txt 'renamed in v2' 'second line'
put data/move-me.bin moveme 50000
v1=$(commit 1 1700000000)

# ---------------------------------------------------------------- v2
patch small.bin 100 'PATCHED-v2'
patch data/medium.bin 123456 'medium edited in v2'
patch bin/tool 4096 'tool-v2'
seq 20001 20500 >>"$R/docs/numbers.txt"
mv "$R/old/rename-me.txt" "$R/old/renamed.txt"
rm "$R/old/obsolete.txt"
mkdir -p "$R/archive/moved"; mv "$R/data/move-me.bin" "$R/archive/moved/move-me.bin"
bigfile data/big2.img big2 $((BIG_SIZE + 123457))
txt new/hello.txt 'new in v2'
put new/random.bin newrand 7777
ln -sfn ../small.bin "$R/links/to-file"
MODES+=("0755:docs/mode-change.sh")
setfattr -n user.foo -v baz-changed "$R/xattr/with-xattrs.txt"
mv "$R/usr/lib/libfoo.so.1.2.3" "$R/usr/lib/libfoo.so.1.2.4"
patch usr/lib/libfoo.so.1.2.4 30000 'libfoo 1.2.4'
ln -sfn libfoo.so.1.2.4 "$R/usr/lib/libfoo.so.1"
v2=$(commit 2 1700086400 --parent="$v1")

# ---------------------------------------------------------------- v3
printf 'hi there, v3\n' >"$R/tiny.txt"
txt "$deep/leaf.txt" 'at the bottom of 14 levels' 'edited in v3'
patch data/big.img $((BIG_SIZE / 2)) 'big.img edited in v3'
rm -r "$R/empty-dir"
txt new/v3.txt 'added in v3'
v3=$(commit 3 1700172800 --parent="$v2" --add-detached-metadata-string=deltagen.test=detached-v3)

printf 'v1 %s\nv2 %s\nv3 %s\n' "$v1" "$v2" "$v3"

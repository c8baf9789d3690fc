#!/usr/bin/env bash
# make-big-repo.sh - two commits of an OS image with big files, for scale tests and benchmarks.
#
# Usage: TestRepos/make-big-repo.sh [--scale N] [--big-scale N] [--mode archive|bare-user] [--files-only] REPO_DIR
#
# Creates REPO_DIR (must not exist) with refs big1 and big2 and prints "big1 <csum>" and
# "big2 <csum>" on stdout. Every size and count is divided by --scale (default 1):
#   firmware/blob.img  1.5 GB, random; big2 edits it in 8 places (a few KiB each)
#   models/model.bin   1.2 GB, new in big2: 1 MiB blocks, alternately random and text
#   images/rootfs.img  300 MB, random, replaced wholesale in big2
#   usr/share/small/   100,000 files of 100 B to 4 KiB in 3-deep directories; big2 edits
#                      3% of them, removes 1% and adds 1%
# --big-scale N divides only the three big files' sizes (to see what their size alone costs);
# --files-only leaves them out (for timing the tree walk alone).
# Content is a seeded AES-CTR keystream (openssl), so the commits are the same every run.
set -euo pipefail
umask 022
die() { echo "make-big-repo.sh: error: $*" >&2; exit 1; }

SCALE=1
BIG_SCALE=1
MODE=archive
FILES_ONLY=0
REPO=
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) [ $# -ge 2 ] || die "--scale needs a value"; SCALE=$2; shift 2 ;;
    --big-scale) [ $# -ge 2 ] || die "--big-scale needs a value"; BIG_SCALE=$2; shift 2 ;;
    --mode) [ $# -ge 2 ] || die "--mode needs a value"; MODE=$2; shift 2 ;;
    --files-only) FILES_ONLY=1; shift ;;
    -*) die "unknown option $1" ;;
    *) [ -z "$REPO" ] || die "one REPO_DIR only"; REPO=$1; shift ;;
  esac
done
[ -n "$REPO" ] || die "usage: make-big-repo.sh [--scale N] [--mode MODE] REPO_DIR"
[[ "$SCALE" =~ ^[1-9][0-9]*$ ]] || die "--scale must be a positive integer"
[[ "$BIG_SCALE" =~ ^[1-9][0-9]*$ ]] || die "--big-scale must be a positive integer"
[ ! -e "$REPO" ] || die "$REPO already exists"
command -v openssl >/dev/null || die "needs openssl"
command -v ostree >/dev/null || die "needs ostree"

rand() {  # rand SEED BYTES: a deterministic keystream
  local key
  key=$(printf '%s' "$1" | sha256sum | cut -c1-32)
  head -c "$2" /dev/zero | openssl enc -aes-128-ctr -K "$key" -iv 00000000000000000000000000000000 2>/dev/null
}

blob=$((1500000000 / SCALE / BIG_SCALE)); model=$((1200000000 / SCALE / BIG_SCALE)); rootfs=$((300000000 / SCALE / BIG_SCALE))
if [ "$FILES_ONLY" = 1 ]; then blob=0; model=0; rootfs=0; fi
files=$((100000 / SCALE))
work=$(mktemp -d "${TMPDIR:-/tmp}/make-big-repo.XXXXXX")
trap 'rm -rf "$work"' EXIT
t1=$work/t1; t2=$work/t2
mkdir -p "$t1/firmware" "$t1/images" "$t1/usr/share/small"

[ "$blob" = 0 ] || rand blob "$blob" > "$t1/firmware/blob.img"
[ "$rootfs" = 0 ] || rand rootfs1 "$rootfs" > "$t1/images/rootfs.img"
# The small files: one keystream cut into pieces, so creating 100,000 of them is quick.
python3 - "$t1/usr/share/small" "$files" <<'PY'
import hashlib, os, sys
root, count = sys.argv[1], int(sys.argv[2])
for i in range(count):
    d = os.path.join(root, "%02x" % (i % 251), "%02x" % (i // 251 % 17), "%x" % (i % 5))
    os.makedirs(d, exist_ok=True)
    seed = hashlib.sha256(b"small%d" % i).digest()
    size = 100 + int.from_bytes(seed[:2], "little") % 4000
    text = (b"line %d of file %d: " % (i, i)) + seed.hex().encode() + b"\n"
    with open(os.path.join(d, "f%06d.txt" % i), "wb") as f:
        f.write((text * (size // len(text) + 1))[:size])
PY

cp -a "$t1" "$t2"
# big2: edit the blob in 8 places, replace the rootfs, add the model, touch the small files.
for k in 0 1 2 3 4 5 6 7; do
  [ "$blob" = 0 ] || rand "edit$k" 4096 | dd of="$t2/firmware/blob.img" bs=4096 seek=$(( blob / 9 * (k + 1) / 4096 )) conv=notrunc status=none
done
[ "$rootfs" = 0 ] || rand rootfs2 "$rootfs" > "$t2/images/rootfs.img"
mkdir -p "$t2/models"
[ "$model" = 0 ] || python3 - "$t2/models/model.bin" "$model" <<'PY'
import hashlib, sys
path, size = sys.argv[1], int(sys.argv[2])
block = 1 << 20
text = b"".join(b"weight %08d = %s\n" % (i, hashlib.sha256(b"%d" % i).hexdigest()[:24].encode()) for i in range(20000))
with open(path, "wb") as f:
    written, n = 0, 0
    while written < size:
        want = min(block, size - written)
        if n % 2 == 0:
            f.write(hashlib.shake_256(b"model%d" % n).digest(want))
        else:
            f.write((text * (want // len(text) + 1))[:want])
        written += want
        n += 1
PY
python3 - "$t2/usr/share/small" "$files" <<'PY'
import os, sys
root, count = sys.argv[1], int(sys.argv[2])
paths = sorted(os.path.join(dp, f) for dp, _, fs in os.walk(root) for f in fs)
for i, p in enumerate(paths):
    if i % 33 == 0:
        with open(p, "ab") as f: f.write(b"edited in big2\n")
    elif i % 100 == 1:
        os.remove(p)
for i in range(count // 100):
    d = os.path.join(root, "new", "%02x" % (i % 50))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "n%05d.txt" % i), "w") as f: f.write("new file %d\n" % i * 20)
PY

mkdir -p "$(dirname "$REPO")"
ostree init --repo="$REPO" --mode="$MODE"
commit() {
  ostree commit --repo="$REPO" -b "$1" -s "$1" --owner-uid=0 --owner-gid=0 --no-xattrs \
    --timestamp=2024-01-01T00:00:00Z --tree=dir="$2"
}
c1=$(commit big1 "$t1")
c2=$(commit big2 "$t2")
echo "big1 $c1"
echo "big2 $c2"

#!/usr/bin/env bash
# make-debian-corpus.sh - a realistic OS-like pair of commits from Debian packages.
#
# Usage: TestRepos/make-debian-corpus.sh [--cache DIR] REPO_DIR
#
# For each package below that apt lists at two or more versions (bookworm, bookworm-updates,
# bookworm-security), v1 holds the oldest and v2 the newest listed version, unpacked with
# dpkg-deb -x into one tree each, as a security update would change a real image. Packages
# with one version sit unchanged in both, like the rest of an OS. The .deb files are cached
# in DIR (default ${XDG_CACHE_HOME:-~/.cache}/deltagen/debs) outside git, so reruns need no
# network. Which versions were used is printed and recorded in the commit bodies: mirrors
# move on, so the corpus is a function of the day's package lists. Prints "v1 <csum>" and
# "v2 <csum>" on stdout.
set -euo pipefail

cache=${XDG_CACHE_HOME:-$HOME/.cache}/deltagen/debs
if [ "${1:-}" = --cache ]; then cache=$2; shift 2; fi
[ $# -eq 1 ] || { echo "usage: $0 [--cache DIR] REPO_DIR" >&2; exit 2; }
repo=$1
[ ! -e "$repo" ] || { echo "error: $repo already exists" >&2; exit 1; }

changed=(libc6 libc-bin libssl3 openssl systemd libsystemd0 libudev1 curl libcurl4 openssh-client
         libxml2 python3.11 python3.11-minimal libpython3.11-stdlib libpython3.11-minimal
         bind9-libs libnss3 libexpat1 tzdata libgnutls30 libsqlite3-0 libtiff6)
unchanged=(coreutils bash dash grep sed tar gzip perl-base libstdc++6 libgcc-s1 zlib1g util-linux)

mkdir -p "$cache"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/v1" "$work/v2"
manifest1=$work/manifest1 manifest2=$work/manifest2
: >"$manifest1"; : >"$manifest2"

# fetch NAME VERSION -> path of the cached .deb
fetch() {
  local name=$1 version=$2 found
  found=$(find "$cache" -maxdepth 1 -name "${name}_$(printf %s "$version" | sed 's/:/%3a/')_*.deb" | head -n1)
  if [ -z "$found" ]; then
    (cd "$cache" && apt-get download -qq "$name=$version" >/dev/null 2>&1) ||
      { echo "error: apt-get download $name=$version failed" >&2; exit 1; }
    found=$(find "$cache" -maxdepth 1 -name "${name}_$(printf %s "$version" | sed 's/:/%3a/')_*.deb" | head -n1)
  fi
  printf %s "$found"
}

# versions NAME -> every version apt lists, oldest first (dpkg's ordering, via a sort key)
versions() {
  apt-cache madison "$1" 2>/dev/null | awk -F'|' '{gsub(/ /, "", $2); print $2}' | sort -u |
    python3 -c 'import sys, functools, subprocess
vs = [l.strip() for l in sys.stdin if l.strip()]
def cmp(a, b):
    if a == b: return 0
    return -1 if subprocess.run(["dpkg", "--compare-versions", a, "lt", b]).returncode == 0 else 1
print("\n".join(sorted(vs, key=functools.cmp_to_key(cmp))))'
}

for name in "${changed[@]}" "${unchanged[@]}"; do
  mapfile -t vs < <(versions "$name")
  [ ${#vs[@]} -gt 0 ] || { echo "skipping $name: apt lists no version" >&2; continue; }
  old=${vs[0]} new=${vs[-1]}
  dpkg-deb -x "$(fetch "$name" "$old")" "$work/v1"
  dpkg-deb -x "$(fetch "$name" "$new")" "$work/v2"
  echo "$name $old" >>"$manifest1"
  echo "$name $new" >>"$manifest2"
  [ "$old" = "$new" ] || echo "changed: $name $old -> $new" >&2
done

ostree --repo="$repo" init --mode=archive
ostree --repo="$repo" commit -b main --tree=dir="$work/v1" --owner-uid=0 --owner-gid=0 \
  --timestamp=@1700000000 -s "debian corpus v1" -m "$(cat "$manifest1")" >/dev/null
ostree --repo="$repo" commit -b main --tree=dir="$work/v2" --owner-uid=0 --owner-gid=0 \
  --timestamp=@1700086400 -s "debian corpus v2" -m "$(cat "$manifest2")" >/dev/null
v1=$(ostree --repo="$repo" rev-parse main^) v2=$(ostree --repo="$repo" rev-parse main)
ostree --repo="$repo" refs --create=v1 "$v1"
ostree --repo="$repo" refs --create=v2 "$v2"
echo "v1 $v1"
echo "v2 $v2"

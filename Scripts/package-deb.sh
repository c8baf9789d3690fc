#!/usr/bin/env bash
# Builds deltagen_VERSION_amd64.deb: a release binary with the Swift runtime and Foundation
# linked in (--static-swift-stdlib), so the target needs no Swift toolchain, only Debian 12's
# shared libraries, which Depends: names; and a man page made from the --help texts.
#
# Usage: Scripts/package-deb.sh [OUTDIR]     (default: the repository root)
# The release build goes to .build-release, apart from the debug build in .build.
# Depends: is every package that owns a library the binary links (readelf NEEDED, resolved by
# ldd, owner by dpkg -S).
# ostree (the CLI) is only Recommends: deltagen calls libostree, never the ostree command;
# apt installs it by default, and a slim CI image can leave it out (--no-install-recommends).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath "${1:-.}")
scratch=.build-release

# The static FoundationNetworking (ci-job's downloads) links -lcurl, and Debian 12's libcurl4
# has libcurl.so.4 but not the libcurl.so of the -dev package: a private symlink stands in.
curl=$(ldconfig -p | awk '$1 == "libcurl.so.4" && /x86-64/ { print $NF; exit }')
[ -n "$curl" ] || { echo "package-deb: libcurl.so.4 not found (apt-get install libcurl4)" >&2; exit 1; }
mkdir -p "$scratch/link"
ln -sf "$curl" "$scratch/link/libcurl.so"
build=(swift build -c release --static-swift-stdlib --scratch-path "$scratch" -Xlinker -L"$PWD/$scratch/link" -Xlinker "$curl")
"${build[@]}" --product deltagen
bin=$("${build[@]}" --show-bin-path)/deltagen
version=$("$bin" --version)
arch=$(dpkg --print-architecture)

# Library -> owning package. On a merged-/usr system ldd may print /lib/... while dpkg
# recorded /usr/lib/... (or the other way round), so both spellings are asked.
owner() {
  local path=$1 real
  real=$(readlink -f "$path")
  for p in "$path" "$real" "/usr$path" "/usr$real" "${path#/usr}" "${real#/usr}"; do
    dpkg -S "$p" 2>/dev/null | head -n1 | cut -d: -f1 && return 0
  done
  echo "package-deb: no package owns $path" >&2
  return 1
}
# The libraries the binary itself names (NEEDED), at the paths ldd resolves them to. Their own
# dependencies (ldd lists those too) come in through their packages' Depends.
needed=$(readelf -d "$bin" | awk '/\(NEEDED\)/ { gsub(/[][]/, "", $5); print $5 }')
libs=$(ldd "$bin" | awk -v names="$needed" '
  BEGIN { split(names, n, "\n"); for (i in n) want[n[i]] = 1 }
  $2 == "=>" && ($1 in want) && $3 ~ /^\// { print $3 }
  $1 ~ /^\// { base = $1; sub(/.*\//, "", base); if (base in want) print $1 }' | sort -u)
[ -n "$libs" ] || { echo "package-deb: ldd lists no libraries for $bin" >&2; exit 1; }
depends=$(for lib in $libs; do owner "$lib"; done | sort -u | paste -sd, | sed 's/,/, /g')
for needed in libostree-1-1 libglib2.0-0 liblzma5 libdivsufsort3 libarchive13; do
  case ", $depends, " in *", $needed, "*) ;; *) echo "package-deb: $needed missing from Depends: $depends" >&2; exit 1;; esac
done

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
install -D -m 0755 "$bin" "$root/usr/bin/deltagen"
# Debug info is most of a release binary; binutils comes with the Swift toolchain's needs.
if command -v strip >/dev/null; then strip --strip-unneeded "$root/usr/bin/deltagen"; fi
mkdir -p "$root/usr/share/man/man1" "$root/usr/share/doc/deltagen" "$root/DEBIAN"
bash Scripts/man-page.sh "$root/usr/bin/deltagen" "$version" | gzip -9n > "$root/usr/share/man/man1/deltagen.1.gz"
gzip -9n < README.md > "$root/usr/share/doc/deltagen/README.md.gz"
size=$(du -sk "$root/usr" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: deltagen
Version: $version
Architecture: $arch
Maintainer: deltagen maintainers <deltagen@localhost>
Installed-Size: $size
Depends: $depends
Recommends: ostree
Section: admin
Priority: optional
Description: OSTree static-delta generator for fleets
 deltagen writes OSTree static deltas that stock ostree clients apply, and
 plans, builds, merges and benchmarks them for a fleet's CI job. The Swift
 runtime is linked in; no Swift toolchain is needed.
CONTROL
deb="$out/deltagen_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "built $deb"
echo "Depends: $depends"

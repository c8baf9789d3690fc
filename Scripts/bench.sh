#!/usr/bin/env bash
# Benchmarks deltagen against `ostree static-delta generate` on the same repo and commits,
# in one run, with release builds and default settings on both sides.
#
# Usage: Scripts/bench.sh REPO FROM TO        (a from -> to delta)
#        Scripts/bench.sh REPO --empty TO     (a from-scratch delta)
#        DELTAGEN_ARGS="--jobs 1" Scripts/bench.sh …   (extra deltagen options)
#        OSTREE_ARGS="--min-fallback-size=0" …          (extra options for ostree's generator)
#        BENCH_DELTAGEN=/path/to/deltagen …             (that binary instead of a fresh release build)
#
# For the big pair of TestRepos/make-big-repo.sh (files of 1.5 GB, 1.2 GB and 300 MB):
#   BENCH_RUNS=1 Scripts/bench.sh /tmp/big/repo big1 big2
#
# Prints total bytes (parts + fallbacks, as `static-delta show`'s Total Size), parts, fallbacks,
# wall time, CPU time and peak RSS (/usr/bin/time -v), and the deltagen/ostree ratio; then the
# same for deltagen with --jobs 1, for scaling (BENCH_SKIP_JOBS1=1 leaves that run out).
#
# deltagen and ostree run BENCH_RUNS times (default 3), alternately, and the table shows the
# median of each figure, then every run's ratios: on a shared VM the speed of the machine
# drifts by 15% or more from one minute to the next, and one pair of runs can catch either
# tool at a slow moment.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -eq 3 ] || { echo "usage: $0 REPO FROM TO | $0 REPO --empty TO" >&2; exit 2; }
repo=$1 from=$2 to=$3
[ -x /usr/bin/time ] || { echo "error: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }

if [ -n "${BENCH_DELTAGEN:-}" ]; then
  deltagen=$BENCH_DELTAGEN   # a binary built elsewhere, e.g. an earlier commit's, for before/after runs
else
  (cd "$root" && swift build -c release --product deltagen >/dev/null 2>&1) || { echo "error: release build failed" >&2; exit 1; }
  deltagen="$(cd "$root" && swift build -c release --show-bin-path 2>/dev/null)/deltagen"
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

if [ "$from" = --empty ]; then
  ours=(--empty "$to"); theirs=(--empty "--to=$to")
else
  ours=("$from" "$to"); theirs=("--from=$from" "--to=$to")
fi

# measure NAME COMMAND... : runs it under /usr/bin/time -v, writes NAME.time
measure() {
  local name=$1; shift
  /usr/bin/time -v -o "$out/$name.time" "$@" >"$out/$name.log" 2>&1 ||
    { echo "error: $name failed:" >&2; cat "$out/$name.log" >&2; exit 1; }
}
field() { awk -F': ' -v k="$2" '$1 ~ k {print $2}' "$out/$1.time" | tail -n1; }
seconds() {  # "m:ss.cc" or "h:mm:ss" -> seconds
  echo "$1" | awk -F: '{s=0; for (i=1; i<=NF; i++) s=s*60+$i; printf "%.2f", s}'
}

runs=${BENCH_RUNS:-3}
mkdir -p "$out/deltagen" "$out/ostree" "$out/jobs1"
for run in $(seq "$runs"); do
  rm -f "$out"/deltagen/* "$out"/ostree/*
  # shellcheck disable=SC2086
  measure "deltagen.$run" "$deltagen" generate-delta --repo "$repo" --filename "$out/deltagen/superblock" ${DELTAGEN_ARGS:-} "${ours[@]}"
  # shellcheck disable=SC2086
  measure "ostree.$run" ostree --repo="$repo" static-delta generate --filename="$out/ostree/superblock" ${OSTREE_ARGS:-} "${theirs[@]}"
done
if [ -z "${BENCH_SKIP_JOBS1:-}" ]; then
  # shellcheck disable=SC2086
  measure jobs1 "$deltagen" generate-delta --repo "$repo" --filename "$out/jobs1/superblock" ${DELTAGEN_ARGS:-} --jobs 1 "${ours[@]}"
fi

summary() {  # NAME -> "total parts fallbacks"
  "$deltagen" show --json "$out/$1/superblock" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["totalSize"], len(d["parts"]), len(d["fallbacks"]))'
}
read -r dg_bytes dg_parts dg_fb <<<"$(summary deltagen)"
read -r os_bytes os_parts os_fb <<<"$(summary ostree)"
cpu() { echo "$(field "$1" 'User time') + $(field "$1" 'System time')" | bc; }
median() { python3 -c 'import statistics,sys; print(f"{statistics.median(float(x) for x in sys.argv[1:]):.2f}")' "$@"; }
# all TOOL FIGURE: FIGURE (wall, cpu or rss) of every run of TOOL
all() {
  for run in $(seq "$runs"); do
    case $2 in
      wall) seconds "$(field "$1.$run" 'Elapsed')" ;;
      cpu) cpu "$1.$run" ;;
      rss) field "$1.$run" 'Maximum resident' ;;
    esac
    echo
  done
}
dg_wall=$(median $(all deltagen wall)) os_wall=$(median $(all ostree wall))
dg_cpu=$(median $(all deltagen cpu)) os_cpu=$(median $(all ostree cpu))
dg_rss=$(median $(all deltagen rss) | cut -d. -f1) os_rss=$(median $(all ostree rss) | cut -d. -f1)

ratio() { python3 -c "print(f'{$1/$2:.3f}' if $2 else 'n/a')"; }
echo "repo: $repo  delta: ${from} -> ${to}  deltagen options: ${DELTAGEN_ARGS:-(defaults)}  ostree options: ${OSTREE_ARGS:-(defaults)}  cores: $(nproc)  runs: $runs (medians)"
printf '%-16s %12s %12s %8s\n' "" deltagen ostree ratio
printf '%-16s %12s %12s %8s\n' "total bytes" "$dg_bytes" "$os_bytes" "$(ratio "$dg_bytes" "$os_bytes")"
printf '%-16s %12s %12s %8s\n' "parts" "$dg_parts" "$os_parts" ""
printf '%-16s %12s %12s %8s\n' "fallbacks" "$dg_fb" "$os_fb" ""
printf '%-16s %12s %12s %8s\n' "wall seconds" "$dg_wall" "$os_wall" "$(ratio "$dg_wall" "$os_wall")"
printf '%-16s %12s %12s %8s\n' "cpu seconds" "$dg_cpu" "$os_cpu" "$(ratio "$dg_cpu" "$os_cpu")"
printf '%-16s %12s %12s %8s\n' "peak RSS (KiB)" "$dg_rss" "$os_rss" "$(ratio "$dg_rss" "$os_rss")"
echo
echo "each run, deltagen/ostree:"
printf '%-6s %10s %10s %8s %10s %10s %8s\n' run "dg wall" "os wall" ratio "dg RSS" "os RSS" ratio
for run in $(seq "$runs"); do
  w1=$(seconds "$(field "deltagen.$run" 'Elapsed')") w2=$(seconds "$(field "ostree.$run" 'Elapsed')")
  r1=$(field "deltagen.$run" 'Maximum resident') r2=$(field "ostree.$run" 'Maximum resident')
  printf '%-6s %10s %10s %8s %10s %10s %8s\n' "$run" "$w1" "$w2" "$(ratio "$w1" "$w2")" "$r1" "$r2" "$(ratio "$r1" "$r2")"
done
if [ -z "${BENCH_SKIP_JOBS1:-}" ]; then
  read -r j1_bytes _ _ <<<"$(summary jobs1)"
  j1_wall=$(seconds "$(field jobs1 'Elapsed')")
  echo
  echo "scaling: deltagen --jobs 1 against the default (--jobs $(nproc) unless DELTAGEN_ARGS says otherwise)"
  printf '%-16s %12s %12s %8s\n' "" "--jobs 1" default "speedup"
  printf '%-16s %12s %12s %8s\n' "total bytes" "$j1_bytes" "$dg_bytes" ""
  printf '%-16s %12s %12s %8s\n' "wall seconds" "$j1_wall" "$dg_wall" "$(ratio "$j1_wall" "$dg_wall")"
  printf '%-16s %12s %12s %8s\n' "cpu seconds" "$(cpu jobs1)" "$dg_cpu" ""
  printf '%-16s %12s %12s %8s\n' "peak RSS (KiB)" "$(field jobs1 'Maximum resident')" "$dg_rss" ""
fi

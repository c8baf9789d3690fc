#!/usr/bin/env bash
# Bytes a device downloads: what a loopback server sends to a stock `ostree pull` (Debian's
# ostree, 2022.7 on Debian 12) for ostree's delta and deltagen's delta of one pair. A
# benchmark, not a test: the figures swing with timing on 2022.2–2023.6 clients
# (docs/clients.md).
#
# Usage: Scripts/pull-bytes.sh REPO FROM TO [--runs N]      (N defaults to 5)
#
# REPO is an archive repo holding FROM and TO; it is not changed. Each delta is generated into
# its own served copy of REPO (hard links, `cp -al`), with the summary refreshed and ref
# $PULL_REF (default main; the ref the commits are bound to) pointing at TO. Each copy is
# served on 127.0.0.1 by Scripts/logging-httpd.py, which logs status, body bytes and path of
# every request. N pulls of each delta, alternating, go into fresh bare-user clients holding
# FROM, with origin:$PULL_REF at FROM as on a device that pulled FROM from the same remote:
#   plain      `ostree pull origin REF`, as a device runs it;
#   two-step   `ostree pull --require-static-deltas --subpath=/nonexistent origin REF`, then
#              `ostree pull origin REF` (min(N,3) runs each);
#   offline    curl the superblock and parts, `ostree static-delta apply-offline`, then
#              `ostree pull origin REF` (1 run each; needs a delta without fallbacks);
# and one pull with `--disable-static-deltas` from a copy without deltas, for scale.
# Prints, side by side: the delta's own size (superblock + parts + fallbacks), bytes served
# (min, median, max), loose fetches by object type (median), then every run.
# The release build of deltagen is used (swift build -c release).
#
# Environment: DELTAGEN_ARGS / OSTREE_ARGS add generator options (e.g. DELTAGEN_ARGS="--max-chunk-size 8");
# TRACE_DIR=DIR keeps, for every plain pull, the server log and the client's `ostree pull --verbose`
# output in DIR (verbose output slows the client, so traced runs race differently).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=5
args=()
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --runs=*) runs=${1#--runs=}; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
[ ${#args[@]} -eq 3 ] || { echo "usage: $0 REPO FROM TO [--runs N]" >&2; exit 2; }
repo=$(cd "${args[0]}" && pwd) ref=${PULL_REF:-main}
from=$(ostree --repo="$repo" rev-parse "${args[1]}") to=$(ostree --repo="$repo" rev-parse "${args[2]}")

(cd "$root" && swift build -c release --product deltagen >/dev/null 2>&1) || { echo "error: release build failed" >&2; exit 1; }
deltagen="$(cd "$root" && swift build -c release --show-bin-path 2>/dev/null)/deltagen"

# Served copies sit beside REPO so that `cp -al` can hard-link them.
work=$(mktemp -d "$(dirname "$repo")/pull-bytes.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

serve_copy() {  # NAME -> a served copy of REPO at $work/NAME with ref REF at TO
  cp -al "$repo" "$work/$1" 2>/dev/null || cp -a "$repo" "$work/$1"
  rm -rf "$work/$1/deltas" "$work/$1/delta-indexes" "$work/$1/summary" "$work/$1/summary.sig"
  ostree --repo="$work/$1" refs --create="$ref" --force "$to" 2>/dev/null ||
    { ostree --repo="$work/$1" refs --delete "$ref" && ostree --repo="$work/$1" refs --create="$ref" "$to"; }
}
serve_copy ostree
serve_copy deltagen
serve_copy plain
echo "generating ostree's delta and deltagen's delta for $from -> $to" >&2
# shellcheck disable=SC2086
ostree --repo="$work/ostree" static-delta generate ${OSTREE_ARGS:-} --from="$from" --to="$to" >"$work/generate.log" 2>&1 ||
  { cat "$work/generate.log" >&2; exit 1; }
# shellcheck disable=SC2086
"$deltagen" generate-delta --quiet --repo "$work/deltagen" ${DELTAGEN_ARGS:-} "$from" "$to"
for name in ostree deltagen plain; do ostree --repo="$work/$name" summary -u >/dev/null; done

delta_size() {  # NAME -> superblock + parts + fallbacks, in bytes (the copy holds one delta)
  local dir; dir=$(dirname "$(find "$work/$1/deltas" -name superblock | head -n1)")
  local files; files=$(find "$dir" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
  "$deltagen" show --json --repo "$work/$1" "$from-$to" |
    python3 -c 'import json,sys; print(int(sys.argv[1]) + sum(f["size"] for f in json.load(sys.stdin)["fallbacks"]))' "$files"
}

declare -A port log
for name in ostree deltagen plain; do
  log[$name]=$work/$name.requests
  : >"${log[$name]}"
  python3 -u "$root/Scripts/logging-httpd.py" "$work/$name" "${log[$name]}" --lifetime 7200 >"$work/$name.port" &
  pids+=($!)
  for _ in $(seq 100); do [ -s "$work/$name.port" ] && break; sleep 0.1; done
  port[$name]=$(awk '{print $2; exit}' "$work/$name.port")
done

# The client template: a bare-user repo holding FROM, copied (hard links) for every pull.
ostree --repo="$work/template" init --mode=bare-user
ostree --repo="$work/template" pull-local "$repo" "$from" >/dev/null

results=$work/results  # one line per pull: KIND NAME RUN FIRST_LINE LAST_LINE SECONDS
: >"$results"
pull() {  # KIND NAME RUN
  local kind=$1 name=$2 run=$3 client=$work/client
  rm -rf "$client"
  cp -al "$work/template" "$client"
  ostree --repo="$client" remote add --no-gpg-verify origin "http://127.0.0.1:${port[$name]}/"
  ostree --repo="$client" refs --create="origin:$ref" "$from"
  local first; first=$(wc -l <"${log[$name]}")
  local start; start=$(date +%s.%N)
  case $kind in
    plain)
      if [ -n "${TRACE_DIR:-}" ]; then
        mkdir -p "$TRACE_DIR"
        ostree --repo="$client" pull --verbose origin "$ref" >/dev/null 2>"$TRACE_DIR/$name.$run.verbose"
      else
        ostree --repo="$client" pull origin "$ref" >/dev/null
      fi ;;
    nodelta) ostree --repo="$client" pull --disable-static-deltas origin "$ref" >/dev/null ;;
    twostep)
      ostree --repo="$client" pull --require-static-deltas --subpath=/nonexistent origin "$ref" >/dev/null
      ostree --repo="$client" pull origin "$ref" >/dev/null ;;
    offline)  # fetch the superblock and parts with curl, apply them, then a plain pull
      local dir; dir=$(dirname "$(find "$work/$name/deltas" -name superblock | head -n1)")
      rm -rf "$work/offline-delta"; mkdir -p "$work/offline-delta"
      for f in "$dir"/*; do
        curl -sf -o "$work/offline-delta/${f##*/}" "http://127.0.0.1:${port[$name]}/${dir#"$work/$name/"}/${f##*/}"
      done
      if ! ostree --repo="$client" static-delta apply-offline "$work/offline-delta" >/dev/null 2>&1; then
        echo "  apply-offline refused $name's delta (fallbacks?): no offline figure" >&2
        return 0
      fi
      ostree --repo="$client" pull origin "$ref" >/dev/null ;;
  esac
  local end; end=$(date +%s.%N)
  sleep 0.2  # the server logs a request after its last byte is written
  [ "$(ostree --repo="$client" rev-parse "origin:$ref")" = "$to" ] || { echo "error: $kind pull of $name did not reach TO" >&2; exit 1; }
  local last; last=$(wc -l <"${log[$name]}")
  echo "$kind $name $run $first $last $(echo "$end - $start" | bc)" >>"$results"
  if [ -n "${TRACE_DIR:-}" ] && [ "$kind" = plain ]; then
    sed -n "$((first + 1)),${last}p" "${log[$name]}" >"$TRACE_DIR/$name.$run.requests"
  fi
  echo "  $kind pull $run of $name's delta: done" >&2
}
for run in $(seq "$runs"); do
  pull plain ostree "$run"
  pull plain deltagen "$run"
done
for run in $(seq $(( runs < 3 ? runs : 3 ))); do
  pull twostep ostree "$run"
  pull twostep deltagen "$run"
done
pull offline ostree 1
pull offline deltagen 1
pull nodelta plain 1

echo "repo: $repo  $from -> $to  ref: $ref  client: ostree $(ostree --version | sed -n 2p | tr -d " '")  runs: $runs"
echo "generator options: deltagen ${DELTAGEN_ARGS:-(defaults)}; ostree ${OSTREE_ARGS:-(defaults)}"
python3 - "$results" "$work" "$(delta_size ostree)" "$(delta_size deltagen)" <<'EOF'
import statistics, sys
results, work, sizes = sys.argv[1], sys.argv[2], {"ostree": int(sys.argv[3]), "deltagen": int(sys.argv[4])}
def types(path):
    for suffix, t in ((".filez", "file"), (".file", "file"), (".dirtree", "dirtree"), (".dirmeta", "dirmeta"),
                      (".commitmeta", "commitmeta"), (".commit", "commit")):
        if path.startswith("/objects/") and path.endswith(suffix): return t
    if path.startswith("/deltas/"): return "delta"
    return "other"
pulls = []
for line in open(results):
    kind, name, run, first, last, secs = line.split()
    reqs = []
    with open(f"{work}/{name}.requests") as f:
        for i, l in enumerate(f):
            if int(first) <= i < int(last):
                status, nbytes, _, path = l.rstrip("\n").split("\t", 3)
                reqs.append((int(status), int(nbytes), path))
    loose = {}
    for status, nbytes, path in reqs:
        t = types(path)
        if status == 200 and t not in ("delta", "other"): loose[t] = loose.get(t, 0) + 1
    pulls.append(dict(kind=kind, name=name, run=int(run), bytes=sum(r[1] for r in reqs), loose=loose,
                      requests=len(reqs), secs=float(secs),
                      delta=any(t == "delta" and s == 200 for s, _, p in reqs for t in [types(p)])))
def sel(kind, name): return [p for p in pulls if p["kind"] == kind and p["name"] == name]
def mib(b): return f"{b / 1048576:.1f}"
def row(label, a, b): print(f"{label:<44} {a:>18} {b:>18}")
print()
row("", "ostree's delta", "deltagen's delta")
row("delta size, bytes (MiB)", f"{sizes['ostree']} ({mib(sizes['ostree'])})", f"{sizes['deltagen']} ({mib(sizes['deltagen'])})")
for kind in ("plain", "twostep", "offline"):
    a, b = sel(kind, "ostree"), sel(kind, "deltagen")
    if not a: continue
    label = {"plain": "pull", "twostep": "two-step pull", "offline": "curl + apply-offline + pull"}[kind]
    print(f"{label} ({len(a)} runs each)")
    for stat, f in (("min", min), ("median", statistics.median), ("max", max)):
        x, y = f([p['bytes'] for p in a]), f([p['bytes'] for p in b])
        row(f"  bytes served, {stat} (MiB)", f"{x:.0f} ({mib(x)})", f"{y:.0f} ({mib(y)})")
    row("  median / delta size", f"{statistics.median(p['bytes'] for p in a) / sizes['ostree']:.3f}",
        f"{statistics.median(p['bytes'] for p in b) / sizes['deltagen']:.3f}")
    for t in ("file", "dirtree", "dirmeta", "commitmeta", "commit"):
        row(f"  loose {t} fetches, median (min-max)",
            *(f"{statistics.median(p['loose'].get(t, 0) for p in s):g} ({min(p['loose'].get(t, 0) for p in s)}-{max(p['loose'].get(t, 0) for p in s)})" for s in (a, b)))
nd = sel("nodelta", "plain")
if nd: print(f"no deltas (--disable-static-deltas), 1 pull: {mib(nd[0]['bytes'])} MiB served, {nd[0]['loose'].get('file', 0)} loose files")
print()
print(f"{'kind':<8} {'delta':<9} {'run':>3} {'bytes served':>13} {'MiB':>7} {'requests':>8} {'files':>6} {'dirtrees':>8} {'dirmetas':>8} {'seconds':>8} delta used")
for p in pulls:
    print(f"{p['kind']:<8} {p['name']:<9} {p['run']:>3} {p['bytes']:>13} {mib(p['bytes']):>7} {p['requests']:>8} "
          f"{p['loose'].get('file', 0):>6} {p['loose'].get('dirtree', 0):>8} {p['loose'].get('dirmeta', 0):>8} {p['secs']:>8.1f} {'yes' if p['delta'] else 'no'}")
EOF

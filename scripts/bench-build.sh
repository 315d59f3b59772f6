#!/usr/bin/env bash
# Build time and image size of each container defconfig, cold and from the
# binary cache, as a markdown table.
#
#   scripts/bench-build.sh [OUT.md]     (default: print only)
#
# For each configs/container_*_defconfig (or the names given in $DEFCONFIGS):
#   cold:  an empty output directory and an empty binary cache (the download
#          directory is shared, so no time goes to the network);
#   cache: another empty output directory, with the cache the cold build
#          filled: every package is unpacked, nothing is compiled.
# Sizes: images/rootfs.tar, and that tar through `gzip -9`.
# Needs a release build: cargo build --release (CARGO_TARGET_DIR honoured).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
bin=${BBSDK:-${CARGO_TARGET_DIR:-$top/target}/release/bbsdk}
[ -x "$bin" ] || { echo "bench-build.sh: $bin not found; run cargo build --release" >&2; exit 1; }
work=$(mktemp -d /tmp/bbsdk-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
dl=${BBSDK_DL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/bbsdk/dl}
defconfigs=${DEFCONFIGS:-$(cd configs && ls container_*_defconfig)}

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

table="| defconfig | cold build (s) | from binary cache (s) | rootfs.tar (bytes) | rootfs.tar.gz, gzip -9 (bytes) |
|---|---|---|---|---|"
for d in $defconfigs; do
    name=${d%_defconfig}
    cache="$work/$name-cache"
    run() { # OUT
        env XDG_CACHE_HOME="$cache" BBSDK_DL_DIR="$dl" "$bin" -O "$1" make "$d" all \
            >"$1.log" 2>&1
    }
    t0=$(now)
    if ! run "$work/$name-cold"; then
        echo "bench-build.sh: $d failed (log: last lines below)" >&2
        tail -5 "$work/$name-cold.log" >&2
        table+=$'\n'"| $name | failed | | | |"
        continue
    fi
    t1=$(now)
    run "$work/$name-cached"
    t2=$(now)
    grep -q "0 built" "$work/$name-cached.log" || echo "bench-build.sh: $d: the second build compiled something" >&2
    tar="$work/$name-cold/images/rootfs.tar"
    size=$(stat -c %s "$tar")
    gz=$(gzip -9c "$tar" | wc -c)
    table+=$'\n'"| $name | $(secs "$t0" "$t1") | $(secs "$t1" "$t2") | $size | $gz |"
    echo "$name done" >&2
done
echo "$table"
if [ $# -ge 1 ]; then
    {
        echo "Measured by scripts/bench-build.sh on $(date -u +%Y-%m-%d), $(nproc) CPUs, bbsdk $(git -C "$top" rev-parse --short HEAD)."
        echo
        echo "$table"
    } >"$1.tmp" && mv "$1.tmp" "$1"
fi

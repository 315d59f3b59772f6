#!/usr/bin/env bash
# Enable Debian source packages (deb-src) for the host's apt, so that
# `apt-get source --download-only` works (bbsdk's Debian fetch backend and its
# test need it).
#
# Idempotent: if any deb-src entry is already configured, it does nothing but
# make sure the source indexes are present. Otherwise it writes
# /etc/apt/sources.list.d/debian-src.sources, a copy of the `deb` stanzas of
# /etc/apt/sources.list.d/debian.sources with `Types: deb-src`, so the mirrors
# (URIs), suites, components and keys stay the ones the host already uses.
# No host name is written here.
#
# Needs root (apt). Usage: sudo scripts/setup-debian-src.sh
set -euo pipefail

dir=/etc/apt/sources.list.d
src=$dir/debian.sources
dst=$dir/debian-src.sources

have_deb_src() {
    # deb822 files: a "Types:" line naming deb-src; one-line files: "deb-src ...".
    grep -Eqs '^[[:space:]]*Types:.*\bdeb-src\b' "$dir"/*.sources 2>/dev/null && return 0
    grep -Eqs '^[[:space:]]*deb-src[[:space:]]' /etc/apt/sources.list "$dir"/*.list 2>/dev/null && return 0
    return 1
}

if [ "$(id -u)" -ne 0 ]; then
    echo "setup-debian-src.sh: needs root (it writes $dst and runs apt-get update)" >&2
    exit 1
fi

changed=0
if have_deb_src; then
    echo "deb-src already configured"
else
    if [ ! -f "$src" ]; then
        echo "setup-debian-src.sh: $src not found; add a deb-src entry for your Debian mirror by hand" >&2
        exit 1
    fi
    # Keep only stanzas whose Types include "deb"; rewrite their Types line.
    tmp=$(mktemp "$dst.XXXXXX")
    awk '
        function flush() { if (keep && buf != "") { printf "%s%s\n", sep, buf; sep = "\n" } buf = ""; keep = 0 }
        /^[[:space:]]*$/ { flush(); next }
        /^[[:space:]]*Types:/ {
            n = split($0, f, /[[:space:]]+/)
            for (i = 2; i <= n; i++) if (f[i] == "deb") keep = 1
            buf = buf "Types: deb-src\n"; next
        }
        { buf = buf $0 "\n" }
        END { flush() }
    ' "$src" | sed -e '/^$/N;/^\n$/D' > "$tmp"
    if ! grep -q '^Types: deb-src' "$tmp"; then
        rm -f "$tmp"
        echo "setup-debian-src.sh: no 'Types: deb' stanza in $src" >&2
        exit 1
    fi
    chmod 644 "$tmp"
    mv "$tmp" "$dst"
    echo "wrote $dst"
    changed=1
fi

# Source indexes: fetch them when we changed the configuration or when none is
# present yet (a fresh machine after a previous run of this script).
if [ "$changed" -eq 1 ] || ! ls /var/lib/apt/lists/*_Sources* >/dev/null 2>&1; then
    apt-get update
fi

#!/bin/bash
# Re-creates the expected outputs of the Kconfig conformance corpus
# (tests/kconfig/cases/*/expected.* and tests/kconfig/errors/*/reference.stderr)
# by running the REFERENCE C kconfig on our own fixtures.
#
# Requirements (NOT part of this repository, never commit them):
#   LINUX_CONF (default /tmp/ref/bin/linux-conf): `conf` built from the public
#       Linux v5.15 scripts/kconfig sources (modern dialect: $(...) macros,
#       `# end of` lines, `modules` keyword, no `option`).
#   BR_CONF (default /tmp/ref/bin/br-conf): `conf` built from Buildroot's
#       support/kconfig (Linux 4.17-rc2 based, built with -DCONFIG_=\"\", i.e. an
#       empty symbol prefix; legacy dialect: `option env=`, `option modules`,
#       `option defconfig_list`, no macros, no `# end of` lines; reads BR2_CONFIG).
#
# Usage: tests/kconfig/regen-expected.sh [CASE...]   (default: every case)
#
# Each case directory holds a `Kconfig`, optional inputs (`defconfig`,
# `input.config`, `oldconfig.stdin`) and `case.toml`, a flat TOML subset that
# both this script and tests/kconfig_conformance.rs read:
#   tool = "linux" | "br" | "none"   reference tool; "none": expected files
#                                    are written by hand (feature newer than
#                                    both references), this script skips them
#   actions = "defconfig savedefconfig ..."  (space separated)
#   env.NAME = "value"               environment for the run (CONFIG_ sets the prefix)
#   warn.N = "text"                  a warning text both tools must print
#   props = "no"                     skip the generic round-trip properties
#   lower = "yes"                    rewrite rsource/osource/orsource/globs
#                                    into plain `source` for the reference
# tests/kconfig/errors/<name>/ hold trees that must be rejected: the test
# checks that every line of `expected.error` (hand-written: file:line, key
# words, the symbols of a cycle) appears in our error message; an empty
# `expected.error` means the tree must load. This script only saves what the
# reference said as `reference.stderr`, for comparison.
#
# Actions and the files they produce:
#   defconfig      defconfig -> .config               expected.defconfig.config
#   savedefconfig  defconfig, then savedefconfig      expected.savedefconfig
#   olddefconfig   input.config -> .config            expected.olddefconfig.config
#   olddefconfig-empty  no .config (defconfig_list)   expected.olddefconfig-empty.config
#   alldefconfig allnoconfig allyesconfig allmodconfig expected.<action>.config
#   listnewconfig  input.config -> stdout             expected.listnewconfig
#   oldconfig      input.config + oldconfig.stdin     expected.oldconfig.config
#                  and the questions printed          expected.oldconfig.stdout
#   help           help texts (from --helpnewconfig)  expected.help
#   randconfig     (no expected file: RNGs differ; the test checks seeds/validity)
set -u
here=$(cd "$(dirname "$0")" && pwd)
LINUX_CONF=${LINUX_CONF:-/tmp/ref/bin/linux-conf}
BR_CONF=${BR_CONF:-/tmp/ref/bin/br-conf}
status=0

# get KEY FILE: the value of `KEY = "value"` in a case.toml
get() { sed -n "s/^$1[ \t]*=[ \t]*\"\(.*\)\"[ \t]*\$/\1/p" "$2" | head -n1; }

run_ref() { # tool workdir out.config args...
	local tool=$1 dir=$2 cfg=$3; shift 3
	local -a envs=(PATH="$PATH" HOME=/nonexistent LC_ALL=C)
	while IFS= read -r kv; do envs+=("$kv"); done < <(
		[ -f "$dir/case.toml" ] && sed -n 's/^env\.\([A-Za-z_][A-Za-z0-9_]*\)[ \t]*=[ \t]*"\(.*\)"[ \t]*$/\1=\2/p' "$dir/case.toml")
	if [ "$tool" = br ]; then
		(cd "$dir" && env -i "${envs[@]}" BR2_CONFIG="$cfg" "$BR_CONF" "$@" Kconfig)
	else
		(cd "$dir" && env -i "${envs[@]}" KCONFIG_CONFIG="$cfg" "$LINUX_CONF" "$@" Kconfig)
	fi
}

# help texts, as the test prints them: "NAME:\n<help text>\n" per helped symbol
extract_help() {
	awk '
	/^-----$/ { state = 0; next }
	state == 0 && /^[A-Za-z0-9_]+:$/ { name = $0; getline; state = 1; buf = ""; next }
	state == 1 && /^Symbol: / { printf "%s\n%s", name, substr(buf, 1, length(buf) - 1); state = 2; next }
	state == 1 { buf = buf $0 "\n" }'
}

# Linux's kconfig only has `source`, without globs; rsource, osource,
# orsource and wildcards are Kconfiglib extensions that bbsdk supports. For
# cases with `lower = "yes"`, the reference gets a copy of the tree where
# each of them is rewritten into the plain `source` lines it stands for:
# rsource paths made relative to the top directory, globs expanded in sorted
# order (one line each), optional files that do not exist dropped (the line
# is kept blank so line numbers stay the same when nothing is expanded).
lower_sources() { # workdir
	python3 - "$1" <<'PY'
import glob, os, re, sys
top = sys.argv[1]
stmt = re.compile(r'^(\s*)(o?r?source)\s+"([^"]*)"\s*$')
def hits(pat):
    if any(c in pat for c in '*?['):
        return sorted(os.path.relpath(h, top) for h in glob.glob(os.path.join(top, pat)) if os.path.isfile(h))
    return [pat] if os.path.isfile(os.path.join(top, pat)) else []
for d, _, files in os.walk(top):
    for f in files:
        path = os.path.join(d, f)
        try:
            lines = open(path).read().split('\n')
        except UnicodeDecodeError:
            continue
        out, changed = [], False
        for line in lines:
            m = stmt.match(line)
            if not m or m.group(2) == 'source' and not any(c in m.group(3) for c in '*?['):
                out.append(line)
                continue
            ind, kw, name = m.groups()
            if kw in ('rsource', 'orsource'):
                name = os.path.normpath(os.path.join(os.path.relpath(d, top), name))
            found = hits(name)
            if not found and not kw.startswith('o'):
                found = [name]      # let the reference report the missing file
            out.append('\n'.join(ind + 'source "%s"' % h for h in found))
            changed = True
        if changed:
            open(path, 'w').write('\n'.join(out))
PY
}

# The generic properties the test checks on every .config, checked on the
# reference tool: olddefconfig leaves it alone; savedefconfig + defconfig gives
# it back. A case where even the reference breaks them needs props = "no".
ref_props() { # tool workdir config-file label
	local tool=$1 work=$2 cfg=$3 what=$4 t
	[ "$(get props "$work/case.toml")" = no ] && return
	t=$(mktemp -d)
	cp "$cfg" "$t/c"
	run_ref "$tool" "$work" "$t/c" --olddefconfig </dev/null >/dev/null 2>&1
	cmp -s "$cfg" "$t/c" || { echo "$name: reference: olddefconfig changes the $what result (set props = \"no\")" >&2; status=1; }
	cp "$cfg" "$t/c"
	run_ref "$tool" "$work" "$t/c" --savedefconfig="$t/sd" >/dev/null 2>&1
	rm -f "$t/c"
	run_ref "$tool" "$work" "$t/c" --defconfig="$t/sd" >/dev/null 2>&1
	cmp -s "$cfg" "$t/c" || { echo "$name: reference: savedefconfig + defconfig changes the $what result (set props = \"no\")" >&2; status=1; }
	rm -rf "$t"
}

do_case() {
	local src=$1 name tool actions work tmp rc
	name=$(basename "$src")
	tool=$(get tool "$src/case.toml")
	actions=$(get actions "$src/case.toml")
	[ "$tool" = none ] && { echo "$name: hand-written expected files, skipped"; return; }
	if [ "$tool" = br ]; then conf=$BR_CONF; else conf=$LINUX_CONF; fi
	[ -x "$conf" ] || { echo "$name: $conf missing" >&2; status=1; return; }
	tmp=$(mktemp -d)
	work=$tmp/src
	cp -a "$src" "$work"
	rm -f "$work"/expected.* "$work"/.config*
	[ "$(get lower "$src/case.toml")" = yes ] && lower_sources "$work"
	local log=$tmp/stderr
	: > "$log"
	for a in $actions; do
		rm -f "$tmp/out.config" "$tmp/out.config.old"
		case $a in
		defconfig|savedefconfig)
			run_ref "$tool" "$work" "$tmp/out.config" --defconfig=defconfig >/dev/null 2>>"$log" || { echo "$name: $a failed" >&2; status=1; }
			if [ $a = defconfig ]; then
				cp "$tmp/out.config" "$src/expected.defconfig.config"
				ref_props "$tool" "$work" "$tmp/out.config" $a
			else
				run_ref "$tool" "$work" "$tmp/out.config" --savedefconfig="$tmp/sd" >/dev/null 2>>"$log" || { echo "$name: $a failed" >&2; status=1; }
				cp "$tmp/sd" "$src/expected.savedefconfig"
			fi ;;
		olddefconfig|oldconfig)
			cp "$work/input.config" "$tmp/out.config"
			if [ $a = oldconfig ]; then
				run_ref "$tool" "$work" "$tmp/out.config" --oldconfig <"$work/oldconfig.stdin" >"$tmp/oldconfig.out" 2>>"$log"
			else
				run_ref "$tool" "$work" "$tmp/out.config" --olddefconfig </dev/null >/dev/null 2>>"$log"
			fi || { echo "$name: $a failed" >&2; status=1; }
			cp "$tmp/out.config" "$src/expected.$a.config"
			# the questions asked, without the final "configuration written" note
			[ $a = oldconfig ] && head -n -3 "$tmp/oldconfig.out" >"$src/expected.oldconfig.stdout"
			ref_props "$tool" "$work" "$tmp/out.config" $a ;;
		olddefconfig-empty)
			run_ref "$tool" "$work" "$tmp/out.config" --olddefconfig </dev/null >/dev/null 2>>"$log" || { echo "$name: $a failed" >&2; status=1; }
			cp "$tmp/out.config" "$src/expected.$a.config"
			ref_props "$tool" "$work" "$tmp/out.config" $a ;;
		alldefconfig|allnoconfig|allyesconfig|allmodconfig)
			run_ref "$tool" "$work" "$tmp/out.config" --$a >/dev/null 2>>"$log" || { echo "$name: $a failed" >&2; status=1; }
			cp "$tmp/out.config" "$src/expected.$a.config"
			ref_props "$tool" "$work" "$tmp/out.config" $a ;;
		listnewconfig)
			cp "$work/input.config" "$tmp/out.config"
			run_ref "$tool" "$work" "$tmp/out.config" --listnewconfig >"$src/expected.listnewconfig" 2>>"$log" || { echo "$name: $a failed" >&2; status=1; } ;;
		help)
			run_ref "$tool" "$work" "$tmp/out.config" --helpnewconfig 2>>"$log" | extract_help >"$src/expected.help" ;;
		randconfig)
			# Only our own properties are checked; make sure the reference accepts the tree.
			KCONFIG_SEED=1 run_ref "$tool" "$work" "$tmp/out.config" --randconfig >/dev/null 2>>"$log" || { echo "$name: $a failed" >&2; status=1; } ;;
		*) echo "$name: unknown action $a" >&2; status=1 ;;
		esac
	done
	# every warn.N text must be printed by the reference too
	while IFS= read -r w; do
		grep -qF -- "$w" "$log" || { echo "$name: reference did not warn: $w" >&2; status=1; }
	done < <(sed -n 's/^warn\.[0-9]*[ \t]*=[ \t]*"\(.*\)"[ \t]*$/\1/p' "$src/case.toml")
	rm -rf "$tmp"
	echo "$name: ok ($actions)"
}

do_error() {
	local src=$1 name tool tmp
	name=$(basename "$src")
	tool=$([ -f "$src/case.toml" ] && get tool "$src/case.toml")
	[ -n "$tool" ] || tool=linux
	tmp=$(mktemp -d)
	cp -a "$src" "$tmp/src"
	rm -f "$tmp/src/reference.stderr"
	[ -f "$src/case.toml" ] && [ "$(get lower "$src/case.toml")" = yes ] && lower_sources "$tmp/src"
	if run_ref "$tool" "$tmp/src" "$tmp/out.config" --alldefconfig >/dev/null 2>"$tmp/err"; then
		if [ -s "$src/expected.error" ]; then
			echo "$name: reference accepted the tree" >&2; status=1
		fi
	fi
	cp "$tmp/err" "$src/reference.stderr"
	rm -rf "$tmp"
	echo "$name: reference stderr saved"
}

cd "$here" || exit 1
if [ $# -gt 0 ]; then
	for n in "$@"; do
		if [ -d "cases/$n" ]; then do_case "cases/$n"; else do_error "errors/$n"; fi
	done
else
	for d in cases/*/; do do_case "${d%/}"; done
	for d in errors/*/; do [ -d "$d" ] && do_error "${d%/}"; done
fi
exit $status

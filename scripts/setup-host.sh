#!/usr/bin/env bash
# Installs every host package bbsdk and its tests need, enables Debian source
# packages (a fetch mirror), and registers qemu-user with binfmt_misc so
# aarch64/armv7 binaries (and the processes they start) run transparently.
#
# Idempotent and quick when everything is in place. Needs root on Debian 12.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

packages=(
    # builds and the Kconfig/menuconfig tests
    build-essential bc bison flex cpio rsync patch file tmux
    # the cmake and meson build infrastructures (tests/build_infra.rs)
    cmake meson ninja-build
    # what package recipes run on the host: autoreconf (jq), tclsh
    # (sqlite's amalgamation), python3-cryptography (ca-certificates),
    # perl (openssl's Configure); zic comes with libc-bin
    autoconf automake libtool tcl python3-cryptography perl
    # archives
    bzip2 xz-utils zstd unzip
    # cross toolchains and foreign-binary execution
    gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf musl-tools qemu-user-static binfmt-support
    # the cross C libraries and kernel headers (only Recommended by the cross gcc packages)
    libc6-dev-arm64-cross libc6-dev-armhf-cross linux-libc-dev-arm64-cross linux-libc-dev-armhf-cross linux-libc-dev
    # running and checking images (tests/images.rs: the Docker engine, and a
    # registry on 127.0.0.1 for `bbsdk push`)
    bubblewrap runc umoci skopeo docker.io docker-registry
    # htpasswd (bcrypt) for the registry's Basic auth in tests/images.rs
    apache2-utils
    # booting the cpio initramfs under qemu (tests/images.rs)
    qemu-system-x86
    # password hashes cross-checked by the rootfs tests
    openssl
    # benchmarks
    hyperfine
    # Gentoo ebuilds (src/gentoo): python for Portage's venv, the ELF scanner
    # Portage records sonames with, and the pkg-config behind the cross shim
    python3 python3-venv pax-utils pkgconf
    # the internal toolchain: gcc from source links the build machine's
    # multiple-precision libraries
    libgmp-dev libmpfr-dev libmpc-dev
)

if [ "$(id -u)" -ne 0 ]; then
    echo "setup-host.sh: needs root (apt-get, binfmt_misc)" >&2
    exit 1
fi

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup-host.sh: installing ${missing[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

"$here/setup-debian-src.sh"

# A Debian kernel for the initramfs boot test: the .deb only, never
# installed (the test takes vmlinuz out of it with dpkg-deb).
kdir=/var/cache/bbsdk/kernel
if ! ls "$kdir"/linux-image-*.deb >/dev/null 2>&1; then
    mkdir -p "$kdir"
    kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')
    if [ -n "$kpkg" ]; then
        (cd "$kdir" && apt-get download -q "$kpkg") || echo "setup-host.sh: could not download $kpkg" >&2
    fi
fi

# binfmt_misc: mount it if needed and register qemu for aarch64 and arm with
# the F flag (the interpreter is opened at registration, so it also works
# inside bwrap/runc containers).
bm=/proc/sys/fs/binfmt_misc
if [ ! -e "$bm/register" ]; then
    mount -t binfmt_misc binfmt_misc "$bm" 2>/dev/null || true
fi
if [ -w "$bm/register" ]; then
    for arch in aarch64 arm; do
        conf=/usr/lib/binfmt.d/qemu-$arch.conf
        [ -e "$bm/qemu-$arch" ] && continue
        if [ -f "$conf" ]; then
            grep -v '^#' "$conf" | grep . > "$bm/register" || echo "setup-host.sh: could not register $conf" >&2
        fi
    done
else
    echo "setup-host.sh: binfmt_misc is not writable here; foreign binaries run only through qemu-*-static directly" >&2
fi
echo "setup-host.sh: host ready"

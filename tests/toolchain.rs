//! External toolchains: auto-detection of the host's cross compilers, and
//! checks that the compiler really builds for the configured target.
//! Needs the cross compilers that scripts/setup-host.sh installs.

use std::collections::BTreeMap;

use bbsdk::target::{Arch, Libc, Target};
use bbsdk::toolchain::{external, ExternalSource, ToolchainError};

fn t(arch: Arch, libc: Libc) -> Target {
    Target {
        arch,
        libc,
        hard_float: true,
    }
}

fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn finds_and_checks_each_debian_cross_compiler() {
    let work = tempfile::tempdir().unwrap();
    let cases = [
        (t(Arch::X86_64, Libc::Glibc), "x86_64-linux-gnu", "x86_64"),
        (t(Arch::X86_64, Libc::Musl), "x86_64-linux-musl", "x86_64"),
        (
            t(Arch::Aarch64, Libc::Glibc),
            "aarch64-linux-gnu",
            "aarch64",
        ),
        (t(Arch::Armv7, Libc::Glibc), "arm-linux-gnueabihf", "arm"),
    ];
    for (target, prefix, machine) in cases {
        let tc = external(
            &target,
            &ExternalSource::Auto,
            prefix,
            &values(&[("BBSDK_TARGET_OPTIMIZATION", "-Os")]),
            work.path(),
        )
        .unwrap_or_else(|e| {
            panic!("{prefix}: {e}\n(run scripts/setup-host.sh to install the cross compilers)")
        });
        assert_eq!(tc.probe.arch, target.arch, "{prefix}");
        assert_eq!(tc.probe.libc, target.libc, "{prefix}");
        assert!(
            tc.probe.machine.starts_with(machine),
            "{prefix}: -dumpmachine says {}",
            tc.probe.machine
        );
        assert!(
            tc.tools.contains_key("strip") && tc.tools.contains_key("ar"),
            "{prefix}: {:?}",
            tc.tools
        );
        assert!(tc.cflags.contains(&"-Os".to_string()));
        assert!(tc.identity().contains(&tc.probe.version));
        assert_eq!(tc.env()["CC"], tc.cc.display().to_string());
    }
}

#[test]
fn arm_flags_reach_the_compiler_and_soft_float_is_told_apart() {
    let work = tempfile::tempdir().unwrap();
    let vals = values(&[
        ("BBSDK_GCC_TARGET_ARCH", "armv7-a"),
        ("BBSDK_GCC_TARGET_FPU", "vfpv3-d16"),
        ("BBSDK_GCC_TARGET_FLOAT_ABI", "hard"),
        ("BBSDK_ARM_THUMB2", "y"),
    ]);
    let tc = external(
        &t(Arch::Armv7, Libc::Glibc),
        &ExternalSource::Auto,
        "arm-linux-gnueabihf",
        &vals,
        work.path(),
    )
    .unwrap();
    assert!(tc.probe.hard_float);
    for f in [
        "-march=armv7-a",
        "-mfpu=vfpv3-d16",
        "-mfloat-abi=hard",
        "-mthumb",
    ] {
        assert!(
            tc.cflags.iter().any(|c| c == f),
            "{f} missing from {:?}",
            tc.cflags
        );
    }
    // A soft-float target with the hard-float compiler is a mismatch, not a silent success.
    let soft = Target {
        arch: Arch::Armv7,
        libc: Libc::Glibc,
        hard_float: false,
    };
    let e = external(
        &soft,
        &ExternalSource::Auto,
        "arm-linux-gnueabihf",
        &values(&[]),
        work.path(),
    );
    assert!(
        matches!(
            e,
            Err(ToolchainError::Missing { .. }) | Err(ToolchainError::Mismatch { .. })
        ),
        "{e:?}"
    );
}

#[test]
fn wrong_or_missing_compilers_say_what_to_do() {
    let work = tempfile::tempdir().unwrap();
    // A prefix naming the aarch64 compiler for an armv7 target.
    let e = external(
        &t(Arch::Armv7, Libc::Glibc),
        &ExternalSource::Dir("/usr".into()),
        "aarch64-linux-gnu",
        &values(&[]),
        work.path(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("builds aarch64/glibc binaries")
            && e.contains("armv7/glibc")
            && e.contains("hint:"),
        "{e}"
    );
    // musl for aarch64: Debian has none; the hint names the bbsdk-built C library.
    let e = external(
        &t(Arch::Aarch64, Libc::Musl),
        &ExternalSource::Auto,
        "aarch64-linux-musl",
        &values(&[]),
        work.path(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("BBSDK_TOOLCHAIN_BBSDK_LIBC"), "{e}");
    // A directory without a compiler.
    let empty = tempfile::tempdir().unwrap();
    let e = external(
        &t(Arch::Aarch64, Libc::Glibc),
        &ExternalSource::Dir(empty.path().into()),
        "aarch64-linux-gnu",
        &values(&[]),
        work.path(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("apt-get install gcc-aarch64-linux-gnu"), "{e}");
}

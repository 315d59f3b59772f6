//! `bbsdk make` on bbsdk's own tree: the pipeline from defconfig to
//! `output/images/rootfs.tar`, reproducibly, and honest errors for what is
//! not there yet.

use std::path::Path;
use std::process::{Command, Output};

#[path = "support/bbsdk.rs"]
mod run;

fn bbsdk(out: &Path, args: &[&str]) -> Output {
    run::run(out, args)
}

fn sha256(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(std::fs::read(path).unwrap());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Two builds of the default container in different output directories,
/// the second with an empty binary cache of its own (so busybox is compiled
/// again, not unpacked): the same rootfs.tar, byte for byte.
#[test]
fn make_writes_a_reproducible_rootfs_tar() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let fresh_cache = tempfile::tempdir().unwrap();
    let r = bbsdk(
        a.path(),
        &["make", "container_x86_64_musl_defconfig", "all"],
    );
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let r = run::run_with_cache(
        b.path(),
        fresh_cache.path(),
        &["make", "container_x86_64_musl_defconfig", "all"],
    );
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(r.status.success(), "{err}");
    assert!(
        err.contains("busybox 1.35.0 built in"),
        "the second build must compile busybox, not take it from a cache:\n{err}"
    );
    assert_eq!(
        sha256(&a.path().join("images/rootfs.tar")),
        sha256(&b.path().join("images/rootfs.tar")),
        "two output dirs, same config: same rootfs.tar"
    );
    let list = Command::new("tar")
        .arg("-tvf")
        .arg(a.path().join("images/rootfs.tar"))
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    for want in [
        "etc/passwd",
        "etc/hostname",
        "drwxrwxrwt 0/0",
        "var/run -> ../run",
        "2023-11-14",
        "bin/busybox",
        "bin/sh -> busybox",
        "usr/bin/wget -> ../../bin/busybox",
    ] {
        assert!(list.contains(want), "`{want}` missing from:\n{list}");
    }
    let sbom: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(a.path().join("images/sbom.spdx.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(sbom["spdxVersion"], "SPDX-2.3");

    // clean removes what was built and keeps the configuration.
    let r = bbsdk(a.path(), &["make", "clean"]);
    assert!(r.status.success());
    assert!(!a.path().join("images").exists() && a.path().join(".config").exists());
    let r = bbsdk(a.path(), &["make", "distclean"]);
    assert!(r.status.success());
    assert!(!a.path().join(".config").exists());
}

#[test]
fn a_second_make_with_nothing_changed_keeps_the_images() {
    let out = tempfile::tempdir().unwrap();
    let o = out.path();
    let overlay = o.join("overlay");
    std::fs::create_dir_all(overlay.join("etc")).unwrap();
    std::fs::write(overlay.join("etc/motd"), "one\n").unwrap();
    let defconfig = o.join("test_defconfig");
    std::fs::write(
        &defconfig,
        format!(
            "BBSDK_ARCH_X86_64=y\nBBSDK_LIBC_GLIBC=y\n# BBSDK_PACKAGE_BUSYBOX is not set\nBBSDK_ROOTFS_OVERLAY=\"{}\"\n",
            overlay.display()
        ),
    )
    .unwrap();
    let r = bbsdk(o, &["defconfig", defconfig.to_str().unwrap()]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let make = || {
        let r = bbsdk(o, &["make"]);
        let err = String::from_utf8_lossy(&r.stderr).into_owned();
        assert!(r.status.success(), "{err}");
        (
            err.contains("images up to date"),
            String::from_utf8_lossy(&r.stdout).into_owned(),
        )
    };
    let tar = o.join("images/rootfs.tar");
    let (skipped, listed) = make();
    assert!(!skipped, "first run assembles");
    assert!(listed.contains("rootfs.tar"), "{listed}");
    let written = std::fs::metadata(&tar).unwrap().modified().unwrap();

    let (skipped, listed) = make();
    assert!(skipped, "nothing changed");
    assert!(
        listed.contains("rootfs.tar"),
        "the images are still reported: {listed}"
    );
    assert_eq!(
        std::fs::metadata(&tar).unwrap().modified().unwrap(),
        written
    );

    // An overlay file changes: assembled again, with the new content.
    std::fs::write(overlay.join("etc/motd"), "two!\n").unwrap();
    assert!(!make().0);
    let list = Command::new("tar")
        .arg("-xOf")
        .arg(&tar)
        .arg("etc/motd")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&list.stdout), "two!\n");
    assert!(make().0);

    // An image removed by hand is written again.
    std::fs::remove_file(&tar).unwrap();
    assert!(!make().0);
    assert!(tar.exists());

    // Another setting: assembled again.
    std::fs::write(
        o.join(".config"),
        std::fs::read_to_string(o.join(".config")).unwrap().replace(
            "BBSDK_TARGET_GENERIC_HOSTNAME=\"bbsdk\"",
            "BBSDK_TARGET_GENERIC_HOSTNAME=\"other\"",
        ),
    )
    .unwrap();
    assert!(!make().0);
    let host = Command::new("tar")
        .arg("-xOf")
        .arg(&tar)
        .arg("etc/hostname")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&host.stdout), "other\n");
}

#[test]
fn toolchain_types_not_built_yet_say_so() {
    let d = tempfile::tempdir().unwrap();
    let r = bbsdk(d.path(), &["make", "container_aarch64_musl_defconfig"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    // zig is not there yet: switch the toolchain type in .config.
    let cfg = d.path().join(".config");
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "BBSDK_TOOLCHAIN_BBSDK_LIBC=y",
        "# BBSDK_TOOLCHAIN_BBSDK_LIBC is not set\nBBSDK_TOOLCHAIN_ZIG=y",
    );
    std::fs::write(&cfg, text).unwrap();
    let r = bbsdk(d.path(), &["make", "olddefconfig", "all"]);
    assert!(!r.status.success());
    let e = String::from_utf8_lossy(&r.stderr);
    assert!(
        e.contains("BBSDK_TOOLCHAIN_ZIG is not available") && e.contains("hint:"),
        "{e}"
    );
    assert!(!d.path().join("images/rootfs.tar").exists());
}

//! bbsdk's own configuration commands, run through the real binary.

use std::path::Path;
use std::process::{Command, Output};

fn bbsdk(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bbsdk"))
        .args(args)
        .current_dir(cwd)
        .env_remove("KCONFIG_CONFIG")
        .env_remove("BR2_CONFIG")
        .env_remove("CONFIG_")
        .output()
        .expect("run bbsdk")
}

fn top() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn shipped() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(top().join("configs"))
        .expect("configs/")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with("_defconfig"))
        .collect();
    v.sort();
    v
}

#[test]
fn list_defconfigs_names_the_six_container_targets() {
    let out = bbsdk(&["list-defconfigs"], top());
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for arch in ["x86_64", "aarch64", "armv7"] {
        for libc in ["musl", "glibc"] {
            let name = format!("container_{arch}_{libc}_defconfig");
            assert!(
                text.lines().any(|l| l == name),
                "{name} missing from:\n{text}"
            );
        }
    }
    assert_eq!(text.lines().count(), shipped().len());
}

#[test]
fn every_shipped_defconfig_is_minimal_and_round_trips() {
    for name in shipped() {
        let out = tempfile::tempdir().expect("tempdir");
        let o = out.path().to_str().expect("utf-8 path");
        let r = bbsdk(&["-O", o, &name], top());
        assert!(
            r.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&r.stderr)
        );
        let stderr = String::from_utf8_lossy(&r.stderr);
        assert!(
            !stderr.contains("warning"),
            "{name} gives warnings:\n{stderr}"
        );
        let config = std::fs::read_to_string(out.path().join(".config")).expect(".config");
        assert!(config.starts_with(
            "#\n# Automatically generated file; DO NOT EDIT.\n# bbsdk configuration\n#\n"
        ));
        let saved = out.path().join("saved_defconfig");
        let r = bbsdk(
            &["-O", o, "savedefconfig", saved.to_str().expect("utf-8")],
            top(),
        );
        assert!(
            r.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&r.stderr)
        );
        let original = std::fs::read_to_string(top().join("configs").join(&name)).expect("read");
        let again = std::fs::read_to_string(&saved).expect("read saved");
        assert_eq!(original, again, "{name} is not what savedefconfig writes");
    }
}

#[test]
fn arch_and_libc_choices_land_in_dotconfig() {
    let out = tempfile::tempdir().expect("tempdir");
    let o = out.path().to_str().expect("utf-8 path");
    let r = bbsdk(&["-O", o, "container_armv7_glibc_defconfig"], top());
    assert!(r.status.success());
    let config = std::fs::read_to_string(out.path().join(".config")).expect(".config");
    for line in [
        "BBSDK_ARCH_ARMV7=y",
        "# BBSDK_ARCH_X86_64 is not set",
        "BBSDK_LIBC_GLIBC=y",
        "BBSDK_ARCH=\"arm\"",
        "BBSDK_OCI_VARIANT=\"v7\"",
    ] {
        assert!(
            config.lines().any(|l| l == line),
            "missing `{line}` in .config"
        );
    }
}

#[test]
fn savedefconfig_without_a_file_goes_back_to_the_origin() {
    let out = tempfile::tempdir().expect("tempdir");
    let o = out.path().to_str().expect("utf-8 path");
    let def = out.path().join("mine_defconfig");
    std::fs::write(&def, "BBSDK_ARCH_AARCH64=y\nBBSDK_IMAGE_TAG=\"x\"\n").expect("write");
    let r = bbsdk(&["-O", o, "defconfig", def.to_str().expect("utf-8")], top());
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    // Change a value in .config by hand, then olddefconfig + savedefconfig.
    let cfg = out.path().join(".config");
    let text = std::fs::read_to_string(&cfg)
        .expect("read")
        .replace("BBSDK_IMAGE_TAG=\"x\"", "BBSDK_IMAGE_TAG=\"y\"");
    std::fs::write(&cfg, text).expect("write");
    assert!(bbsdk(&["-O", o, "olddefconfig"], top()).status.success());
    assert!(bbsdk(&["-O", o, "savedefconfig"], top()).status.success());
    assert_eq!(
        std::fs::read_to_string(&def).expect("read"),
        "BBSDK_ARCH_AARCH64=y\nBBSDK_IMAGE_TAG=\"y\"\n"
    );
}

#[test]
fn mistakes_get_a_clear_error_and_a_hint() {
    let out = tempfile::tempdir().expect("tempdir");
    let o = out.path().to_str().expect("utf-8 path");
    let r = bbsdk(&["-O", o, "no_such_defconfig"], top());
    assert!(!r.status.success());
    let e = String::from_utf8_lossy(&r.stderr);
    assert!(
        e.contains("no_such_defconfig: no such defconfig") && e.contains("hint:"),
        "{e}"
    );
    let r = bbsdk(&["-O", o, "savedefconfig"], top());
    assert!(!r.status.success());
    let e = String::from_utf8_lossy(&r.stderr);
    assert!(
        e.contains("no configuration yet") && e.contains("bbsdk container_x86_64_musl_defconfig"),
        "{e}"
    );
}

#[test]
fn kconfig_front_end_reports_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("Kconfig"),
        "config A\n\tbool \"a\"\n\nmenu \"M\"\nconfig B\n\tbool \"b\"\n",
    )
    .expect("write");
    let r = bbsdk(
        &[
            "kconfig",
            "--config",
            "out.config",
            "Kconfig",
            "olddefconfig",
        ],
        dir.path(),
    );
    assert!(!r.status.success());
    let e = String::from_utf8_lossy(&r.stderr);
    assert!(
        e.contains("Kconfig:4:") && e.contains("'menu' is not closed") && e.contains("hint:"),
        "{e}"
    );
    assert!(
        !dir.path().join("out.config").exists(),
        "a failed run must not write the config"
    );

    std::fs::write(
        dir.path().join("Kconfig"),
        "config A\n\tbool \"a\"\n\tfrobnicate\n",
    )
    .expect("write");
    let r = bbsdk(
        &[
            "kconfig",
            "--config",
            "out.config",
            "Kconfig",
            "olddefconfig",
        ],
        dir.path(),
    );
    let e = String::from_utf8_lossy(&r.stderr);
    assert!(
        !r.status.success()
            && e.contains("Kconfig:3:")
            && e.contains("unknown statement \"frobnicate\""),
        "{e}"
    );

    let r = bbsdk(&["kconfig", "Kconfig", "frob"], dir.path());
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("unknown action 'frob'"));
}

#[test]
fn kconfig_front_end_writes_with_the_config_prefix() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("Kconfig"),
        "mainmenu \"T\"\nconfig A\n\tbool \"a\"\n\tdefault y\nconfig S\n\tstring \"s\"\n\tdefault \"q\\\"x\"\n",
    )
    .expect("write");
    let run = |prefix: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_bbsdk"));
        c.args(["kconfig", "--config", "o.config", "Kconfig", "alldefconfig"])
            .current_dir(dir.path())
            .env_remove("BR2_CONFIG")
            .env_remove("KCONFIG_CONFIG");
        match prefix {
            Some(p) => c.env("CONFIG_", p),
            None => c.env_remove("CONFIG_"),
        };
        assert!(c.output().expect("run").status.success());
        std::fs::read_to_string(dir.path().join("o.config")).expect("read")
    };
    let body = |s: String| s.lines().skip(4).collect::<Vec<_>>().join("\n");
    assert_eq!(body(run(None)), "CONFIG_A=y\nCONFIG_S=\"q\\\"x\"");
    assert_eq!(body(run(Some("BB_"))), "BB_A=y\nBB_S=\"q\\\"x\"");
    assert_eq!(body(run(Some(""))), "A=y\nS=\"q\\\"x\"");
}

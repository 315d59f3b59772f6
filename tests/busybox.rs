//! The busybox package's configuration on busybox's real Kconfig tree,
//! extracted and configured by bbsdk (no compiling): our two
//! configurations hold what they promise; `busybox-savedefconfig` and
//! `busybox-update-config` round-trip; `busybox-menuconfig` opens our
//! menuconfig over busybox's tree in a real tmux and saves.
//!
//! Each test works on a copy of the bbsdk tree (`BBSDK_TOP`), since
//! update-config writes into it. Downloads are shared with the other build
//! tests under `CARGO_TARGET_TMPDIR`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use bbsdk::build::kconfig_pkg::KconfigTree;

#[path = "support/tmux.rs"]
mod tmux;
use tmux::Tmux;

const BUSYBOX_DIR: &str = "build/busybox-1.35.0";

fn shared_cache_home() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("bbsdk-xdg-cache")
}

/// A copy of bbsdk's tree (what `bbsdk` reads from it) in `dir`.
fn copy_tree(dir: &Path) -> PathBuf {
    let top = dir.join("top");
    std::fs::create_dir_all(&top).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR"));
    for entry in ["Config.in", "configs", "package", "toolchains", "board"] {
        let st = Command::new("cp")
            .arg("-a")
            .arg(src.join(entry))
            .arg(&top)
            .status()
            .expect("run cp");
        assert!(st.success(), "cp -a {entry}");
    }
    top
}

fn bbsdk(top: &Path, out: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bbsdk"))
        .arg("-O")
        .arg(out)
        .args(args)
        .current_dir(top)
        .env("BBSDK_TOP", top)
        .env("XDG_CACHE_HOME", shared_cache_home())
        .env("BBSDK_DL_DIR", shared_cache_home().join("bbsdk/dl"))
        .env_remove("CONFIG_")
        .env_remove("BR2_CONFIG")
        .env_remove("KCONFIG_CONFIG")
        .output()
        .expect("run bbsdk")
}

fn ok(r: &Output, what: &str) -> String {
    let err = String::from_utf8_lossy(&r.stderr).into_owned();
    assert!(r.status.success(), "{what} failed:\n{err}");
    err
}

/// The lines of a configuration file after its leading comment block.
fn body(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| {
            !l.starts_with('#') || (l.starts_with("# CONFIG_") && l.ends_with(" is not set"))
        })
        .unwrap_or(lines.len());
    lines[start..].iter().map(|l| l.to_string()).collect()
}

/// The values of every busybox symbol, as busybox's build will see them.
fn values(out: &Path) -> BTreeMap<String, String> {
    let src = out.join(BUSYBOX_DIR);
    let tree = KconfigTree {
        kconfig: src.join("Config.in"),
        base_dir: src.clone(),
        config: src.join(".config"),
    };
    tree.config().expect("load busybox's tree").values()
}

fn assert_values(v: &BTreeMap<String, String>, want: &[&str], value: &str, what: &str) {
    for s in want {
        let got = v.get(*s).map(String::as_str).unwrap_or("n");
        let got = if got.is_empty() { "n" } else { got };
        assert_eq!(got, value, "{what}: {s}");
    }
}

const CONTAINER_APPLETS: &[&str] = &[
    "STATIC",
    "ASH",
    "SH_IS_ASH",
    "LS",
    "CP",
    "CAT",
    "GREP",
    "SED",
    "AWK",
    "FIND",
    "XARGS",
    "TAR",
    "GZIP",
    "GUNZIP",
    "FEATURE_SEAMLESS_GZ",
    "WGET",
    "VI",
    "PS",
    "KILL",
    "TOP",
    "TR",
    "SEQ",
];
const EMBEDDED_ONLY: &[&str] = &[
    "INIT",
    "FEATURE_USE_INITTAB",
    "GETTY",
    "LOGIN",
    "MDEV",
    "MOUNT",
    "UMOUNT",
    "IFCONFIG",
    "IP",
    "UDHCPC",
    "SYSLOGD",
    "KLOGD",
    "MODPROBE",
    "REBOOT",
    "SWAPOFF",
];

#[test]
fn container_config_savedefconfig_update_config_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let top = copy_tree(tmp.path());
    let out = tmp.path().join("out");
    ok(
        &bbsdk(&top, &out, &["container_x86_64_glibc_defconfig"]),
        "defconfig",
    );
    let config_file = top.join("package/busybox/busybox-container.config");
    let original = std::fs::read_to_string(&config_file).unwrap();

    // savedefconfig extracts and configures busybox, and gives back our file.
    ok(
        &bbsdk(&top, &out, &["make", "busybox-savedefconfig"]),
        "busybox-savedefconfig",
    );
    let saved = std::fs::read_to_string(out.join(BUSYBOX_DIR).join("defconfig")).unwrap();
    assert_eq!(
        body(&saved),
        body(&original),
        "savedefconfig of the unchanged configuration"
    );
    assert!(
        !out.join(BUSYBOX_DIR).join(".stamp_built").exists(),
        "nothing is built"
    );

    // What the container configuration promises, and what it leaves out.
    let v = values(&out);
    assert_values(&v, CONTAINER_APPLETS, "y", "container");
    assert_values(
        &v,
        EMBEDDED_ONLY,
        "n",
        "container (no applets a container can't use)",
    );

    // An edit of the package's .config, kept by update-config.
    let dot = out.join(BUSYBOX_DIR).join(".config");
    let text = std::fs::read_to_string(&dot).unwrap();
    assert!(text.contains("\nCONFIG_VI=y\n") && text.contains("\n# CONFIG_CAL is not set\n"));
    let text = text
        .replace("\nCONFIG_VI=y\n", "\n# CONFIG_VI is not set\n")
        .replace("\n# CONFIG_CAL is not set\n", "\nCONFIG_CAL=y\n");
    std::fs::write(&dot, text).unwrap();
    let err = ok(
        &bbsdk(&top, &out, &["make", "busybox-update-config"]),
        "busybox-update-config",
    );
    assert!(err.contains(&config_file.display().to_string()), "{err}");
    let updated = std::fs::read_to_string(&config_file).unwrap();
    assert!(
        updated.starts_with("# BusyBox 1.35 configuration for containers"),
        "the header is kept:\n{updated}"
    );
    let old: std::collections::BTreeSet<String> = body(&original).into_iter().collect();
    let new: std::collections::BTreeSet<String> = body(&updated).into_iter().collect();
    let added: Vec<&String> = new.difference(&old).collect();
    let removed: Vec<&String> = old.difference(&new).collect();
    assert_eq!(added, ["# CONFIG_VI is not set"]);
    assert!(
        removed.iter().all(|l| l.contains("CONFIG_CAL")) && removed.len() == 1,
        "{removed:?}"
    );

    // The file now gives the edited configuration back.
    ok(
        &bbsdk(&top, &out, &["make", "busybox-savedefconfig"]),
        "busybox-savedefconfig again",
    );
    let saved = std::fs::read_to_string(out.join(BUSYBOX_DIR).join("defconfig")).unwrap();
    assert_eq!(body(&saved), body(&updated));

    // Fragments would leak into the file: update-config refuses.
    let frag = top.join("frag.config");
    std::fs::write(&frag, "# CONFIG_TOP is not set\n").unwrap();
    let cfg = out.join(".config");
    let c = std::fs::read_to_string(&cfg).unwrap().replace(
        "BBSDK_PACKAGE_BUSYBOX_CONFIG_FRAGMENT_FILES=\"\"",
        "BBSDK_PACKAGE_BUSYBOX_CONFIG_FRAGMENT_FILES=\"frag.config\"",
    );
    std::fs::write(&cfg, c).unwrap();
    let r = bbsdk(&top, &out, &["make", "busybox-update-config"]);
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        !r.status.success() && err.contains("frag.config") && err.contains("hint:"),
        "{err}"
    );

    // A package that is not planned, or not a kconfig package.
    let r = bbsdk(&top, &out, &["make", "nope-savedefconfig"]);
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(!r.status.success() && err.contains("nope"), "{err}");
}

#[test]
fn embedded_defconfig_uses_the_embedded_busybox_config() {
    let tmp = tempfile::tempdir().unwrap();
    let top = copy_tree(tmp.path());
    let out = tmp.path().join("out");
    ok(
        &bbsdk(&top, &out, &["embedded_x86_64_musl_defconfig"]),
        "defconfig",
    );
    let dot = std::fs::read_to_string(out.join(".config")).unwrap();
    assert!(dot.contains("BBSDK_INIT_BUSYBOX=y"), "{dot}");
    assert!(
        dot.contains("BBSDK_PACKAGE_BUSYBOX_CONFIG=\"package/busybox/busybox-embedded.config\""),
        "{dot}"
    );
    ok(
        &bbsdk(&top, &out, &["make", "busybox-savedefconfig"]),
        "busybox-savedefconfig",
    );
    let saved = std::fs::read_to_string(out.join(BUSYBOX_DIR).join("defconfig")).unwrap();
    let file =
        std::fs::read_to_string(top.join("package/busybox/busybox-embedded.config")).unwrap();
    assert_eq!(body(&saved), body(&file));
    let v = values(&out);
    assert_values(&v, CONTAINER_APPLETS, "y", "embedded");
    assert_values(&v, EMBEDDED_ONLY, "y", "embedded");
}

fn quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}

#[test]
fn busybox_menuconfig_in_tmux() {
    let tmp = tempfile::tempdir().unwrap();
    let top = copy_tree(tmp.path());
    let out = tmp.path().join("out");
    ok(
        &bbsdk(&top, &out, &["container_x86_64_glibc_defconfig"]),
        "defconfig",
    );
    let cache = shared_cache_home();
    let cmd = format!(
        "cd {top} && env -u CONFIG_ -u BR2_CONFIG -u KCONFIG_CONFIG BBSDK_TOP={top} XDG_CACHE_HOME={cache} BBSDK_DL_DIR={dl} TERM=xterm-256color {bin} -O {out} make busybox-menuconfig; echo EXITED:$?; sleep 60",
        top = quote(&top),
        cache = quote(&cache),
        dl = quote(&cache.join("bbsdk/dl")),
        bin = quote(Path::new(env!("CARGO_BIN_EXE_bbsdk"))),
        out = quote(&out),
    );
    let t = Tmux::start("busybox", &cmd, 100, 30);
    // busybox's own menu (extracting and configuring comes first).
    let main = t.wait_for_secs("Archival Utilities  --->", 120);
    assert!(main.contains("Settings  --->"), "{main}");
    assert!(main.contains("Editors  --->"), "{main}");

    // Search for vi's symbol (regex mode) and jump there, then turn vi off.
    t.send(&["/"]);
    t.wait_for("fuzzy >");
    t.send(&["Tab"]);
    t.wait_for("regex >");
    t.type_text("^VI$");
    let s = t.wait_for("1 match");
    assert!(s.contains("vi (23 kb) [=y]"), "{s}");
    t.send(&["Enter"]);
    let s = t.wait_for("> Editors");
    assert!(s.contains("[*] vi"), "{s}");
    t.send(&["n"]);
    t.wait_for("[ ] vi");
    t.send(&["Escape"]);
    t.wait_for("> Main Menu");
    std::thread::sleep(Duration::from_millis(400));
    t.send(&["Escape"]);
    t.wait_for("Do you wish to save your new configuration?");
    t.send(&["Enter"]);
    let s = t.wait_for("EXITED:");
    assert!(s.contains("EXITED:0"), "{s}");
    assert!(s.contains("busybox-rebuild"), "the hint after saving: {s}");

    let dot = std::fs::read_to_string(out.join(BUSYBOX_DIR).join(".config")).unwrap();
    assert!(
        dot.contains("\n# CONFIG_VI is not set\n"),
        "vi off in the saved .config"
    );
    assert!(dot.contains("\nCONFIG_ASH=y\n"), "the rest is kept");
}

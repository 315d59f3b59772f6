//! The real `bbsdk` binary as the build tests run it: one download
//! directory and one binary cache for them all (under `CARGO_TARGET_TMPDIR`,
//! so BusyBox and the musl sysroots are built once per target directory),
//! a fixed `SOURCE_DATE_EPOCH`, and none of the caller's Kconfig variables.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `XDG_CACHE_HOME` shared by the build tests: `bbsdk/dl`, `bbsdk/cache`.
pub fn shared_cache_home() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("bbsdk-xdg-cache")
}

/// `bbsdk -O out` in bbsdk's own tree with `cache_home` as the cache home;
/// the download directory is the shared one whatever the cache home.
pub fn command(out: &Path, cache_home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bbsdk"));
    c.arg("-O")
        .arg(out)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("XDG_CACHE_HOME", cache_home)
        .env("BBSDK_DL_DIR", shared_cache_home().join("bbsdk/dl"))
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env_remove("BBSDK_TOP")
        .env_remove("CONFIG_")
        .env_remove("BR2_CONFIG")
        .env_remove("KCONFIG_CONFIG");
    c
}

/// `bbsdk -O out ARGS` with the shared cache home.
pub fn run(out: &Path, args: &[&str]) -> Output {
    run_with_cache(out, &shared_cache_home(), args)
}

/// `bbsdk -O out ARGS` with another cache home.
pub fn run_with_cache(out: &Path, cache_home: &Path, args: &[&str]) -> Output {
    command(out, cache_home)
        .args(args)
        .output()
        .expect("run bbsdk")
}

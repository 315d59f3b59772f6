//! The build machine's tools, described to Portage. Build-time dependencies
//! (`BDEPEND`) are resolved on the build machine's side, which for bbsdk's
//! Portage is the venv (its EPREFIX, the ebuilds' `BROOT`). bbsdk writes an
//! installed-package entry there for each tool it finds on PATH, with the
//! version the tool reports, so `BDEPEND="virtual/pkgconfig"` or
//! `dev-lang/python:3.11` is satisfied by the host's programs instead of
//! being scheduled for a build; and links the programs into `<venv>/usr/bin`
//! for eclasses that call `${BROOT}/usr/bin/<tool>`.

use std::path::Path;
use std::process::{Command, Stdio};

use super::portage::which;
use super::vdb::{self, Entry};
use super::{GentooError, Result};

/// How a tool's version is found.
#[derive(Debug, Clone, Copy)]
enum Version {
    /// The first dotted number in `<program> <arg>`'s output.
    Ask(&'static str),
    /// A fixed version (virtuals and alternatives).
    Fixed(&'static str),
}

/// How the slot is derived from the version.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Zero,
    /// `major.minor` (python, autoconf, automake).
    MajorMinor,
}

/// Gentoo package, the program that stands for it, its version and slot.
const TOOLS: [(&str, &str, Version, Slot); 33] = [
    (
        "virtual/pkgconfig",
        "pkg-config",
        Version::Fixed("3"),
        Slot::Zero,
    ),
    (
        "dev-util/pkgconf",
        "pkgconf",
        Version::Ask("--version"),
        Slot::Zero,
    ),
    (
        "dev-build/make",
        "make",
        Version::Ask("--version"),
        Slot::Zero,
    ),
    (
        "dev-build/meson",
        "meson",
        Version::Ask("--version"),
        Slot::Zero,
    ),
    (
        "dev-build/ninja",
        "ninja",
        Version::Ask("--version"),
        Slot::Zero,
    ),
    (
        "app-alternatives/ninja",
        "ninja",
        Version::Fixed("1"),
        Slot::Zero,
    ),
    (
        "dev-build/cmake",
        "cmake",
        Version::Ask("--version"),
        Slot::Zero,
    ),
    (
        "dev-build/autoconf",
        "autoconf",
        Version::Ask("--version"),
        Slot::MajorMinor,
    ),
    (
        "dev-build/automake",
        "automake",
        Version::Ask("--version"),
        Slot::MajorMinor,
    ),
    (
        "dev-build/libtool",
        "libtool",
        Version::Ask("--version"),
        Slot::Zero,
    ),
    ("sys-devel/m4", "m4", Version::Ask("--version"), Slot::Zero),
    (
        "sys-devel/bison",
        "bison",
        Version::Ask("--version"),
        Slot::Zero,
    ),
    (
        "app-alternatives/yacc",
        "bison",
        Version::Fixed("1"),
        Slot::Zero,
    ),
    (
        "sys-devel/flex",
        "flex",
        Version::Ask("--version"),
        Slot::Zero,
    ),
    (
        "app-alternatives/lex",
        "flex",
        Version::Fixed("1"),
        Slot::Zero,
    ),
    (
        "sys-devel/gettext",
        "gettext",
        Version::Ask("--version"),
        Slot::Zero,
    ),
    (
        "dev-lang/perl",
        "perl",
        Version::Ask("--version"),
        Slot::Zero,
    ),
    (
        "dev-lang/python",
        "python3",
        Version::Ask("--version"),
        Slot::MajorMinor,
    ),
    (
        "sys-devel/patch",
        "patch",
        Version::Ask("--version"),
        Slot::Zero,
    ),
    ("app-arch/tar", "tar", Version::Ask("--version"), Slot::Zero),
    (
        "app-arch/xz-utils",
        "xz",
        Version::Ask("--version"),
        Slot::Zero,
    ),
    (
        "app-arch/zstd",
        "zstd",
        Version::Ask("--version"),
        Slot::Zero,
    ),
    (
        "app-arch/gzip",
        "gzip",
        Version::Ask("--version"),
        Slot::Zero,
    ),
    ("app-arch/unzip", "unzip", Version::Ask("-v"), Slot::Zero),
    ("sys-apps/sed", "sed", Version::Ask("--version"), Slot::Zero),
    (
        "sys-apps/grep",
        "grep",
        Version::Ask("--version"),
        Slot::Zero,
    ),
    (
        "sys-apps/gawk",
        "gawk",
        Version::Ask("--version"),
        Slot::Zero,
    ),
    (
        "sys-apps/findutils",
        "find",
        Version::Ask("--version"),
        Slot::Zero,
    ),
    (
        "sys-apps/coreutils",
        "ls",
        Version::Ask("--version"),
        Slot::Zero,
    ),
    (
        "sys-apps/diffutils",
        "diff",
        Version::Ask("--version"),
        Slot::Zero,
    ),
    (
        "app-shells/bash",
        "bash",
        Version::Ask("--version"),
        Slot::Zero,
    ),
    (
        "sys-apps/file",
        "file",
        Version::Ask("--version"),
        Slot::Zero,
    ),
    (
        "app-misc/pax-utils",
        "scanelf",
        Version::Ask("--version"),
        Slot::Zero,
    ),
];

/// The first `N.N[.N...]` in a text.
pub fn first_version(text: &str) -> Option<String> {
    let re = regex::Regex::new(r"([0-9]+(?:\.[0-9]+)+)").expect("static regex");
    re.captures(text).map(|c| c[1].to_string())
}

fn ask(program: &Path, arg: &str) -> Option<String> {
    let out = Command::new(program)
        .arg(arg)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    first_version(&text)
}

/// Entries for the tools found on PATH.
pub fn entries() -> Vec<Entry> {
    let mut out = Vec::new();
    for (atom, program, version, slot) in TOOLS {
        let Some(path) = which(program) else { continue };
        let version = match version {
            Version::Fixed(v) => Some(v.to_string()),
            Version::Ask(arg) => ask(&path, arg),
        };
        let Some(version) = version.map(|v| vdb::gentoo_version(&v)) else {
            continue;
        };
        let slot = match slot {
            Slot::Zero => "0".to_string(),
            Slot::MajorMinor => version.split('.').take(2).collect::<Vec<_>>().join("."),
        };
        let (category, name) = atom.split_once('/').unwrap_or(("virtual", atom));
        out.push(Entry {
            category: category.into(),
            name: name.into(),
            version,
            slot,
            description: format!("the build machine's {}", path.display()),
            target_tree: None,
            staging_tree: None,
            provides: Default::default(),
        });
    }
    out
}

/// What the entries depend on: each tool's path and modification time (a
/// stat each, no process), so unchanged tools are not asked again.
fn key() -> String {
    use std::os::unix::fs::MetadataExt;
    TOOLS
        .iter()
        .map(|(_, program, _, _)| match which(program) {
            Some(p) => {
                let m = std::fs::metadata(&p).map(|m| m.mtime()).unwrap_or(0);
                format!("{} {m}\n", p.display())
            }
            None => format!("{program} -\n"),
        })
        .collect()
}

/// Writes the entries into `<venv>/var/db/pkg` and links the programs into
/// `<venv>/usr/bin`; nothing to do when the tools are those of last time.
pub fn describe(venv: &Path) -> Result<()> {
    let stamp = venv.join("var").join("db").join(".bbsdk-host-tools");
    let key = key();
    if std::fs::read_to_string(&stamp).is_ok_and(|k| k == key) {
        return Ok(());
    }
    let entries = entries();
    vdb::write_all(venv, &entries, vdb::Tree::Target, "")?;
    let bin = venv.join("usr").join("bin");
    std::fs::create_dir_all(&bin).map_err(|e| GentooError::io(&bin, e))?;
    let mut programs: Vec<String> = TOOLS.iter().map(|t| t.1.to_string()).collect();
    if let Some(py) = entries.iter().find(|e| e.name == "python") {
        programs.push(format!("python{}", py.slot));
    }
    for p in programs {
        let Some(path) = which(&p) else { continue };
        let link = bin.join(&p);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&path, &link).map_err(|e| GentooError::io(&link, e))?;
    }
    crate::build::tree::write_atomic(&stamp, key.as_bytes()).map_err(|e| GentooError::io(&stamp, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_tool_output() {
        assert_eq!(
            first_version("GNU Make 4.3\nBuilt for x86_64").as_deref(),
            Some("4.3")
        );
        assert_eq!(
            first_version("*** Zstandard CLI (64-bit) v1.5.4, by Yann Collet ***").as_deref(),
            Some("1.5.4")
        );
        assert_eq!(
            first_version("This is perl 5, version 36, subversion 0 (v5.36.0)").as_deref(),
            Some("5.36.0")
        );
        assert_eq!(first_version("none"), None);
    }

    #[test]
    fn the_hosts_tools_become_entries() {
        let e = entries();
        // setup-host.sh installs these.
        for name in ["pkgconfig", "make", "python", "bash", "tar"] {
            assert!(
                e.iter().any(|x| x.name == name),
                "{name} missing from {e:?}"
            );
        }
        let py = e.iter().find(|x| x.name == "python").unwrap();
        assert!(py.slot.starts_with("3."), "{py:?}");
        let d = tempfile::tempdir().unwrap();
        describe(d.path()).unwrap();
        assert!(d
            .path()
            .join("var/db/pkg/virtual/pkgconfig-3/SLOT")
            .is_file());
        assert!(d.path().join("usr/bin/make").exists());
        // Unchanged tools: the stamp spares asking them again.
        std::fs::remove_dir_all(d.path().join("var/db/pkg/virtual")).unwrap();
        describe(d.path()).unwrap();
        assert!(!d.path().join("var/db/pkg/virtual").exists());
        std::fs::remove_file(d.path().join("var/db/.bbsdk-host-tools")).unwrap();
        describe(d.path()).unwrap();
        assert!(d.path().join("var/db/pkg/virtual/pkgconfig-3").is_dir());
    }
}

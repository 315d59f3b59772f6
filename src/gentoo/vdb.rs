//! Installed-package database entries (`var/db/pkg/<cat>/<pf>/`) for what
//! bbsdk provides itself: its packages (busybox, ...) and the toolchain's C
//! library and compiler runtime. Portage then sees them as installed: it
//! does not rebuild them, `has_version` finds them, and soname dependencies
//! (PROVIDES) of binary packages are checked against them. This is more
//! reliable than `package.provided`, which only works in EAPI <= 6 profiles
//! and is invisible to `has_version`.
//!
//! Every entry bbsdk writes has `repository` = `bbsdk`; they are all removed
//! and written again on each run, so removed packages disappear.

use std::collections::BTreeSet;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{GentooError, Input, Result};
use crate::target::{Arch, Libc, Target};

/// The value of `repository` in bbsdk's entries.
pub const REPOSITORY: &str = "bbsdk";

/// One package as an installed-package entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    pub category: String,
    pub name: String,
    pub version: String,
    pub slot: String,
    pub description: String,
    /// Files for the target root, and for the sysroot.
    pub target_tree: Option<PathBuf>,
    pub staging_tree: Option<PathBuf>,
    /// Sonames it provides.
    pub provides: BTreeSet<String>,
}

/// Which of the two roots an entry is written into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tree {
    Staging,
    Target,
}

/// Gentoo's category and name for a bbsdk package.
pub fn gentoo_name(name: &str) -> (String, String) {
    const KNOWN: [(&str, &str); 24] = [
        ("busybox", "sys-apps/busybox"),
        ("zlib", "sys-libs/zlib"),
        ("ncurses", "sys-libs/ncurses"),
        ("readline", "sys-libs/readline"),
        ("openssl", "dev-libs/openssl"),
        ("libffi", "dev-libs/libffi"),
        ("expat", "dev-libs/expat"),
        ("pcre2", "dev-libs/libpcre2"),
        ("libxml2", "dev-libs/libxml2"),
        ("xz", "app-arch/xz-utils"),
        ("bzip2", "app-arch/bzip2"),
        ("zstd", "app-arch/zstd"),
        ("lz4", "app-arch/lz4"),
        ("curl", "net-misc/curl"),
        ("dropbear", "net-misc/dropbear"),
        ("util-linux", "sys-apps/util-linux"),
        ("e2fsprogs", "sys-fs/e2fsprogs"),
        ("sqlite", "dev-db/sqlite"),
        ("libcap", "sys-libs/libcap"),
        ("attr", "sys-apps/attr"),
        ("acl", "sys-apps/acl"),
        ("ca-certificates", "app-misc/ca-certificates"),
        ("libseccomp", "sys-libs/libseccomp"),
        ("iana-etc", "net-misc/iana-etc"),
    ];
    let full = KNOWN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, g)| g.to_string())
        .unwrap_or_else(|| format!("bbsdk-pkg/{name}"));
    let (c, n) = full.split_once('/').unwrap_or(("bbsdk-pkg", name));
    (c.to_string(), n.to_string())
}

/// A version Portage accepts: bbsdk's when it is Gentoo-shaped (digits and
/// dots, optionally a letter and `_pre`/`_p`-style suffixes), else its
/// leading digits, else `0`.
pub fn gentoo_version(v: &str) -> String {
    let re = regex::Regex::new(
        r"^[0-9]+(\.[0-9]+)*[a-z]?((_alpha|_beta|_pre|_rc|_p)[0-9]*)*(-r[0-9]+)?$",
    )
    .expect("static regex");
    if re.is_match(v) {
        return v.to_string();
    }
    let lead: String = v
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let lead = lead.trim_matches('.');
    if lead.is_empty() || !re.is_match(lead) {
        "0".to_string()
    } else {
        lead.to_string()
    }
}

/// Portage's multilib category of the target (`arm_64: libz.so.1`).
pub fn multilib_category(t: &Target) -> &'static str {
    match t.arch {
        Arch::X86_64 => "x86_64",
        Arch::Aarch64 => "arm_64",
        Arch::Armv7 => "arm_32",
    }
}

fn elf_machine(t: &Target) -> u16 {
    use object::elf;
    match t.arch {
        Arch::X86_64 => elf::EM_X86_64,
        Arch::Aarch64 => elf::EM_AARCH64,
        Arch::Armv7 => elf::EM_ARM,
    }
}

/// For a shared object built for the target, its soname (`Some(None)` when
/// it has none); `None` for anything else.
pub fn soname(path: &Path, target: &Target) -> Option<Option<String>> {
    use object::read::elf::{ElfFile32, ElfFile64};
    use object::{Object, ObjectKind};
    let mut f = std::fs::File::open(path).ok()?;
    let mut magic = [0u8; 4];
    f.read_exact(&mut magic).ok()?;
    if &magic != b"\x7fELF" {
        return None;
    }
    let data = std::fs::read(path).ok()?;
    let machine = elf_machine(target);
    let (kind, m, name) = match object::FileKind::parse(&*data).ok()? {
        object::FileKind::Elf64 => {
            let e = ElfFile64::<object::Endianness>::parse(&*data).ok()?;
            (
                e.kind(),
                e.elf_header().e_machine.get(e.endian()),
                soname_of(&e),
            )
        }
        object::FileKind::Elf32 => {
            let e = ElfFile32::<object::Endianness>::parse(&*data).ok()?;
            (
                e.kind(),
                e.elf_header().e_machine.get(e.endian()),
                soname_of(&e),
            )
        }
        _ => return None,
    };
    (kind == ObjectKind::Dynamic && m == machine).then_some(name)
}

fn soname_of<'d, E: object::read::elf::FileHeader<Endian = object::Endianness>>(
    e: &object::read::elf::ElfFile<'d, E, &'d [u8]>,
) -> Option<String> {
    use object::read::elf::{Dyn, SectionHeader};
    let endian = e.endian();
    let data = e.data();
    let sections = e.elf_header().sections(endian, data).ok()?;
    for s in sections.iter() {
        if let Some((dyns, link)) = s.dynamic(endian, data).ok().flatten() {
            let strings = sections.strings(endian, data, link).ok()?;
            for d in dyns {
                if d.tag32(endian) == Some(object::elf::DT_SONAME) {
                    let name = d.string(endian, strings).ok()?;
                    return Some(String::from_utf8_lossy(name).into_owned());
                }
            }
        }
    }
    None
}

/// Sonames of the target's shared libraries under `dir`.
pub fn sonames_in(dir: &Path, target: &Target) -> BTreeSet<String> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| soname(e.path(), target).flatten())
        .collect()
}

/// The sonames of the compiler's runtime, as opposed to the C library's.
fn is_compiler_runtime(soname: &str) -> bool {
    [
        "libgcc_s",
        "libstdc++",
        "libatomic",
        "libgomp",
        "libitm",
        "libasan",
        "libhwasan",
        "liblsan",
        "libtsan",
        "libubsan",
        "libquadmath",
        "libssp",
        "libgfortran",
    ]
    .iter()
    .any(|p| soname.starts_with(&format!("{p}.so")))
}

/// The directory holding the C library the compiler links with, found by
/// linking a test program with `-Wl,-t` (works for wrappers like musl-gcc).
fn libc_dir(cc: &str, libc: Libc, work: &Path) -> Option<PathBuf> {
    let src = work.join("libc-probe.c");
    std::fs::write(&src, "int main(void){return 0;}\n").ok()?;
    let out = Command::new(cc)
        .arg(&src)
        .arg("-o")
        .arg(work.join("libc-probe"))
        .arg("-Wl,-t")
        .output()
        .ok()?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let want = match libc {
        Libc::Glibc => "libc.so.6",
        Libc::Musl => "libc.so",
    };
    text.lines()
        .map(|l| l.trim().trim_start_matches("-lc (").trim_end_matches(')'))
        .map(PathBuf::from)
        .find(|p| p.file_name().is_some_and(|n| n == want) && p.is_file())
        .and_then(|p| std::fs::canonicalize(p).ok())
        .and_then(|p| p.parent().map(Path::to_path_buf))
}

/// The C library's version from the strings in it.
fn libc_version(dir: &Path, libc: Libc) -> String {
    let file = match libc {
        Libc::Glibc => "libc.so.6",
        Libc::Musl => "libc.so",
    };
    let Ok(data) = std::fs::read(dir.join(file)) else {
        return "0".into();
    };
    let text = String::from_utf8_lossy(&data);
    let re = match libc {
        Libc::Glibc => regex::Regex::new(r"release version ([0-9]+\.[0-9]+)"),
        Libc::Musl => regex::Regex::new(r"\x00([0-9]+\.[0-9]+\.[0-9]+)\x00"),
    }
    .expect("static regex");
    re.captures(&text)
        .map(|c| c[1].to_string())
        .unwrap_or_else(|| "0".into())
}

fn compiler_version(cc: &str) -> String {
    Command::new(cc)
        .arg("-dumpversion")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|v| !v.is_empty())
        .map(|v| gentoo_version(&v))
        .unwrap_or_else(|| "0".into())
}

/// The entries for an output directory: bbsdk's packages, the C library and
/// the compiler runtime of the toolchain.
pub fn entries(input: &Input) -> Result<Vec<Entry>> {
    let t = &input.target;
    let mut out = Vec::new();
    for p in &input.packages {
        let (category, name) = gentoo_name(&p.name);
        let provides = p
            .target_tree
            .as_deref()
            .map(|d| sonames_in(d, t))
            .unwrap_or_default();
        out.push(Entry {
            category,
            name,
            version: gentoo_version(&p.version),
            slot: "0".into(),
            description: format!("{} {}, built by bbsdk", p.name, p.version),
            target_tree: p.target_tree.clone(),
            staging_tree: p.staging_tree.clone(),
            provides,
        });
    }
    out.extend(toolchain_entries(input)?);
    Ok(out)
}

/// The C library and compiler runtime entries, remembered per toolchain in
/// `<output>/build/gentoo/toolchain-entries.json` (finding them links a
/// test program).
fn toolchain_entries(input: &Input) -> Result<Vec<Entry>> {
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Memo {
        key: String,
        entries: Vec<Entry>,
    }
    let t = &input.target;
    let cc = input
        .toolchain
        .target
        .get("CC")
        .cloned()
        .unwrap_or_default();
    let key = format!("{}\n{cc}\n{}", input.toolchain_id, t.name());
    let dirs = super::Dirs::new(&input.output);
    let memo = dirs.base.join("toolchain-entries.json");
    if let Some(m) = std::fs::read(&memo)
        .ok()
        .and_then(|b| serde_json::from_slice::<Memo>(&b).ok())
        .filter(|m| m.key == key)
    {
        return Ok(m.entries);
    }
    let work = dirs.tmp;
    std::fs::create_dir_all(&work).map_err(|e| GentooError::io(&work, e))?;
    let dir = libc_dir(&cc, t.libc, &work).ok_or_else(|| GentooError::Host {
        msg: format!("cannot find the C library {cc} links with (`{cc} -Wl,-t` names no libc)"),
        hint: "check the toolchain with a plain `bbsdk make` first (docs/toolchains.md)".into(),
    })?;
    let all = sonames_in_flat(&dir, t);
    let (gcc, libc): (BTreeSet<String>, BTreeSet<String>) =
        all.into_iter().partition(|s| is_compiler_runtime(s));
    let (name, slot) = match t.libc {
        Libc::Glibc => ("glibc", "2.2"),
        Libc::Musl => ("musl", "0"),
    };
    let version = compiler_version(&cc);
    let entries = vec![
        Entry {
            category: "sys-libs".into(),
            name: name.into(),
            version: gentoo_version(&libc_version(&dir, t.libc)),
            slot: slot.into(),
            description: format!("the C library of the toolchain ({})", dir.display()),
            target_tree: None,
            staging_tree: None,
            provides: libc,
        },
        Entry {
            category: "sys-devel".into(),
            name: "gcc".into(),
            slot: version.split('.').next().unwrap_or("0").to_string(),
            version,
            description: "the compiler runtime of the toolchain".into(),
            target_tree: None,
            staging_tree: None,
            provides: gcc,
        },
    ];
    let text = serde_json::to_vec(&Memo {
        key,
        entries: entries.clone(),
    })
    .unwrap_or_default();
    crate::build::tree::write_atomic(&memo, &text).map_err(|e| GentooError::io(&memo, e))?;
    Ok(entries)
}

/// Sonames of the libraries directly in `dir` (not below it). A library
/// without a soname is known by its file name, as the linker records it in
/// programs (musl's `libc.so`, which is also its dynamic loader).
fn sonames_in_flat(dir: &Path, target: &Target) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
                .filter_map(|e| match soname(&e.path(), target) {
                    Some(Some(name)) => Some(name),
                    Some(None) => Some(e.file_name().to_string_lossy().into_owned()),
                    None => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// CONTENTS of a tree: `dir`, `obj PATH MD5 MTIME`, `sym PATH -> TARGET MTIME`.
pub fn contents(tree: &Path) -> std::io::Result<(String, u64)> {
    use md5::{Digest, Md5};
    let mut out = String::new();
    let mut size = 0;
    for e in walkdir::WalkDir::new(tree).sort_by_file_name().min_depth(1) {
        let e = e.map_err(std::io::Error::other)?;
        let rel = e.path().strip_prefix(tree).unwrap_or(e.path());
        let path = format!("/{}", rel.display());
        let meta = e.path().symlink_metadata()?;
        if meta.is_dir() {
            out.push_str(&format!("dir {path}\n"));
        } else if meta.file_type().is_symlink() {
            let to = std::fs::read_link(e.path())?;
            out.push_str(&format!(
                "sym {path} -> {} {}\n",
                to.display(),
                meta.mtime()
            ));
        } else if meta.is_file() {
            let mut h = Md5::new();
            std::io::copy(&mut std::fs::File::open(e.path())?, &mut h)?;
            let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
            out.push_str(&format!("obj {path} {hex} {}\n", meta.mtime()));
            size += meta.len();
        }
    }
    Ok((out, size))
}

/// Removes bbsdk's entries from `<root>/var/db/pkg` and writes `entries`.
/// `multilib` is the target's [`multilib_category`].
pub fn write_all(root: &Path, entries: &[Entry], tree: Tree, multilib: &str) -> Result<()> {
    let vdb = root.join("var").join("db").join("pkg");
    std::fs::create_dir_all(&vdb).map_err(|e| GentooError::io(&vdb, e))?;
    remove_ours(&vdb)?;
    for (i, e) in entries.iter().enumerate() {
        write_entry(&vdb, e, tree, i + 1, multilib)?;
    }
    Ok(())
}

fn remove_ours(vdb: &Path) -> Result<()> {
    let io = |p: &Path, e| GentooError::io(p, e);
    for cat in std::fs::read_dir(vdb).map_err(|e| io(vdb, e))? {
        let cat = cat.map_err(|e| io(vdb, e))?.path();
        if !cat.is_dir() {
            continue;
        }
        for pkg in std::fs::read_dir(&cat).map_err(|e| io(&cat, e))? {
            let pkg = pkg.map_err(|e| io(&cat, e))?.path();
            let repo = std::fs::read_to_string(pkg.join("repository")).unwrap_or_default();
            if repo.trim() == REPOSITORY {
                crate::build::tree::remove_all(&pkg).map_err(|e| io(&pkg, e))?;
            }
        }
    }
    Ok(())
}

fn write_entry(vdb: &Path, e: &Entry, tree: Tree, counter: usize, multilib: &str) -> Result<()> {
    let pf = format!("{}-{}", e.name, e.version);
    let cat = vdb.join(&e.category);
    let dir = cat.join(&pf);
    let tmp = cat.join(format!("-MERGING-{pf}"));
    let io = |p: &Path, err| GentooError::io(p, err);
    let _ = crate::build::tree::remove_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|err| io(&tmp, err))?;
    let files_tree = match tree {
        Tree::Staging => e.staging_tree.as_deref(),
        Tree::Target => e.target_tree.as_deref(),
    };
    let (contents, size) = match files_tree.filter(|t| t.is_dir()) {
        Some(t) => contents(t).map_err(|err| io(t, err))?,
        None => (String::new(), 0),
    };
    let provides = if e.provides.is_empty() {
        String::new()
    } else {
        format!(
            "{}: {}\n",
            multilib,
            e.provides.iter().cloned().collect::<Vec<_>>().join(" ")
        )
    };
    let files: [(&str, String); 12] = [
        ("CATEGORY", format!("{}\n", e.category)),
        ("PF", format!("{pf}\n")),
        ("SLOT", format!("{}\n", e.slot)),
        ("EAPI", "8\n".into()),
        ("repository", format!("{REPOSITORY}\n")),
        ("COUNTER", format!("{counter}\n")),
        ("CONTENTS", contents),
        ("PROVIDES", provides),
        ("DESCRIPTION", format!("{}\n", e.description)),
        ("SIZE", format!("{size}\n")),
        ("DEFINED_PHASES", "\n".into()),
        (
            "ebuild",
            format!(
                "# Recorded by bbsdk: installed by bbsdk itself, not by Portage.\nEAPI=8\nDESCRIPTION=\"{}\"\nSLOT=\"{}\"\n",
                e.description.replace('"', "'"),
                e.slot
            ),
        ),
    ];
    for (name, text) in files {
        let path = if name == "ebuild" {
            tmp.join(format!("{pf}.ebuild"))
        } else {
            tmp.join(name)
        };
        std::fs::write(&path, text).map_err(|err| io(&path, err))?;
    }
    let _ = crate::build::tree::remove_all(&dir);
    std::fs::rename(&tmp, &dir).map_err(|err| io(&dir, err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_portage_accepts() {
        assert_eq!(gentoo_version("1.36.1"), "1.36.1");
        assert_eq!(gentoo_version("2.36"), "2.36");
        assert_eq!(gentoo_version("1.2.3_rc1"), "1.2.3_rc1");
        assert_eq!(gentoo_version("3.0.1-rc2"), "3.0.1");
        assert_eq!(gentoo_version("git-abcdef"), "0");
        assert_eq!(
            gentoo_name("busybox"),
            ("sys-apps".into(), "busybox".into())
        );
        assert_eq!(gentoo_name("foo"), ("bbsdk-pkg".into(), "foo".into()));
    }

    fn host_target() -> Target {
        Target {
            arch: Arch::X86_64,
            libc: Libc::Glibc,
            hard_float: true,
        }
    }

    #[test]
    fn sonames_of_a_real_library() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("a.c");
        std::fs::write(&src, "int f(void){return 1;}\n").unwrap();
        let lib = d.path().join("lib/libf.so.3");
        std::fs::create_dir_all(lib.parent().unwrap()).unwrap();
        let st = Command::new("gcc")
            .args(["-shared", "-fPIC", "-Wl,-soname,libf.so.3", "-o"])
            .arg(&lib)
            .arg(&src)
            .status()
            .expect("gcc (scripts/setup-host.sh)");
        assert!(st.success());
        assert_eq!(soname(&lib, &host_target()), Some(Some("libf.so.3".into())));
        assert_eq!(soname(&src, &host_target()), None);
        // Another machine's libraries are not the target's.
        let arm = Target {
            arch: Arch::Aarch64,
            ..host_target()
        };
        assert_eq!(soname(&lib, &arm), None);
        assert_eq!(
            sonames_in(d.path(), &host_target())
                .into_iter()
                .collect::<Vec<_>>(),
            vec!["libf.so.3"]
        );
    }

    #[test]
    fn entries_are_replaced_and_others_kept() {
        let d = tempfile::tempdir().unwrap();
        let tree = d.path().join("tree");
        std::fs::create_dir_all(tree.join("bin")).unwrap();
        std::fs::write(tree.join("bin/busybox"), "hello").unwrap();
        std::os::unix::fs::symlink("busybox", tree.join("bin/sh")).unwrap();
        let root = d.path().join("root");
        let theirs = root.join("var/db/pkg/app-misc/hello-1.0");
        std::fs::create_dir_all(&theirs).unwrap();
        std::fs::write(theirs.join("repository"), "bbsdk-test\n").unwrap();
        let mut e = Entry {
            category: "sys-apps".into(),
            name: "busybox".into(),
            version: "1.36.1".into(),
            slot: "0".into(),
            description: "busybox".into(),
            target_tree: Some(tree.clone()),
            staging_tree: None,
            provides: ["libbb.so.1".to_string()].into(),
        };
        write_all(&root, std::slice::from_ref(&e), Tree::Target, "arm_64").unwrap();
        let dir = root.join("var/db/pkg/sys-apps/busybox-1.36.1");
        let c = std::fs::read_to_string(dir.join("CONTENTS")).unwrap();
        assert!(c.contains("dir /bin\n"), "{c}");
        assert!(
            c.contains("obj /bin/busybox 5d41402abc4b2a76b9719d911017c592 "),
            "{c}"
        );
        assert!(c.contains("sym /bin/sh -> busybox "), "{c}");
        assert_eq!(
            std::fs::read_to_string(dir.join("PROVIDES")).unwrap(),
            "arm_64: libbb.so.1\n"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("repository")).unwrap(),
            "bbsdk\n"
        );
        assert!(dir.join("busybox-1.36.1.ebuild").is_file());
        // The next run writes another version: the old entry goes, Portage's stays.
        e.version = "1.37.0".into();
        write_all(&root, &[e], Tree::Staging, "arm_64").unwrap();
        assert!(!dir.exists());
        let new = root.join("var/db/pkg/sys-apps/busybox-1.37.0");
        assert_eq!(std::fs::read_to_string(new.join("CONTENTS")).unwrap(), "");
        assert!(theirs.is_dir());
    }
}

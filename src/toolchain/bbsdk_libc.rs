//! The "bbsdk-built C library" toolchain: an external gcc (Debian's glibc
//! cross compiler, or the native gcc for x86_64) used only as a code
//! generator, over a sysroot that bbsdk fills with the Linux kernel's
//! user-space API headers and a musl built from source.
//!
//! The sysroot is kept in `<cache>/toolchains/<name>-<hash>/` where the hash
//! covers everything that decides its content (musl's source checksum, the
//! kernel headers, the compiler's identity, the flags), so it is built once
//! per machine and reused by every output directory. It is built in a
//! temporary directory beside it and renamed into place; a lock file keeps
//! two processes from building the same sysroot at once.
//!
//! The kernel headers are the `headers_install` tree Debian ships in
//! `linux-libc-dev` (x86_64) and `linux-libc-dev-<arch>-cross`; see
//! docs/toolchains.md for why they are not rebuilt from a kernel tarball.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{Toolchain, ToolchainError};
use crate::fetch::Fetcher;
use crate::target::{Arch, Target};

/// The file listing the musl releases bbsdk can build, relative to the tree's top.
pub const MUSL_SOURCES: &str = "toolchains/bbsdk-libc/musl.toml";

/// Bumped when the layout or the build procedure of a sysroot changes.
const FORMAT: &str = "bbsdk-sysroot-1";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MuslFile {
    musl: Vec<MuslRelease>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MuslRelease {
    version: String,
    file: String,
    #[serde(default)]
    urls: Vec<String>,
    sha256: String,
    #[serde(default)]
    debian: Option<crate::package::DebianSource>,
}

/// The source of a musl release, from `toolchains/bbsdk-libc/musl.toml`.
pub fn musl_source(top: &Path, version: &str) -> Result<crate::fetch::Source, ToolchainError> {
    let path = top.join(MUSL_SOURCES);
    let text = fs::read_to_string(&path)
        .map_err(|e| ToolchainError::Probe(format!("{}: {e}", path.display())))?;
    let file: MuslFile = toml::from_str(&text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].lines().count().max(1))
            .unwrap_or(1);
        ToolchainError::Probe(format!(
            "{}:{line}: {}\n  hint: see the comment at the top of the file for the format",
            path.display(),
            e.message()
        ))
    })?;
    let known: Vec<&str> = file.musl.iter().map(|m| m.version.as_str()).collect();
    let Some(m) = file.musl.iter().find(|m| m.version == version) else {
        return Err(ToolchainError::Probe(format!(
            "musl {version:?} (BBSDK_MUSL_VERSION) is not listed in {}; known: {}\n  hint: set BBSDK_MUSL_VERSION to a known version, or add an entry with the release's sha256",
            path.display(),
            known.join(", ")
        )));
    };
    Ok(crate::fetch::Source {
        file_name: m.file.clone(),
        urls: m.urls.clone(),
        sha256: m.sha256.clone(),
        debian: m.debian.as_ref().map(|d| crate::fetch::DebianSource {
            package: d.package.clone(),
            version: d.version.clone(),
            file: d.file.clone(),
        }),
    })
}

/// musl's name for the architecture, as in `/lib/ld-musl-<name>.so.1`.
pub fn musl_arch(target: &Target) -> &'static str {
    match (target.arch, target.hard_float) {
        (Arch::X86_64, _) => "x86_64",
        (Arch::Aarch64, _) => "aarch64",
        (Arch::Armv7, true) => "armhf",
        (Arch::Armv7, false) => "arm",
    }
}

/// The dynamic loader of a musl program for `target`.
pub fn musl_loader(target: &Target) -> String {
    format!("/lib/ld-musl-{}.so.1", musl_arch(target))
}

/// A directory tree in the cache, and whether this call built it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cached {
    /// The tree (a sysroot: `usr/include`, `usr/lib`, `lib`).
    pub path: PathBuf,
    /// The identity hash its directory name ends with.
    pub identity: String,
    /// `true` when it was already in the cache and nothing was built.
    pub reused: bool,
}

/// The Debian package holding the kernel headers for `target`, and the
/// directory its headers are installed under.
fn headers_package(target: &Target) -> (&'static str, &'static str) {
    match (target.arch, target.hard_float) {
        (Arch::X86_64, _) => ("linux-libc-dev", "/usr/include"),
        (Arch::Aarch64, _) => (
            "linux-libc-dev-arm64-cross",
            "/usr/aarch64-linux-gnu/include",
        ),
        (Arch::Armv7, true) => (
            "linux-libc-dev-armhf-cross",
            "/usr/arm-linux-gnueabihf/include",
        ),
        (Arch::Armv7, false) => (
            "linux-libc-dev-armel-cross",
            "/usr/arm-linux-gnueabi/include",
        ),
    }
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> ToolchainError {
    ToolchainError::Probe(format!("{what} {}: {e}", path.display()))
}

/// The kernel headers files of `target`: (path in the sysroot's
/// `usr/include`, path on the host), sorted, and the package's version.
fn headers_files(target: &Target) -> Result<(Vec<(PathBuf, PathBuf)>, String), ToolchainError> {
    let (pkg, root) = headers_package(target);
    let missing = || ToolchainError::Missing {
        what: format!("Linux kernel headers for {}", target.gnu_cpu()),
        names: pkg.to_string(),
        place: "the installed Debian packages".into(),
        hint: format!("install them: apt-get install {pkg} (scripts/setup-host.sh does)"),
    };
    let q = |args: &[&str]| {
        Command::new("dpkg-query")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    };
    let version = q(&["-W", "-f", "${Version}", pkg]).ok_or_else(missing)?;
    let list = q(&["-L", pkg]).ok_or_else(missing)?;
    let mut files = Vec::new();
    let x86_asm = format!("{root}/x86_64-linux-gnu/asm/");
    for line in list.lines() {
        let host = Path::new(line);
        if !host.is_file() || host.is_symlink() {
            continue;
        }
        let rel = if let Some(r) = line.strip_prefix(&x86_asm) {
            PathBuf::from("asm").join(r)
        } else if let Some(r) = line.strip_prefix(&format!("{root}/")) {
            if r.starts_with("x86_64-linux-gnu/") {
                continue;
            }
            PathBuf::from(r)
        } else {
            continue;
        };
        files.push((rel, host.to_path_buf()));
    }
    if !files.iter().any(|(r, _)| r == Path::new("linux/version.h")) {
        return Err(missing());
    }
    files.sort();
    Ok((files, version.trim().to_string()))
}

/// Holds an exclusive lock on `<dir>/<name>.lock` while alive.
struct Lock {
    _file: fs::File,
}

fn lock(dir: &Path, name: &str) -> Result<Lock, ToolchainError> {
    fs::create_dir_all(dir).map_err(|e| io_err("cannot create", dir, e))?;
    let p = dir.join(format!("{name}.lock"));
    let f = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&p)
        .map_err(|e| io_err("cannot open", &p, e))?;
    rustix::fs::flock(&f, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| io_err("cannot lock", &p, e.into()))?;
    Ok(Lock { _file: f })
}

/// Runs `f` to fill a fresh directory and renames it to `<dir>/<name>`,
/// unless that already exists. Returns whether it was reused.
fn cached_build(
    dir: &Path,
    name: &str,
    f: impl FnOnce(&Path) -> Result<(), ToolchainError>,
) -> Result<(PathBuf, bool), ToolchainError> {
    let dest = dir.join(name);
    if dest.is_dir() {
        return Ok((dest, true));
    }
    let _lock = lock(dir, name)?;
    if dest.is_dir() {
        return Ok((dest, true));
    }
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(|e| io_err("cannot remove", &tmp, e))?;
    }
    fs::create_dir_all(&tmp).map_err(|e| io_err("cannot create", &tmp, e))?;
    let res = f(&tmp);
    if let Err(e) = res {
        let _ = fs::remove_dir_all(&tmp);
        return Err(e);
    }
    fs::rename(&tmp, &dest).map_err(|e| io_err("cannot rename into", &dest, e))?;
    Ok((dest, false))
}

fn hex(d: impl AsRef<[u8]>) -> String {
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The Linux kernel headers for `target` as a sysroot tree
/// (`<cache>/toolchains/linux-headers-<cpu>-<hash>/usr/include`).
pub fn kernel_headers(target: &Target, cache_dir: &Path) -> Result<Cached, ToolchainError> {
    let (files, version) = headers_files(target)?;
    let mut h = Sha256::new();
    h.update(FORMAT);
    h.update(headers_package(target).0);
    h.update(&version);
    for (rel, host) in &files {
        let bytes = fs::read(host).map_err(|e| io_err("cannot read", host, e))?;
        h.update(rel.to_string_lossy().as_bytes());
        h.update([0]);
        h.update(Sha256::digest(&bytes));
    }
    let identity = hex(h.finalize());
    let name = format!(
        "linux-headers-{}-{}-{}",
        musl_arch(target),
        version.replace([':', '~', '+'], "_"),
        &identity[..16]
    );
    let dir = cache_dir.join("toolchains");
    let (path, reused) = cached_build(&dir, &name, |tmp| {
        let inc = tmp.join("usr/include");
        for (rel, host) in &files {
            let to = inc.join(rel);
            if let Some(p) = to.parent() {
                fs::create_dir_all(p).map_err(|e| io_err("cannot create", p, e))?;
            }
            fs::copy(host, &to).map_err(|e| io_err("cannot copy to", &to, e))?;
        }
        Ok(())
    })?;
    Ok(Cached {
        path,
        identity,
        reused,
    })
}

/// What building a musl sysroot needs.
pub struct MuslRequest<'a> {
    pub target: &'a Target,
    /// The external gcc (for the target's architecture, any C library).
    pub cc: &'a Toolchain,
    /// Architecture flags for the C library (`-march`, `-mfpu`, ...).
    pub arch_flags: &'a [String],
    /// The musl release's source (see [`musl_source`]).
    pub source: &'a crate::fetch::Source,
    pub fetcher: &'a Fetcher,
    pub cache_dir: &'a Path,
    pub jobs: usize,
}

/// The musl sysroot for the request: kernel headers plus musl's headers,
/// crt files, `libc.a`, `libc.so` and the loader link
/// `lib/ld-musl-<arch>.so.1 -> ../usr/lib/libc.so`. Built once per identity.
pub fn musl_sysroot(req: &MuslRequest<'_>) -> Result<Cached, ToolchainError> {
    let headers = kernel_headers(req.target, req.cache_dir)?;
    let mut h = Sha256::new();
    for part in [
        FORMAT,
        "musl",
        &req.source.sha256,
        &headers.identity,
        &req.cc.cc.display().to_string(),
        &req.cc.probe.version,
        &req.cc.probe.machine,
        &req.arch_flags.join(" "),
        musl_arch(req.target),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let identity = hex(h.finalize());
    let name = format!("musl-{}-{}", musl_arch(req.target), &identity[..16]);
    let dir = req.cache_dir.join("toolchains");
    let (path, reused) = cached_build(&dir, &name, |tmp| build_musl(req, &headers.path, tmp))?;
    Ok(Cached {
        path: path.join("sysroot"),
        identity,
        reused,
    })
}

fn build_musl(req: &MuslRequest<'_>, headers: &Path, out: &Path) -> Result<(), ToolchainError> {
    let archive = req
        .fetcher
        .fetch(req.source)
        .map_err(|e| ToolchainError::Probe(format!("musl source: {e}")))?;
    let work = out.join(".build");
    let src = work.join("src");
    crate::fetch::extract(&archive, &src, 1)
        .map_err(|e| ToolchainError::Probe(format!("musl source: {e}")))?;
    let log_path = out.join("build.log");
    let mut log = fs::File::create(&log_path).map_err(|e| io_err("cannot create", &log_path, e))?;
    let cflags = {
        let mut f = req.arch_flags.to_vec();
        f.push(format!("-ffile-prefix-map={}=musl", src.display()));
        f.join(" ")
    };
    let tool = |role: &str| {
        req.cc
            .tools
            .get(role)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| role.to_string())
    };
    let sysroot = out.join("sysroot");
    let steps: Vec<(&str, Vec<String>)> = vec![
        (
            "configure",
            vec![
                "./configure".into(),
                "--prefix=/usr".into(),
                "--syslibdir=/lib".into(),
                format!("--target={}", req.target.gnu_tuple()),
                "--disable-wrapper".into(),
                format!("CC={}", req.cc.cc.display()),
                format!("CFLAGS={cflags}"),
                format!("AR={}", tool("ar")),
                format!("RANLIB={}", tool("ranlib")),
            ],
        ),
        (
            "make",
            vec!["make".into(), format!("-j{}", req.jobs.max(1))],
        ),
        (
            "make install",
            vec![
                "make".into(),
                "install".into(),
                format!("DESTDIR={}", sysroot.display()),
            ],
        ),
    ];
    for (what, argv) in steps {
        let _ = writeln!(log, "+ {}", argv.join(" "));
        let logf = log
            .try_clone()
            .map_err(|e| io_err("cannot write", &log_path, e))?;
        let logf2 = log
            .try_clone()
            .map_err(|e| io_err("cannot write", &log_path, e))?;
        let st = Command::new(&argv[0])
            .args(&argv[1..])
            .current_dir(&src)
            .env("LANG", "C")
            .stdin(Stdio::null())
            .stdout(logf)
            .stderr(logf2)
            .status()
            .map_err(|e| ToolchainError::Probe(format!("cannot run {}: {e}", argv[0])))?;
        if !st.success() {
            let text = fs::read_to_string(&log_path).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(15).collect();
            let kept = out
                .parent()
                .map(|p| p.join("musl-failed.log"))
                .unwrap_or_else(|| PathBuf::from("musl-failed.log"));
            let _ = fs::copy(&log_path, &kept);
            return Err(ToolchainError::Probe(format!(
                "building musl for {}: {what} failed ({st}); last lines of the log:\n{}\n  full log: {}\n  hint: check that {} builds for this target",
                req.target.gnu_tuple(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
                kept.display(),
                req.cc.cc.display()
            )));
        }
    }
    // The loader link musl installs is absolute (/usr/lib/libc.so); inside a
    // sysroot it has to be relative.
    let loader = sysroot.join(musl_loader(req.target).trim_start_matches('/'));
    let _ = fs::remove_file(&loader);
    std::os::unix::fs::symlink("../usr/lib/libc.so", &loader)
        .map_err(|e| io_err("cannot create", &loader, e))?;
    // Kernel headers beside musl's own (musl's win where both have a file).
    copy_tree_no_clobber(&headers.join("usr/include"), &sysroot.join("usr/include"))?;
    fs::remove_dir_all(&work).map_err(|e| io_err("cannot remove", &work, e))?;
    Ok(())
}

fn copy_tree_no_clobber(from: &Path, to: &Path) -> Result<(), ToolchainError> {
    for e in walkdir::WalkDir::new(from).sort_by_file_name() {
        let e = e.map_err(|e| ToolchainError::Probe(format!("{}: {e}", from.display())))?;
        let rel = e.path().strip_prefix(from).unwrap_or(e.path());
        let dest = to.join(rel);
        if e.file_type().is_dir() {
            fs::create_dir_all(&dest).map_err(|er| io_err("cannot create", &dest, er))?;
        } else if !dest.exists() {
            fs::copy(e.path(), &dest).map_err(|er| io_err("cannot copy to", &dest, er))?;
        }
    }
    Ok(())
}

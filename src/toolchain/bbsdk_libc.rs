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

/// The Linux source releases the kernel headers can be built from, relative
/// to the tree's top (`BBSDK_KERNEL_HEADERS_FROM_SOURCE`).
pub const LINUX_SOURCES: &str = "toolchains/bbsdk-libc/linux.toml";

/// A release list: `[[<table>]]` entries, one table per component.
type ReleaseList = std::collections::BTreeMap<String, Vec<Release>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Release {
    version: String,
    file: String,
    #[serde(default)]
    urls: Vec<String>,
    sha256: String,
    #[serde(default)]
    debian: Option<crate::package::DebianSource>,
    /// A tarball inside the file that holds the real source tree (Debian's
    /// gcc orig tarball wraps upstream's).
    #[serde(default)]
    inner: Option<String>,
}

/// A source from a release list, and the tarball inside it that holds the
/// tree, if any.
#[derive(Debug, Clone)]
pub struct ReleaseSource {
    pub source: crate::fetch::Source,
    pub inner: Option<String>,
}

/// The source of `version` in the release list `list` (relative to `top`),
/// in its `[[table]]` entries; `symbol` names the option for the hint.
pub(super) fn release(
    top: &Path,
    list: &str,
    table: &str,
    version: &str,
    symbol: &str,
) -> Result<ReleaseSource, ToolchainError> {
    let path = top.join(list);
    let text = fs::read_to_string(&path)
        .map_err(|e| ToolchainError::Probe(format!("{}: {e}", path.display())))?;
    let file: ReleaseList = toml::from_str(&text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
            .unwrap_or(1);
        ToolchainError::Probe(format!(
            "{}:{line}: {}\n  hint: see the comment at the top of the file for the format",
            path.display(),
            e.message()
        ))
    })?;
    let releases = file.get(table).map(Vec::as_slice).unwrap_or_default();
    let known: Vec<&str> = releases.iter().map(|m| m.version.as_str()).collect();
    let Some(m) = releases.iter().find(|m| m.version == version) else {
        return Err(ToolchainError::Probe(format!(
            "{table} {version:?} ({symbol}) is not listed in {}; known: {}\n  hint: set {symbol} to a known version, or add an entry with the release's sha256",
            path.display(),
            known.join(", ")
        )));
    };
    Ok(ReleaseSource {
        source: crate::fetch::Source {
            file_name: m.file.clone(),
            urls: m.urls.clone(),
            sha256: m.sha256.clone(),
            debian: m.debian.as_ref().map(|d| crate::fetch::DebianSource {
                package: d.package.clone(),
                version: d.version.clone(),
                file: d.file.clone(),
            }),
        },
        inner: m.inner.clone(),
    })
}

/// [`release`], for a list whose sources are tarballs of the tree itself.
fn release_source(
    top: &Path,
    list: &str,
    table: &str,
    version: &str,
    symbol: &str,
) -> Result<crate::fetch::Source, ToolchainError> {
    release(top, list, table, version, symbol).map(|r| r.source)
}

/// The source of a musl release, from `toolchains/bbsdk-libc/musl.toml`.
pub fn musl_source(top: &Path, version: &str) -> Result<crate::fetch::Source, ToolchainError> {
    release_source(top, MUSL_SOURCES, "musl", version, "BBSDK_MUSL_VERSION")
}

/// The source of a Linux release, from `toolchains/bbsdk-libc/linux.toml`.
pub fn linux_source(top: &Path, version: &str) -> Result<crate::fetch::Source, ToolchainError> {
    release_source(
        top,
        LINUX_SOURCES,
        "linux",
        version,
        "BBSDK_KERNEL_HEADERS_VERSION",
    )
}

/// The kernel's name for the architecture (`ARCH=` of its Makefile).
pub fn kernel_arch(target: &Target) -> &'static str {
    match target.arch {
        Arch::X86_64 => "x86",
        Arch::Aarch64 => "arm64",
        Arch::Armv7 => "arm",
    }
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

pub(super) fn io_err(what: &str, path: &Path, e: std::io::Error) -> ToolchainError {
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
pub(super) fn cached_build(
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

pub(super) fn hex(d: impl AsRef<[u8]>) -> String {
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Where the kernel headers come from.
pub enum HeadersFrom<'a> {
    /// The files of Debian's `linux-libc-dev[-<arch>-cross]` package.
    Debian,
    /// `make headers_install` in a Linux source tree fetched through the
    /// fetcher (only the files it needs are extracted).
    Source {
        source: &'a crate::fetch::Source,
        fetcher: &'a Fetcher,
        jobs: usize,
    },
}

/// The Linux kernel headers for `target` as a sysroot tree
/// (`<cache>/toolchains/linux-headers-<arch>-...-<hash>/usr/include`).
pub fn kernel_headers(
    target: &Target,
    cache_dir: &Path,
    from: &HeadersFrom<'_>,
) -> Result<Cached, ToolchainError> {
    match from {
        HeadersFrom::Debian => debian_headers(target, cache_dir),
        HeadersFrom::Source {
            source,
            fetcher,
            jobs,
        } => source_headers(target, cache_dir, source, fetcher, *jobs),
    }
}

/// Top-level files and directories of a Linux tree that `headers_install`
/// for `karch` reads.
fn needed_by_headers_install(rel: &Path, karch: &str) -> bool {
    let s = rel.to_string_lossy();
    matches!(s.as_ref(), "Makefile" | "Kbuild" | "Kconfig")
        || [
            "scripts/",
            "include/",
            "tools/include/",
            "tools/arch/",
            "tools/scripts/",
        ]
        .iter()
        .any(|p| s.starts_with(p))
        || s.starts_with(&format!("arch/{karch}/"))
}

fn source_headers(
    target: &Target,
    cache_dir: &Path,
    source: &crate::fetch::Source,
    fetcher: &Fetcher,
    jobs: usize,
) -> Result<Cached, ToolchainError> {
    let karch = kernel_arch(target);
    let mut h = Sha256::new();
    for part in [FORMAT, "linux-headers_install", &source.sha256, karch] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let identity = hex(h.finalize());
    let name = format!(
        "linux-headers-{}-src-{}",
        musl_arch(target),
        &identity[..16]
    );
    let dir = cache_dir.join("toolchains");
    let (path, reused) = cached_build(&dir, &name, |out| {
        let archive = fetcher
            .fetch(source)
            .map_err(|e| ToolchainError::Probe(format!("Linux source: {e}")))?;
        let src = out.join(".src");
        extract_some(&archive, &src, |rel| needed_by_headers_install(rel, karch))?;
        let log = out.join("build.log");
        run_logged(
            &[
                "make".into(),
                format!("ARCH={karch}"),
                "HOSTCC=gcc".into(),
                format!("-j{}", jobs.max(1)),
                "headers_install".into(),
                format!("INSTALL_HDR_PATH={}", out.join("usr").display()),
            ],
            &src,
            &log,
            "make headers_install",
            &format!("Linux {} headers", karch),
        )?;
        fs::remove_dir_all(&src).map_err(|e| io_err("cannot remove", &src, e))?;
        Ok(())
    })?;
    Ok(Cached {
        path,
        identity,
        reused,
    })
}

/// Extracts the entries of a `.tar.xz` (or `.tar.gz`) whose path, without
/// the first component, `keep` accepts.
fn extract_some(
    archive: &Path,
    dest: &Path,
    keep: impl Fn(&Path) -> bool,
) -> Result<(), ToolchainError> {
    let f = fs::File::open(archive).map_err(|e| io_err("cannot open", archive, e))?;
    let reader: Box<dyn std::io::Read> = if archive.to_string_lossy().ends_with(".gz") {
        Box::new(flate2::read::GzDecoder::new(std::io::BufReader::new(f)))
    } else {
        Box::new(xz2::read::XzDecoder::new(std::io::BufReader::new(f)))
    };
    let bad = |e: std::io::Error| ToolchainError::Probe(format!("{}: {e}", archive.display()));
    let mut tar = tar::Archive::new(reader);
    for entry in tar.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let path = entry.path().map_err(bad)?.into_owned();
        let rel: PathBuf = path.components().skip(1).collect();
        if rel.as_os_str().is_empty()
            || rel
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
            || !keep(&rel)
        {
            continue;
        }
        let to = dest.join(&rel);
        if let Some(p) = to.parent() {
            fs::create_dir_all(p).map_err(|e| io_err("cannot create", p, e))?;
        }
        entry.unpack(&to).map_err(bad)?;
    }
    Ok(())
}

/// Runs `argv` in `dir` with its output appended to `log`; a failure is an
/// error with the log's last lines.
pub(super) fn run_logged(
    argv: &[String],
    dir: &Path,
    log_path: &Path,
    what: &str,
    building: &str,
) -> Result<(), ToolchainError> {
    let mut log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .map_err(|e| io_err("cannot create", log_path, e))?;
    let _ = writeln!(log, "+ {}", argv.join(" "));
    let out = log
        .try_clone()
        .map_err(|e| io_err("cannot write", log_path, e))?;
    let err = log
        .try_clone()
        .map_err(|e| io_err("cannot write", log_path, e))?;
    let st = Command::new(&argv[0])
        .args(&argv[1..])
        .current_dir(dir)
        .env("LANG", "C")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .map_err(|e| ToolchainError::Probe(format!("cannot run {}: {e}", argv[0])))?;
    if st.success() {
        return Ok(());
    }
    let text = fs::read_to_string(log_path).unwrap_or_default();
    let tail: Vec<&str> = text.lines().rev().take(15).collect();
    let kept = log_path
        .parent()
        .and_then(Path::parent)
        .map(|p| p.join(format!("{}-failed.log", building.replace(' ', "-"))))
        .unwrap_or_else(|| PathBuf::from("failed.log"));
    let _ = fs::copy(log_path, &kept);
    Err(ToolchainError::Probe(format!(
        "building {building}: {what} failed ({st}); last lines of the log:\n{}\n  full log: {}",
        tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
        kept.display()
    )))
}

fn debian_headers(target: &Target, cache_dir: &Path) -> Result<Cached, ToolchainError> {
    let (pkg, _) = headers_package(target);
    let dir = cache_dir.join("toolchains");
    // Hashing every header takes a moment: the identity is remembered
    // against dpkg's file list of the package, which an upgrade rewrites.
    let key = crate::memo::program_key(
        &Path::new("/var/lib/dpkg/info").join(format!("{pkg}.list")),
        &[],
    );
    let memo = dir.join(format!("linux-headers-{}.identity.json", musl_arch(target)));
    let found: Result<(String, String), ToolchainError> = crate::memo::remember(key, &memo, || {
        let (files, version) = headers_files(target)?;
        Ok((headers_identity(target, &files, &version)?, version))
    });
    let (identity, version) = found?;
    let name = headers_dir_name(target, &version, &identity);
    if dir.join(&name).is_dir() {
        return Ok(Cached {
            path: dir.join(name),
            identity,
            reused: true,
        });
    }
    let (files, version) = headers_files(target)?;
    let identity = headers_identity(target, &files, &version)?;
    let name = headers_dir_name(target, &version, &identity);
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

fn headers_identity(
    target: &Target,
    files: &[(PathBuf, PathBuf)],
    version: &str,
) -> Result<String, ToolchainError> {
    let mut h = Sha256::new();
    h.update(FORMAT);
    h.update(headers_package(target).0);
    h.update(version);
    for (rel, host) in files {
        let bytes = fs::read(host).map_err(|e| io_err("cannot read", host, e))?;
        h.update(rel.to_string_lossy().as_bytes());
        h.update([0]);
        h.update(Sha256::digest(&bytes));
    }
    Ok(hex(h.finalize()))
}

fn headers_dir_name(target: &Target, version: &str, identity: &str) -> String {
    format!(
        "linux-headers-{}-{}-{}",
        musl_arch(target),
        version.replace([':', '~', '+'], "_"),
        &identity[..16]
    )
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
    /// The kernel headers (see [`kernel_headers`]).
    pub headers: &'a Cached,
    pub fetcher: &'a Fetcher,
    pub cache_dir: &'a Path,
    pub jobs: usize,
}

/// The musl sysroot for the request: kernel headers plus musl's headers,
/// crt files, `libc.a`, `libc.so` and the loader link
/// `lib/ld-musl-<arch>.so.1 -> ../usr/lib/libc.so`. Built once per identity.
pub fn musl_sysroot(req: &MuslRequest<'_>) -> Result<Cached, ToolchainError> {
    let headers = req.headers;
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

pub(super) fn copy_tree_no_clobber(from: &Path, to: &Path) -> Result<(), ToolchainError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn musl_versions_come_from_the_list_with_their_checksum() {
        let top = Path::new(env!("CARGO_MANIFEST_DIR"));
        let s = musl_source(top, "1.2.3").unwrap();
        assert_eq!(s.file_name, "musl-1.2.3.tar.gz");
        assert!(s.sha256.starts_with("7d5b0b60"));
        assert_eq!(s.debian.unwrap().package, "musl");
        let e = musl_source(top, "9.9.9").unwrap_err().to_string();
        assert!(
            e.contains("musl \"9.9.9\"") && e.contains("known: 1.2.3") && e.contains("hint:"),
            "{e}"
        );
    }

    #[test]
    fn a_bad_musl_list_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join(MUSL_SOURCES);
        fs::create_dir_all(f.parent().unwrap()).unwrap();
        fs::write(
            &f,
            "[[musl]]\nversion = \"1.2.3\"\nfile = \"m.tar.gz\"\nsha256 = \"x\"\nmirror = 1\n",
        )
        .unwrap();
        let e = musl_source(dir.path(), "1.2.3").unwrap_err().to_string();
        assert!(
            e.contains(&format!("{}:5:", f.display())) && e.contains("mirror"),
            "{e}"
        );
    }

    #[test]
    fn loader_names() {
        let t = |arch, hard_float| Target {
            arch,
            libc: crate::target::Libc::Musl,
            hard_float,
        };
        assert_eq!(
            musl_loader(&t(Arch::X86_64, true)),
            "/lib/ld-musl-x86_64.so.1"
        );
        assert_eq!(
            musl_loader(&t(Arch::Aarch64, true)),
            "/lib/ld-musl-aarch64.so.1"
        );
        assert_eq!(
            musl_loader(&t(Arch::Armv7, true)),
            "/lib/ld-musl-armhf.so.1"
        );
        assert_eq!(musl_loader(&t(Arch::Armv7, false)), "/lib/ld-musl-arm.so.1");
    }
}

//! The internal toolchain: GNU binutils, gcc and musl built from source
//! into one relocatable cross toolchain tree, in the classic bootstrap
//! order, cached by identity like the bbsdk-built C library.
//!
//! The order needs only one gcc build (a second, "final" gcc pass is not
//! necessary when the C library's headers are in place before gcc is
//! configured):
//!
//! 1. binutils, configured for the target with the tree's sysroot;
//! 2. the kernel headers and musl's headers (`make install-headers`, which
//!    needs no compiler and no configure) into the sysroot;
//! 3. gcc: `all-gcc` and `all-target-libgcc`, installed, which gives a
//!    compiler that can build a C library;
//! 4. musl, built with that compiler, into the sysroot;
//! 5. the rest of gcc (the C++ library when asked for), installed.
//!
//! gcc is configured with `--disable-shared`: `libgcc.a` (and a static
//! `libstdc++`) are linked into programs, so an image needs no `libgcc_s`.
//! The sysroot is under the tree's prefix, which makes gcc and ld find it
//! relative to their own location: the tree works after it is renamed from
//! its build directory into the cache, and after being copied elsewhere.
//! The build machine's GMP, MPFR and MPC (Debian's `-dev` packages) are
//! used instead of building them too; see docs/toolchains.md.

use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::bbsdk_libc::{
    self, cached_build, copy_tree_no_clobber, hex, io_err, run_logged, Cached, ReleaseSource,
};
use super::ToolchainError;
use crate::fetch::Fetcher;
use crate::target::{Libc, Target};

/// The binutils and gcc releases the internal toolchain can build,
/// relative to the tree's top.
pub const SOURCES: &str = "toolchains/internal/sources.toml";

/// Bumped when the layout or the build procedure of a tree changes.
const FORMAT: &str = "bbsdk-internal-toolchain-3";

/// The sources of one internal toolchain.
#[derive(Debug, Clone)]
pub struct Sources {
    pub binutils: ReleaseSource,
    pub gcc: ReleaseSource,
    pub musl: crate::fetch::Source,
}

impl Sources {
    /// The sources the configuration names (`BBSDK_BINUTILS_VERSION`,
    /// `BBSDK_GCC_VERSION`, `BBSDK_MUSL_VERSION`).
    pub fn from_values(
        top: &Path,
        values: &std::collections::BTreeMap<String, String>,
    ) -> Result<Sources, ToolchainError> {
        let v = |k: &str| values.get(k).map(String::as_str).unwrap_or("");
        Ok(Sources {
            binutils: bbsdk_libc::release(
                top,
                SOURCES,
                "binutils",
                v("BBSDK_BINUTILS_VERSION"),
                "BBSDK_BINUTILS_VERSION",
            )?,
            gcc: bbsdk_libc::release(
                top,
                SOURCES,
                "gcc",
                v("BBSDK_GCC_VERSION"),
                "BBSDK_GCC_VERSION",
            )?,
            musl: bbsdk_libc::musl_source(top, v("BBSDK_MUSL_VERSION"))?,
        })
    }

    /// Every file to download, for `bbsdk source`.
    pub fn files(&self) -> Vec<crate::fetch::Source> {
        vec![
            self.binutils.source.clone(),
            self.gcc.source.clone(),
            self.musl.clone(),
        ]
    }
}

/// What building an internal toolchain needs.
pub struct Request<'a> {
    pub target: &'a Target,
    pub sources: &'a Sources,
    /// The kernel headers (see [`bbsdk_libc::kernel_headers`]).
    pub headers: &'a Cached,
    /// The configuration's architecture flags (`-march`, `-mfpu`, ...):
    /// they become gcc's built-in defaults.
    pub arch_flags: &'a [String],
    /// Build the C++ compiler and library too.
    pub cxx: bool,
    pub fetcher: &'a Fetcher,
    pub cache_dir: &'a Path,
    pub jobs: usize,
}

/// The `--with-*` options of gcc's configure that make the architecture
/// flags its defaults, so that libgcc and the C library are built for the
/// configured CPU and float ABI without flags on every call.
pub fn gcc_defaults(arch_flags: &[String]) -> Vec<String> {
    arch_flags
        .iter()
        .filter_map(|f| {
            let (opt, val) = if let Some(v) = f.strip_prefix("-march=") {
                ("arch", v)
            } else if let Some(v) = f.strip_prefix("-mcpu=") {
                ("cpu", v)
            } else if let Some(v) = f.strip_prefix("-mfpu=") {
                ("fpu", v)
            } else if let Some(v) = f.strip_prefix("-mfloat-abi=") {
                ("float", v)
            } else if f == "-mthumb" {
                ("mode", "thumb")
            } else if f == "-marm" {
                ("mode", "arm")
            } else {
                return None;
            };
            Some(format!("--with-{opt}={val}"))
        })
        .collect()
}

/// The languages gcc is built for.
fn languages(cxx: bool) -> &'static str {
    if cxx {
        "c,c++"
    } else {
        "c"
    }
}

/// The cached tree of the request: `bin/<tuple>-gcc` and the other tools,
/// the sysroot in `<tuple>/sysroot`. Built once per identity.
pub fn toolchain(req: &Request<'_>) -> Result<Cached, ToolchainError> {
    if req.target.libc != Libc::Musl {
        return Err(ToolchainError::Probe(
            "the internal toolchain builds musl only; glibc is not built from source by this version of bbsdk\n  hint: choose \"External prebuilt cross toolchain\" for glibc (Debian's cross compilers)".into(),
        ));
    }
    let tuple = req.target.gnu_tuple();
    let mut h = Sha256::new();
    for part in [
        FORMAT,
        &req.sources.binutils.source.sha256,
        &req.sources.gcc.source.sha256,
        &req.sources.musl.sha256,
        &req.headers.identity,
        &tuple,
        &gcc_defaults(req.arch_flags).join(" "),
        languages(req.cxx),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let identity = hex(h.finalize());
    let name = format!(
        "gcc-{}-{}-{}",
        bbsdk_libc::musl_arch(req.target),
        gcc_version(&req.sources.gcc),
        &identity[..16]
    );
    let dir = req.cache_dir.join("toolchains");
    let (path, reused) = cached_build(&dir, &name, |out| build(req, out))?;
    Ok(Cached {
        path,
        identity,
        reused,
    })
}

/// The gcc version a source is for, from its file name (for the tree's name).
fn gcc_version(src: &ReleaseSource) -> String {
    let name = src.inner.as_deref().unwrap_or(&src.source.file_name);
    name.trim_start_matches("gcc-")
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .next()
        .unwrap_or("")
        .trim_end_matches('.')
        .to_string()
}

/// Fetches and extracts a source into `dest`, through its `inner` tarball
/// when it has one.
fn unpack(
    fetcher: &Fetcher,
    source: &crate::fetch::Source,
    inner: Option<&str>,
    work: &Path,
    dest: &Path,
) -> Result<(), ToolchainError> {
    let what = source.file_name.as_str();
    let bad = |e: crate::fetch::FetchError| ToolchainError::Probe(format!("{what}: {e}"));
    let archive = fetcher.fetch(source).map_err(bad)?;
    match inner {
        None => crate::fetch::extract(&archive, dest, 1).map_err(bad),
        Some(inner) => {
            let outer = work.join(format!("{what}.outer"));
            crate::fetch::extract(&archive, &outer, 1).map_err(bad)?;
            let file = outer.join(inner);
            if !file.is_file() {
                return Err(ToolchainError::Probe(format!(
                    "{what} has no {inner} at its top\n  hint: fix the \"inner\" entry in {SOURCES}"
                )));
            }
            crate::fetch::extract(&file, dest, 1).map_err(bad)?;
            fs::remove_dir_all(&outer).map_err(|e| io_err("cannot remove", &outer, e))
        }
    }
}

/// The steps of the build, run in `out` (the tree being built).
fn build(req: &Request<'_>, out: &Path) -> Result<(), ToolchainError> {
    let tuple = req.target.gnu_tuple();
    let work = out.join(".build");
    let log = out.join("build.log");
    let sysroot = sysroot(out, req.target);
    let jobs = format!("-j{}", req.jobs.max(1));
    let say = |step: &str| {
        eprintln!(
            ">>> internal toolchain {tuple}: {step} (log: {})",
            log.display()
        )
    };
    let src = |n: &str| work.join(format!("{n}-src"));
    say("fetching and unpacking binutils, gcc and musl");
    for (name, release) in [
        ("binutils", &req.sources.binutils),
        ("gcc", &req.sources.gcc),
    ] {
        let inner = release.inner.as_deref();
        unpack(req.fetcher, &release.source, inner, &work, &src(name))?;
    }
    unpack(req.fetcher, &req.sources.musl, None, &work, &src("musl"))?;

    // Every step sees the tree's tools first, no info pages are made, and
    // host programs are built without debug information.
    let path = format!(
        "{}:{}",
        out.join("bin").display(),
        std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into())
    );
    let prefix_map = format!("-ffile-prefix-map={}=.", work.display());
    let run = |dir: &Path, what: &str, args: &[String]| -> Result<(), ToolchainError> {
        fs::create_dir_all(dir).map_err(|e| io_err("cannot create", dir, e))?;
        let mut argv: Vec<String> = vec![
            "env".into(),
            format!("PATH={path}"),
            "MAKEINFO=true".into(),
            // gcc's own configure would find texinfo through the top
            // level's `missing` script and build the manuals, whose
            // sources Debian's gcc tarball lacks.
            "gcc_cv_prog_makeinfo_modern=no".into(),
            "CFLAGS=-O2".into(),
            "CXXFLAGS=-O2".into(),
        ];
        argv.extend_from_slice(args);
        run_logged(&argv, dir, &log, what, "internal-toolchain")
    };
    let s = |x: &str| x.to_string();

    say("building binutils");
    let b = work.join("build-binutils");
    let mut conf = vec![
        src("binutils").join("configure").display().to_string(),
        format!("--prefix={}", out.display()),
        format!("--target={tuple}"),
        format!("--with-sysroot={}", sysroot.display()),
        s("--disable-nls"),
        s("--disable-werror"),
        s("--disable-multilib"),
        s("--disable-gprofng"),
        s("--disable-gdb"),
        s("--disable-gdbserver"),
        s("--disable-sim"),
        s("--enable-deterministic-archives"),
    ];
    run(&b, "binutils configure", &conf)?;
    run(&b, "binutils make", &[s("make"), jobs.clone()])?;
    run(&b, "binutils make install", &[s("make"), s("install")])?;

    say("installing the kernel headers and musl's headers");
    copy_tree_no_clobber(
        &req.headers.path.join("usr/include"),
        &sysroot.join("usr/include"),
    )?;
    // Installing musl's headers compiles nothing, so it needs no
    // configure (whose compiler checks, run with the build machine's gcc,
    // fail for 32-bit ARM): musl's Makefile with ARCH and prefix given.
    let mh = work.join("musl-headers");
    run(
        &mh,
        "musl make install-headers",
        &[
            s("make"),
            s("-f"),
            src("musl").join("Makefile").display().to_string(),
            format!("srcdir={}", src("musl").display()),
            format!("ARCH={}", req.target.gnu_cpu()),
            s("prefix=/usr"),
            format!("DESTDIR={}", sysroot.display()),
            s("install-headers"),
        ],
    )?;

    say(&format!(
        "building gcc (languages {}); this takes a while",
        languages(req.cxx)
    ));
    let g = work.join("build-gcc");
    conf = vec![
        src("gcc").join("configure").display().to_string(),
        format!("--prefix={}", out.display()),
        format!("--target={tuple}"),
        format!("--with-sysroot={}", sysroot.display()),
        format!("--enable-languages={}", languages(req.cxx)),
        s("--disable-shared"),
        s("--disable-multilib"),
        s("--disable-nls"),
        s("--disable-werror"),
        s("--disable-bootstrap"),
        s("--disable-libsanitizer"),
        s("--disable-libssp"),
        s("--disable-libgomp"),
        s("--disable-libquadmath"),
        s("--disable-libitm"),
        s("--disable-libvtv"),
        s("--without-isl"),
        format!("CFLAGS_FOR_TARGET=-O2 {prefix_map}"),
        format!("CXXFLAGS_FOR_TARGET=-O2 {prefix_map}"),
    ];
    conf.extend(gcc_defaults(req.arch_flags));
    run(&g, "gcc configure", &conf)?;
    run(
        &g,
        "gcc make all-gcc",
        &[s("make"), jobs.clone(), s("all-gcc")],
    )?;
    // `make install` rebuilds gccint.info's inputs, among them tm.texi,
    // whose check (`genhooks -d`) fails on Debian's tm.texi.in; no manual
    // is built, so the check is marked done.
    let stamp = g.join("gcc").join("s-tm-texi");
    fs::write(&stamp, "timestamp\n").map_err(|e| io_err("cannot write", &stamp, e))?;
    run(
        &g,
        "gcc make all-target-libgcc",
        &[s("make"), jobs.clone(), s("all-target-libgcc")],
    )?;
    run(
        &g,
        "gcc make install-gcc install-target-libgcc",
        &[s("make"), s("install-gcc"), s("install-target-libgcc")],
    )?;

    say("building musl");
    let m = work.join("build-musl");
    let cc = out.join("bin").join(format!("{tuple}-gcc"));
    run(
        &m,
        "musl configure",
        &[
            src("musl").join("configure").display().to_string(),
            s("--prefix=/usr"),
            s("--syslibdir=/lib"),
            format!("--target={tuple}"),
            s("--disable-wrapper"),
            format!("CC={}", cc.display()),
            // No -O: musl's configure then optimises for size, with
            // speed for its hot paths, as for the bbsdk-built C library.
            format!("CFLAGS={prefix_map}"),
            format!(
                "AR={}",
                out.join("bin").join(format!("{tuple}-ar")).display()
            ),
            format!(
                "RANLIB={}",
                out.join("bin").join(format!("{tuple}-ranlib")).display()
            ),
        ],
    )?;
    run(&m, "musl make", &[s("make"), jobs.clone()])?;
    run(
        &m,
        "musl make install",
        &[
            s("make"),
            s("install"),
            format!("DESTDIR={}", sysroot.display()),
        ],
    )?;
    // musl's loader link is absolute (/usr/lib/libc.so); in a sysroot it
    // has to be relative.
    let loader = sysroot.join(bbsdk_libc::musl_loader(req.target).trim_start_matches('/'));
    let _ = fs::remove_file(&loader);
    std::os::unix::fs::symlink("../usr/lib/libc.so", &loader)
        .map_err(|e| io_err("cannot create", &loader, e))?;

    say("building the rest of gcc");
    run(&g, "gcc make", &[s("make"), jobs])?;
    run(&g, "gcc make install", &[s("make"), s("install")])?;

    fs::remove_dir_all(&work).map_err(|e| io_err("cannot remove", &work, e))?;
    say("done");
    Ok(())
}

/// The sysroot inside a tree built by [`toolchain`].
pub fn sysroot(tree: &Path, target: &Target) -> PathBuf {
    tree.join(target.gnu_tuple()).join("sysroot")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arch_flags_become_gcc_defaults() {
        let f: Vec<String> = [
            "-march=armv7-a",
            "-mfpu=vfpv3-d16",
            "-mfloat-abi=hard",
            "-mthumb",
            "-Os",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            gcc_defaults(&f),
            [
                "--with-arch=armv7-a",
                "--with-fpu=vfpv3-d16",
                "--with-float=hard",
                "--with-mode=thumb"
            ]
        );
        assert_eq!(
            gcc_defaults(&["-mcpu=cortex-a53".into(), "-marm".into()]),
            ["--with-cpu=cortex-a53", "--with-mode=arm"]
        );
        assert!(gcc_defaults(&[]).is_empty());
    }

    #[test]
    fn sources_come_from_the_lists_with_their_checksums() {
        let top = Path::new(env!("CARGO_MANIFEST_DIR"));
        let values: std::collections::BTreeMap<String, String> = [
            ("BBSDK_BINUTILS_VERSION", "2.40"),
            ("BBSDK_GCC_VERSION", "12.2.0"),
            ("BBSDK_MUSL_VERSION", "1.2.3"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .into();
        let s = Sources::from_values(top, &values).unwrap();
        assert_eq!(s.binutils.source.file_name, "binutils_2.40.orig.tar.xz");
        assert_eq!(s.gcc.inner.as_deref(), Some("gcc-12.2.0-dfsg.tar.xz"));
        assert_eq!(gcc_version(&s.gcc), "12.2.0");
        assert_eq!(s.files().len(), 3);
        assert!(s.files().iter().all(|f| f.sha256.len() == 64));
        let mut bad = values.clone();
        bad.insert("BBSDK_GCC_VERSION".into(), "99.1.0".into());
        let e = Sources::from_values(top, &bad).unwrap_err().to_string();
        assert!(
            e.contains("gcc \"99.1.0\"") && e.contains("known: 12.2.0") && e.contains("hint:"),
            "{e}"
        );
    }
}

//! From a configuration to a ready compiler: picks the toolchain type,
//! finds the external gcc, builds (or takes from the cache) what the type
//! needs, writes the compiler wrapper into `<output>/toolchain/bin`, and
//! checks the wrapper really builds for the target.
//!
//! `<output>/toolchain/` and not `<output>/host/`: the build executor
//! re-assembles `host/` from the host packages' outputs after every build.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::bbsdk_libc::{self, Cached, HeadersFrom, MuslRequest};
use super::wrapper::{self, WrapperSpec};
use super::{download, internal};
use super::{external, probe, target_cflags, ExternalSource, Toolchain, ToolchainError};
use crate::fetch::Fetcher;
use crate::target::{Arch, Libc, Target};

/// The toolchain types of the Toolchain menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    External,
    BbsdkLibc,
    Internal,
    Zig,
}

impl Kind {
    /// The type the configuration selects (`BBSDK_TOOLCHAIN_*`).
    pub fn from_values(values: &BTreeMap<String, String>) -> Kind {
        let on = |k: &str| values.get(k).is_some_and(|v| v == "y");
        if on("BBSDK_TOOLCHAIN_BBSDK_LIBC") {
            Kind::BbsdkLibc
        } else if on("BBSDK_TOOLCHAIN_INTERNAL") {
            Kind::Internal
        } else if on("BBSDK_TOOLCHAIN_ZIG") {
            Kind::Zig
        } else {
            Kind::External
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Kind::External => "BBSDK_TOOLCHAIN_EXTERNAL",
            Kind::BbsdkLibc => "BBSDK_TOOLCHAIN_BBSDK_LIBC",
            Kind::Internal => "BBSDK_TOOLCHAIN_INTERNAL",
            Kind::Zig => "BBSDK_TOOLCHAIN_ZIG",
        }
    }
}

/// What [`prepare`] needs: plain data from the project.
pub struct Setup<'a> {
    pub target: &'a Target,
    pub values: &'a BTreeMap<String, String>,
    /// bbsdk's tree (for `toolchains/bbsdk-libc/musl.toml`).
    pub top: &'a Path,
    /// The output directory: the wrapper goes to `<output>/toolchain`.
    pub output: &'a Path,
    /// Where built sysroots are cached (`Project::cache_dir()`).
    pub cache_dir: &'a Path,
    pub fetcher: &'a Fetcher,
    pub jobs: usize,
}

/// A toolchain ready for builds.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub kind: Kind,
    /// The compiler as builds see it: `cc` is the wrapper.
    pub toolchain: Toolchain,
    /// The compiler the wrapper runs.
    pub real_cc: PathBuf,
    /// The sysroot the wrapper passes (`<output>/toolchain/sysroot`, a link
    /// into the cache), for the bbsdk-built C library.
    pub sysroot: Option<PathBuf>,
    /// Where the target's runtime libraries and dynamic loader are found,
    /// in order (see `rootfs::runtime_libs`).
    pub runtime_lib_dirs: Vec<PathBuf>,
    /// The cached trees used: kernel headers, C library sysroot.
    pub cached: Vec<Cached>,
    /// The output directory the wrapper was written for.
    pub output: PathBuf,
}

impl Prepared {
    /// What identifies this toolchain in package identities: the real
    /// compiler, the C library sysroot, the wrapper's flags.
    pub fn identity(&self) -> String {
        let mut s = format!("kind={:?}\n{}", self.kind, self.toolchain.identity());
        s.push_str(&format!("\nreal_cc={}", self.real_cc.display()));
        for c in &self.cached {
            s.push_str(&format!("\ntree={}", c.identity));
        }
        if let Ok(w) = std::fs::read_to_string(&self.toolchain.cc) {
            s.push_str("\nwrapper=");
            s.push_str(&w);
        }
        // The same toolchain in another output directory is the same
        // toolchain: the binary cache is shared between output directories.
        s.replace(&self.output.display().to_string(), "$OUTPUT")
    }
}

/// The architecture flags of the configuration: [`target_cflags`] without
/// the optimisation level and the user's extra flags. The wrapper adds
/// them to every call; `CFLAGS` keeps the whole list.
pub fn arch_flags(values: &BTreeMap<String, String>) -> Vec<String> {
    target_cflags(values)
        .into_iter()
        .filter(|f| f.starts_with("-m"))
        .collect()
}

/// `cc flags what` (a `-print-*` question), remembered in `work`.
fn gcc_print(cc: &Path, flags: &[String], what: &str, work: &Path) -> Option<PathBuf> {
    let mut args: Vec<&str> = flags.iter().map(String::as_str).collect();
    args.push(what);
    let s = super::cached_output(cc, &args, work).ok()?;
    if s.is_empty() || !s.starts_with('/') {
        return None;
    }
    Some(PathBuf::from(s))
}

/// The compiler's own `#include <...>` directories for `lang` (`c`, `c++`),
/// in search order, as `cc -E -v` lists them; remembered like its other
/// answers. Empty when the compiler cannot be asked.
fn include_dirs(cc: &Path, flags: &[String], lang: &str, work: &Path) -> Vec<PathBuf> {
    let mut key_args = flags.to_vec();
    key_args.extend(["-E", "-v", "-x", lang, "/dev/null"].map(String::from));
    let key = crate::memo::program_key(cc, &key_args);
    let file = work.join(format!("include-dirs-{}.json", lang.replace('+', "x")));
    crate::memo::remember(key, &file, || {
        let out = Command::new(cc).args(&key_args).output().map_err(|_| ())?;
        Ok::<_, ()>(parse_include_dirs(&String::from_utf8_lossy(&out.stderr)))
    })
    .unwrap_or_default()
}

fn parse_include_dirs(verbose: &str) -> Vec<PathBuf> {
    verbose
        .lines()
        .skip_while(|l| !l.starts_with("#include <...> search starts here:"))
        .skip(1)
        .take_while(|l| !l.starts_with("End of search list."))
        .map(|l| PathBuf::from(l.trim()))
        .collect()
}

/// The build machine's own header directories, which a cross compiler from
/// a distribution may search after its target's (Debian's do).
fn is_host_include_dir(dir: &Path) -> bool {
    let d = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    d == Path::new("/usr/include") || d == Path::new("/usr/local/include")
}

/// Flags that keep a cross compiler out of the build machine's headers:
/// when its search list has the target's C library headers (`stdio.h`) in a
/// directory of its own *and* a host directory after them, the list is
/// given again without the host directories (`-nostdinc -isystem ...`).
/// A native compiler (its C library is the host's) gets nothing.
fn without_host_includes(dirs: &[PathBuf]) -> Vec<String> {
    let own_libc = dirs
        .iter()
        .any(|d| !is_host_include_dir(d) && d.join("stdio.h").is_file());
    if !own_libc || !dirs.iter().any(|d| is_host_include_dir(d)) {
        return Vec::new();
    }
    let mut flags = vec!["-nostdinc".to_string()];
    for d in dirs.iter().filter(|d| !is_host_include_dir(d)) {
        flags.push("-isystem".into());
        flags.push(d.display().to_string());
    }
    flags
}

/// The directory holding `file` as the compiler finds it, canonical.
fn lib_dir_of(cc: &Path, flags: &[String], file: &str, work: &Path) -> Option<PathBuf> {
    let p = gcc_print(cc, flags, &format!("-print-file-name={file}"), work)?;
    let p = p.canonicalize().ok()?;
    p.parent().map(Path::to_path_buf)
}

/// The directory of the `name` the linker really uses when `cc` links a
/// program (from `-Wl,--trace`), canonical.
fn linked_lib_dir(cc: &Path, flags: &[String], work: &Path, name: &str) -> Option<PathBuf> {
    let mut key_args = flags.to_vec();
    key_args.extend(["-Wl,--trace".to_string(), name.to_string()]);
    let key = crate::memo::program_key(cc, &key_args);
    let file = work.join(format!("linked-{name}.json"));
    crate::memo::remember(key, &file, || {
        linked_lib_dir_now(cc, flags, work, name).ok_or(())
    })
    .ok()
}

fn linked_lib_dir_now(cc: &Path, flags: &[String], work: &Path, name: &str) -> Option<PathBuf> {
    std::fs::create_dir_all(work).ok()?;
    let src = work.join("trace.c");
    std::fs::write(&src, "int main(void) { return 0; }\n").ok()?;
    let out = Command::new(cc)
        .args(flags)
        .arg("-Wl,--trace")
        .arg(&src)
        .arg("-o")
        .arg(work.join("trace"))
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with('/') && l.ends_with(&format!("/{name}")))?;
    let p = Path::new(line).canonicalize().ok()?;
    p.parent().map(Path::to_path_buf)
}

/// Where the external gcc comes from; a downloaded toolchain is fetched
/// and unpacked here.
fn external_source(setup: &Setup<'_>) -> Result<ExternalSource, ToolchainError> {
    let v = |k: &str| setup.values.get(k).map(String::as_str).unwrap_or("");
    Ok(if v("BBSDK_TOOLCHAIN_EXTERNAL_PATH") == "y" {
        ExternalSource::Dir(PathBuf::from(v("BBSDK_TOOLCHAIN_EXTERNAL_PATH_DIR")))
    } else if v("BBSDK_TOOLCHAIN_EXTERNAL_DOWNLOAD") == "y" {
        ExternalSource::Dir(download::unpacked(
            &download::source(setup.values)?,
            setup.fetcher,
            setup.cache_dir,
        )?)
    } else {
        ExternalSource::Auto
    })
}

/// The source files the configured toolchain builds from (for `bbsdk
/// source`, so a later build needs no network): musl's for the bbsdk-built
/// C library, binutils', gcc's and musl's for the internal toolchain, the
/// toolchain archive of a downloaded external toolchain.
pub fn sources(
    values: &BTreeMap<String, String>,
    top: &Path,
) -> Result<Vec<crate::fetch::Source>, ToolchainError> {
    let v = |k: &str| values.get(k).map(String::as_str).unwrap_or("");
    let mut out = match Kind::from_values(values) {
        Kind::BbsdkLibc => vec![bbsdk_libc::musl_source(top, v("BBSDK_MUSL_VERSION"))?],
        Kind::Internal => internal::Sources::from_values(top, values)?.files(),
        Kind::External | Kind::Zig => Vec::new(),
    };
    if v("BBSDK_TOOLCHAIN_EXTERNAL_DOWNLOAD") == "y" {
        out.push(download::source(values)?);
    }
    if v("BBSDK_KERNEL_HEADERS_FROM_SOURCE") == "y" {
        out.push(bbsdk_libc::linux_source(
            top,
            v("BBSDK_KERNEL_HEADERS_VERSION"),
        )?);
    }
    Ok(out)
}

/// The kernel headers of the configuration: Debian's, or built from the
/// Linux source (`BBSDK_KERNEL_HEADERS_FROM_SOURCE`).
fn kernel_headers(setup: &Setup<'_>) -> Result<Cached, ToolchainError> {
    let v = |k: &str| setup.values.get(k).map(String::as_str).unwrap_or("");
    let linux_src = (v("BBSDK_KERNEL_HEADERS_FROM_SOURCE") == "y")
        .then(|| bbsdk_libc::linux_source(setup.top, v("BBSDK_KERNEL_HEADERS_VERSION")))
        .transpose()?;
    let from = match &linux_src {
        Some(source) => HeadersFrom::Source {
            source,
            fetcher: setup.fetcher,
            jobs: setup.jobs,
        },
        None => HeadersFrom::Debian,
    };
    bbsdk_libc::kernel_headers(setup.target, setup.cache_dir, &from)
}

/// Makes the configured toolchain ready: see the module documentation.
pub fn prepare(setup: &Setup<'_>) -> Result<Prepared, ToolchainError> {
    let kind = Kind::from_values(setup.values);
    let v = |k: &str| setup.values.get(k).map(String::as_str).unwrap_or("");
    if kind == Kind::Zig {
        return Err(ToolchainError::Probe(format!(
            "toolchain type {} is not available in this version of bbsdk yet (see docs/toolchains.md)\n  hint: pick \"External prebuilt cross toolchain\" or, for musl, \"bbsdk-built C library over an external cross gcc\" in menuconfig (Toolchain > Toolchain type)",
            kind.symbol()
        )));
    }
    let tc_dir = setup.output.join("toolchain");
    // Beside the host gcc's answers; `make clean` forgets them all.
    let probe_dir = setup.output.join("build").join(".toolchain-probe");
    let arch = arch_flags(setup.values);
    let target = setup.target;
    let tuple = target.gnu_tuple();
    let mut cached = Vec::new();
    let mut pre: Vec<String> = arch.clone();
    let mut dynamic_link = Vec::new();
    let (ext, sysroot, runtime_lib_dirs) = match kind {
        Kind::BbsdkLibc => {
            // The code generator: the glibc cross gcc of the architecture.
            let glibc = Target {
                libc: Libc::Glibc,
                ..target.clone()
            };
            let prefix = match v("BBSDK_TOOLCHAIN_EXTERNAL_PREFIX") {
                p if p.is_empty() || p.contains("musl") => glibc_prefix(&glibc),
                p => p.to_string(),
            };
            let ext = external(
                &glibc,
                &external_source(setup)?,
                &prefix,
                setup.values,
                &probe_dir,
            )?;
            let musl_src = bbsdk_libc::musl_source(setup.top, v("BBSDK_MUSL_VERSION"))?;
            let headers = kernel_headers(setup)?;
            let sr = bbsdk_libc::musl_sysroot(&MuslRequest {
                target,
                cc: &ext,
                arch_flags: &arch,
                source: &musl_src,
                headers: &headers,
                fetcher: setup.fetcher,
                cache_dir: setup.cache_dir,
                jobs: setup.jobs,
            })?;
            let link = tc_dir.join("sysroot");
            wrapper::replace_symlink(&sr.path, &link)?;
            cached.push(headers);
            cached.push(sr);
            let gcc_inc = gcc_print(&ext.cc, &arch, "-print-file-name=include", &probe_dir)
                .ok_or_else(|| {
                    ToolchainError::Probe(format!(
                        "{} -print-file-name=include gives no directory",
                        ext.cc.display()
                    ))
                })?;
            let s = link.display().to_string();
            pre.extend([
                format!("--sysroot={s}"),
                "-nostdinc".into(),
                "-isystem".into(),
                format!("{s}/usr/include"),
                "-isystem".into(),
                gcc_inc.display().to_string(),
                format!("-B{s}/usr/lib/"),
                format!("-L{s}/usr/lib"),
                "-static-libgcc".into(),
            ]);
            dynamic_link.push(format!(
                "-Wl,-dynamic-linker,{}",
                bbsdk_libc::musl_loader(target)
            ));
            let dirs = vec![link.join("lib"), link.join("usr/lib")];
            (ext, Some(link), dirs)
        }
        Kind::Internal => {
            let sources = internal::Sources::from_values(setup.top, setup.values)?;
            let headers = kernel_headers(setup)?;
            let tree = internal::toolchain(&internal::Request {
                target,
                sources: &sources,
                headers: &headers,
                arch_flags: &arch,
                cxx: v("BBSDK_TOOLCHAIN_INTERNAL_CXX") == "y",
                fetcher: setup.fetcher,
                cache_dir: setup.cache_dir,
                jobs: setup.jobs,
            })?;
            let ext = external(
                target,
                &ExternalSource::Dir(tree.path.clone()),
                &tuple,
                setup.values,
                &probe_dir,
            )?;
            let link = tc_dir.join("sysroot");
            wrapper::replace_symlink(&internal::sysroot(&tree.path, target), &link)?;
            pre.push(format!("--sysroot={}", link.display()));
            cached.push(headers);
            cached.push(tree);
            let dirs = vec![link.join("lib"), link.join("usr/lib")];
            (ext, Some(link), dirs)
        }
        _ => {
            let ext = external(
                target,
                &external_source(setup)?,
                v("BBSDK_TOOLCHAIN_EXTERNAL_PREFIX"),
                setup.values,
                &probe_dir,
            )?;
            let mut dirs = Vec::new();
            if target.libc == Libc::Musl {
                // Debian's musl-gcc has no kernel headers: add them after
                // musl's own.
                let headers =
                    bbsdk_libc::kernel_headers(target, setup.cache_dir, &HeadersFrom::Debian)?;
                let link = tc_dir.join("kernel-headers");
                wrapper::replace_symlink(&headers.path, &link)?;
                pre.push("-idirafter".into());
                pre.push(link.join("usr/include").display().to_string());
                cached.push(headers);
                // musl-gcc's libraries are named in its specs file, which
                // -print-file-name does not see: ask the linker.
                dirs.extend(linked_lib_dir(&ext.cc, &arch, &probe_dir, "libc.so"));
            } else {
                dirs.extend(lib_dir_of(&ext.cc, &arch, "libc.so.6", &probe_dir));
                dirs.extend(lib_dir_of(&ext.cc, &arch, "libgcc_s.so.1", &probe_dir));
                dirs.dedup();
            }
            (ext, None, dirs)
        }
    };
    pre.push(format!("-ffile-prefix-map={}=.", setup.output.display()));
    let paranoid = v("BBSDK_COMPILER_PARANOID_UNSAFE_PATH") != "n";
    let bin = tc_dir.join("bin");
    // An external cross compiler must not fall back on the build
    // machine's headers (the bbsdk-built C library has -nostdinc already).
    let isolate = |real: &Path, lang: &str| -> Vec<String> {
        if kind == Kind::External && paranoid {
            without_host_includes(&include_dirs(real, &arch, lang, &probe_dir))
        } else {
            Vec::new()
        }
    };
    let cc = wrapper::write_wrapper(
        &bin,
        &WrapperSpec {
            name: format!("{tuple}-gcc"),
            real: ext.cc.clone(),
            pre: [pre.clone(), isolate(&ext.cc, "c")].concat(),
            dynamic_link: dynamic_link.clone(),
            paranoid,
        },
    )?;
    let cxx = match (&ext.cxx, kind) {
        (Some(real), Kind::External | Kind::Internal) => Some(wrapper::write_wrapper(
            &bin,
            &WrapperSpec {
                name: format!("{tuple}-g++"),
                real: real.clone(),
                pre: [pre.clone(), isolate(real, "c++")].concat(),
                dynamic_link: dynamic_link.clone(),
                paranoid,
            },
        )?),
        _ => None,
    };
    // binutils under the tuple's name too, for build systems that look
    // for `<tuple>-ar` and friends.
    for (role, path) in &ext.tools {
        wrapper::replace_symlink(path, &bin.join(format!("{tuple}-{role}")))?;
    }
    // The wrapper must build for the target: same checks as the external
    // compiler, now with the C library the configuration asks for.
    let p = probe(&cc, &[], &probe_dir.join("wrapper")).map_err(ToolchainError::Probe)?;
    if p.arch != target.arch
        || p.libc != target.libc
        || (target.arch == Arch::Armv7 && p.hard_float != target.hard_float)
    {
        return Err(ToolchainError::Mismatch {
            cc: cc.display().to_string(),
            got: format!("{:?}/{:?}", p.arch, p.libc).to_lowercase(),
            want: format!("{:?}/{:?}", target.arch, target.libc).to_lowercase(),
            hint: "this is a bug in bbsdk's compiler wrapper; the wrapper's first lines say what it runs".into(),
        });
    }
    let real_cc = ext.cc.clone();
    let toolchain = Toolchain {
        prefix: tuple,
        cc,
        cxx,
        tools: ext.tools.clone(),
        cflags: ext.cflags.clone(),
        ldflags: ext.ldflags.clone(),
        probe: ext.probe.clone(),
    };
    Ok(Prepared {
        kind,
        toolchain,
        real_cc,
        sysroot,
        runtime_lib_dirs,
        cached,
        output: setup.output.to_path_buf(),
    })
}

fn glibc_prefix(t: &Target) -> String {
    match (t.arch, t.hard_float) {
        (Arch::X86_64, _) => "x86_64-linux-gnu",
        (Arch::Aarch64, _) => "aarch64-linux-gnu",
        (Arch::Armv7, true) => "arm-linux-gnueabihf",
        (Arch::Armv7, false) => "arm-linux-gnueabi",
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEBIAN_CROSS: &str =
        "ignoring nonexistent directory \"/usr/aarch64-linux-gnu/sys-include\"
#include \"...\" search starts here:
#include <...> search starts here:
 /usr/lib/gcc-cross/aarch64-linux-gnu/12/include
 /usr/lib/gcc-cross/aarch64-linux-gnu/12/../../../../aarch64-linux-gnu/include
 /usr/include
End of search list.
";

    #[test]
    fn include_dirs_come_from_the_verbose_listing() {
        assert_eq!(
            parse_include_dirs(DEBIAN_CROSS),
            [
                "/usr/lib/gcc-cross/aarch64-linux-gnu/12/include",
                "/usr/lib/gcc-cross/aarch64-linux-gnu/12/../../../../aarch64-linux-gnu/include",
                "/usr/include",
            ]
            .map(PathBuf::from)
        );
        assert!(parse_include_dirs("no listing").is_empty());
    }

    #[test]
    fn host_headers_are_dropped_only_when_the_target_has_its_own_libc() {
        let dir = tempfile::tempdir().unwrap();
        let gcc = dir.path().join("gcc/include");
        let target = dir.path().join("target/include");
        std::fs::create_dir_all(&gcc).unwrap();
        std::fs::create_dir_all(&target).unwrap();
        std::fs::write(target.join("stdio.h"), "").unwrap();
        let cross = [gcc.clone(), target.clone(), PathBuf::from("/usr/include")];
        assert_eq!(
            without_host_includes(&cross),
            [
                "-nostdinc".to_string(),
                "-isystem".into(),
                gcc.display().to_string(),
                "-isystem".into(),
                target.display().to_string(),
            ]
        );
        // A native compiler: the C library's headers are the host's.
        let native = [gcc.clone(), PathBuf::from("/usr/include")];
        assert!(without_host_includes(&native).is_empty());
        // No host directory to drop.
        assert!(without_host_includes(&[gcc, target]).is_empty());
    }

    #[test]
    fn debian_cross_gcc_is_kept_out_of_the_host_headers() {
        let work = tempfile::tempdir().unwrap();
        let cc = Path::new("aarch64-linux-gnu-gcc");
        let dirs = include_dirs(cc, &[], "c", work.path());
        assert!(
            dirs.iter().any(|d| d.join("stdio.h").is_file()),
            "{dirs:?}: run scripts/setup-host.sh (libc6-dev-arm64-cross)"
        );
        let flags = without_host_includes(&dirs);
        assert_eq!(
            flags.first().map(String::as_str),
            Some("-nostdinc"),
            "{dirs:?}"
        );
        assert!(!flags.iter().any(|f| is_host_include_dir(Path::new(f))));
        // The flags really hide the host's headers: crypt.h is only on the
        // build machine (libcrypt-dev), the cross C library has none.
        let src = work.path().join("t.c");
        std::fs::write(&src, "#include <stdio.h>\n#include <crypt.h>\n").unwrap();
        let with = Command::new(cc)
            .args(&flags)
            .args(["-E", "-o", "/dev/null"])
            .arg(&src)
            .output()
            .unwrap();
        assert!(!with.status.success(), "crypt.h came from the host");
        assert!(String::from_utf8_lossy(&with.stderr).contains("crypt.h"));
        let stdio_only = work.path().join("s.c");
        std::fs::write(
            &stdio_only,
            "#include <stdio.h>\n#include <linux/types.h>\n",
        )
        .unwrap();
        let ok = Command::new(cc)
            .args(&flags)
            .args(["-E", "-o", "/dev/null"])
            .arg(&stdio_only)
            .output()
            .unwrap();
        assert!(
            ok.status.success(),
            "{}",
            String::from_utf8_lossy(&ok.stderr)
        );
    }
}

//! Toolchains: finding and checking a cross compiler for the configured
//! target, the flags the target needs, the compiler wrapper, and the
//! identity that goes into package identity hashes. External (prebuilt)
//! compilers, the bbsdk-built C library (musl over an external gcc) and the
//! internal toolchain (binutils, gcc and musl from source) are supported;
//! zig is not (docs/toolchains.md says why).

pub mod bbsdk_libc;
mod download;
pub mod internal;
mod prepare;
mod probe;
pub mod wrapper;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use prepare::{arch_flags, prepare, sources, Kind, Prepared, Setup};
pub use probe::{cached_output, probe, Probe};

use crate::target::{Arch, Libc, Target};

/// Why no usable toolchain was found.
#[derive(Debug, thiserror::Error)]
pub enum ToolchainError {
    #[error("no {what} found (looked for {names} in {place})\n  hint: {hint}")]
    Missing {
        what: String,
        names: String,
        place: String,
        hint: String,
    },
    #[error("{cc} builds {got} binaries, but the configuration is for {want}\n  hint: {hint}")]
    Mismatch {
        cc: String,
        got: String,
        want: String,
        hint: String,
    },
    #[error("{0}")]
    Probe(String),
}

/// Where an external toolchain comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternalSource {
    /// Installed on the host, found on `PATH` by its prefix.
    Auto,
    /// A toolchain directory (its `bin/` holds `<prefix>-gcc`).
    Dir(PathBuf),
}

/// A usable compiler with everything a build needs to call it.
#[derive(Debug, Clone)]
pub struct Toolchain {
    /// GNU prefix of the tools, without the trailing `-` (e.g. `aarch64-linux-gnu`).
    pub prefix: String,
    pub cc: PathBuf,
    pub cxx: Option<PathBuf>,
    /// binutils by role: ar, ranlib, strip, nm, objcopy, readelf, ld.
    pub tools: BTreeMap<String, PathBuf>,
    /// Target flags (CPU, FPU, ABI, optimisation, user flags).
    pub cflags: Vec<String>,
    pub ldflags: Vec<String>,
    pub probe: Probe,
}

impl Toolchain {
    /// What identifies this toolchain in package identities.
    pub fn identity(&self) -> String {
        format!(
            "cc={}\nversion={}\nmachine={}\ncflags={}\nldflags={}",
            self.cc.display(),
            self.probe.version,
            self.probe.machine,
            self.cflags.join(" "),
            self.ldflags.join(" ")
        )
    }

    /// The environment a build step sees for this toolchain.
    pub fn env(&self) -> BTreeMap<String, String> {
        let mut e = BTreeMap::new();
        e.insert("CC".into(), self.cc.display().to_string());
        if let Some(cxx) = &self.cxx {
            e.insert("CXX".into(), cxx.display().to_string());
        }
        for (role, var) in [
            ("ar", "AR"),
            ("ranlib", "RANLIB"),
            ("strip", "STRIP"),
            ("nm", "NM"),
            ("objcopy", "OBJCOPY"),
            ("readelf", "READELF"),
            ("ld", "LD"),
        ] {
            if let Some(p) = self.tools.get(role) {
                e.insert(var.into(), p.display().to_string());
            }
        }
        e.insert("CFLAGS".into(), self.cflags.join(" "));
        e.insert("CXXFLAGS".into(), self.cflags.join(" "));
        e.insert("LDFLAGS".into(), self.ldflags.join(" "));
        e
    }
}

/// The compiler flags the configuration asks for (`BBSDK_GCC_TARGET_*`,
/// `BBSDK_ARM_THUMB2`, `BBSDK_TARGET_OPTIMIZATION`, `BBSDK_TARGET_CFLAGS`).
pub fn target_cflags(values: &BTreeMap<String, String>) -> Vec<String> {
    let v = |k: &str| values.get(k).map(String::as_str).unwrap_or("");
    let mut f = Vec::new();
    if !v("BBSDK_GCC_TARGET_ARCH").is_empty() {
        f.push(format!("-march={}", v("BBSDK_GCC_TARGET_ARCH")));
    }
    if !v("BBSDK_GCC_TARGET_CPU").is_empty() {
        f.push(format!("-mcpu={}", v("BBSDK_GCC_TARGET_CPU")));
    }
    if !v("BBSDK_GCC_TARGET_FPU").is_empty() {
        f.push(format!("-mfpu={}", v("BBSDK_GCC_TARGET_FPU")));
    }
    if !v("BBSDK_GCC_TARGET_FLOAT_ABI").is_empty() {
        f.push(format!("-mfloat-abi={}", v("BBSDK_GCC_TARGET_FLOAT_ABI")));
    }
    if values.contains_key("BBSDK_ARM_THUMB2") {
        f.push(
            if v("BBSDK_ARM_THUMB2") == "y" {
                "-mthumb"
            } else {
                "-marm"
            }
            .to_string(),
        );
    }
    if !v("BBSDK_TARGET_OPTIMIZATION").is_empty() {
        f.push(v("BBSDK_TARGET_OPTIMIZATION").to_string());
    }
    f.extend(
        v("BBSDK_TARGET_CFLAGS")
            .split_whitespace()
            .map(str::to_string),
    );
    f
}

/// Compiler names to try for a target, with the Debian package that provides each.
fn candidates(target: &Target, prefix: &str) -> Vec<(String, String, &'static str)> {
    // (compiler, tool prefix for binutils, Debian package)
    let mut c = vec![(format!("{prefix}-gcc"), prefix.to_string(), "")];
    match (target.arch, target.libc, target.hard_float) {
        (Arch::X86_64, Libc::Glibc, _) => {
            c.push((
                "x86_64-linux-gnu-gcc".into(),
                "x86_64-linux-gnu".into(),
                "gcc",
            ));
            c.push(("gcc".into(), String::new(), "gcc"));
        }
        (Arch::X86_64, Libc::Musl, _) => c.push(("musl-gcc".into(), String::new(), "musl-tools")),
        (Arch::Aarch64, Libc::Glibc, _) => c.push((
            "aarch64-linux-gnu-gcc".into(),
            "aarch64-linux-gnu".into(),
            "gcc-aarch64-linux-gnu",
        )),
        (Arch::Armv7, Libc::Glibc, true) => c.push((
            "arm-linux-gnueabihf-gcc".into(),
            "arm-linux-gnueabihf".into(),
            "gcc-arm-linux-gnueabihf",
        )),
        (Arch::Armv7, Libc::Glibc, false) => c.push((
            "arm-linux-gnueabi-gcc".into(),
            "arm-linux-gnueabi".into(),
            "gcc-arm-linux-gnueabi",
        )),
        _ => {}
    }
    // The configured prefix is tried first; when it names a known compiler,
    // keep that compiler's Debian package for the hint.
    if let Some(pos) = c.iter().skip(1).position(|x| x.0 == c[0].0) {
        let known = c.remove(pos + 1);
        c[0].2 = known.2;
    }
    c
}

/// Finds `name` in `dirs`.
fn which(name: &str, dirs: &[PathBuf]) -> Option<PathBuf> {
    dirs.iter().map(|d| d.join(name)).find(|p| p.is_file())
}

fn search_dirs(source: &ExternalSource) -> Vec<PathBuf> {
    match source {
        ExternalSource::Dir(d) => vec![d.join("bin"), d.clone()],
        ExternalSource::Auto => std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect())
            .unwrap_or_default(),
    }
}

/// Finds and checks an external compiler for `target`: it must build a
/// program for the configured architecture, C library and float ABI.
/// `work` is a scratch directory for the test program.
pub fn external(
    target: &Target,
    source: &ExternalSource,
    prefix: &str,
    values: &BTreeMap<String, String>,
    work: &Path,
) -> Result<Toolchain, ToolchainError> {
    let dirs = search_dirs(source);
    let cands = candidates(target, prefix);
    let want = format!("{:?}/{:?}", target.arch, target.libc).to_lowercase();
    let Some((cc, tool_prefix)) = cands
        .iter()
        .find_map(|(name, tp, _)| which(name, &dirs).map(|p| (p, tp.clone())))
    else {
        let pkgs: Vec<&str> = cands
            .iter()
            .map(|c| c.2)
            .filter(|p| !p.is_empty())
            .collect();
        let hint = if pkgs.is_empty() {
            format!(
                "Debian has no prebuilt {want} cross compiler; choose the \"bbsdk-built C library\" toolchain (BBSDK_TOOLCHAIN_BBSDK_LIBC), which builds musl with the {} glibc cross compiler, or point BBSDK_TOOLCHAIN_EXTERNAL_PATH_DIR at a toolchain",
                target.gnu_cpu()
            )
        } else {
            format!("install it: apt-get install {}", pkgs.join(" "))
        };
        return Err(ToolchainError::Missing {
            what: format!("C compiler for {want}"),
            names: cands
                .iter()
                .map(|c| c.0.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            place: match source {
                ExternalSource::Auto => "PATH".into(),
                ExternalSource::Dir(d) => d.display().to_string(),
            },
            hint,
        });
    };
    let cflags = target_cflags(values);
    let ldflags: Vec<String> = values
        .get("BBSDK_TARGET_LDFLAGS")
        .map(|v| v.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    let probe = probe(&cc, &cflags, work).map_err(ToolchainError::Probe)?;
    let mut problems = Vec::new();
    if probe.arch != target.arch {
        problems.push(format!("{:?}", probe.arch).to_lowercase());
    }
    if probe.libc != target.libc {
        problems.push(format!("{:?}", probe.libc).to_lowercase());
    }
    if target.arch == Arch::Armv7
        && probe.arch == Arch::Armv7
        && probe.hard_float != target.hard_float
    {
        problems.push(
            if probe.hard_float {
                "hard-float"
            } else {
                "soft-float"
            }
            .to_string(),
        );
    }
    if !problems.is_empty() {
        return Err(ToolchainError::Mismatch {
            cc: cc.display().to_string(),
            got: format!("{:?}/{:?}", probe.arch, probe.libc).to_lowercase(),
            want,
            hint: "set BBSDK_TOOLCHAIN_EXTERNAL_PREFIX (or the toolchain directory) to a compiler for this target".into(),
        });
    }
    let tool = |role: &str| -> Option<PathBuf> {
        let name = if tool_prefix.is_empty() {
            role.to_string()
        } else {
            format!("{tool_prefix}-{role}")
        };
        which(&name, &dirs).or_else(|| which(role, &search_dirs(&ExternalSource::Auto)))
    };
    let mut tools = BTreeMap::new();
    for role in ["ar", "ranlib", "strip", "nm", "objcopy", "readelf", "ld"] {
        if let Some(p) = tool(role) {
            tools.insert(role.to_string(), p);
        }
    }
    let cxx_name = cc
        .file_name()
        .and_then(|n| n.to_str())
        .map(|n| n.replace("gcc", "g++"));
    let cxx = cxx_name.and_then(|n| which(&n, &dirs));
    Ok(Toolchain {
        prefix: tool_prefix,
        cc,
        cxx,
        tools,
        cflags,
        ldflags,
        probe,
    })
}

//! The environment a build step sees. It starts empty: only `PATH`, `HOME`,
//! `TERM` and `SOURCE_DATE_EPOCH` come from the calling process (`LANG` is
//! always `C`), then the executor adds the package's directories, the
//! toolchain and the recipe's own `build.env`. Nothing else of the host
//! environment reaches a build. See docs/build.md for the list.

use std::collections::BTreeMap;
use std::path::Path;

use crate::package::Variant;

use super::ToolchainEnv;

pub(crate) type Env = BTreeMap<String, String>;

/// What is kept from the calling process.
pub(crate) fn base_env() -> Env {
    let mut env = Env::new();
    let path = std::env::var("PATH")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".to_string());
    env.insert("PATH".into(), path);
    for key in [
        "HOME",
        "TERM",
        "SOURCE_DATE_EPOCH",
        crate::toolchain::wrapper::UNSAFE_PATH_ENV,
    ] {
        if let Ok(v) = std::env::var(key) {
            env.insert(key.into(), v);
        }
    }
    env.insert("LANG".into(), "C".into());
    env
}

/// The directories of one package build.
pub(crate) struct Dirs<'a> {
    pub output: &'a Path,
    pub top: &'a Path,
    pub src_dir: &'a Path,
    pub obj_dir: &'a Path,
    /// The package's view of its build dependencies.
    pub view_staging: &'a Path,
    pub view_host: &'a Path,
    /// Its per-package target directory.
    pub target_dir: &'a Path,
    pub host_dir: &'a Path,
}

/// Toolchain variables whose values are compiler or linker flags: the
/// executor appends the view's `-I`/`-L` flags to them.
const FLAG_VARS: [&str; 4] = ["CPPFLAGS", "CFLAGS", "CXXFLAGS", "LDFLAGS"];

#[allow(clippy::too_many_arguments)]
pub(crate) fn package_env(
    base: &Env,
    toolchain: &ToolchainEnv,
    variant: Variant,
    name: &str,
    version: &str,
    jobs: usize,
    dirs: &Dirs<'_>,
    configure_args: &[String],
) -> Env {
    let mut env = base.clone();
    let s = |p: &Path| p.to_string_lossy().into_owned();
    let path = format!(
        "{}/bin:{}/sbin:{}",
        s(dirs.view_host),
        s(dirs.view_host),
        env.get("PATH")
            .map(String::as_str)
            .unwrap_or("/usr/bin:/bin")
    );
    env.insert("PATH".into(), path);
    env.insert("BBSDK_OUTPUT".into(), s(dirs.output));
    env.insert("BBSDK_TOP".into(), s(dirs.top));
    env.insert("PKG_NAME".into(), name.into());
    env.insert("PKG_VERSION".into(), version.into());
    env.insert("SRC_DIR".into(), s(dirs.src_dir));
    env.insert("BUILD_DIR".into(), s(dirs.obj_dir));
    env.insert("STAGING_DIR".into(), s(dirs.view_staging));
    env.insert("TARGET_DIR".into(), s(dirs.target_dir));
    env.insert("HOST_DIR".into(), s(dirs.host_dir));
    env.insert("JOBS".into(), jobs.to_string());
    env.insert("TARGET_TUPLE".into(), toolchain.target_tuple.clone());
    env.insert("HOST_TUPLE".into(), toolchain.host_tuple.clone());
    env.insert("CONFIGURE_ARGS".into(), configure_args.join(" "));

    let tools = match variant {
        Variant::Target => &toolchain.target,
        Variant::Host => &toolchain.host,
    };
    for (k, v) in tools {
        env.insert(k.clone(), v.clone());
    }
    // Host tools built as part of a target package (Buildroot's HOSTCC...).
    for (k, v) in &toolchain.host {
        env.insert(format!("HOST{k}"), v.clone());
    }

    let (inc, lib, pc) = match variant {
        Variant::Target => {
            let st = s(dirs.view_staging);
            (
                format!("-I{st}/usr/include"),
                format!("-L{st}/usr/lib -L{st}/lib"),
                format!("{st}/usr/lib/pkgconfig:{st}/usr/share/pkgconfig"),
            )
        }
        Variant::Host => {
            let vh = s(dirs.view_host);
            (
                format!("-I{vh}/include"),
                format!("-L{vh}/lib -Wl,-rpath,{}/lib", s(dirs.host_dir)),
                format!("{vh}/lib/pkgconfig:{vh}/share/pkgconfig"),
            )
        }
    };
    for var in FLAG_VARS {
        let add = if var == "LDFLAGS" { &lib } else { &inc };
        let v = match env.get(var).map(|v| v.trim()) {
            Some(old) if !old.is_empty() => format!("{old} {add}"),
            _ => add.clone(),
        };
        env.insert(var.into(), v);
    }
    env.insert("PKG_CONFIG_PATH".into(), pc.clone());
    match variant {
        Variant::Target => {
            env.insert("PKG_CONFIG_LIBDIR".into(), pc);
            env.insert("PKG_CONFIG_SYSROOT_DIR".into(), s(dirs.view_staging));
            env.insert("PREFIX".into(), "/usr".into());
        }
        Variant::Host => {
            env.insert("PREFIX".into(), s(dirs.host_dir));
        }
    }
    env
}

/// Replaces `${NAME}` by the variable's value (`$$` stands for `$`). An
/// unknown name is an error naming it.
pub(crate) fn expand(s: &str, env: &Env) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body
                .find('}')
                .ok_or_else(|| format!("unterminated ${{ in {s:?}"))?;
            let name = &body[..end];
            let v = env
                .get(name)
                .ok_or_else(|| format!("unknown variable ${{{name}}} in {s:?}"))?;
            out.push_str(v);
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_braced_names_only() {
        let mut env = Env::new();
        env.insert("CC".into(), "gcc".into());
        assert_eq!(expand("CC=${CC}", &env).unwrap(), "CC=gcc");
        assert_eq!(expand("a$$b $CC", &env).unwrap(), "a$b $CC");
        assert!(expand("${NOPE}", &env).unwrap_err().contains("NOPE"));
        assert!(expand("${CC", &env).is_err());
    }
}

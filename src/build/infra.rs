//! The build infrastructures: for each build system, the commands of the
//! configure, build and install steps (and the files some of them need
//! generated first: a CMake toolchain file, a Meson cross file, a kconfig
//! `.config`). A recipe's `[build.steps]` snippet replaces the
//! infrastructure's default for that step. This module only computes; the
//! steps module runs what it returns.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::package::{Build, System, Variant};

use super::env::{expand, Env};
use super::{BuildError, Step};

/// One command: argv, directory, extra environment.
#[derive(Debug, Clone)]
pub(crate) struct Cmd {
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
}

/// What a step does: write some files, then run some commands, then (for
/// the kconfig infrastructure) bring the package's `.config` up to date with
/// our own Kconfig engine.
#[derive(Debug, Default)]
pub(crate) struct Action {
    pub files: Vec<(PathBuf, Vec<u8>)>,
    pub cmds: Vec<Cmd>,
    pub olddefconfig: Option<super::kconfig_pkg::KconfigTree>,
}

/// What the infrastructures need to know about one package build.
pub(crate) struct Ctx<'a> {
    pub package: &'a str,
    pub build: &'a Build,
    pub variant: Variant,
    pub top: &'a Path,
    pub src_dir: &'a Path,
    pub obj_dir: &'a Path,
    /// Where generated files go (the top of the build directory).
    pub gen_dir: &'a Path,
    pub env: &'a Env,
    pub symbols: &'a BTreeMap<String, String>,
    pub jobs: usize,
    pub host_dir: &'a Path,
    pub staging_dir: &'a Path,
    /// The host tools and libraries of the build dependencies.
    pub view_host: &'a Path,
    pub target_tuple: &'a str,
    pub host_tuple: &'a str,
}

/// The toolchain variables given to a kconfig package's make.
const KCONFIG_TOOL_VARS: [&str; 8] = [
    "CC", "LD", "AR", "NM", "STRIP", "OBJCOPY", "OBJDUMP", "RANLIB",
];

/// The directory of a package's out-of-tree build (cmake and meson always
/// build out of tree; the others when the recipe sets `out_of_tree`).
pub(crate) const OUT_OF_TREE_DIR: &str = "bbsdk-build";

/// Whether the package builds in a directory of its own.
pub(crate) fn builds_out_of_tree(build: &Build) -> bool {
    build.out_of_tree || matches!(build.system, System::Cmake | System::Meson)
}

impl Ctx<'_> {
    fn err(&self, msg: String, hint: &str) -> BuildError {
        BuildError::Recipe {
            package: self.package.to_string(),
            msg,
            hint: hint.to_string(),
        }
    }

    fn expand_all(&self, args: &[String], field: &str) -> Result<Vec<String>, BuildError> {
        args.iter()
            .map(|a| {
                expand(a, self.env).map_err(|m| {
                    self.err(
                        format!("field `build.{field}`: {m}"),
                        "arguments may use ${NAME} for the variables of docs/build.md; write $$ for a $",
                    )
                })
            })
            .collect()
    }

    /// `configure_args` plus the arguments of the `build.options` symbols set to `y`.
    pub(crate) fn configure_args(&self) -> Result<Vec<String>, BuildError> {
        let mut args = self.build.configure_args.clone();
        for (sym, extra) in &self.build.options {
            if self.symbols.get(sym).is_some_and(|v| v == "y") {
                args.extend(extra.iter().cloned());
            }
        }
        self.expand_all(&args, "configure_args")
    }

    fn make_args(&self) -> Result<Vec<String>, BuildError> {
        let mut args = Vec::new();
        // Kconfig packages (busybox, Linux, U-Boot) name their tools in
        // their Makefile (`CC = $(CROSS_COMPILE)gcc`): the toolchain's go on
        // make's command line, where they win over the Makefile's.
        if self.build.system == System::Kconfig && self.variant == Variant::Target {
            for var in KCONFIG_TOOL_VARS {
                if let Some(v) = self.env.get(var).filter(|v| !v.trim().is_empty()) {
                    args.push(format!("{var}={v}"));
                }
            }
            if let Some(v) = self.env.get("HOSTCC").filter(|v| !v.trim().is_empty()) {
                args.push(format!("HOSTCC={v}"));
            }
        }
        args.extend(self.expand_all(&self.build.make_args, "make_args")?);
        // make and kconfig have no configure step: option arguments go to make.
        if matches!(self.build.system, System::Make | System::Kconfig) {
            args.extend(self.configure_args()?);
        }
        Ok(args)
    }

    /// `install_args`, which may use `${DESTDIR}` (busybox's
    /// `CONFIG_PREFIX=${DESTDIR}`).
    fn install_args(&self, destdir: &Path) -> Result<Vec<String>, BuildError> {
        let mut env = self.env.clone();
        env.insert("DESTDIR".into(), self.path(destdir));
        let with = Ctx { env: &env, ..*self };
        with.expand_all(&self.build.install_args, "install_args")
    }

    fn cmd(&self, argv: Vec<String>, cwd: &Path) -> Cmd {
        Cmd {
            argv,
            cwd: cwd.to_path_buf(),
            env: Vec::new(),
        }
    }

    fn shell(&self, script: &str) -> Cmd {
        self.cmd(
            vec!["sh".into(), "-e".into(), "-c".into(), script.to_string()],
            self.obj_dir,
        )
    }

    fn path(&self, p: &Path) -> String {
        p.to_string_lossy().into_owned()
    }

    fn tool(&self, var: &str, default: &str) -> String {
        self.env
            .get(var)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .unwrap_or(default)
            .to_string()
    }
}

/// The action of `step` (configure, build, or one of the installs with its
/// `DESTDIR`).
pub(crate) fn action(
    step: Step,
    destdir: Option<&Path>,
    ctx: &Ctx<'_>,
) -> Result<Action, BuildError> {
    let steps = &ctx.build.steps;
    let snippet = match step {
        Step::Configure => &steps.configure,
        Step::Build => &steps.build,
        Step::InstallStaging => &steps.install_staging,
        Step::InstallTarget => &steps.install_target,
        Step::InstallHost => &steps.install_host,
        _ => &None,
    };
    if let Some(script) = snippet {
        return Ok(Action {
            files: Vec::new(),
            cmds: vec![ctx.shell(script)],
            olddefconfig: None,
        });
    }
    match ctx.build.system {
        System::Generic => Ok(Action::default()),
        System::Make => make(step, destdir, ctx),
        System::Autotools => autotools(step, destdir, ctx),
        System::Cmake => cmake(step, destdir, ctx),
        System::Meson => meson(step, destdir, ctx),
        System::Kconfig => kconfig(step, destdir, ctx),
    }
}

/// `make ...` and `make ... DESTDIR=<dir> install` (install_args replace `install`).
fn make_step(step: Step, destdir: Option<&Path>, ctx: &Ctx<'_>) -> Result<Vec<Cmd>, BuildError> {
    let mut argv = vec!["make".to_string()];
    argv.extend(ctx.make_args()?);
    match (step, destdir) {
        (Step::Build, _) => {}
        (_, Some(dest)) => {
            argv.push(format!("DESTDIR={}", ctx.path(dest)));
            let install = ctx.install_args(dest)?;
            if install.is_empty() {
                argv.push("install".into());
            } else {
                argv.extend(install);
            }
        }
        _ => return Ok(Vec::new()),
    }
    Ok(vec![ctx.cmd(argv, ctx.obj_dir)])
}

fn make(step: Step, destdir: Option<&Path>, ctx: &Ctx<'_>) -> Result<Action, BuildError> {
    let cmds = match step {
        Step::Configure => Vec::new(),
        _ => make_step(step, destdir, ctx)?,
    };
    Ok(Action {
        files: Vec::new(),
        cmds,
        olddefconfig: None,
    })
}

fn autotools(step: Step, destdir: Option<&Path>, ctx: &Ctx<'_>) -> Result<Action, BuildError> {
    if step != Step::Configure {
        return make(step, destdir, ctx);
    }
    let script = ctx.src_dir.join("configure");
    if !script.is_file() {
        return Err(ctx.err(
            format!("autotools: {} does not exist", script.display()),
            "generate it in a [build.steps] configure snippet (e.g. `autoreconf -fi && ./configure ...`), or use another build system",
        ));
    }
    let mut argv = vec![ctx.path(&script)];
    match ctx.variant {
        Variant::Target => argv.extend([
            "--prefix=/usr".to_string(),
            "--sysconfdir=/etc".to_string(),
            "--localstatedir=/var".to_string(),
            format!("--host={}", ctx.target_tuple),
            format!("--build={}", ctx.host_tuple),
        ]),
        Variant::Host => {
            let h = ctx.path(ctx.host_dir);
            argv.extend([
                format!("--prefix={h}"),
                format!("--sysconfdir={h}/etc"),
                format!("--localstatedir={h}/var"),
            ])
        }
    }
    argv.extend(ctx.configure_args()?);
    Ok(Action {
        files: Vec::new(),
        cmds: vec![ctx.cmd(argv, ctx.obj_dir)],
        olddefconfig: None,
    })
}

/// The CPU of a GNU tuple (`aarch64` of `aarch64-linux-gnu`).
fn tuple_cpu(tuple: &str) -> &str {
    tuple.split('-').next().unwrap_or(tuple)
}

/// Meson's `cpu_family` for a GNU CPU name.
fn meson_cpu_family(cpu: &str) -> &str {
    match cpu {
        c if c.starts_with("arm") => "arm",
        "i386" | "i486" | "i586" | "i686" => "x86",
        c if c.starts_with("powerpc64") => "ppc64",
        c if c.starts_with("powerpc") => "ppc",
        c if c.starts_with("mips64") => "mips64",
        c if c.starts_with("mips") => "mips",
        c => c,
    }
}

fn big_endian(cpu: &str) -> bool {
    cpu.ends_with("eb")
        || cpu.ends_with("_be")
        || matches!(
            cpu,
            "mips" | "mips64" | "powerpc" | "powerpc64" | "s390x" | "sparc64"
        )
}

/// A CMake string, quoted.
fn cmake_quote(s: &str) -> String {
    let mut q = String::from("\"");
    for c in s.chars() {
        if matches!(c, '"' | '\\' | '$') {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

/// The toolchain file of a cross (target) CMake build.
pub(crate) fn cmake_toolchain_file(ctx: &Ctx<'_>) -> String {
    let first = |var: &str, default: &str| {
        let t = ctx.tool(var, default);
        t.split_whitespace().next().unwrap_or(default).to_string()
    };
    let mut s = format!(
        "# Generated by bbsdk for {} ({}): a cross build for {}.\n",
        ctx.package, ctx.target_tuple, ctx.target_tuple
    );
    s.push_str("set(CMAKE_SYSTEM_NAME Linux)\n");
    s.push_str(&format!(
        "set(CMAKE_SYSTEM_PROCESSOR {})\n",
        cmake_quote(tuple_cpu(ctx.target_tuple))
    ));
    s.push_str(&format!(
        "set(CMAKE_C_COMPILER {})\n",
        cmake_quote(&first("CC", "cc"))
    ));
    s.push_str(&format!(
        "set(CMAKE_CXX_COMPILER {})\n",
        cmake_quote(&first("CXX", "c++"))
    ));
    for (var, cm) in [
        ("AR", "CMAKE_AR"),
        ("RANLIB", "CMAKE_RANLIB"),
        ("STRIP", "CMAKE_STRIP"),
    ] {
        if ctx.env.contains_key(var) {
            s.push_str(&format!(
                "set({cm} {} CACHE FILEPATH \"\")\n",
                cmake_quote(&first(var, ""))
            ));
        }
    }
    s.push_str(&format!(
        "set(CMAKE_FIND_ROOT_PATH {})\n",
        cmake_quote(&ctx.path(ctx.staging_dir))
    ));
    s.push_str(
        "set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)\n\
         set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)\n\
         set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)\n\
         set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)\n",
    );
    s
}

fn cmake(step: Step, destdir: Option<&Path>, ctx: &Ctx<'_>) -> Result<Action, BuildError> {
    let obj = ctx.path(ctx.obj_dir);
    let mut files = Vec::new();
    let argv = match (step, destdir) {
        (Step::Configure, _) => {
            let mut argv = vec![
                "cmake".to_string(),
                "-S".into(),
                ctx.path(ctx.src_dir),
                "-B".into(),
                obj.clone(),
                "-G".into(),
                "Unix Makefiles".into(),
                "-DCMAKE_BUILD_TYPE=Release".into(),
            ];
            match ctx.variant {
                Variant::Target => {
                    let file = ctx.gen_dir.join(".bbsdk-toolchain.cmake");
                    files.push((file.clone(), cmake_toolchain_file(ctx).into_bytes()));
                    argv.push("-DCMAKE_INSTALL_PREFIX=/usr".into());
                    argv.push(format!("-DCMAKE_TOOLCHAIN_FILE={}", ctx.path(&file)));
                }
                Variant::Host => {
                    argv.push(format!("-DCMAKE_INSTALL_PREFIX={}", ctx.path(ctx.host_dir)));
                    argv.push(format!("-DCMAKE_PREFIX_PATH={}", ctx.path(ctx.view_host)));
                }
            }
            argv.extend(ctx.configure_args()?);
            argv
        }
        (Step::Build, _) => {
            let mut argv = vec!["cmake".to_string(), "--build".into(), obj];
            let make_args = ctx.make_args()?;
            if !make_args.is_empty() {
                argv.push("--".into());
                argv.extend(make_args);
            }
            argv
        }
        (_, Some(dest)) => {
            let mut argv = vec!["cmake".to_string(), "--install".into(), obj];
            argv.extend(ctx.install_args(dest)?);
            let mut c = ctx.cmd(argv, ctx.obj_dir);
            c.env.push(("DESTDIR".into(), ctx.path(dest)));
            return Ok(Action {
                files,
                cmds: vec![c],
                olddefconfig: None,
            });
        }
        _ => return Ok(Action::default()),
    };
    Ok(Action {
        files,
        cmds: vec![ctx.cmd(argv, ctx.obj_dir)],
        olddefconfig: None,
    })
}

/// A Meson string literal.
fn meson_str(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn meson_list<'s>(items: impl IntoIterator<Item = &'s str>) -> String {
    let v: Vec<String> = items.into_iter().map(meson_str).collect();
    format!("[{}]", v.join(", "))
}

/// The cross file of a target Meson build.
pub(crate) fn meson_cross_file(ctx: &Ctx<'_>) -> String {
    let words = |var: &str| -> Vec<String> {
        ctx.env
            .get(var)
            .map(|v| v.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default()
    };
    let tool = |var: &str, default: &str| -> String {
        let w = words(var);
        if w.is_empty() {
            meson_list([default])
        } else {
            meson_list(w.iter().map(String::as_str))
        }
    };
    let cpu = tuple_cpu(ctx.target_tuple);
    let st = ctx.path(ctx.staging_dir);
    let mut s = format!(
        "# Generated by bbsdk for {}: a cross build for {}.\n[binaries]\n",
        ctx.package, ctx.target_tuple
    );
    s.push_str(&format!("c = {}\n", tool("CC", "cc")));
    s.push_str(&format!("cpp = {}\n", tool("CXX", "c++")));
    for (var, name) in [("AR", "ar"), ("STRIP", "strip"), ("RANLIB", "ranlib")] {
        if ctx.env.contains_key(var) {
            s.push_str(&format!("{name} = {}\n", tool(var, name)));
        }
    }
    s.push_str("pkg-config = 'pkg-config'\n\n[built-in options]\n");
    let cflags = words("CFLAGS");
    let cxxflags = words("CXXFLAGS");
    let ldflags = words("LDFLAGS");
    s.push_str(&format!(
        "c_args = {}\n",
        meson_list(cflags.iter().map(String::as_str))
    ));
    s.push_str(&format!(
        "c_link_args = {}\n",
        meson_list(ldflags.iter().map(String::as_str))
    ));
    s.push_str(&format!(
        "cpp_args = {}\n",
        meson_list(cxxflags.iter().map(String::as_str))
    ));
    s.push_str(&format!(
        "cpp_link_args = {}\n",
        meson_list(ldflags.iter().map(String::as_str))
    ));
    s.push_str(&format!(
        "\n[properties]\nsys_root = {}\npkg_config_libdir = {}\n",
        meson_str(&st),
        meson_list([
            format!("{st}/usr/lib/pkgconfig").as_str(),
            format!("{st}/usr/share/pkgconfig").as_str()
        ])
    ));
    s.push_str(&format!(
        "\n[host_machine]\nsystem = 'linux'\ncpu_family = {}\ncpu = {}\nendian = {}\n",
        meson_str(meson_cpu_family(cpu)),
        meson_str(cpu),
        meson_str(if big_endian(cpu) { "big" } else { "little" })
    ));
    s
}

fn meson(step: Step, destdir: Option<&Path>, ctx: &Ctx<'_>) -> Result<Action, BuildError> {
    let obj = ctx.path(ctx.obj_dir);
    let mut files = Vec::new();
    let mut env = Vec::new();
    let argv = match (step, destdir) {
        (Step::Configure, _) => {
            let mut argv = vec![
                "meson".to_string(),
                "setup".into(),
                "--libdir=lib".into(),
                "--buildtype=release".into(),
                "--wrap-mode=nodownload".into(),
            ];
            match ctx.variant {
                Variant::Target => {
                    let file = ctx.gen_dir.join(".bbsdk-cross.ini");
                    files.push((file.clone(), meson_cross_file(ctx).into_bytes()));
                    argv.push("--prefix=/usr".into());
                    argv.push(format!("--cross-file={}", ctx.path(&file)));
                }
                Variant::Host => argv.push(format!("--prefix={}", ctx.path(ctx.host_dir))),
            }
            argv.extend(ctx.configure_args()?);
            argv.push(obj);
            argv.push(ctx.path(ctx.src_dir));
            argv
        }
        (Step::Build, _) => {
            let mut argv = vec![
                "meson".to_string(),
                "compile".into(),
                "-C".into(),
                obj,
                // ninja takes no jobserver tokens: give it the job count.
                format!("-j{}", ctx.jobs.max(1)),
            ];
            argv.extend(ctx.make_args()?);
            argv
        }
        (_, Some(dest)) => {
            env.push(("DESTDIR".into(), ctx.path(dest)));
            let mut argv = vec![
                "meson".to_string(),
                "install".into(),
                "-C".into(),
                obj,
                "--no-rebuild".into(),
            ];
            argv.extend(ctx.install_args(dest)?);
            argv
        }
        _ => return Ok(Action::default()),
    };
    let mut c = ctx.cmd(argv, ctx.obj_dir);
    c.env = env;
    Ok(Action {
        files,
        cmds: vec![c],
        olddefconfig: None,
    })
}

/// A configuration string value without the quotes `.config` files keep.
fn unquote(v: &str) -> &str {
    v.strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(v)
}

fn kconfig(step: Step, destdir: Option<&Path>, ctx: &Ctx<'_>) -> Result<Action, BuildError> {
    if step != Step::Configure {
        return make(step, destdir, ctx);
    }
    let Some(k) = &ctx.build.kconfig else {
        return Err(ctx.err(
            "the kconfig infrastructure needs a [build.kconfig] table".into(),
            "name the configuration symbol: [build.kconfig] config_symbol = \"BBSDK_PACKAGE_<NAME>_CONFIG\"",
        ));
    };
    let file = ctx
        .symbols
        .get(&k.config_symbol)
        .map(|v| unquote(v))
        .unwrap_or("");
    if file.is_empty() {
        return Err(ctx.err(
            format!(
                "{} names no configuration file for the package",
                k.config_symbol
            ),
            "set it in `bbsdk menuconfig` to a file relative to the tree's top",
        ));
    }
    let fragments: Vec<String> = k
        .fragments_symbol
        .as_ref()
        .and_then(|s| ctx.symbols.get(s))
        .map(|v| unquote(v).split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    let mut files = vec![ctx.top.join(file)];
    files.extend(fragments.iter().map(|f| ctx.top.join(f)));
    let config = super::kconfig_pkg::seed_config(&files, &k.bool_symbols, ctx.symbols)
        .map_err(|(path, e)| BuildError::io(format!("{}: configure", ctx.package), path, e))?;
    let mut cmds = Vec::new();
    if !k.prepare.is_empty() {
        let mut argv = vec!["make".to_string()];
        argv.extend(k.prepare.iter().cloned());
        cmds.push(ctx.cmd(argv, ctx.src_dir));
    }
    Ok(Action {
        files: vec![(ctx.obj_dir.join(".config"), config.into_bytes())],
        cmds,
        olddefconfig: Some(super::kconfig_pkg::KconfigTree {
            kconfig: ctx.src_dir.join(&k.kconfig_file),
            base_dir: ctx.src_dir.to_path_buf(),
            config: ctx.obj_dir.join(".config"),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(system: System) -> Build {
        let text = format!("system = \"{}\"\n", format!("{system:?}").to_lowercase());
        toml::from_str(&text).unwrap()
    }

    fn with_ctx<R>(b: &Build, variant: Variant, f: impl FnOnce(&Ctx<'_>) -> R) -> R {
        let mut env = Env::new();
        env.insert("CC".into(), "aarch64-linux-gnu-gcc".into());
        env.insert("CFLAGS".into(), "-O2 -I/st/usr/include".into());
        env.insert("LDFLAGS".into(), "-L/st/usr/lib".into());
        env.insert("AR".into(), "aarch64-linux-gnu-ar".into());
        let symbols = BTreeMap::new();
        let ctx = Ctx {
            package: "p",
            build: b,
            variant,
            top: Path::new("/top"),
            src_dir: Path::new("/o/build/p-1"),
            obj_dir: Path::new("/o/build/p-1/bbsdk-build"),
            gen_dir: Path::new("/o/build/p-1"),
            env: &env,
            symbols: &symbols,
            jobs: 4,
            host_dir: Path::new("/o/host"),
            staging_dir: Path::new("/o/view/staging"),
            view_host: Path::new("/o/view/host"),
            target_tuple: "aarch64-linux-gnu",
            host_tuple: "x86_64-linux-gnu",
        };
        f(&ctx)
    }

    #[test]
    fn cmake_cross_files_and_commands() {
        let b = build(System::Cmake);
        with_ctx(&b, Variant::Target, |ctx| {
            let a = action(Step::Configure, None, ctx).unwrap();
            let argv = &a.cmds[0].argv;
            assert!(argv.contains(&"-DCMAKE_INSTALL_PREFIX=/usr".to_string()));
            assert!(argv
                .iter()
                .any(|x| x.starts_with("-DCMAKE_TOOLCHAIN_FILE=")));
            let tc = String::from_utf8(a.files[0].1.clone()).unwrap();
            assert!(tc.contains("set(CMAKE_C_COMPILER \"aarch64-linux-gnu-gcc\")"));
            assert!(tc.contains("set(CMAKE_SYSTEM_PROCESSOR \"aarch64\")"));
            assert!(tc.contains("CMAKE_FIND_ROOT_PATH \"/o/view/staging\""));
            let i = action(Step::InstallTarget, Some(Path::new("/pp/t")), ctx).unwrap();
            assert_eq!(i.cmds[0].argv[..2], ["cmake", "--install"]);
            assert_eq!(i.cmds[0].env, vec![("DESTDIR".into(), "/pp/t".into())]);
        });
    }

    #[test]
    fn meson_cross_file_describes_the_target() {
        let b = build(System::Meson);
        with_ctx(&b, Variant::Target, |ctx| {
            let a = action(Step::Configure, None, ctx).unwrap();
            let cross = String::from_utf8(a.files[0].1.clone()).unwrap();
            assert!(cross.contains("c = ['aarch64-linux-gnu-gcc']"), "{cross}");
            assert!(cross.contains("c_args = ['-O2', '-I/st/usr/include']"));
            assert!(cross.contains("cpu_family = 'aarch64'"));
            assert!(cross.contains("endian = 'little'"));
            let argv = &a.cmds[0].argv;
            assert_eq!(
                argv[argv.len() - 2..],
                ["/o/build/p-1/bbsdk-build", "/o/build/p-1"]
            );
        });
    }

    #[test]
    fn autotools_defaults_per_variant() {
        let b = build(System::Autotools);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("configure"), "#!/bin/sh\n").unwrap();
        let mut b2 = b.clone();
        b2.configure_args = vec!["--with-cc=${CC}".into()];
        with_ctx(&b2, Variant::Target, |ctx| {
            let ctx = Ctx {
                src_dir: dir.path(),
                ..*ctx
            };
            let a = action(Step::Configure, None, &ctx).unwrap();
            let argv = &a.cmds[0].argv;
            assert!(argv.contains(&"--prefix=/usr".to_string()));
            assert!(argv.contains(&"--host=aarch64-linux-gnu".to_string()));
            assert!(argv.contains(&"--build=x86_64-linux-gnu".to_string()));
            assert_eq!(argv.last().unwrap(), "--with-cc=aarch64-linux-gnu-gcc");
            let host = Ctx {
                variant: Variant::Host,
                ..ctx
            };
            let a = action(Step::Configure, None, &host).unwrap();
            assert!(a.cmds[0].argv.contains(&"--prefix=/o/host".to_string()));
            let i = action(Step::InstallStaging, Some(Path::new("/pp/s")), &host).unwrap();
            assert_eq!(i.cmds[0].argv, ["make", "DESTDIR=/pp/s", "install"]);
        });
        with_ctx(&b, Variant::Target, |ctx| {
            let e = action(Step::Configure, None, ctx).unwrap_err().to_string();
            assert!(e.contains("configure does not exist"), "{e}");
        });
    }
}

//! Gentoo ebuilds in the image: a crossdev-style emerge with a real Portage.
//!
//! One job per submodule:
//!
//! * [`settings`]: the Gentoo menu (`BBSDK_GENTOO_*`) as plain data, with
//!   errors pointing at the `.config` line;
//! * [`portage`]: Portage from PyPI in a venv under the cache directory;
//! * [`host`]: the build machine's tools as installed packages of the
//!   build machine's side (BDEPEND);
//! * [`config`]: the generated Portage configuration roots (make.conf, our
//!   profile, repos.conf, package.use, patches);
//! * [`vdb`]: installed-package database entries describing what bbsdk
//!   built (and the toolchain's C library) to Portage;
//! * [`emerge`]: the runner (clean environment, host shims, failure report);
//! * [`deploy`]: the target root Portage installed into, as a tree the root
//!   filesystem assembly layers on top of bbsdk's packages, plus owners.
//!
//! [`prepare`] ties them together for one output directory; [`build`] is the
//! step of `bbsdk make`, [`emerge_adhoc`] is `bbsdk emerge`. See docs/gentoo.md.

pub mod config;
pub mod deploy;
pub mod emerge;
pub mod host;
pub mod portage;
pub mod settings;
pub mod vdb;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::build::ToolchainEnv;
use crate::target::Target;

pub use settings::{Repository, Settings};

/// Errors of the Gentoo step.
#[derive(Debug, thiserror::Error)]
pub enum GentooError {
    /// A value of the configuration is wrong; `at` is `file:line: SYMBOL`.
    #[error("{at}: {msg}\n  hint: {hint}")]
    Config {
        at: String,
        msg: String,
        hint: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A host program is missing or failed.
    #[error("{msg}\n  hint: {hint}")]
    Host { msg: String, hint: String },
    /// emerge (or egencache) failed.
    #[error("{0}")]
    Emerge(Box<emerge::EmergeFailure>),
}

impl GentooError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> GentooError {
        GentooError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

pub type Result<T> = std::result::Result<T, GentooError>;

/// Where the Gentoo step keeps its state in an output directory, all under
/// `<output>/build/gentoo/` so `bbsdk make clean` removes it.
#[derive(Debug, Clone)]
pub struct Dirs {
    pub base: PathBuf,
    /// The sysroot: ROOT and SYSROOT of the build pass, and its config root
    /// (`<sysroot>/etc/portage`), as crossdev's `/usr/<tuple>`.
    pub sysroot: PathBuf,
    /// ROOT of the install pass (runtime files only).
    pub root: PathBuf,
    /// PORTAGE_CONFIGROOT of the install pass.
    pub root_config: PathBuf,
    /// What goes into the image: `root` without Portage's own state.
    pub image: PathBuf,
    pub tmp: PathBuf,
    pub shims: PathBuf,
    pub depcache: PathBuf,
    pub logs: PathBuf,
    pub home: PathBuf,
}

impl Dirs {
    pub fn new(output: &Path) -> Dirs {
        let base = output.join("build").join("gentoo");
        Dirs {
            sysroot: base.join("sysroot"),
            root: base.join("root"),
            root_config: base.join("root-config"),
            image: base.join("image"),
            tmp: base.join("tmp"),
            shims: base.join("shims"),
            depcache: base.join("depcache"),
            logs: base.join("logs"),
            home: base.join("home"),
            base,
        }
    }
}

/// A package bbsdk built, as the Gentoo step sees it.
#[derive(Debug, Clone)]
pub struct BbsdkPackage {
    /// bbsdk's name (`busybox`).
    pub name: String,
    pub version: String,
    /// Its installed files for the target (`per-package/<name>/target`);
    /// a path that does not exist means no files.
    pub target_tree: Option<PathBuf>,
    /// Its files for the sysroot (`per-package/<name>/staging`).
    pub staging_tree: Option<PathBuf>,
}

/// Everything the Gentoo step needs, as plain data.
#[derive(Debug, Clone)]
pub struct Input {
    pub settings: Settings,
    pub output: PathBuf,
    /// bbsdk's merged staging directory, copied into the sysroot.
    pub staging: PathBuf,
    pub dl_dir: PathBuf,
    pub cache_dir: PathBuf,
    /// Binary packages go to the cache directory (else under the output).
    pub binary_cache: bool,
    pub target: Target,
    pub toolchain: ToolchainEnv,
    /// What identifies the toolchain (compiler, version, flags), not its
    /// paths: binary packages are shared by output directories with the
    /// same one.
    pub toolchain_id: String,
    pub jobs: usize,
    pub packages: Vec<BbsdkPackage>,
    /// Leave development files out of the target root (INSTALL_MASK).
    pub runtime_only: bool,
}

/// What the step produced for the root filesystem.
#[derive(Debug, Clone)]
pub struct Output {
    /// A tree to copy over the packages' trees.
    pub image: PathBuf,
    /// Device-table lines giving installed files their owners.
    pub permissions: Vec<String>,
    /// Seconds spent in each part, for docs/gentoo.md.
    pub timings: Vec<(String, f64)>,
    /// Packages taken from binary packages in the build pass.
    pub from_binpkg: Vec<String>,
    /// Packages compiled in the build pass.
    pub compiled: Vec<String>,
    /// The install pass merged something: the image tree differs from the
    /// last run's.
    pub changed: bool,
}

/// A prepared output directory: Portage installed, config roots, shims and
/// installed-package entries written.
pub struct Prepared {
    pub dirs: Dirs,
    pub runner: emerge::Runner,
    pub timings: Vec<(String, f64)>,
}

/// Installs Portage if needed and writes everything emerge needs.
pub fn prepare(input: &Input) -> Result<Prepared> {
    let dirs = Dirs::new(&input.output);
    let mut timings = Vec::new();
    let t = Instant::now();
    let portage = portage::ensure(&input.cache_dir, &input.settings.portage_version)?;
    timings.push(("portage venv".to_string(), t.elapsed().as_secs_f64()));
    let t = Instant::now();
    host::describe(&portage.venv)?;
    timings.push(("host tools".to_string(), t.elapsed().as_secs_f64()));

    let t = Instant::now();
    fresh_root_if_changed(input, &dirs)?;
    for d in [
        &dirs.sysroot,
        &dirs.root,
        &dirs.tmp,
        &dirs.depcache,
        &dirs.logs,
        &dirs.home,
    ] {
        std::fs::create_dir_all(d).map_err(|e| GentooError::io(d, e))?;
    }
    // bbsdk's staging (headers and libraries of its packages) into the sysroot.
    let mut modes = Vec::new();
    crate::build::tree::link_tree(&input.staging, &dirs.sysroot, &mut modes)
        .and_then(|_| crate::build::tree::apply_modes(&modes))
        .map_err(|e| GentooError::io(&input.staging, e))?;

    let tools = emerge::shims(&dirs.shims, &input.toolchain, &dirs.sysroot)?;
    let paths = config::Paths {
        distdir: input.dl_dir.join("gentoo"),
        pkgdir: pkgdir(input),
        tmpdir: dirs.tmp.clone(),
        depcache: dirs.depcache.clone(),
        logdir: dirs.logs.clone(),
    };
    for d in [&paths.distdir, &paths.pkgdir] {
        std::fs::create_dir_all(d).map_err(|e| GentooError::io(d, e))?;
    }
    let conf = config::PortageConf::new(input, &tools, paths)?;
    config::write_config_root(&dirs.sysroot, &conf, config::Pass::Build)?;
    config::write_config_root(&dirs.root_config, &conf, config::Pass::Install)?;

    let entries = vdb::entries(input)?;
    let multilib = vdb::multilib_category(&input.target);
    vdb::write_all(&dirs.sysroot, &entries, vdb::Tree::Staging, multilib)?;
    vdb::write_all(&dirs.root, &entries, vdb::Tree::Target, multilib)?;
    timings.push((
        "config roots and vdb".to_string(),
        t.elapsed().as_secs_f64(),
    ));

    let runner = emerge::Runner::new(&portage, &dirs, &input.settings, input.jobs)?;
    let t = Instant::now();
    runner.egencache_if_needed(&input.settings)?;
    let e = t.elapsed().as_secs_f64();
    if e > 0.05 {
        timings.push(("egencache".to_string(), e));
    }
    Ok(Prepared {
        dirs,
        runner,
        timings,
    })
}

/// The target root holds exactly what the atoms need: when the settings
/// that decide what is installed there changed since the last run (an atom
/// removed, USE flags, ...), it is emptied and the install pass fills it
/// again from the binary packages.
fn fresh_root_if_changed(input: &Input, dirs: &Dirs) -> Result<()> {
    let s = &input.settings;
    let key = format!(
        "atoms={:?}\nuse={:?}\npackage_use={:?}\nkeywords={:?}\nfeatures={:?}\nprofile={:?}\nrepos={:?}\nruntime_only={}\ntoolchain={:?}\n",
        s.atoms,
        s.use_flags,
        s.package_use,
        s.accept_keywords,
        s.features,
        s.profile,
        s.repositories,
        input.runtime_only,
        input.toolchain_id,
    );
    let stamp = dirs.base.join("root.settings");
    if std::fs::read_to_string(&stamp).is_ok_and(|k| k == key) {
        return Ok(());
    }
    crate::build::tree::remove_all(&dirs.root).map_err(|e| GentooError::io(&dirs.root, e))?;
    std::fs::create_dir_all(&dirs.base).map_err(|e| GentooError::io(&dirs.base, e))?;
    crate::build::tree::write_atomic(&stamp, key.as_bytes()).map_err(|e| GentooError::io(&stamp, e))
}

/// The binary package directory: per target and toolchain in the cache
/// directory, so another output dir with the same toolchain reuses them
/// (the toolchain's identity and flags, not the paths of its wrapper; the
/// profile setting; the repositories' names and locations).
fn pkgdir(input: &Input) -> PathBuf {
    use sha2::Digest;
    if !input.binary_cache {
        return Dirs::new(&input.output).base.join("packages");
    }
    let mut h = sha2::Sha256::new();
    h.update(input.toolchain.target_tuple.as_bytes());
    h.update(format!("\n{}", input.toolchain_id).as_bytes());
    for k in ["CFLAGS", "CXXFLAGS", "LDFLAGS"] {
        let v = input
            .toolchain
            .target
            .get(k)
            .map(String::as_str)
            .unwrap_or("");
        h.update(format!("\n{k}={v}").as_bytes());
    }
    h.update(format!("\nprofile={}", input.settings.profile).as_bytes());
    // Different repositories may hold different ebuilds of one version.
    for r in &input.settings.repositories {
        h.update(format!("\nrepo={}={}", r.name, r.location.display()).as_bytes());
    }
    let hex: String = h
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    input
        .cache_dir
        .join("gentoo")
        .join(format!("{}-{hex}", input.target.name()))
}

/// One emerge run over `atoms`: the pass's own options, then the options
/// both passes share; its time goes into the timings.
fn emerge_pass(
    p: &mut Prepared,
    atoms: &[String],
    what: &str,
    pass: fn(&Dirs) -> emerge::Pass,
    own: &[&str],
    log: &str,
) -> Result<emerge::RunReport> {
    eprintln!(">>> gentoo: emerge {} ({what})", atoms.join(" "));
    let t = Instant::now();
    let shared = [
        "--binpkg-respect-use=y",
        "--update",
        "--newuse",
        "--verbose",
        "--color=n",
    ];
    let args: Vec<String> = own
        .iter()
        .chain(&shared)
        .map(|s| s.to_string())
        .chain(atoms.iter().cloned())
        .collect();
    let report = p.runner.run(pass(&p.dirs), &args, &p.dirs.logs.join(log))?;
    p.timings.push((
        format!("emerge {}", what.split(',').next().unwrap_or(what)),
        t.elapsed().as_secs_f64(),
    ));
    Ok(report)
}

/// The Gentoo step of `bbsdk make`: `None` when it is off or has no atoms.
pub fn build(input: &Input) -> Result<Option<Output>> {
    if input.settings.atoms.is_empty() {
        return Ok(None);
    }
    let total = Instant::now();
    let mut p = prepare(input)?;
    let atoms = &input.settings.atoms;

    // Build pass: compile into the sysroot, making binary packages.
    let build = emerge_pass(
        &mut p,
        atoms,
        "build pass, into the sysroot",
        emerge::Pass::build,
        &["--usepkg", "--buildpkg"],
        "emerge-build.log",
    )?;
    // Install pass: the same binary packages into the target root.
    let install = emerge_pass(
        &mut p,
        atoms,
        "install pass, into the target root",
        emerge::Pass::install,
        &["--usepkgonly", "--ignore-soname-deps=n"],
        "emerge-install.log",
    )?;

    let t = Instant::now();
    let permissions = deploy::image(&p.dirs.root, &p.dirs.image)?;
    p.timings
        .push(("image tree".into(), t.elapsed().as_secs_f64()));
    p.timings
        .push(("gentoo total".into(), total.elapsed().as_secs_f64()));
    let timing_text: String = p
        .timings
        .iter()
        .map(|(k, v)| format!("{k}\t{v:.2}\n"))
        .collect();
    crate::build::tree::write_atomic(&p.dirs.logs.join("timings.tsv"), timing_text.as_bytes())
        .map_err(|e| GentooError::io(&p.dirs.logs, e))?;
    for (k, v) in &p.timings {
        eprintln!(">>> gentoo: {k}: {v:.2} s");
    }
    Ok(Some(Output {
        image: p.dirs.image.clone(),
        permissions,
        timings: p.timings,
        from_binpkg: build.from_binpkg,
        compiled: build.compiled,
        changed: !(install.from_binpkg.is_empty() && install.compiled.is_empty()),
    }))
}

/// `bbsdk emerge ARGS...`: emerge on the sysroot with the generated
/// configuration (crossdev's `<tuple>-emerge`), output to the terminal.
pub fn emerge_adhoc(input: &Input, args: &[String]) -> Result<i32> {
    let p = prepare(input)?;
    p.runner.run_interactive(emerge::Pass::build(&p.dirs), args)
}

/// Symbol values of the configuration, as the settings parser wants them.
pub type Values = BTreeMap<String, String>;

/// The Gentoo step's input for a configured project, `None` when the
/// Gentoo menu is off.
pub fn input_for(
    project: &crate::project::Project,
    plan: &crate::plan::Plan,
    toolchain: ToolchainEnv,
    toolchain_id: String,
) -> Result<Option<Input>> {
    let Some(settings) =
        Settings::from_values(&project.values, &project.paths.config(), &project.paths.top)?
    else {
        return Ok(None);
    };
    let output = &std::path::absolute(&project.paths.output)
        .map_err(|e| GentooError::io(&project.paths.output, e))?;
    let layout = crate::build::Layout::new(output.clone());
    let packages = plan
        .nodes
        .iter()
        .filter(|n| n.variant == crate::package::Variant::Target)
        .filter_map(|n| {
            let (p, _) = project.registry.resolve(&n.name).ok()?;
            let dir = layout.per_package(&n.name);
            // The trees are made by the build, which runs after this:
            // whether they exist is looked at when the entries are written.
            Some(BbsdkPackage {
                name: n.name.clone(),
                version: p.recipe.version.clone(),
                target_tree: Some(dir.join("target")),
                staging_tree: Some(dir.join("staging")),
            })
        })
        .collect();
    Ok(Some(Input {
        settings,
        output: output.clone(),
        staging: layout.staging(),
        dl_dir: project.dl_dir(),
        cache_dir: project.cache_dir(),
        binary_cache: project.value("BBSDK_BINARY_CACHE") == "y",
        target: project.target.clone(),
        toolchain,
        toolchain_id,
        jobs: project.jobs(),
        packages,
        runtime_only: project.value("BBSDK_ROOTFS_RUNTIME_ONLY") != "n",
    }))
}

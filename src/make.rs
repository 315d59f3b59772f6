//! The commands that work on a configured output directory, as Buildroot's
//! make targets: the build itself (`all`), `source`, `show-info`,
//! `graph-depends`, `sbom`. Each opens the [`Project`], plans, and calls the
//! modules that do the work.

use std::path::PathBuf;
use std::process::Command;

use crate::build::{BuildSettings, Executor, ToolchainEnv};
use crate::defconfig::Paths;
use crate::image::tar::{write_tar, Compression, TarOptions};
use crate::info;
use crate::kconfig::write_atomic;
use crate::project::{Project, ProjectError};

/// `bbsdk source`: downloads every source the configuration needs into the
/// download directory, so a later build needs no network.
pub fn source(paths: Paths) -> Result<Vec<PathBuf>, ProjectError> {
    let project = Project::open(paths)?;
    let plan = project.plan()?;
    let sources = project.sources(&plan);
    let fetcher = project.fetcher()?;
    Ok(fetcher.fetch_all(&sources, project.jobs().max(2))?)
}

/// `bbsdk legal-info`: licenses, license texts, sources and patches of every
/// planned package into `<output>/legal-info/`.
pub fn legal_info(paths: Paths) -> Result<PathBuf, MakeError> {
    let project = Project::open(paths)?;
    let plan = project.plan()?;
    let fetcher = project.fetcher()?;
    Ok(crate::legal::legal_info(
        &plan,
        &project.registry,
        &fetcher,
        &project.paths.output,
    )?)
}

/// `bbsdk show-info`: JSON describing every planned package.
pub fn show_info(paths: Paths) -> Result<String, ProjectError> {
    let project = Project::open(paths)?;
    let plan = project.plan()?;
    let v = info::show_info(&plan, &project.registry);
    Ok(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n")
}

/// `bbsdk graph-depends`: writes `<output>/graphs/graph-depends.dot`, and
/// `.svg` next to it when Graphviz's `dot` is installed. Returns the files written.
pub fn graph_depends(paths: Paths) -> Result<Vec<PathBuf>, ProjectError> {
    let project = Project::open(paths)?;
    let plan = project.plan()?;
    let dir = project.paths.output.join("graphs");
    let dot = dir.join("graph-depends.dot");
    write_atomic(&dot, plan.to_dot().as_bytes(), false)?;
    let mut out = vec![dot.clone()];
    let svg = dir.join("graph-depends.svg");
    let tmp = dir.join(".graph-depends.svg.tmp");
    if let Ok(st) = Command::new("dot")
        .arg("-Tsvg")
        .arg(&dot)
        .arg("-o")
        .arg(&tmp)
        .status()
    {
        if st.success() && std::fs::rename(&tmp, &svg).is_ok() {
            out.push(svg);
        }
    }
    let _ = std::fs::remove_file(&tmp);
    Ok(out)
}

/// Writes the SPDX 2.3 SBOM of the plan to `<output>/images/sbom.spdx.json`.
pub fn sbom(paths: Paths) -> Result<PathBuf, ProjectError> {
    let project = Project::open(paths)?;
    let plan = project.plan()?;
    let name = match project.value("BBSDK_IMAGE_NAME") {
        "" => "rootfs".to_string(),
        n => n.replace('/', "-"),
    };
    let epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.parse().ok());
    let doc = info::spdx_sbom(
        &plan,
        &project.registry,
        &project.target,
        &name,
        &info::source_date(epoch),
    );
    let path = project.paths.output.join("images").join("sbom.spdx.json");
    let text = serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n";
    write_atomic(&path, text.as_bytes(), false)?;
    Ok(path)
}

/// What `bbsdk make` did.
#[derive(Debug, Default)]
pub struct MakeReport {
    pub built: Vec<String>,
    pub from_cache: Vec<String>,
    pub skipped: Vec<String>,
    /// Files written under `<output>/images`.
    pub images: Vec<PathBuf>,
}

/// Errors of `bbsdk make`.
#[derive(Debug, thiserror::Error)]
pub enum MakeError {
    #[error(transparent)]
    Project(#[from] ProjectError),
    #[error(transparent)]
    Toolchain(#[from] crate::toolchain::ToolchainError),
    #[error(transparent)]
    Build(Box<crate::build::BuildError>),
    #[error(transparent)]
    Rootfs(#[from] crate::rootfs::Error),
    #[error(transparent)]
    Tar(#[from] crate::image::tar::TarError),
    #[error(transparent)]
    Legal(#[from] crate::legal::LegalError),
    #[error(transparent)]
    Gentoo(#[from] crate::gentoo::GentooError),
    #[error("{0}")]
    Other(String),
}

impl From<crate::build::BuildError> for MakeError {
    fn from(e: crate::build::BuildError) -> MakeError {
        MakeError::Build(Box::new(e))
    }
}

/// The cross toolchain the configuration asks for, as a build environment.
fn toolchain(project: &Project) -> Result<(ToolchainEnv, Option<PathBuf>, String), MakeError> {
    let kind = ["EXTERNAL", "BBSDK_LIBC", "INTERNAL", "ZIG"]
        .into_iter()
        .find(|k| project.value(&format!("BBSDK_TOOLCHAIN_{k}")) == "y")
        .unwrap_or("EXTERNAL");
    if kind != "EXTERNAL" {
        return Err(MakeError::Other(format!(
            "toolchain type BBSDK_TOOLCHAIN_{kind} is not available in this version of bbsdk yet; only external toolchains are\n  hint: pick \"External prebuilt cross toolchain\" in menuconfig (Toolchain > Toolchain type), or use a defconfig whose toolchain is external, e.g. container_x86_64_musl_defconfig"
        )));
    }
    let source = match project.value("BBSDK_TOOLCHAIN_EXTERNAL_PATH") {
        "y" => crate::toolchain::ExternalSource::Dir(PathBuf::from(
            project.value("BBSDK_TOOLCHAIN_EXTERNAL_PATH_DIR"),
        )),
        _ => crate::toolchain::ExternalSource::Auto,
    };
    let work = project.paths.output.join("build").join(".toolchain-probe");
    let tc = crate::toolchain::external(
        &project.target,
        &source,
        project.value("BBSDK_TOOLCHAIN_EXTERNAL_PREFIX"),
        &project.values,
        &work,
    )?;
    let host = ToolchainEnv::host_gcc().map_err(MakeError::Other)?;
    let strip = tc.tools.get("strip").cloned();
    let id = tc.identity();
    Ok((
        ToolchainEnv {
            target: tc.env(),
            host: host.host,
            target_tuple: if tc.prefix.is_empty() {
                project.target.gnu_tuple()
            } else {
                tc.prefix.clone()
            },
            host_tuple: host.host_tuple,
        },
        strip,
        id,
    ))
}

/// `SOURCE_DATE_EPOCH`: the environment's, else `BBSDK_SOURCE_DATE_EPOCH`,
/// else the time of the bbsdk tree's last commit, else 0.
fn source_date_epoch(project: &Project) -> u64 {
    if let Some(v) = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return v;
    }
    if let Ok(v) = project.value("BBSDK_SOURCE_DATE_EPOCH").parse::<u64>() {
        if v > 0 {
            return v;
        }
    }
    Command::new("git")
        .arg("-C")
        .arg(&project.paths.top)
        .args(["log", "-1", "--format=%ct"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(0)
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

/// `bbsdk make` / `bbsdk make all`: builds every package of the plan, then
/// assembles the root filesystem and writes `<output>/images/rootfs.tar`
/// and the SBOM.
pub fn build_all(paths: Paths) -> Result<MakeReport, MakeError> {
    use crate::rootfs::{self, AssembleSettings, InitSystem, RootLogin, ScriptEnv, TableSource};

    let project = Project::open(paths)?;
    let plan = project.plan()?;
    let (tc_env, strip, _tc_id) = toolchain(&project)?;
    let top = project.paths.top.clone();
    let output = project.paths.output.clone();
    let gentoo_input = crate::gentoo::input_for(&project, &plan, tc_env.clone())?;
    let mut settings = BuildSettings::new(&output, tc_env);
    settings.top = top.clone();
    settings.jobs = project.jobs();
    if project.value("BBSDK_BINARY_CACHE") == "y" {
        settings.cache_dir = Some(project.cache_dir());
    }
    let fetcher = project.fetcher()?;
    let exec = Executor::new(settings, &project.registry, &plan, &fetcher);
    let report = exec.build_all()?;
    let layout = exec.layout().clone();
    // Gentoo ebuilds, emerged after bbsdk's packages (docs/gentoo.md).
    let gentoo = match &gentoo_input {
        Some(input) => crate::gentoo::build(input)?,
        None => None,
    };

    // The root filesystem from the packages' target trees.
    let rel = |p: &str| {
        if p.is_empty() {
            None
        } else {
            Some(top.join(p))
        }
    };
    let env = ScriptEnv {
        config: project.paths.config(),
        base_dir: output.clone(),
        build_dir: output.join("build"),
        host_dir: layout.host(),
        staging_dir: layout.staging(),
        target_dir: layout.target(),
        binaries_dir: layout.images(),
        work_dir: top.clone(),
        log: None,
        extra: vec![],
    };
    let mut a = AssembleSettings::new(env.clone());
    a.skeleton = rel(project.value("BBSDK_ROOTFS_SKELETON"));
    a.package_trees = plan
        .nodes
        .iter()
        .filter(|n| n.variant == crate::package::Variant::Target)
        .map(|n| layout.per_package(&n.name).join("target"))
        .filter(|p| p.is_dir())
        .collect();
    a.overlays = words(project.value("BBSDK_ROOTFS_OVERLAY"))
        .iter()
        .map(|o| top.join(o))
        .collect();
    a.hostname = project.value("BBSDK_TARGET_GENERIC_HOSTNAME").to_string();
    a.issue = project.value("BBSDK_TARGET_GENERIC_ISSUE").to_string();
    a.root_login = if project.value("BBSDK_TARGET_ENABLE_ROOT_LOGIN") == "y" {
        RootLogin::Password(
            project
                .value("BBSDK_TARGET_GENERIC_ROOT_PASSWD")
                .to_string(),
        )
    } else {
        RootLogin::Disabled
    };
    a.init = if project.value("BBSDK_INIT_BUSYBOX") == "y" {
        InitSystem::Busybox {
            getty: (project.value("BBSDK_TARGET_GENERIC_GETTY") == "y").then(|| {
                rootfs::assemble::Getty {
                    port: project.value("BBSDK_TARGET_GENERIC_GETTY_PORT").to_string(),
                    baudrate: project
                        .value("BBSDK_TARGET_GENERIC_GETTY_BAUDRATE")
                        .to_string(),
                    term: project.value("BBSDK_TARGET_GENERIC_GETTY_TERM").to_string(),
                }
            }),
        }
    } else {
        InitSystem::None
    };
    for n in &plan.nodes {
        if let Ok((p, crate::package::Variant::Target)) = project.registry.resolve(&n.name) {
            if !p.recipe.users.is_empty() {
                a.users_tables.push(TableSource::inline(
                    format!("package {} users", n.name),
                    &p.recipe.users,
                ));
            }
            if !p.recipe.permissions.is_empty() {
                a.device_tables.push(TableSource::inline(
                    format!("package {} permissions", n.name),
                    &p.recipe.permissions,
                ));
            }
        }
    }
    a.users_tables.extend(
        words(project.value("BBSDK_ROOTFS_USERS_TABLES"))
            .iter()
            .map(|t| TableSource::File(top.join(t))),
    );
    let mut tables = vec![project.value("BBSDK_ROOTFS_DEVICE_TABLE").to_string()];
    if project.value("BBSDK_INIT_BUSYBOX") == "y" {
        tables.push(
            project
                .value("BBSDK_ROOTFS_STATIC_DEVICE_TABLE")
                .to_string(),
        );
    }
    tables.extend(words(project.value("BBSDK_ROOTFS_PERMISSION_TABLES")));
    a.device_tables.extend(
        tables
            .iter()
            .filter(|t| !t.is_empty())
            .map(|t| TableSource::File(top.join(t))),
    );
    a.post_build_scripts = words(project.value("BBSDK_ROOTFS_POST_BUILD_SCRIPT"))
        .iter()
        .map(|s| top.join(s))
        .collect();
    a.script_args = words(project.value("BBSDK_ROOTFS_POST_SCRIPT_ARGS"));
    a.runtime_only = project.value("BBSDK_ROOTFS_RUNTIME_ONLY") != "n";
    a.strip = if project.value("BBSDK_STRIP_TARGET") == "y" {
        strip
    } else {
        None
    };
    a.salt_seed = std::fs::read(project.paths.config()).unwrap_or_default();
    if let Some(g) = &gentoo {
        a.package_trees.push(g.image.clone());
        a.device_tables.push(TableSource::inline(
            "Gentoo packages' owners",
            &g.permissions,
        ));
    }
    let manifest = rootfs::assemble(&a)?;

    // rootfs.tar and the SBOM.
    let (compression, suffix) = match () {
        _ if project.value("BBSDK_TARGET_ROOTFS_TAR_GZIP") == "y" => (Compression::Gzip, ".gz"),
        _ if project.value("BBSDK_TARGET_ROOTFS_TAR_BZIP2") == "y" => (Compression::Bzip2, ".bz2"),
        _ if project.value("BBSDK_TARGET_ROOTFS_TAR_XZ") == "y" => (Compression::Xz, ".xz"),
        _ if project.value("BBSDK_TARGET_ROOTFS_TAR_ZSTD") == "y" => (Compression::Zstd, ".zst"),
        _ => (Compression::None, ""),
    };
    let epoch = source_date_epoch(&project);
    std::fs::create_dir_all(layout.images())
        .map_err(|e| MakeError::Other(format!("{}: {e}", layout.images().display())))?;
    let tar = layout.images().join(format!("rootfs.tar{suffix}"));
    write_tar(
        &manifest,
        &tar,
        &TarOptions {
            compression,
            source_date_epoch: Some(epoch),
        },
    )?;
    let name = match project.value("BBSDK_IMAGE_NAME") {
        "" => "rootfs".to_string(),
        n => n.replace('/', "-"),
    };
    let doc = info::spdx_sbom(
        &plan,
        &project.registry,
        &project.target,
        &name,
        &info::source_date(Some(epoch as i64)),
    );
    let sbom = layout.images().join("sbom.spdx.json");
    write_atomic(
        &sbom,
        (serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n").as_bytes(),
        false,
    )
    .map_err(ProjectError::from)?;
    let post_image: Vec<PathBuf> = words(project.value("BBSDK_ROOTFS_POST_IMAGE_SCRIPT"))
        .iter()
        .map(|s| top.join(s))
        .collect();
    rootfs::run_post_image_scripts(&post_image, &a.script_args, &env)?;
    Ok(MakeReport {
        built: report.built,
        from_cache: report.from_cache,
        skipped: report.skipped,
        images: vec![tar, sbom],
    })
}

/// One word of `bbsdk make ...`, as Buildroot's make targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MakeTarget {
    /// `NAME_defconfig`.
    Defconfig(String),
    /// `all` (also what an empty target list means).
    All,
    /// `<pkg>`: the package and what it needs.
    Package(String),
    /// `<pkg>-rebuild`: build again from the build step.
    Rebuild(String),
    /// `<pkg>-reconfigure`: from the configure step.
    Reconfigure(String),
    /// `<pkg>-dirclean`: remove the package's build directory.
    Dirclean(String),
    Clean,
    Distclean,
    Olddefconfig,
}

impl MakeTarget {
    pub fn parse(word: &str) -> MakeTarget {
        if word.ends_with("_defconfig") {
            return MakeTarget::Defconfig(word.to_string());
        }
        match word {
            "all" => return MakeTarget::All,
            "clean" => return MakeTarget::Clean,
            "distclean" => return MakeTarget::Distclean,
            "olddefconfig" => return MakeTarget::Olddefconfig,
            _ => {}
        }
        for (suffix, make) in [
            ("-rebuild", MakeTarget::Rebuild as fn(String) -> MakeTarget),
            ("-reconfigure", MakeTarget::Reconfigure),
            ("-dirclean", MakeTarget::Dirclean),
        ] {
            if let Some(p) = word.strip_suffix(suffix) {
                return make(p.to_string());
            }
        }
        MakeTarget::Package(word.to_string())
    }
}

/// The build settings of a project (toolchain, jobs, cache).
fn build_settings(project: &Project) -> Result<BuildSettings, MakeError> {
    let (tc_env, _, _) = toolchain(project)?;
    let mut settings = BuildSettings::new(&project.paths.output, tc_env);
    settings.top = project.paths.top.clone();
    settings.jobs = project.jobs();
    if project.value("BBSDK_BINARY_CACHE") == "y" {
        settings.cache_dir = Some(project.cache_dir());
    }
    Ok(settings)
}

/// `bbsdk make <pkg>`, `<pkg>-rebuild`, `<pkg>-reconfigure`, `<pkg>-dirclean`.
pub fn package_target(paths: Paths, target: &MakeTarget) -> Result<MakeReport, MakeError> {
    let project = Project::open(paths)?;
    let plan = project.plan()?;
    let settings = build_settings(&project)?;
    let fetcher = project.fetcher()?;
    let exec = Executor::new(settings, &project.registry, &plan, &fetcher);
    let report = match target {
        MakeTarget::Package(p) => exec.build(std::slice::from_ref(p))?,
        MakeTarget::Rebuild(p) => exec.rebuild(p)?,
        MakeTarget::Reconfigure(p) => exec.reconfigure(p)?,
        MakeTarget::Dirclean(p) => {
            exec.dirclean(p)?;
            return Ok(MakeReport::default());
        }
        other => {
            return Err(MakeError::Other(format!(
                "{other:?} is not a package target"
            )))
        }
    };
    Ok(MakeReport {
        built: report.built,
        from_cache: report.from_cache,
        skipped: report.skipped,
        images: vec![],
    })
}

/// `bbsdk emerge ARGS...`: emerge with the configuration's Portage setup
/// (crossdev's `<tuple>-emerge`); returns emerge's exit code.
pub fn emerge(paths: Paths, args: &[String]) -> Result<i32, MakeError> {
    let project = Project::open(paths)?;
    let plan = project.plan()?;
    let (tc_env, _, _) = toolchain(&project)?;
    let input = crate::gentoo::input_for(&project, &plan, tc_env)?.ok_or_else(|| {
        MakeError::Other(format!(
            "{}: Gentoo ebuilds are off (BBSDK_GENTOO is not set)\n  hint: enable \"Gentoo packages > Gentoo ebuilds\" in `bbsdk menuconfig`",
            project.paths.config().display()
        ))
    })?;
    Ok(crate::gentoo::emerge_adhoc(&input, args)?)
}

/// `bbsdk make clean` / `distclean`.
pub fn clean(paths: &Paths, dist: bool) -> Result<(), MakeError> {
    if dist {
        crate::build::distclean(&paths.output)?;
    } else {
        crate::build::clean(&paths.output)?;
    }
    Ok(())
}

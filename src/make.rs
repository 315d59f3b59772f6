//! The commands that work on a configured output directory, as Buildroot's
//! make targets: the build itself (`all`), `source`, `show-info`,
//! `graph-depends`, `sbom`. Each opens the [`Project`], plans, and calls the
//! modules that do the work.

use std::path::PathBuf;
use std::process::Command;

use crate::build::{BuildSettings, Executor, ToolchainEnv};
use crate::defconfig::Paths;
use crate::image::inputs::{Inputs, Stamp};
use crate::image::tar::{write_tar, Compression, TarOptions};
use crate::info;
use crate::kconfig::write_atomic;
use crate::project::{Project, ProjectError};

/// `bbsdk source`: downloads every source the configuration needs into the
/// download directory, so a later build needs no network.
pub fn source(paths: Paths) -> Result<Vec<PathBuf>, ProjectError> {
    let project = Project::open(paths)?;
    let plan = project.plan()?;
    let mut sources = project.sources(&plan);
    // The toolchain's own sources (musl for the bbsdk-built C library).
    sources.extend(
        crate::toolchain::sources(&project.values, &project.paths.top)
            .map_err(|e| ProjectError::Config(e.to_string()))?,
    );
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
    /// Packages not built because the base image holds them (layered images).
    pub provided_by_base: Vec<String>,
    /// Nothing to do: the images on disk were made from the same inputs.
    pub images_up_to_date: bool,
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
    Image(#[from] crate::image::ImageError),
    #[error(transparent)]
    Push(#[from] crate::image::push::PushError),
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

/// The cross toolchain the configuration asks for, as a build environment:
/// the environment, the strip program, the toolchain's identity (for the
/// packages' identities) and where the target's runtime libraries come from.
pub struct PreparedToolchain {
    pub env: ToolchainEnv,
    pub strip: Option<PathBuf>,
    pub identity: String,
    pub runtime_lib_dirs: Vec<PathBuf>,
}

fn toolchain(project: &Project) -> Result<PreparedToolchain, MakeError> {
    let fetcher = project.fetcher()?;
    let cache_dir = project.cache_dir();
    let p = crate::toolchain::prepare(&crate::toolchain::Setup {
        target: &project.target,
        values: &project.values,
        top: &project.paths.top,
        output: &project.paths.output,
        cache_dir: &cache_dir,
        fetcher: &fetcher,
        jobs: project.jobs(),
    })?;
    let work = project.paths.output.join("build").join(".toolchain-probe");
    let host = ToolchainEnv::host_gcc_cached(&work).map_err(MakeError::Other)?;
    Ok(PreparedToolchain {
        env: ToolchainEnv {
            target: p.toolchain.env(),
            host: host.host,
            target_tuple: p.toolchain.prefix.clone(),
            host_tuple: host.host_tuple,
        },
        strip: p.toolchain.tools.get("strip").cloned(),
        identity: p.identity(),
        runtime_lib_dirs: p.runtime_lib_dirs,
    })
    .inspect(|t| project.set_toolchain_identity(t.identity.clone()))
}

/// `SOURCE_DATE_EPOCH`: the environment's, else `BBSDK_SOURCE_DATE_EPOCH`,
/// else the time of the bbsdk tree's last commit (remembered per commit),
/// else 0.
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
    let top = &project.paths.top;
    let key = crate::memo::git_head(top).map(|id| format!("{}\n{id}", top.display()));
    let file = project
        .paths
        .output
        .join("build/.toolchain-probe/git-epoch.json");
    crate::memo::remember(key, &file, || {
        Ok::<u64, ()>(
            Command::new("git")
                .arg("-C")
                .arg(top)
                .args(["log", "-1", "--format=%ct"])
                .output()
                .ok()
                .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
                .unwrap_or(0),
        )
    })
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
    let tc = toolchain(&project)?;
    let plan = project.plan()?;
    let strip = tc.strip.clone();
    let mut image_settings = crate::image::ImageSettings::from_values(
        &project.values,
        &project.target,
        &project.paths.top,
        &project.paths.output,
        source_date_epoch(&project),
    )?;
    // A layered image's base already holds some packages: they are neither
    // built again (unless another package needs their headers) nor added.
    let provided = crate::image::provided_by_base(&image_settings, &plan)?;
    let build_plan = crate::image::plan_without(&plan, &provided);
    let top = project.paths.top.clone();
    let output = project.paths.output.clone();
    let gentoo_input =
        crate::gentoo::input_for(&project, &plan, tc.env.clone(), tc.identity.clone())?;
    let mut settings = BuildSettings::new(&output, tc.env.clone());
    settings.top = top.clone();
    settings.jobs = project.jobs();
    if project.value("BBSDK_BINARY_CACHE") == "y" {
        settings.cache_dir = Some(project.cache_dir());
    }
    let fetcher = project.fetcher()?;
    let exec = Executor::new(settings, &project.registry, &build_plan, &fetcher);
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
    a.package_trees = build_plan
        .nodes
        .iter()
        .filter(|n| n.variant == crate::package::Variant::Target && !provided.contains(&n.name))
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
    a.runtime_lib_dirs = tc.runtime_lib_dirs.clone();
    a.salt_seed = std::fs::read(project.paths.config()).unwrap_or_default();
    if let Some(g) = &gentoo {
        a.package_trees.push(g.image.clone());
        a.device_tables.push(TableSource::inline(
            "Gentoo packages' owners",
            &g.permissions,
        ));
    }
    let post_image: Vec<PathBuf> = words(project.value("BBSDK_ROOTFS_POST_IMAGE_SCRIPT"))
        .iter()
        .map(|s| top.join(s))
        .collect();
    let epoch = image_settings.source_date_epoch;
    image_settings.packages = plan
        .nodes
        .iter()
        .filter(|n| n.variant == crate::package::Variant::Target)
        .map(|n| (n.name.clone(), n.identity.clone()))
        .collect();

    // Nothing built and the same inputs as the last complete run: the root
    // and the images on disk are what this run would write.
    let stamp = Stamp::new(output.join("build").join(".bbsdk-images-stamp"));
    let digest = image_inputs(&a, &post_image, &layout.manifest(), epoch, &image_settings);
    let unchanged = report.built.is_empty()
        && report.from_cache.is_empty()
        && !gentoo.as_ref().is_some_and(|g| g.changed);
    if let Some(images) = unchanged.then(|| stamp.fresh(&digest)).flatten() {
        return Ok(MakeReport {
            built: report.built,
            from_cache: report.from_cache,
            skipped: report.skipped,
            images,
            images_up_to_date: true,
            provided_by_base: provided.into_iter().collect(),
        });
    }
    stamp.clear();
    let manifest = rootfs::assemble(&a)?;

    // rootfs.tar and the SBOM.
    let (compression, suffix) = match () {
        _ if project.value("BBSDK_TARGET_ROOTFS_TAR_GZIP") == "y" => (Compression::Gzip, ".gz"),
        _ if project.value("BBSDK_TARGET_ROOTFS_TAR_BZIP2") == "y" => (Compression::Bzip2, ".bz2"),
        _ if project.value("BBSDK_TARGET_ROOTFS_TAR_XZ") == "y" => (Compression::Xz, ".xz"),
        _ if project.value("BBSDK_TARGET_ROOTFS_TAR_ZSTD") == "y" => (Compression::Zstd, ".zst"),
        _ => (Compression::None, ""),
    };
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
    let mut images = vec![tar, sbom];
    images.extend(crate::image::write_images(
        &manifest,
        &image_settings,
        &layout.images(),
    )?);
    rootfs::run_post_image_scripts(&post_image, &a.script_args, &env)?;
    stamp
        .record(&digest, &images)
        .map_err(|e| MakeError::Other(format!("{}: {e}", output.display())))?;
    Ok(MakeReport {
        built: report.built,
        from_cache: report.from_cache,
        skipped: report.skipped,
        images,
        images_up_to_date: false,
        provided_by_base: provided.into_iter().collect(),
    })
}

/// The fingerprint of what the root and the images are made from: the
/// configuration (it holds every setting `a` was made from), the merged
/// packages and their identities, the files and directories the settings
/// name, the base image of a layered image, the epoch and bbsdk itself.
fn image_inputs(
    a: &crate::rootfs::AssembleSettings,
    post_image: &[PathBuf],
    merged: &std::path::Path,
    epoch: u64,
    images: &crate::image::ImageSettings,
) -> String {
    let mut i = Inputs::new();
    // A layered image changes with its base.
    if let Some((base, _)) = &images.base {
        i.tree(base);
    }
    i.this_program();
    i.value("epoch", epoch.to_string().as_bytes());
    i.value("config", &a.salt_seed);
    i.value("merged", &std::fs::read(merged).unwrap_or_default());
    let tables = a.users_tables.iter().chain(&a.device_tables);
    for t in tables {
        match t {
            crate::rootfs::TableSource::File(p) => i.tree(p),
            other => i.value("inline table", format!("{other:?}").as_bytes()),
        }
    }
    let paths = a
        .skeleton
        .iter()
        .chain(&a.overlays)
        .chain(&a.post_build_scripts)
        .chain(post_image);
    for p in paths {
        i.tree(p);
    }
    i.digest()
}

/// `bbsdk push REF`: sends the image the configuration names (its tag in
/// the OCI layout) to a registry. Credentials come from
/// `BBSDK_REGISTRY_USER` / `BBSDK_REGISTRY_PASSWORD`.
pub fn push(
    paths: Paths,
    reference: &str,
    insecure: bool,
) -> Result<crate::image::push::PushReport, MakeError> {
    let project = Project::open(paths)?;
    let settings = crate::image::ImageSettings::from_values(
        &project.values,
        &project.target,
        &project.paths.top,
        &project.paths.output,
        0,
    )?;
    let Some(spec) = settings.spec.filter(|_| settings.oci) else {
        return Err(MakeError::Other(
            "bbsdk push sends the OCI image, and this configuration writes none\n  hint: enable BBSDK_IMAGE_OCI (Images > OCI image layout) and run `bbsdk make`".into(),
        ));
    };
    let credentials = match (
        std::env::var("BBSDK_REGISTRY_USER"),
        std::env::var("BBSDK_REGISTRY_PASSWORD"),
    ) {
        (Ok(u), Ok(p)) if !u.is_empty() => Some((u, p)),
        _ => None,
    };
    Ok(crate::image::push::push(
        &settings.oci_layout,
        &spec.tag,
        reference,
        &crate::image::push::PushOptions {
            insecure,
            credentials,
        },
    )?)
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
    /// `<pkg>-menuconfig`: our menuconfig over a kconfig package's tree.
    PkgMenuconfig(String),
    /// `<pkg>-savedefconfig`: its minimal config into its build directory.
    PkgSavedefconfig(String),
    /// `<pkg>-update-config`: the minimal config back to the package's config file.
    PkgUpdateConfig(String),
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
            ("-menuconfig", MakeTarget::PkgMenuconfig),
            ("-savedefconfig", MakeTarget::PkgSavedefconfig),
            ("-update-config", MakeTarget::PkgUpdateConfig),
        ] {
            if let Some(p) = word.strip_suffix(suffix) {
                return make(p.to_string());
            }
        }
        MakeTarget::Package(word.to_string())
    }
}

/// The build settings of a project (toolchain, jobs, cache) and its plan,
/// made after the toolchain is ready so the packages' identities hold the
/// toolchain's identity.
fn build_settings(project: &Project) -> Result<(BuildSettings, crate::plan::Plan), MakeError> {
    let tc = toolchain(project)?;
    let plan = project.plan()?;
    let mut settings = BuildSettings::new(&project.paths.output, tc.env);
    settings.top = project.paths.top.clone();
    settings.jobs = project.jobs();
    if project.value("BBSDK_BINARY_CACHE") == "y" {
        settings.cache_dir = Some(project.cache_dir());
    }
    Ok((settings, plan))
}

/// `bbsdk make <pkg>`, `<pkg>-rebuild`, `<pkg>-reconfigure`, `<pkg>-dirclean`.
pub fn package_target(paths: Paths, target: &MakeTarget) -> Result<MakeReport, MakeError> {
    let project = Project::open(paths)?;
    let (settings, plan) = build_settings(&project)?;
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
        images_up_to_date: false,
        provided_by_base: vec![],
    })
}

/// `bbsdk emerge ARGS...`: emerge with the configuration's Portage setup
/// (crossdev's `<tuple>-emerge`); returns emerge's exit code.
pub fn emerge(paths: Paths, args: &[String]) -> Result<i32, MakeError> {
    let project = Project::open(paths)?;
    let tc = toolchain(&project)?;
    let plan = project.plan()?;
    let input = crate::gentoo::input_for(&project, &plan, tc.env, tc.identity)?.ok_or_else(|| {
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

/// A kconfig package's tree, extracted and configured, with what
/// `<pkg>-update-config` needs to know.
struct PackageKconfig {
    tree: crate::build::kconfig_pkg::KconfigTree,
    /// The file named by the package's config symbol, under the tree's top.
    config_file: PathBuf,
    /// Its fragment files, when the configuration names some.
    fragments: String,
}

fn package_kconfig(project: &Project, pkg: &str) -> Result<PackageKconfig, MakeError> {
    let (settings, plan) = build_settings(project)?;
    let fetcher = project.fetcher()?;
    let exec = Executor::new(settings, &project.registry, &plan, &fetcher);
    let tree = exec.kconfig_tree(pkg)?;
    let k = project
        .registry
        .resolve(pkg)
        .ok()
        .and_then(|(p, _)| p.recipe.build.kconfig.clone())
        .ok_or_else(|| MakeError::Other(format!("{pkg} is not a kconfig package")))?;
    let frag = k
        .fragments_symbol
        .as_deref()
        .map(|s| project.value(s).to_string())
        .unwrap_or_default();
    Ok(PackageKconfig {
        tree,
        config_file: project.paths.top.join(project.value(&k.config_symbol)),
        fragments: frag,
    })
}

/// `bbsdk make <pkg>-menuconfig`: extracts and configures the package, then
/// opens bbsdk's menuconfig over its Kconfig tree and its `.config` in the
/// build directory. A saved change makes the next `<pkg>-rebuild` compile
/// again; `<pkg>-update-config` keeps it for good.
pub fn package_menuconfig(paths: Paths, pkg: &str) -> Result<crate::tui::Exit, MakeError> {
    let project = Project::open(paths)?;
    let k = package_kconfig(&project, pkg)?;
    let tree = k.tree.load().map_err(ProjectError::from)?;
    let exit = crate::tui::run(
        tree,
        &k.tree.config,
        crate::build::kconfig_pkg::PACKAGE_PREFIX,
    )
    .map_err(|e| MakeError::Other(format!("{pkg}-menuconfig: {e:#}")))?;
    if matches!(exit, crate::tui::Exit::Saved(_)) {
        let (settings, plan) = build_settings(&project)?;
        let fetcher = project.fetcher()?;
        let exec = Executor::new(settings, &project.registry, &plan, &fetcher);
        exec.config_edited(pkg)?;
    }
    Ok(exit)
}

/// `bbsdk make <pkg>-savedefconfig`: writes the package's minimal
/// configuration to `defconfig` in its build directory; returns that path.
pub fn package_savedefconfig(paths: Paths, pkg: &str) -> Result<PathBuf, MakeError> {
    let project = Project::open(paths)?;
    let k = package_kconfig(&project, pkg)?;
    let out = k.tree.base_dir.join("defconfig");
    k.tree.savedefconfig(&out).map_err(ProjectError::from)?;
    Ok(out)
}

/// `bbsdk make <pkg>-update-config`: writes the package's minimal
/// configuration back to the file its config symbol names (keeping that
/// file's leading comment block); returns that path.
pub fn package_update_config(paths: Paths, pkg: &str) -> Result<PathBuf, MakeError> {
    let project = Project::open(paths)?;
    let k = package_kconfig(&project, pkg)?;
    if !k.fragments.trim().is_empty() {
        return Err(MakeError::Other(format!(
            "{pkg}-update-config: the configuration also applies fragment files ({}); their lines would end up in {}\n  hint: empty the fragments option in `bbsdk menuconfig`, or save with `bbsdk make {pkg}-savedefconfig` and edit by hand",
            k.fragments.trim(),
            k.config_file.display()
        )));
    }
    let mut cfg = k.tree.config().map_err(ProjectError::from)?;
    let header: String = std::fs::read_to_string(&k.config_file)
        .unwrap_or_default()
        .lines()
        .take_while(|l| {
            l.starts_with('#') && !(l.starts_with("# CONFIG_") && l.ends_with(" is not set"))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let text = header + &cfg.savedefconfig();
    write_atomic(&k.config_file, text.as_bytes(), false).map_err(ProjectError::from)?;
    Ok(k.config_file)
}

//! The build executor: builds the packages of a [`Plan`] in parallel, each in
//! its own build directory and per-package output directories, through the
//! build-system infrastructures, with per-package logs and a binary cache
//! keyed by the packages' identity hashes; then merges the per-package
//! outputs into `<output>/{staging,target,host}`.
//!
//! It gets plain data (the plan, the registry, [`BuildSettings`] with the
//! toolchain's variables) and never reads the configuration itself. See
//! docs/build.md.
//!
//! ```no_run
//! # use bbsdk::build::{BuildSettings, Executor, ToolchainEnv};
//! # fn f(registry: &bbsdk::package::Registry, plan: &bbsdk::plan::Plan,
//! #      fetcher: &bbsdk::fetch::Fetcher) -> Result<(), Box<dyn std::error::Error>> {
//! let mut settings = BuildSettings::new("output", ToolchainEnv::host_gcc()?);
//! settings.cache_dir = Some("/var/cache/bbsdk/pkg".into());
//! let report = Executor::new(settings, registry, plan, fetcher).build_all()?;
//! println!("built {:?}, from the cache {:?}", report.built, report.from_cache);
//! # Ok(()) }
//! ```

mod cache;
mod env;
mod error;
mod infra;
mod jobs;
pub mod kconfig_pkg;
mod layout;
mod lock;
mod progress;
mod steps;
pub(crate) mod tree;

pub use error::{BuildError, Step};
pub use layout::{Layout, TREES};
pub use lock::{OutputLock, LOCK_FILE};

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::fetch::Fetcher;
use crate::package::{Package, Registry, Variant};
use crate::plan::{Node, Plan};

use cache::Cache;
use env::Env;
use jobs::Jobs;
use progress::Progress;
use steps::{Mode, Outcome};

/// The toolchain part of the build environment, computed by the toolchain
/// module (or by hand): variables exported to every target build (`CC`,
/// `CXX`, `AR`, `LD`, `CFLAGS`, `LDFLAGS`, ...) and to every host build,
/// and the GNU tuples.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolchainEnv {
    pub target: BTreeMap<String, String>,
    pub host: BTreeMap<String, String>,
    /// `--host=` of target builds, `TARGET_TUPLE`.
    pub target_tuple: String,
    /// `--build=` of target builds, `HOST_TUPLE`.
    pub host_tuple: String,
}

impl ToolchainEnv {
    /// The host's `gcc` for both target and host builds (a native "cross"
    /// toolchain: what the tests use). The tuple is `gcc -dumpmachine`.
    pub fn host_gcc() -> Result<ToolchainEnv, String> {
        let out = std::process::Command::new("gcc")
            .arg("-dumpmachine")
            .output()
            .map_err(|e| {
                format!(
                    "cannot run gcc -dumpmachine: {e}\n  hint: install gcc (scripts/setup-host.sh)"
                )
            })?;
        if !out.status.success() {
            return Err(format!("gcc -dumpmachine failed ({})", out.status));
        }
        Ok(Self::host_gcc_for(
            String::from_utf8_lossy(&out.stdout).trim(),
        ))
    }

    /// As [`ToolchainEnv::host_gcc`], with `gcc -dumpmachine` remembered
    /// in `work` (see [`crate::toolchain::cached_output`]).
    pub fn host_gcc_cached(work: &Path) -> Result<ToolchainEnv, String> {
        let tuple = crate::toolchain::cached_output(Path::new("gcc"), &["-dumpmachine"], work)
            .map_err(|e| format!("{e}\n  hint: install gcc (scripts/setup-host.sh)"))?;
        Ok(Self::host_gcc_for(&tuple))
    }

    fn host_gcc_for(tuple: &str) -> ToolchainEnv {
        let tuple = tuple.to_string();
        let vars: BTreeMap<String, String> = [
            ("CC", "gcc"),
            ("CXX", "g++"),
            ("AR", "ar"),
            ("LD", "ld"),
            ("RANLIB", "ranlib"),
            ("STRIP", "strip"),
            ("CFLAGS", "-O2"),
            ("CXXFLAGS", "-O2"),
            ("LDFLAGS", ""),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        ToolchainEnv {
            target: vars.clone(),
            host: vars,
            target_tuple: tuple.clone(),
            host_tuple: tuple,
        }
    }
}

/// Plain settings of a build.
#[derive(Debug, Clone)]
pub struct BuildSettings {
    /// The output directory (Buildroot's `O=`).
    pub output: PathBuf,
    /// The binary cache directory; `None`: no binary cache.
    pub cache_dir: Option<PathBuf>,
    /// Jobserver tokens: packages and compile jobs running at once.
    pub jobs: usize,
    pub toolchain: ToolchainEnv,
    /// The bbsdk tree's top (`BBSDK_TOP`; kconfig configuration files are relative to it).
    pub top: PathBuf,
    /// Draw spinners on stderr (the one-line summaries are always printed).
    pub progress: bool,
}

impl BuildSettings {
    /// Defaults: no binary cache, one job per CPU, top = the current
    /// directory, spinners when stderr is a terminal.
    pub fn new(output: impl Into<PathBuf>, toolchain: ToolchainEnv) -> BuildSettings {
        BuildSettings {
            output: output.into(),
            cache_dir: None,
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            toolchain,
            top: PathBuf::from("."),
            progress: io::stderr().is_terminal(),
        }
    }
}

/// What a build did, by package (plan node) name, in plan order.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Built from source in this run.
    pub built: Vec<String>,
    /// Unpacked from the binary cache.
    pub from_cache: Vec<String>,
    /// Already up to date: nothing done.
    pub skipped: Vec<String>,
    /// Wall time of each package built or restored.
    pub durations: BTreeMap<String, Duration>,
    /// Whether `<output>/{staging,target,host}` were re-assembled.
    pub merged: bool,
}

/// Builds the packages of a plan into an output directory.
pub struct Executor<'a> {
    settings: BuildSettings,
    registry: &'a Registry,
    plan: &'a Plan,
    fetcher: &'a Fetcher,
    layout: Layout,
    /// `<output>/host`: the prefix of host packages.
    host_dir: PathBuf,
    base_env: Env,
    cache: Option<Cache>,
    progress: Progress,
    /// Serialises merges into `<output>/host` during a run.
    host_merge: Mutex<()>,
}

impl<'a> Executor<'a> {
    pub fn new(
        mut settings: BuildSettings,
        registry: &'a Registry,
        plan: &'a Plan,
        fetcher: &'a Fetcher,
    ) -> Executor<'a> {
        settings.output = absolute(&settings.output);
        settings.top = absolute(&settings.top);
        settings.jobs = settings.jobs.max(1);
        let layout = Layout::new(settings.output.clone());
        let cache = settings.cache_dir.as_ref().map(|d| Cache::new(absolute(d)));
        Executor {
            host_dir: layout.host(),
            progress: Progress::new(settings.progress),
            settings,
            registry,
            plan,
            fetcher,
            layout,
            base_env: env::base_env(),
            cache,
            host_merge: Mutex::new(()),
        }
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Builds every package of the plan.
    pub fn build_all(&self) -> Result<Report, BuildError> {
        let all: Vec<usize> = (0..self.plan.nodes.len()).collect();
        self.run(&all, None)
    }

    /// `bbsdk make <pkg>...`: those packages and what they need (build and
    /// runtime dependencies).
    pub fn build(&self, names: &[String]) -> Result<Report, BuildError> {
        let mut want = BTreeSet::new();
        for n in names {
            let i = self.index_of(n)?;
            want.extend(self.closure(i, true));
        }
        let want: Vec<usize> = want.into_iter().collect();
        self.run(&want, None)
    }

    /// `<pkg>-rebuild`: runs the package's build and install steps again
    /// (with the configure step's results kept), whatever its stamps and
    /// the binary cache say. Dependents are not rebuilt.
    pub fn rebuild(&self, name: &str) -> Result<Report, BuildError> {
        let i = self.index_of(name)?;
        self.run(&self.closure(i, false), Some((i, Mode::Rebuild)))
    }

    /// `<pkg>-reconfigure`: like `rebuild`, from the configure step.
    pub fn reconfigure(&self, name: &str) -> Result<Report, BuildError> {
        let i = self.index_of(name)?;
        self.run(&self.closure(i, false), Some((i, Mode::Reconfigure)))
    }

    /// `<pkg>-dirclean`: removes the package's build directory and its
    /// per-package outputs. The next build restores it from the binary
    /// cache when the cache has it, else builds it from scratch.
    pub fn dirclean(&self, name: &str) -> Result<(), BuildError> {
        let i = self.index_of(name)?;
        let _lock = OutputLock::acquire(self.layout.output())?;
        let node = &self.plan.nodes[i];
        let pkg = self.package_of(node)?;
        let manifest = self.layout.manifest();
        for p in [
            manifest,
            self.layout.build_dir(&node.name, &pkg.recipe.version),
            self.layout.per_package(&node.name),
        ] {
            // Recipes are checked when loaded; never remove anything
            // outside the output directory whatever a registry holds.
            if !self.layout.contains(&p) {
                return Err(BuildError::Recipe {
                    package: name.to_string(),
                    msg: format!(
                        "dirclean refused: {} is not inside the output directory {}",
                        p.display(),
                        self.layout.output().display()
                    ),
                    hint:
                        "the package's name and version must be plain names (see docs/recipes.md)"
                            .into(),
                });
            }
            tree::remove_all(&p).map_err(|e| BuildError::io(format!("{name}: dirclean"), &p, e))?;
        }
        Ok(())
    }

    /// The Kconfig tree of kconfig-infrastructure package `name`, ready for
    /// `<pkg>-menuconfig` and friends: its build dependencies are built,
    /// its sources extracted and patched, and its `.config` made (unless
    /// the build directory already has one, which may hold the user's
    /// edits). Nothing is built or installed.
    pub fn kconfig_tree(&self, name: &str) -> Result<kconfig_pkg::KconfigTree, BuildError> {
        let i = self.index_of(name)?;
        let node = &self.plan.nodes[i];
        let pkg = self.package_of(node)?;
        let Some(k) = &pkg.recipe.build.kconfig else {
            return Err(BuildError::Recipe {
                package: name.to_string(),
                msg: "is not a kconfig package: it has no Kconfig tree to configure".into(),
                hint: "menuconfig, savedefconfig and update-config exist for packages with `system = \"kconfig\"` and a [build.kconfig] table (busybox)".into(),
            });
        };
        let deps: Vec<usize> = self
            .closure(i, false)
            .into_iter()
            .filter(|&d| d != i)
            .collect();
        if !deps.is_empty() {
            self.run(&deps, None)?;
        }
        let _lock = OutputLock::acquire(self.layout.output())?;
        let jobs = Jobs::new(self.settings.jobs).map_err(BuildError::Jobserver)?;
        let bar = self
            .progress
            .start(&format!("{name} {}", pkg.recipe.version));
        let r = self.run_package(i, Mode::ConfigureOnly, &jobs, &bar);
        self.progress.finish(&bar);
        r?;
        let paths = steps::Paths::new(self, node, pkg);
        Ok(kconfig_pkg::KconfigTree {
            kconfig: paths.src_dir.join(&k.kconfig_file),
            base_dir: paths.src_dir.clone(),
            config: paths.obj_dir.join(".config"),
        })
    }

    /// After the user edited a package's `.config` in its build directory:
    /// the next `<pkg>-rebuild` compiles again (the configure step is kept).
    pub fn config_edited(&self, name: &str) -> Result<(), BuildError> {
        let i = self.index_of(name)?;
        let node = &self.plan.nodes[i];
        let pkg = self.package_of(node)?;
        let stamp = self
            .layout
            .build_dir(&node.name, &pkg.recipe.version)
            .join(steps::STAMP_BUILT);
        match std::fs::remove_file(&stamp) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                Err(BuildError::io(format!("{name}: menuconfig"), &stamp, e))
            }
            _ => Ok(()),
        }
    }

    /// Downloads the sources of every planned package (`bbsdk make source`).
    pub fn source(&self) -> Result<Vec<PathBuf>, BuildError> {
        let mut srcs = Vec::new();
        for node in &self.plan.nodes {
            let pkg = self.package_of(node)?;
            for s in &pkg.recipe.sources {
                srcs.push(crate::fetch::Source {
                    file_name: s.file.clone(),
                    urls: s.urls.clone(),
                    sha256: s.sha256.get_ref().clone(),
                    debian: s.debian.as_ref().map(|d| crate::fetch::DebianSource {
                        package: d.package.clone(),
                        version: d.version.clone(),
                        file: d.file.clone(),
                    }),
                });
            }
        }
        self.fetcher
            .fetch_all(&srcs, self.settings.jobs)
            .map_err(|e| BuildError::Fetch {
                package: "source".into(),
                step: Step::Fetch,
                source: e,
            })
    }

    fn index_of(&self, name: &str) -> Result<usize, BuildError> {
        if let Some(&i) = self.plan.index.get(name) {
            return Ok(i);
        }
        let (base, _) = crate::package::split_variant(name);
        let hint = match self.registry.packages.get(base) {
            Some(p) => format!(
                "select it in the configuration ({}=y in `bbsdk menuconfig`), or make a selected package depend on it",
                p.symbol()
            ),
            None => format!("there is no recipe package/{base}/{base}.toml"),
        };
        Err(BuildError::NotPlanned {
            name: name.to_string(),
            hint,
        })
    }

    pub(crate) fn package_of(&self, node: &Node) -> Result<&'a Package, BuildError> {
        let registry: &'a Registry = self.registry;
        registry
            .packages
            .get(&node.package)
            .ok_or_else(|| BuildError::Recipe {
                package: node.name.clone(),
                msg: format!(
                    "the plan names package \"{}\" but the registry has no such recipe",
                    node.package
                ),
                hint: "make the plan from the same registry".into(),
            })
    }

    /// Node `i` and what it needs, in plan order: build dependencies, and
    /// with `runtime` also runtime dependencies, transitively.
    fn closure(&self, i: usize, runtime: bool) -> Vec<usize> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![i];
        while let Some(n) = stack.pop() {
            if seen.insert(n) {
                let node = &self.plan.nodes[n];
                stack.extend(&node.build_deps);
                if runtime {
                    stack.extend(&node.runtime_deps);
                }
            }
        }
        seen.into_iter().collect()
    }

    /// The binary-cache key of a node: its identity for target packages.
    /// Host packages are built with `--prefix=<output>/host`, which their
    /// files may embed, so their key also covers that directory.
    pub(crate) fn cache_key(&self, node: &Node) -> String {
        match node.variant {
            Variant::Target => node.identity.clone(),
            Variant::Host => {
                let mut h = Sha256::new();
                h.update(b"bbsdk-host-cache-1\0");
                h.update(node.identity.as_bytes());
                h.update(b"\0");
                h.update(self.host_dir.as_os_str().as_encoded_bytes());
                hex::encode(h.finalize())
            }
        }
    }

    pub(crate) fn progress_line(&self, msg: &str) {
        self.progress.line(msg);
    }

    fn up_to_date(&self, node: &Node) -> bool {
        let stamp = self.layout.per_package(&node.name).join("identity");
        matches!(tree::read_optional(&stamp), Ok(Some(s)) if s.trim_end() == node.identity)
    }

    fn run(&self, wanted: &[usize], forced: Option<(usize, Mode)>) -> Result<Report, BuildError> {
        let _lock = OutputLock::acquire(self.layout.output())?;
        let n = self.plan.nodes.len();
        // Nodes listed by the manifest of the last merge are up to date
        // without reading their stamps: every run that changes per-package
        // outputs removes the manifest first (as dirclean does).
        let manifest = tree::read_optional(&self.layout.manifest())
            .ok()
            .flatten()
            .filter(|_| TREES.iter().all(|t| self.layout.output().join(t).is_dir()))
            .unwrap_or_default();
        let merged: BTreeMap<&str, &str> =
            manifest.lines().filter_map(|l| l.split_once(' ')).collect();
        let mut current: Vec<bool> = self
            .plan
            .nodes
            .iter()
            .map(|nd| {
                merged.get(nd.name.as_str()) == Some(&nd.identity.as_str()) || self.up_to_date(nd)
            })
            .collect();
        let mut report = Report::default();
        let mut todo = Vec::new();
        for &i in wanted {
            let is_forced = forced.is_some_and(|(f, _)| f == i);
            if current[i] && !is_forced {
                report.skipped.push(self.plan.nodes[i].name.clone());
            } else {
                current[i] = false;
                todo.push(i);
            }
        }
        if !todo.is_empty() {
            // From here on the merged directories may not match the manifest.
            let mpath = self.layout.manifest();
            tree::remove_all(&mpath)
                .map_err(|e| BuildError::io("assembling the output directories", &mpath, e))?;
            if let Some(cache) = &self.cache {
                // What killed writers left; a cache that cannot be swept
                // costs disk space, not this build.
                if let Err(e) = cache.remove_stale() {
                    self.progress
                        .line(&format!(">>> warning: binary cache: {e}"));
                }
            }
            let mut done = vec![false; n];
            for &i in wanted {
                done[i] = current[i];
            }
            let mut outcomes = Vec::new();
            let result = self.schedule(&todo, &mut done, forced, &mut outcomes);
            for (i, outcome, dt) in outcomes {
                let name = self.plan.nodes[i].name.clone();
                current[i] = true;
                report.durations.insert(name.clone(), dt);
                match outcome {
                    Outcome::Built => report.built.push(name),
                    Outcome::FromCache => report.from_cache.push(name),
                }
            }
            result?;
            let order =
                |v: &mut Vec<String>| v.sort_by_key(|name| self.plan.index.get(name).copied());
            order(&mut report.built);
            order(&mut report.from_cache);
        }
        let changed = !report.built.is_empty() || !report.from_cache.is_empty();
        report.merged = self.merge_final(&current, changed, &manifest)?;
        Ok(report)
    }

    /// Runs the packages of `todo` (plan order), each when its build
    /// dependencies are done, at most `jobs` at a time (one jobserver token each).
    fn schedule(
        &self,
        todo: &[usize],
        done: &mut [bool],
        forced: Option<(usize, Mode)>,
        outcomes: &mut Vec<(usize, Outcome, Duration)>,
    ) -> Result<(), BuildError> {
        let jobs = Jobs::new(self.settings.jobs).map_err(BuildError::Jobserver)?;
        let mut pending: Vec<usize> = todo.to_vec();
        let mut errors: Vec<BuildError> = Vec::new();
        type Msg = (usize, Result<Outcome, BuildError>, Duration);
        let (tx, rx) = mpsc::channel::<Msg>();
        let mut handle = |msg: Msg, done: &mut [bool], errors: &mut Vec<BuildError>| match msg {
            (i, Ok(o), dt) => {
                done[i] = true;
                outcomes.push((i, o, dt));
            }
            (_, Err(e), _) => errors.push(e),
        };
        std::thread::scope(|scope| {
            let mut running = 0usize;
            loop {
                while let Ok(msg) = rx.try_recv() {
                    running -= 1;
                    handle(msg, done, &mut errors);
                }
                let ready = if errors.is_empty() {
                    pending
                        .iter()
                        .position(|&i| self.plan.nodes[i].build_deps.iter().all(|&d| done[d]))
                } else {
                    None
                };
                if let Some(pos) = ready {
                    let token = match jobs.acquire() {
                        Ok(t) => t,
                        Err(e) => {
                            errors.push(BuildError::Jobserver(e));
                            continue;
                        }
                    };
                    let i = pending.remove(pos);
                    let mode = match forced {
                        Some((f, m)) if f == i => m,
                        _ => Mode::Normal,
                    };
                    running += 1;
                    let tx = tx.clone();
                    let jobs = &jobs;
                    scope.spawn(move || {
                        let t0 = Instant::now();
                        let r = self.package_job(i, mode, jobs);
                        drop(token);
                        let _ = tx.send((i, r, t0.elapsed()));
                    });
                    continue;
                }
                if running == 0 {
                    break;
                }
                match rx.recv() {
                    Ok(msg) => {
                        running -= 1;
                        handle(msg, done, &mut errors);
                    }
                    Err(_) => break,
                }
            }
        });
        if errors.is_empty() && !pending.is_empty() {
            // Cannot happen with a plan's closure; never end silently.
            let names: Vec<&str> = pending
                .iter()
                .map(|&i| self.plan.nodes[i].name.as_str())
                .collect();
            errors.push(BuildError::Recipe {
                package: names.join(", "),
                msg: "never became ready: a build dependency is outside this build".into(),
                hint: "make the plan with plan::plan, whose nodes list their dependencies first"
                    .into(),
            });
        }
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(BuildError::Several(errors)),
        }
    }

    /// One package with its spinner and summary line.
    fn package_job(&self, i: usize, mode: Mode, jobs: &Jobs) -> Result<Outcome, BuildError> {
        let node = &self.plan.nodes[i];
        let version = self
            .registry
            .packages
            .get(&node.package)
            .map(|p| p.recipe.version.as_str())
            .unwrap_or("");
        let bar = self.progress.start(&format!("{} {version}", node.name));
        let t0 = Instant::now();
        let r = self.run_package(i, mode, jobs, &bar);
        self.progress.finish(&bar);
        let line = match &r {
            Ok(Outcome::Built) => format!(
                ">>> {} {version} built in {}",
                node.name,
                progress::human(t0.elapsed())
            ),
            Ok(Outcome::FromCache) => format!(">>> {} {version} from cache", node.name),
            Err(_) => format!(">>> {} FAILED", node.name),
        };
        self.progress.line(&line);
        r
    }

    /// Links the outputs of node `idx`'s build dependencies (transitively)
    /// into `view/staging` (target packages' staging) and `view/host` (host
    /// packages' host).
    pub(crate) fn assemble_view(&self, idx: usize, view: &Path) -> io::Result<()> {
        tree::remove_all(view)?;
        let staging = view.join("staging");
        let host = view.join("host");
        std::fs::create_dir_all(&staging)?;
        std::fs::create_dir_all(&host)?;
        for d in self.closure(idx, false) {
            if d == idx {
                continue;
            }
            let node = &self.plan.nodes[d];
            let pp = self.layout.per_package(&node.name);
            // Views stay writable: no `apply_modes`.
            let mut modes = Vec::new();
            match node.variant {
                Variant::Target => tree::link_tree(&pp.join("staging"), &staging, &mut modes)?,
                Variant::Host => tree::link_tree(&pp.join("host"), &host, &mut modes)?,
            }
        }
        Ok(())
    }

    /// Adds a host package's files to `<output>/host` right away: host tools
    /// find their data files under their prefix while later packages build.
    pub(crate) fn merge_host_now(&self, pp_host: &Path) -> io::Result<()> {
        let _guard = self.host_merge.lock().unwrap_or_else(|p| p.into_inner());
        // The merged directories no longer match the manifest.
        tree::remove_all(&self.layout.manifest())?;
        // Stays writable until the final merge: no `apply_modes`.
        tree::link_tree(pp_host, &self.host_dir, &mut Vec::new())
    }

    /// Re-assembles `<output>/{staging,target,host}` from the per-package
    /// outputs of the planned packages that are up to date, in plan order,
    /// unless nothing changed since the last merge. Each tree is built
    /// beside the old one and swapped in by renames.
    fn merge_final(&self, current: &[bool], changed: bool, old: &str) -> Result<bool, BuildError> {
        let merge_err =
            |p: &Path, e: io::Error| BuildError::io("assembling the output directories", p, e);
        let nodes: Vec<&Node> = self
            .plan
            .nodes
            .iter()
            .zip(current)
            .filter(|(_, &c)| c)
            .map(|(n, _)| n)
            .collect();
        let mut manifest = String::new();
        for n in &nodes {
            manifest.push_str(&n.name);
            manifest.push(' ');
            manifest.push_str(&n.identity);
            manifest.push('\n');
        }
        let mpath = self.layout.manifest();
        // `old` is empty when the manifest is missing or a merged tree is.
        if !changed && !old.is_empty() && old == manifest {
            return Ok(false);
        }
        tree::remove_all(&mpath).map_err(|e| merge_err(&mpath, e))?;
        let out = self.layout.output();
        for t in TREES {
            let new = out.join(format!(".{t}.new"));
            let old = out.join(format!(".{t}.old"));
            let dest = out.join(t);
            tree::remove_all(&new).map_err(|e| merge_err(&new, e))?;
            std::fs::create_dir_all(&new).map_err(|e| merge_err(&new, e))?;
            let mut modes = Vec::new();
            for n in &nodes {
                let src = self.layout.per_package(&n.name).join(t);
                tree::link_tree(&src, &new, &mut modes).map_err(|e| merge_err(&src, e))?;
            }
            tree::apply_modes(&modes).map_err(|e| merge_err(&new, e))?;
            tree::remove_all(&old).map_err(|e| merge_err(&old, e))?;
            if dest.exists() {
                std::fs::rename(&dest, &old).map_err(|e| merge_err(&dest, e))?;
            }
            std::fs::rename(&new, &dest).map_err(|e| merge_err(&dest, e))?;
            tree::remove_all(&old).map_err(|e| merge_err(&old, e))?;
        }
        tree::write_atomic(&mpath, manifest.as_bytes()).map_err(|e| merge_err(&mpath, e))?;
        Ok(true)
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// What `clean` removes from an output directory.
const CLEANED: [&str; 14] = [
    "build",
    "toolchain",
    "per-package",
    "staging",
    "target",
    "host",
    "images",
    ".bbsdk-merged",
    ".staging.new",
    ".target.new",
    ".host.new",
    ".staging.old",
    ".target.old",
    ".host.old",
];

/// `bbsdk clean`: removes everything built (build/, per-package/, staging,
/// target, host, images) and keeps the configuration. Takes the output lock.
pub fn clean(output: &Path) -> Result<(), BuildError> {
    remove_in(output, &CLEANED)
}

/// `bbsdk distclean`: `clean`, and the configuration too.
pub fn distclean(output: &Path) -> Result<(), BuildError> {
    remove_in(output, &CLEANED)?;
    remove_in(output, &[".config", ".config.old"])
}

fn remove_in(output: &Path, names: &[&str]) -> Result<(), BuildError> {
    if !output.exists() {
        return Ok(());
    }
    let _lock = OutputLock::acquire(output)?;
    for n in names {
        let p = output.join(n);
        tree::remove_all(&p).map_err(|e| BuildError::io("clean", &p, e))?;
    }
    Ok(())
}

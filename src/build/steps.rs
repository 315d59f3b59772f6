//! One package build: binary cache lookup, then fetch -> extract -> patch ->
//! configure -> build -> install, each step logged to the package's
//! `build.log`, with a stamp file per finished step in the build directory
//! so that `rebuild`/`reconfigure` can restart from a given step.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

use indicatif::ProgressBar;

use crate::fetch;
use crate::package::{Package, Variant};
use crate::plan::Node;

use super::cache::Restored;
use super::env::{self, Dirs, Env};
use super::infra::{self, Cmd, Ctx};
use super::jobs::Jobs;
use super::layout::TREES;
use super::tree;
use super::{BuildError, Executor, Step};

/// Where a package build starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Up to date -> nothing; in the cache -> unpack; else build from the
    /// first step without a stamp.
    Normal,
    /// `<pkg>-rebuild`: from the build step, never from the cache.
    Rebuild,
    /// `<pkg>-reconfigure`: from the configure step, never from the cache.
    Reconfigure,
    /// `<pkg>-menuconfig` and friends: extract, patch and configure (unless
    /// already done), nothing more; the package's installed outputs stay.
    ConfigureOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Built,
    FromCache,
}

/// Stamp files in the build directory.
const IDENTITY_STAMP: &str = ".bbsdk_identity";
const STAMP_EXTRACTED: &str = ".stamp_extracted";
const STAMP_PATCHED: &str = ".stamp_patched";
const STAMP_CONFIGURED: &str = ".stamp_configured";
pub(crate) const STAMP_BUILT: &str = ".stamp_built";
/// The package's view of its dependencies, inside its build directory.
pub(crate) const VIEW_DIR: &str = ".bbsdk-view";
const HOST_DESTDIR: &str = ".bbsdk-host-destdir";
const EXTRACT_TMP: &str = ".bbsdk-extract";

/// Lines of the log shown in an error.
const TAIL_LINES: usize = 20;

/// The paths of one package build.
pub(crate) struct Paths {
    pub build_dir: PathBuf,
    pub src_dir: PathBuf,
    pub obj_dir: PathBuf,
    pub log: PathBuf,
    pub view_staging: PathBuf,
    pub view_host: PathBuf,
    pub per_package: PathBuf,
}

impl Paths {
    pub(crate) fn new(exec: &Executor<'_>, node: &Node, pkg: &Package) -> Paths {
        let version = &pkg.recipe.version;
        let build_dir = exec.layout.build_dir(&node.name, version);
        let src_dir = match &pkg.recipe.build.subdir {
            Some(sub) if !sub.is_empty() => build_dir.join(sub),
            _ => build_dir.clone(),
        };
        let obj_dir = if infra::builds_out_of_tree(&pkg.recipe.build) {
            src_dir.join(infra::OUT_OF_TREE_DIR)
        } else {
            src_dir.clone()
        };
        let view = build_dir.join(VIEW_DIR);
        Paths {
            log: build_dir.join("build.log"),
            view_staging: view.join("staging"),
            view_host: view.join("host"),
            per_package: exec.layout.per_package(&node.name),
            build_dir,
            src_dir,
            obj_dir,
        }
    }
}

/// The running build of one package.
struct Job<'e, 'a> {
    exec: &'e Executor<'a>,
    idx: usize,
    node: &'a Node,
    pkg: &'a Package,
    paths: Paths,
    jobs: &'e Jobs,
    bar: &'e ProgressBar,
    log: Option<File>,
}

impl<'a> Executor<'a> {
    /// Builds (or restores) plan node `idx`.
    pub(crate) fn run_package(
        &self,
        idx: usize,
        mode: Mode,
        jobs: &Jobs,
        bar: &ProgressBar,
    ) -> Result<Outcome, BuildError> {
        let plan: &'a crate::plan::Plan = self.plan;
        let node = &plan.nodes[idx];
        let pkg = self.package_of(node)?;
        let mut job = Job {
            exec: self,
            idx,
            node,
            pkg,
            paths: Paths::new(self, node, pkg),
            jobs,
            bar,
            log: None,
        };
        if mode == Mode::Normal {
            if let Some(outcome) = job.try_cache()? {
                return Ok(outcome);
            }
        }
        job.build(mode)?;
        Ok(Outcome::Built)
    }
}

impl Job<'_, '_> {
    fn io(&self, step: Step, path: &Path, e: io::Error) -> BuildError {
        BuildError::io(format!("{}: {step}", self.node.name), path, e)
    }

    fn record_err(&self, path: &Path, e: io::Error) -> BuildError {
        BuildError::io(
            format!("{}: recording its outputs", self.node.name),
            path,
            e,
        )
    }

    fn step(&self, step: Step) {
        self.bar.set_message(step.verb());
        let line = format!(
            ">>> {} {} {}",
            self.node.name,
            self.pkg.recipe.version,
            step.verb()
        );
        self.log_line(&line);
    }

    fn log_line(&self, line: &str) {
        if let Some(mut log) = self.log.as_ref() {
            let _ = writeln!(log, "{line}");
        }
    }

    fn try_cache(&mut self) -> Result<Option<Outcome>, BuildError> {
        let Some(cache) = &self.exec.cache else {
            return Ok(None);
        };
        self.bar.set_message(Step::Cache.verb());
        let key = self.exec.cache_key(self.node);
        let pp = self.paths.per_package.clone();
        match cache.restore(&key, &self.node.name, &self.node.identity, &pp) {
            Ok(Restored::Hit) => {}
            Ok(Restored::Miss) => return Ok(None),
            Ok(Restored::Corrupt(reason)) => {
                self.exec.progress_line(&format!(
                    ">>> {}: binary cache entry {} failed its check ({reason}); removed, building instead",
                    self.node.name,
                    cache.entry(&key).display()
                ));
                return Ok(None);
            }
            Ok(Restored::Unusable(reason)) => {
                self.exec.progress_line(&format!(
                    ">>> {}: binary cache entry {} cannot be used ({reason}); building instead",
                    self.node.name,
                    cache.entry(&key).display()
                ));
                return Ok(None);
            }
            // A full or read-only disk, a permission: the entry is good
            // and stays; the error says what and where.
            Err(e) => {
                return Err(BuildError::io(
                    format!(
                        "{}: restoring from the binary cache (entry {} kept)",
                        self.node.name,
                        cache.entry(&key).display()
                    ),
                    e.path,
                    e.source,
                ))
            }
        }
        self.finish_outputs(false)?;
        Ok(Some(Outcome::FromCache))
    }

    /// files.txt, the cache entry (when `store`), the identity stamp, and the
    /// host directory for host packages.
    fn finish_outputs(&self, store: bool) -> Result<(), BuildError> {
        let pp = self.paths.per_package.clone();
        let mut files = Vec::new();
        for t in TREES {
            tree::list_files(&pp.join(t), t, &mut files)
                .map_err(|e| self.record_err(&pp.join(t), e))?;
        }
        let mut text = files.join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        let list = pp.join("files.txt");
        tree::write_atomic(&list, text.as_bytes()).map_err(|e| self.record_err(&list, e))?;
        if store {
            if let Some(cache) = &self.exec.cache {
                self.step(Step::Cache);
                let key = self.exec.cache_key(self.node);
                if let Err(e) = cache.store(&key, &self.node.name, &self.node.identity, &pp) {
                    // The build itself succeeded: a cache that cannot be
                    // written costs a rebuild later, not this build.
                    let msg = format!(
                        ">>> {}: warning: cannot store {} in the binary cache: {e}",
                        self.node.name,
                        cache.entry(&key).display()
                    );
                    self.log_line(&msg);
                    self.exec.progress_line(&msg);
                }
            }
        }
        if self.node.variant == Variant::Host {
            self.exec
                .merge_host_now(&pp.join("host"))
                .map_err(|e| self.io(Step::Merge, &self.exec.layout.host(), e))?;
        }
        let stamp = pp.join("identity");
        tree::write_atomic(&stamp, format!("{}\n", self.node.identity).as_bytes())
            .map_err(|e| self.record_err(&stamp, e))?;
        Ok(())
    }

    fn build(&mut self, mode: Mode) -> Result<(), BuildError> {
        let bd = self.paths.build_dir.clone();
        // Not up to date from here on, whatever happens.
        let pp_stamp = self.paths.per_package.join("identity");
        match fs::remove_file(&pp_stamp) {
            _ if mode == Mode::ConfigureOnly => {}
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(self.io(Step::Extract, &pp_stamp, e))
            }
            _ => {}
        }
        // A build directory of another identity starts over.
        let id_stamp = bd.join(IDENTITY_STAMP);
        let same = tree::read_optional(&id_stamp)
            .map_err(|e| self.io(Step::Extract, &id_stamp, e))?
            .is_some_and(|s| s.trim() == self.node.identity);
        if !same {
            if !self.exec.layout.contains(&bd) {
                return Err(BuildError::Recipe {
                    package: self.node.name.clone(),
                    msg: format!(
                        "build directory {} is not inside the output directory",
                        bd.display()
                    ),
                    hint:
                        "the package's name and version must be plain names (see docs/recipes.md)"
                            .into(),
                });
            }
            tree::remove_all(&bd).map_err(|e| self.io(Step::Extract, &bd, e))?;
            fs::create_dir_all(&bd).map_err(|e| self.io(Step::Extract, &bd, e))?;
            fs::write(&id_stamp, format!("{}\n", self.node.identity))
                .map_err(|e| self.io(Step::Extract, &id_stamp, e))?;
        }
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.paths.log)
            .map_err(|e| self.io(Step::Extract, &self.paths.log, e))?;
        self.log = Some(log);
        let what = match mode {
            Mode::Normal => "build",
            Mode::Rebuild => "rebuild",
            Mode::Reconfigure => "reconfigure",
            Mode::ConfigureOnly => "configure",
        };
        let header = format!(
            "==== bbsdk: {what} of {} {} (identity {})",
            self.node.name, self.pkg.recipe.version, self.node.identity
        );
        self.log_line(&header);
        let drop_stamps: &[&str] = match mode {
            Mode::Normal | Mode::ConfigureOnly => &[],
            Mode::Rebuild => &[STAMP_BUILT],
            Mode::Reconfigure => &[STAMP_CONFIGURED, STAMP_BUILT],
        };
        for s in drop_stamps {
            let p = bd.join(s);
            if let Err(e) = fs::remove_file(&p) {
                if e.kind() != io::ErrorKind::NotFound {
                    return Err(self.io(Step::Build, &p, e));
                }
            }
        }

        if !bd.join(STAMP_EXTRACTED).exists() {
            self.fetch_and_extract()?;
            self.stamp(STAMP_EXTRACTED)?;
        }
        if !bd.join(STAMP_PATCHED).exists() {
            self.patch()?;
            self.stamp(STAMP_PATCHED)?;
        }
        self.step(Step::Merge);
        self.exec
            .assemble_view(self.idx, &bd.join(VIEW_DIR))
            .map_err(|e| self.io(Step::Merge, &bd.join(VIEW_DIR), e))?;
        let env = self.env()?;
        let symbols = &self.node.symbols;
        let ctx = Ctx {
            package: &self.node.name,
            build: &self.pkg.recipe.build,
            variant: self.node.variant,
            top: &self.exec.settings.top,
            src_dir: &self.paths.src_dir,
            obj_dir: &self.paths.obj_dir,
            gen_dir: &bd,
            env: &env,
            symbols,
            jobs: self.exec.settings.jobs,
            host_dir: &self.exec.host_dir,
            staging_dir: &self.paths.view_staging,
            view_host: &self.paths.view_host,
            target_tuple: &self.exec.settings.toolchain.target_tuple,
            host_tuple: &self.exec.settings.toolchain.host_tuple,
        };
        self.check_src_dir()?;
        fs::create_dir_all(&self.paths.obj_dir)
            .map_err(|e| self.io(Step::Configure, &self.paths.obj_dir, e))?;
        if !bd.join(STAMP_CONFIGURED).exists() {
            self.run_step(Step::Configure, None, &ctx, &env)?;
            self.stamp(STAMP_CONFIGURED)?;
        }
        if mode == Mode::ConfigureOnly {
            self.log_line(&format!("==== bbsdk: {} configured", self.node.name));
            return Ok(());
        }
        if !bd.join(STAMP_BUILT).exists() {
            self.run_step(Step::Build, None, &ctx, &env)?;
            self.stamp(STAMP_BUILT)?;
        }
        self.install(&ctx, &env)?;
        self.finish_outputs(mode == Mode::Normal)?;
        self.log_line(&format!("==== bbsdk: {} done", self.node.name));
        Ok(())
    }

    /// `SRC_DIR` (the top of the sources plus `build.subdir`) must be a
    /// directory inside the build directory, also once symlinks of the
    /// extracted sources are resolved: the build never runs elsewhere.
    fn check_src_dir(&self) -> Result<(), BuildError> {
        let bd = &self.paths.build_dir;
        let src = &self.paths.src_dir;
        let msg = match (src.canonicalize(), bd.canonicalize()) {
            (Ok(s), Ok(b)) if s.starts_with(&b) && s.is_dir() => return Ok(()),
            (Ok(s), Ok(_)) if s.is_dir() => format!(
                "field `build.subdir`: {} resolves to {}, outside the build directory (a symlink in the sources)",
                src.display(),
                s.display()
            ),
            _ => format!(
                "field `build.subdir`: {} does not exist in the sources",
                src.display()
            ),
        };
        Err(BuildError::Recipe {
            package: self.node.name.clone(),
            msg,
            hint: "subdir is a directory below the top of the extracted sources".into(),
        })
    }

    fn stamp(&self, name: &str) -> Result<(), BuildError> {
        let p = self.paths.build_dir.join(name);
        fs::write(&p, b"").map_err(|e| self.io(Step::Build, &p, e))
    }

    fn env(&self) -> Result<Env, BuildError> {
        let s = &self.exec.settings;
        let target_dir = self.paths.per_package.join("target");
        let dirs = Dirs {
            output: self.exec.layout.output(),
            top: &s.top,
            src_dir: &self.paths.src_dir,
            obj_dir: &self.paths.obj_dir,
            view_staging: &self.paths.view_staging,
            view_host: &self.paths.view_host,
            target_dir: &target_dir,
            host_dir: &self.exec.host_dir,
        };
        // Configure arguments are expanded against the environment without them.
        let mut env = env::package_env(
            &self.exec.base_env,
            &s.toolchain,
            self.node.variant,
            &self.node.name,
            &self.pkg.recipe.version,
            s.jobs,
            &dirs,
            &[],
        );
        let probe = Ctx {
            package: &self.node.name,
            build: &self.pkg.recipe.build,
            variant: self.node.variant,
            top: &s.top,
            src_dir: &self.paths.src_dir,
            obj_dir: &self.paths.obj_dir,
            gen_dir: &self.paths.build_dir,
            env: &env,
            symbols: &self.node.symbols,
            jobs: s.jobs,
            host_dir: &self.exec.host_dir,
            staging_dir: &self.paths.view_staging,
            view_host: &self.paths.view_host,
            target_tuple: &s.toolchain.target_tuple,
            host_tuple: &s.toolchain.host_tuple,
        };
        let args = probe.configure_args()?;
        env.insert("CONFIGURE_ARGS".into(), args.join(" "));
        // The recipe's own variables, which may use the others.
        for (k, v) in &self.pkg.recipe.build.env {
            let value = env::expand(v, &env).map_err(|m| BuildError::Recipe {
                package: self.node.name.clone(),
                msg: format!("field `build.env.{k}`: {m}"),
                hint: "values may use ${NAME} for the variables of docs/build.md; write $$ for a $"
                    .into(),
            })?;
            env.insert(k.clone(), value);
        }
        Ok(env)
    }

    fn fetch_and_extract(&self) -> Result<(), BuildError> {
        if self.pkg.recipe.sources.is_empty() {
            return Ok(());
        }
        self.step(Step::Fetch);
        let mut archives = Vec::new();
        for s in &self.pkg.recipe.sources {
            let src = s.to_fetch();
            let path = self
                .exec
                .fetcher
                .fetch(&src)
                .map_err(|e| BuildError::Fetch {
                    package: self.node.name.clone(),
                    step: Step::Fetch,
                    source: e,
                })?;
            self.log_line(&format!("fetched {}", path.display()));
            archives.push((path, s.strip_components, s.extract, s.file.clone()));
        }
        self.step(Step::Extract);
        let bd = self.paths.build_dir.clone();
        for (archive, strip, extract, file) in archives {
            if !extract {
                let to = bd.join(&file);
                tree::copy_file(&archive, &to).map_err(|e| self.io(Step::Extract, &to, e))?;
                self.log_line(&format!("copied {} to {}", archive.display(), to.display()));
                continue;
            }
            let tmp = bd.join(EXTRACT_TMP);
            tree::remove_all(&tmp).map_err(|e| self.io(Step::Extract, &tmp, e))?;
            fetch::extract(&archive, &tmp, strip).map_err(|e| BuildError::Fetch {
                package: self.node.name.clone(),
                step: Step::Extract,
                source: e,
            })?;
            tree::move_into(&tmp, &bd).map_err(|e| self.io(Step::Extract, &bd, e))?;
            fs::remove_dir(&tmp).map_err(|e| self.io(Step::Extract, &tmp, e))?;
            self.log_line(&format!("extracted {}", archive.display()));
        }
        Ok(())
    }

    fn patch(&self) -> Result<(), BuildError> {
        if self.pkg.patches.is_empty() {
            return Ok(());
        }
        self.step(Step::Patch);
        let env = self.exec.base_env.clone();
        for patch in &self.pkg.patches {
            let cmd = Cmd {
                argv: vec![
                    "patch".into(),
                    "-p1".into(),
                    "-N".into(),
                    "-i".into(),
                    patch.to_string_lossy().into_owned(),
                ],
                cwd: self.paths.build_dir.clone(),
                env: Vec::new(),
            };
            if let Err(status) = self.spawn(&cmd, &env) {
                return Err(BuildError::Patch {
                    package: self.node.name.clone(),
                    patch: patch.clone(),
                    status,
                    log: self.paths.log.clone(),
                    tail: tail(&self.paths.log),
                });
            }
        }
        Ok(())
    }

    fn run_step(
        &self,
        step: Step,
        destdir: Option<&Path>,
        ctx: &Ctx<'_>,
        env: &Env,
    ) -> Result<(), BuildError> {
        let action = infra::action(step, destdir, ctx)?;
        if action.cmds.is_empty() && action.files.is_empty() && action.olddefconfig.is_none() {
            return Ok(());
        }
        self.step(step);
        for (path, bytes) in &action.files {
            fs::write(path, bytes).map_err(|e| self.io(step, path, e))?;
            self.log_line(&format!("wrote {}", path.display()));
        }
        let mut env = env.clone();
        if let Some(d) = destdir {
            env.insert("DESTDIR".into(), d.to_string_lossy().into_owned());
        }
        for cmd in &action.cmds {
            if let Err(status) = self.spawn(cmd, &env) {
                return Err(BuildError::Command {
                    package: self.node.name.clone(),
                    step,
                    command: shorten(&display_argv(&cmd.argv)),
                    status,
                    log: self.paths.log.clone(),
                    tail: tail(&self.paths.log),
                });
            }
        }
        if let Some(tree) = &action.olddefconfig {
            self.log_line(&format!(
                "$ (bbsdk's Kconfig engine) olddefconfig {} -> {}",
                tree.kconfig.display(),
                tree.config.display()
            ));
            let warnings = tree.olddefconfig().map_err(|e| BuildError::Kconfig {
                package: self.node.name.clone(),
                source: e,
            })?;
            for w in warnings {
                self.log_line(&w.to_string());
            }
        }
        Ok(())
    }

    /// Runs one command with its output in the log; `Err` is the status text.
    fn spawn(&self, cmd: &Cmd, env: &Env) -> Result<(), String> {
        self.log_line(&format!("$ {}", display_argv(&cmd.argv)));
        let Some(log) = self.log.as_ref() else {
            return Err("could not be started: no log file".into());
        };
        let (out, err) = match (log.try_clone(), log.try_clone()) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => return Err(format!("could not be started: {e}")),
        };
        let Some((program, args)) = cmd.argv.split_first() else {
            return Err("could not be started: empty command".into());
        };
        let mut c = Command::new(program);
        c.args(args)
            .current_dir(&cmd.cwd)
            .env_clear()
            .envs(env)
            .envs(cmd.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        self.jobs.configure(&mut c);
        match c.status() {
            Ok(st) if st.success() => Ok(()),
            Ok(st) => {
                let s = status_text(st);
                self.log_line(&format!("bbsdk: command {s}"));
                Err(s)
            }
            Err(e) => {
                let s = format!("could not be started: {e}");
                self.log_line(&format!("bbsdk: command {s}"));
                Err(s)
            }
        }
    }

    fn install(&self, ctx: &Ctx<'_>, env: &Env) -> Result<(), BuildError> {
        let pp = self.paths.per_package.clone();
        tree::remove_all(&pp).map_err(|e| self.io(Step::InstallTarget, &pp, e))?;
        for t in TREES {
            fs::create_dir_all(pp.join(t))
                .map_err(|e| self.io(Step::InstallTarget, &pp.join(t), e))?;
        }
        let install = &self.pkg.recipe.install;
        match self.node.variant {
            Variant::Target => {
                if install.staging {
                    self.run_step(Step::InstallStaging, Some(&pp.join("staging")), ctx, env)?;
                }
                if install.target {
                    self.run_step(Step::InstallTarget, Some(&pp.join("target")), ctx, env)?;
                }
            }
            Variant::Host => {
                let dest = self.paths.build_dir.join(HOST_DESTDIR);
                tree::remove_all(&dest).map_err(|e| self.io(Step::InstallHost, &dest, e))?;
                fs::create_dir_all(&dest).map_err(|e| self.io(Step::InstallHost, &dest, e))?;
                self.run_step(Step::InstallHost, Some(&dest), ctx, env)?;
                // Host packages install to $DESTDIR$HOST_DIR: keep what is below HOST_DIR.
                let rel = self
                    .exec
                    .host_dir
                    .strip_prefix("/")
                    .unwrap_or(&self.exec.host_dir);
                let installed = dest.join(rel);
                if installed.is_dir() {
                    tree::move_into(&installed, &pp.join("host"))
                        .map_err(|e| self.io(Step::InstallHost, &installed, e))?;
                    tree::remove_all(&installed)
                        .map_err(|e| self.io(Step::InstallHost, &installed, e))?;
                }
                let mut stray = Vec::new();
                let _ = tree::list_files(&dest, "", &mut stray);
                if !stray.is_empty() {
                    let msg = format!(
                        ">>> {}: warning: installed outside $HOST_DIR, ignored: {}",
                        self.node.name,
                        stray.join(" ")
                    );
                    self.log_line(&msg);
                }
                tree::remove_all(&dest).map_err(|e| self.io(Step::InstallHost, &dest, e))?;
            }
        }
        Ok(())
    }
}

fn status_text(st: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (st.code(), st.signal()) {
        (Some(c), _) => format!("exited with status {c}"),
        (None, Some(s)) => format!("was killed by signal {s}"),
        _ => format!("failed ({st})"),
    }
}

/// An argv as a shell would read it back.
pub(crate) fn display_argv(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            let safe = !a.is_empty()
                && a.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b));
            if safe {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn shorten(s: &str) -> String {
    const MAX: usize = 300;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// The last lines of a log file.
pub(crate) fn tail(path: &Path) -> Vec<String> {
    let Ok(mut f) = File::open(path) else {
        return Vec::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(64 * 1024);
    if f.seek(SeekFrom::Start(start)).is_err() {
        return Vec::new();
    }
    let mut buf = Vec::new();
    if f.read_to_end(&mut buf).is_err() {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&buf);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(TAIL_LINES)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

//! Running Portage: a clean environment (`env -i` plus what Portage needs),
//! the host shims it expects, and a failure report naming the package, the
//! phase and the tail of the build log.

use std::fmt;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::portage::{which, Portage};
use super::{config, Dirs, GentooError, Result, Settings};
use crate::build::ToolchainEnv;

/// Tool variables for make.conf (CC, AR, ..., PKG_CONFIG).
#[derive(Debug, Clone, Default)]
pub struct Tools {
    pub make_conf: Vec<(String, String)>,
}

/// The toolchain variables that name programs, with the names Gentoo's
/// eclasses call them by (`${CHOST}-<name>`).
const TOOL_VARS: [(&str, &[&str]); 12] = [
    ("CC", &["gcc", "cc"]),
    ("CXX", &["g++", "c++"]),
    ("CPP", &["cpp"]),
    ("AR", &["ar", "gcc-ar"]),
    ("AS", &["as"]),
    ("LD", &["ld"]),
    ("NM", &["nm", "gcc-nm"]),
    ("OBJCOPY", &["objcopy"]),
    ("OBJDUMP", &["objdump"]),
    ("RANLIB", &["ranlib", "gcc-ranlib"]),
    ("READELF", &["readelf"]),
    ("STRIP", &["strip"]),
];

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn write_script(path: &Path, body: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, format!("#!/bin/sh\n# Written by bbsdk.\n{body}"))
        .and_then(|_| std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)))
        .map_err(|e| GentooError::io(path, e))
}

/// Writes the host shims into `dir` (put first on PATH): `gtar`, the
/// toolchain's programs under the Gentoo tuple's names, and a cross
/// `pkg-config` looking only into the sysroot.
pub fn shims(dir: &Path, tc: &ToolchainEnv, sysroot: &Path) -> Result<Tools> {
    let need = |name: &str, pkg: &str| {
        which(name).ok_or_else(|| GentooError::Host {
            msg: format!("{name} is not on PATH; Portage needs it"),
            hint: format!("install {pkg} (scripts/setup-host.sh)"),
        })
    };
    let tar = need("tar", "tar")?;
    let pkg_config = need("pkg-config", "pkgconf")?;
    need("scanelf", "pax-utils")?;
    let _ = crate::build::tree::remove_all(dir);
    std::fs::create_dir_all(dir).map_err(|e| GentooError::io(dir, e))?;
    let gtar = dir.join("gtar");
    std::os::unix::fs::symlink(&tar, &gtar).map_err(|e| GentooError::io(&gtar, e))?;

    let chost = &tc.target_tuple;
    let mut tools = Tools::default();
    for (var, names) in TOOL_VARS {
        let Some(value) = tc.target.get(var).filter(|v| !v.trim().is_empty()) else {
            continue;
        };
        tools.make_conf.push((var.to_string(), value.clone()));
        for name in names {
            let shim = dir.join(format!("{chost}-{name}"));
            // A program of that name that is the tool itself needs no shim.
            if Path::new(value).file_name() == shim.file_name() {
                continue;
            }
            write_script(&shim, &format!("exec {} \"$@\"\n", shell_quote(value)))?;
        }
    }
    let sys = sysroot.to_string_lossy();
    let pc = dir.join(format!("{chost}-pkg-config"));
    write_script(
        &pc,
        &format!(
            "# pkg-config for {chost}: only the sysroot's .pc files, paths inside it.\n\
             sysroot=${{ESYSROOT:-${{SYSROOT:-{sys}}}}}\n\
             export PKG_CONFIG_SYSROOT_DIR=\"$sysroot\"\n\
             export PKG_CONFIG_LIBDIR=\"$sysroot/usr/lib/pkgconfig:$sysroot/usr/lib64/pkgconfig:$sysroot/usr/share/pkgconfig\"\n\
             unset PKG_CONFIG_PATH\n\
             exec {} \"$@\"\n",
            shell_quote(&pkg_config.to_string_lossy())
        ),
    )?;
    tools
        .make_conf
        .push(("PKG_CONFIG".into(), pc.to_string_lossy().into_owned()));
    Ok(tools)
}

/// ROOT, SYSROOT and the config root of one emerge pass.
#[derive(Debug, Clone)]
pub struct Pass {
    pub name: &'static str,
    pub config_root: PathBuf,
    pub root: PathBuf,
    pub sysroot: PathBuf,
}

impl Pass {
    /// Build into the sysroot (crossdev's `<tuple>-emerge`).
    pub fn build(d: &Dirs) -> Pass {
        Pass {
            name: "build pass",
            config_root: d.sysroot.clone(),
            root: d.sysroot.clone(),
            sysroot: d.sysroot.clone(),
        }
    }

    /// Install binary packages into the target root.
    pub fn install(d: &Dirs) -> Pass {
        Pass {
            name: "install pass",
            config_root: d.root_config.clone(),
            root: d.root.clone(),
            sysroot: d.sysroot.clone(),
        }
    }
}

/// What a successful emerge did.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    /// `category/package-version` installed from binary packages.
    pub from_binpkg: Vec<String>,
    /// Compiled from source.
    pub compiled: Vec<String>,
}

/// Why emerge failed.
#[derive(Debug)]
pub struct EmergeFailure {
    pub pass: String,
    /// `category/package-version` that failed, when emerge says.
    pub package: Option<String>,
    pub phase: Option<String>,
    pub build_log: Option<PathBuf>,
    /// emerge's own output.
    pub log: PathBuf,
    /// The last lines of the build log (else of emerge's output).
    pub tail: String,
}

impl fmt::Display for EmergeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "emerge failed in the {}", self.pass)?;
        match (&self.package, &self.phase) {
            (Some(p), Some(ph)) => write!(f, ": {p} ({ph} phase)")?,
            (Some(p), None) => write!(f, ": {p}")?,
            _ => {}
        }
        writeln!(f)?;
        if let Some(b) = &self.build_log {
            writeln!(f, "  build log: {}", b.display())?;
        }
        writeln!(f, "  emerge output: {}", self.log.display())?;
        writeln!(f, "  last lines:")?;
        for l in self.tail.lines() {
            writeln!(f, "    {l}")?;
        }
        write!(
            f,
            "  hint: `bbsdk emerge -pv ATOM` shows what emerge would do with this configuration; see docs/gentoo.md"
        )
    }
}

/// The last `n` lines of a text.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Reads emerge's output after a failure.
pub fn parse_failure(pass: &str, output: &str, log: &Path) -> EmergeFailure {
    let mut package = None;
    let mut phase = None;
    let mut build_log = None;
    for line in output.lines() {
        if let Some(rest) = line.split_once("ERROR: ").map(|(_, r)| r) {
            if let Some((pkg, after)) = rest.split_once(" failed") {
                package = Some(pkg.split("::").next().unwrap_or(pkg).trim().to_string());
                phase = after
                    .split_once('(')
                    .and_then(|(_, p)| p.split_once(" phase)"))
                    .map(|(p, _)| p.to_string());
            }
        }
        if let Some((_, rest)) = line.split_once("The complete build log is located at '") {
            if let Some((p, _)) = rest.split_once('\'') {
                build_log = Some(PathBuf::from(p));
            }
        }
    }
    let tail = build_log
        .as_ref()
        .and_then(|b| std::fs::read_to_string(b).ok())
        .map(|t| tail(&strip_ansi(&t), 30))
        .unwrap_or_else(|| tail(output, 30));
    EmergeFailure {
        pass: pass.to_string(),
        package,
        phase,
        build_log,
        log: log.to_path_buf(),
        tail,
    }
}

/// Removes terminal colour sequences.
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// Reads what emerge merged from its output.
pub fn parse_report(output: &str) -> RunReport {
    let mut r = RunReport::default();
    for line in output.lines() {
        let (list, rest) = if let Some(rest) = line.strip_prefix(">>> Emerging binary (") {
            (&mut r.from_binpkg, rest)
        } else if let Some(rest) = line.strip_prefix(">>> Emerging (") {
            (&mut r.compiled, rest)
        } else {
            continue;
        };
        // "1 of 2) dev-libs/libhello-1.0::repo for /root/"
        if let Some(pkg) = rest.split_once(") ").map(|(_, p)| p) {
            let pkg = pkg.split_whitespace().next().unwrap_or("");
            list.push(pkg.split("::").next().unwrap_or(pkg).to_string());
        }
    }
    r
}

/// Runs Portage's programs for one output directory.
#[derive(Debug, Clone)]
pub struct Runner {
    portage: Portage,
    path: String,
    home: PathBuf,
    logs: PathBuf,
    repositories: String,
    user: String,
    group: String,
    jobs: usize,
    dirs: Dirs,
}

fn id(flag: &str) -> Result<String> {
    let out = Command::new("id")
        .arg(flag)
        .output()
        .map_err(|e| GentooError::Host {
            msg: format!("id {flag}: {e}"),
            hint: "install coreutils".into(),
        })?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

impl Runner {
    pub fn new(portage: &Portage, dirs: &Dirs, settings: &Settings, jobs: usize) -> Result<Runner> {
        let host_path = std::env::var("PATH")
            .ok()
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
        Ok(Runner {
            path: format!(
                "{}:{}:{host_path}",
                dirs.shims.display(),
                portage.venv.join("bin").display()
            ),
            portage: portage.clone(),
            home: dirs.home.clone(),
            logs: dirs.logs.clone(),
            repositories: config::repos_conf(settings),
            user: id("-un")?,
            group: id("-gn")?,
            jobs,
            dirs: dirs.clone(),
        })
    }

    /// `python <portage>/bin/<program>` with the clean environment of a pass.
    pub fn command(&self, pass: &Pass, program: &str) -> Command {
        let mut c = Command::new(&self.portage.python);
        c.arg(self.portage.program(program)).env_clear();
        let s = |p: &Path| p.to_string_lossy().into_owned();
        let mut env = vec![
            ("PATH", self.path.clone()),
            ("HOME", s(&self.home)),
            ("LANG", "C.UTF-8".into()),
            ("TERM", "dumb".into()),
            ("NOCOLOR", "true".into()),
            // Portage's own prefix is the venv (its make.globals, the
            // build machine's config); the target has none.
            ("PORTAGE_OVERRIDE_EPREFIX", s(&self.portage.venv)),
            ("EPREFIX", String::new()),
            ("PORTAGE_CONFIGROOT", s(&pass.config_root)),
            ("ROOT", s(&pass.root)),
            ("SYSROOT", s(&pass.sysroot)),
            ("PORTAGE_USERNAME", self.user.clone()),
            ("PORTAGE_GRPNAME", self.group.clone()),
            ("PORTAGE_REPOSITORIES", self.repositories.clone()),
        ];
        if let Ok(v) = std::env::var("SOURCE_DATE_EPOCH") {
            env.push(("SOURCE_DATE_EPOCH", v));
        }
        for k in ["http_proxy", "https_proxy", "no_proxy"] {
            if let Ok(v) = std::env::var(k) {
                env.push((k, v));
            }
        }
        c.envs(env);
        c
    }

    /// Runs emerge, its output into `log`; a failure becomes an
    /// [`EmergeFailure`].
    pub fn run(&self, pass: Pass, args: &[String], log: &Path) -> Result<RunReport> {
        let output = self.run_logged(&pass, "emerge", args, log)?;
        let report = parse_report(&output.1);
        if !output.0 {
            return Err(GentooError::Emerge(Box::new(parse_failure(
                pass.name, &output.1, log,
            ))));
        }
        Ok(report)
    }

    /// Runs a Portage program with its output going to `log` (and the
    /// progress lines to stderr); returns success and the output.
    fn run_logged(
        &self,
        pass: &Pass,
        program: &str,
        args: &[String],
        log: &Path,
    ) -> Result<(bool, String)> {
        if let Some(d) = log.parent() {
            std::fs::create_dir_all(d).map_err(|e| GentooError::io(d, e))?;
        }
        let mut child = self
            .command(pass, program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| GentooError::Host {
                msg: format!("{}: {e}", self.portage.python.display()),
                hint: format!(
                    "remove {} so bbsdk installs Portage again",
                    self.portage.venv.display()
                ),
            })?;
        // stderr on its own thread, stdout here; both into the log.
        let err = child.stderr.take().map(|e| {
            std::thread::spawn(move || {
                let mut s = String::new();
                for l in BufReader::new(e).lines().map_while(|l| l.ok()) {
                    s.push_str(&l);
                    s.push('\n');
                }
                s
            })
        });
        let mut text = String::new();
        if let Some(out) = child.stdout.take() {
            for l in BufReader::new(out).lines().map_while(|l| l.ok()) {
                if l.starts_with(">>> Emerging") || l.starts_with(">>> Installing") {
                    eprintln!("    {l}");
                }
                text.push_str(&l);
                text.push('\n');
            }
        }
        let status = child
            .wait()
            .map_err(|e| GentooError::io(&self.portage.python, e))?;
        if let Some(e) = err.and_then(|h| h.join().ok()) {
            text.push_str(&e);
        }
        crate::build::tree::write_atomic(log, text.as_bytes())
            .map_err(|e| GentooError::io(log, e))?;
        Ok((status.success(), text))
    }

    /// emerge with the terminal (for `bbsdk emerge`); returns its exit code.
    pub fn run_interactive(&self, pass: Pass, args: &[String]) -> Result<i32> {
        let status = self
            .command(&pass, "emerge")
            .args(args)
            .status()
            .map_err(|e| GentooError::io(&self.portage.python, e))?;
        Ok(status.code().unwrap_or(1))
    }

    /// Runs egencache for each repository that has no metadata cache
    /// (`metadata/md5-cache`), so dependency resolution need not source
    /// every ebuild it looks at.
    pub fn egencache_if_needed(&self, settings: &Settings) -> Result<()> {
        for r in &settings.repositories {
            if r.location.join("metadata").join("md5-cache").is_dir() {
                continue;
            }
            eprintln!(
                ">>> gentoo: egencache for repository {} (no metadata cache)",
                r.name
            );
            let log = self.logs.join(format!("egencache-{}.log", r.name));
            let args = vec![
                "--update".to_string(),
                format!("--repo={}", r.name),
                format!("--jobs={}", self.jobs.max(1)),
                format!("--repositories-configuration={}", self.repositories),
            ];
            let (ok, out) = self.run_logged(&Pass::build(&self.dirs), "egencache", &args, &log)?;
            if !ok {
                return Err(GentooError::Emerge(Box::new(EmergeFailure {
                    pass: format!("metadata cache generation (egencache) of {}", r.name),
                    package: None,
                    phase: None,
                    build_log: None,
                    log,
                    tail: tail(&out, 30),
                })));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_names_package_phase_and_log() {
        let d = tempfile::tempdir().unwrap();
        let build_log = d.path().join("build.log");
        std::fs::write(&build_log, "line 1\n\x1b[31;01m*\x1b[0m cc: error: nope\n").unwrap();
        let out = format!(
            ">>> Emerging (1 of 2) dev-libs/libhello-1.0::bbsdk-test for /s/\n \
             * ERROR: dev-libs/libhello-1.0::bbsdk-test failed (compile phase):\n \
             *   emake failed\n \
             * The complete build log is located at '{}'.\n",
            build_log.display()
        );
        let f = parse_failure("build pass", &out, Path::new("/logs/emerge.log"));
        assert_eq!(f.package.as_deref(), Some("dev-libs/libhello-1.0"));
        assert_eq!(f.phase.as_deref(), Some("compile"));
        assert_eq!(f.build_log.as_deref(), Some(build_log.as_path()));
        let msg = f.to_string();
        assert!(
            msg.contains("build pass: dev-libs/libhello-1.0 (compile phase)"),
            "{msg}"
        );
        assert!(
            msg.contains("* cc: error: nope") && msg.contains("hint:"),
            "{msg}"
        );
    }

    #[test]
    fn failure_without_package_shows_emerge_output() {
        let f = parse_failure(
            "install pass",
            "emerge: there are no binary packages to satisfy \"app-misc/x\".\n",
            Path::new("/l"),
        );
        assert!(f.package.is_none());
        assert!(f.to_string().contains("no binary packages to satisfy"));
    }

    #[test]
    fn report_separates_binary_and_source() {
        let r = parse_report(
            ">>> Emerging binary (1 of 2) dev-libs/libhello-1.0::bbsdk-test for /s/\n\
             >>> Emerging (2 of 2) app-misc/hello-1.0::bbsdk-test for /s/\n",
        );
        assert_eq!(r.from_binpkg, vec!["dev-libs/libhello-1.0"]);
        assert_eq!(r.compiled, vec!["app-misc/hello-1.0"]);
    }

    #[test]
    fn quoting_for_shims() {
        assert_eq!(shell_quote("/a b/it's"), "'/a b/it'\\''s'");
    }
}

//! Post-build and post-image scripts.

use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{Error, Result};

/// The directories and settings a script sees in its environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScriptEnv {
    /// The `.config` file: `BBSDK_CONFIG`.
    pub config: PathBuf,
    /// The output directory: `BASE_DIR`.
    pub base_dir: PathBuf,
    /// `BUILD_DIR` (`<output>/build`).
    pub build_dir: PathBuf,
    /// `HOST_DIR` (`<output>/host`).
    pub host_dir: PathBuf,
    /// `STAGING_DIR`.
    pub staging_dir: PathBuf,
    /// `TARGET_DIR` (`<output>/target`): where the root is assembled.
    pub target_dir: PathBuf,
    /// `BINARIES_DIR` (`<output>/images`).
    pub binaries_dir: PathBuf,
    /// Directory the scripts run in, against which relative script paths
    /// are taken (the top of the bbsdk tree); empty = the current directory.
    pub work_dir: PathBuf,
    /// When set, the scripts' standard output and error are appended to
    /// this file instead of going to ours.
    pub log: Option<PathBuf>,
    /// More variables (e.g. `SOURCE_DATE_EPOCH`).
    pub extra: Vec<(String, String)>,
}

impl ScriptEnv {
    /// The variables given to every script, in a fixed order.
    pub fn vars(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = [
            ("BBSDK_CONFIG", &self.config),
            ("BASE_DIR", &self.base_dir),
            ("BUILD_DIR", &self.build_dir),
            ("HOST_DIR", &self.host_dir),
            ("STAGING_DIR", &self.staging_dir),
            ("TARGET_DIR", &self.target_dir),
            ("BINARIES_DIR", &self.binaries_dir),
        ]
        .into_iter()
        .map(|(k, p)| (k.to_string(), p.display().to_string()))
        .collect();
        v.extend(self.extra.iter().cloned());
        v
    }

    fn script_path(&self, script: &Path) -> PathBuf {
        if script.is_absolute() || self.work_dir.as_os_str().is_empty() {
            match std::env::current_dir() {
                Ok(cwd) if !script.is_absolute() => cwd.join(script),
                _ => script.to_path_buf(),
            }
        } else {
            self.work_dir.join(script)
        }
    }
}

/// Runs the post-build scripts in order, each as `script TARGET_DIR
/// args...` with the environment of `env`; stops at the first failure.
pub fn run_post_build_scripts(scripts: &[PathBuf], args: &[String], env: &ScriptEnv) -> Result<()> {
    run_scripts("post-build", scripts, &env.target_dir, args, env)
}

/// Runs the post-image scripts in order, each as `script BINARIES_DIR
/// args...` with the environment of `env`; stops at the first failure.
pub fn run_post_image_scripts(scripts: &[PathBuf], args: &[String], env: &ScriptEnv) -> Result<()> {
    run_scripts("post-image", scripts, &env.binaries_dir, args, env)
}

fn run_scripts(
    kind: &'static str,
    scripts: &[PathBuf],
    first_arg: &Path,
    args: &[String],
    env: &ScriptEnv,
) -> Result<()> {
    for script in scripts {
        let path = env.script_path(script);
        let mut cmd = Command::new(&path);
        cmd.arg(first_arg)
            .args(args)
            .envs(env.vars())
            .stdin(Stdio::null());
        if !env.work_dir.as_os_str().is_empty() {
            cmd.current_dir(&env.work_dir);
        }
        if let Some(log) = &env.log {
            if let Some(parent) = log.parent() {
                fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
            }
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .map_err(|e| Error::io(log, e))?;
            let err = file.try_clone().map_err(|e| Error::io(log, e))?;
            cmd.stdout(file).stderr(err);
        }
        let status = cmd.status().map_err(|source| Error::ScriptSpawn {
            kind,
            script: path.clone(),
            hint: match source.kind() {
                io::ErrorKind::PermissionDenied => " (is it executable? chmod +x it)",
                io::ErrorKind::NotFound => {
                    " (no such file; relative paths start at the top of the bbsdk tree)"
                }
                _ => "",
            },
            source,
        })?;
        if !status.success() {
            return Err(Error::ScriptFailed {
                kind,
                script: path,
                status,
                log: env.log.clone(),
            });
        }
    }
    Ok(())
}

//! Errors of the build executor: each names the package, the step and, for a
//! failed command, the command, its exit status, the log file and the log's
//! last lines.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::fetch::FetchError;

/// The steps of a package build, in order (plus the executor's own work).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Step {
    Fetch,
    Extract,
    Patch,
    Configure,
    Build,
    InstallStaging,
    InstallTarget,
    InstallHost,
    /// Storing to or restoring from the binary cache.
    Cache,
    /// Assembling a package's view or the final staging/target/host.
    Merge,
}

impl Step {
    /// The step's name in messages and logs.
    pub fn name(self) -> &'static str {
        match self {
            Step::Fetch => "fetch",
            Step::Extract => "extract",
            Step::Patch => "patch",
            Step::Configure => "configure",
            Step::Build => "build",
            Step::InstallStaging => "install-staging",
            Step::InstallTarget => "install-target",
            Step::InstallHost => "install-host",
            Step::Cache => "cache",
            Step::Merge => "merge",
        }
    }

    /// What the progress display and the log say while the step runs.
    pub fn verb(self) -> &'static str {
        match self {
            Step::Fetch => "Downloading",
            Step::Extract => "Extracting",
            Step::Patch => "Patching",
            Step::Configure => "Configuring",
            Step::Build => "Building",
            Step::InstallStaging => "Installing to staging directory",
            Step::InstallTarget => "Installing to target",
            Step::InstallHost => "Installing to host directory",
            Step::Cache => "Using the binary cache",
            Step::Merge => "Assembling directories",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a build did not complete.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Another process holds the output directory's lock.
    #[error(
        "output directory {} is in use by another bbsdk process{holder}: lock file {} is held\n  hint: wait for the other build to finish, or build in another output directory (-O)",
        output.display(),
        lock.display()
    )]
    Locked {
        output: PathBuf,
        lock: PathBuf,
        /// ` (pid N)` when the holder wrote its pid, else empty.
        holder: String,
    },

    /// A package name that the plan does not contain.
    #[error("package \"{name}\" is not part of the build plan\n  hint: {hint}")]
    NotPlanned { name: String, hint: String },

    /// A command of a step exited with a failure.
    #[error(
        "{package}: {step} failed: `{command}` {status}\n  log: {}{}",
        log.display(),
        tail_text(tail)
    )]
    Command {
        package: String,
        step: Step,
        command: String,
        /// `exited with status 2`, `was killed by signal 9`, `could not be started: ...`.
        status: String,
        log: PathBuf,
        /// The last lines of the log (at most 20).
        tail: Vec<String>,
    },

    /// A patch of the package directory does not apply.
    #[error(
        "{package}: patch {} does not apply: `patch -p1` {status}\n  log: {}{}\n  hint: refresh the patch against the package's sources",
        patch.display(),
        log.display(),
        tail_text(tail)
    )]
    Patch {
        package: String,
        patch: PathBuf,
        status: String,
        log: PathBuf,
        tail: Vec<String>,
    },

    /// The sources could not be downloaded or extracted.
    #[error("{package}: {step}: {source}")]
    Fetch {
        package: String,
        step: Step,
        #[source]
        source: FetchError,
    },

    /// A file-system operation failed.
    #[error("{what}: {}: {source}", path.display())]
    Io {
        /// `zlib: install-target`, `merging target`, ...
        what: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// The recipe asks for something the executor cannot do.
    #[error("{package}: {msg}\n  hint: {hint}")]
    Recipe {
        package: String,
        msg: String,
        hint: String,
    },

    /// The package's Kconfig tree could not be loaded or its `.config` made.
    #[error("{package}: configure: {source}\n  hint: check the package's configuration file (its bbsdk symbol) and the files it names")]
    Kconfig {
        package: String,
        #[source]
        source: crate::kconfig::Error,
    },

    /// The jobserver could not be created.
    #[error("cannot set up the jobserver: {0}")]
    Jobserver(#[source] io::Error),

    /// Several packages failed (builds running in parallel).
    #[error("{} packages failed:\n{}", .0.len(), several(.0))]
    Several(Vec<BuildError>),
}

impl BuildError {
    pub(crate) fn io(what: impl Into<String>, path: impl Into<PathBuf>, source: io::Error) -> Self {
        BuildError::Io {
            what: what.into(),
            path: path.into(),
            source,
        }
    }

    /// The package the error is about, when it is about one.
    pub fn package(&self) -> Option<&str> {
        match self {
            BuildError::Command { package, .. }
            | BuildError::Patch { package, .. }
            | BuildError::Fetch { package, .. }
            | BuildError::Recipe { package, .. }
            | BuildError::Kconfig { package, .. } => Some(package),
            _ => None,
        }
    }

    /// The step that failed, when known.
    pub fn step(&self) -> Option<Step> {
        match self {
            BuildError::Command { step, .. } | BuildError::Fetch { step, .. } => Some(*step),
            BuildError::Patch { .. } => Some(Step::Patch),
            BuildError::Kconfig { .. } => Some(Step::Configure),
            _ => None,
        }
    }
}

fn tail_text(tail: &[String]) -> String {
    if tail.is_empty() {
        return String::new();
    }
    let mut s = format!(" (last {} lines below)", tail.len());
    for l in tail {
        s.push_str("\n  | ");
        s.push_str(l);
    }
    s
}

fn several(errors: &[BuildError]) -> String {
    errors
        .iter()
        .map(|e| format!("- {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

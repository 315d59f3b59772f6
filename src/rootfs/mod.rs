//! Root filesystem assembly: skeleton, package trees, overlays, generated
//! system files, users and device/permission tables, post-build scripts,
//! stripping and runtime-only filtering, ending in a [`Manifest`] that lists
//! every entry of the final root with its type, mode, owner and time.
//!
//! Image writers read only the [`Manifest`], so ownership and device nodes
//! never need root or fakeroot. This module takes plain data (directories,
//! table files, settings); it never parses Kconfig and never builds packages.
//! The whole process is described in `docs/rootfs.md`.

pub mod accounts;
pub mod assemble;
mod fsops;
pub mod hooks;
pub mod manifest;
pub mod runtime_libs;
pub mod strip;
pub mod tables;

use std::io;
use std::path::PathBuf;
use std::process::ExitStatus;

pub use accounts::{hash_password, password_salt, Accounts, Home, RootLogin};
pub use assemble::{
    assemble, busybox_inittab, is_development_file, AssembleSettings, Getty, InitSystem,
};
pub use hooks::{run_post_build_scripts, run_post_image_scripts, ScriptEnv};
pub use manifest::{Content, Entry, EntryKind, Manifest};
pub use runtime_libs::{dynamic_needs, install_runtime_libs, DynamicNeeds};
pub use strip::strip_tree;
pub use tables::{
    apply_users, DeviceEntry, DeviceKind, DeviceTable, IdSpec, Owner, Password, TableSource,
    UserEntry, UsersTable,
};

/// Errors of the root filesystem assembly.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file or directory failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// A line of a table (device, permission, users) or of an account file
    /// (`etc/passwd`, `etc/group`, `etc/shadow`) is wrong or cannot be applied.
    #[error("{file}:{line}: {message}")]
    Table {
        file: String,
        line: usize,
        message: String,
    },

    /// The tree being assembled has a shape that cannot be expressed: a file
    /// that would replace a directory, a device node in a package tree, a
    /// path with `..`, a symlink loop, an entry without a parent directory.
    #[error("{}: {message}", path.display())]
    Tree { path: PathBuf, message: String },

    /// The strip command failed on one file.
    #[error("cannot strip {}: {message}", file.display())]
    Strip { file: PathBuf, message: String },

    /// A post-build or post-image script could not be started.
    #[error("{kind} script {}: cannot run it: {source}{hint}", script.display())]
    ScriptSpawn {
        kind: &'static str,
        script: PathBuf,
        hint: &'static str,
        #[source]
        source: io::Error,
    },

    /// A post-build or post-image script exited unsuccessfully.
    #[error("{kind} script {} failed ({status}){}", script.display(), log_note(log))]
    ScriptFailed {
        kind: &'static str,
        script: PathBuf,
        status: ExitStatus,
        log: Option<PathBuf>,
    },

    /// Hashing a password failed (only on invalid crypt parameters).
    #[error("cannot hash the password of user {user}: {message}")]
    Password { user: String, message: String },
}

fn log_note(log: &Option<PathBuf>) -> String {
    match log {
        Some(path) => format!("; its output is in {}", path.display()),
        None => String::new(),
    }
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn tree(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Tree {
            path: path.into(),
            message: message.into(),
        }
    }

    pub(crate) fn table(file: &str, line: usize, message: impl Into<String>) -> Self {
        Error::Table {
            file: file.to_string(),
            line,
            message: message.into(),
        }
    }
}

/// Result of this module.
pub type Result<T> = std::result::Result<T, Error>;

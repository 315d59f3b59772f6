//! Errors of the fetch module.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why one location (URL, local path, Debian source package) did not give the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MirrorFailure {
    /// The server answered 404 or 410, or the local file does not exist.
    #[error("not found ({0})")]
    NotFound(String),
    /// Any other HTTP status that is not worth retrying (or still failing after the retries).
    #[error("HTTP status {status}{}", retries_note(*tries))]
    Status { status: u16, tries: u32 },
    /// Connection, TLS, timeout or interrupted-transfer errors (after the retries).
    #[error("{message}{}", retries_note(*tries))]
    Network { message: String, tries: u32 },
    /// The file arrived but its sha256 is not the expected one.
    #[error("sha256 mismatch: expected {expected}, got {actual}")]
    ChecksumMismatch { expected: String, actual: String },
    /// The URL has a scheme this fetcher does not speak, or is not a URL at all.
    #[error("unsupported location: {0}")]
    Unsupported(String),
    /// Reading or writing a local file failed.
    #[error("I/O error: {0}")]
    Io(String),
    /// The download directory's file could not be written or read (a full
    /// or read-only disk, a permission): no other location can do better,
    /// so the fetch stops here.
    #[error("{}: {message}", path.display())]
    Local {
        path: PathBuf,
        /// The OS error number, when there is one.
        errno: Option<i32>,
        message: String,
    },
    /// The Debian source-package backend failed (apt-get missing, no deb-src, no such package...).
    #[error("{0}")]
    Debian(String),
}

fn retries_note(tries: u32) -> String {
    if tries > 1 {
        format!(" (after {tries} tries)")
    } else {
        String::new()
    }
}

/// One location that was tried for a file, and why it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The URL, local path or `apt-get source <pkg>` that was tried.
    pub location: String,
    pub failure: MirrorFailure,
}

impl fmt::Display for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.failure)
    }
}

/// Errors of [`crate::fetch`].
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("invalid file name {name:?} for a download: {reason}")]
    InvalidFileName { name: String, reason: &'static str },

    #[error("invalid sha256 {sha256:?} for {file}: expected 64 hexadecimal digits")]
    InvalidSha256 { file: String, sha256: String },

    #[error("{file} is listed twice with different sha256: {first} and {second}")]
    ConflictingSources {
        file: String,
        first: String,
        second: String,
    },

    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("cannot set up the HTTP client: {0}")]
    Client(#[source] reqwest::Error),

    #[error(
        "could not fetch {file} (expected sha256 {expected}): {}",
        attempts_list(attempts)
    )]
    AllMirrorsFailed {
        file: String,
        expected: String,
        attempts: Vec<Attempt>,
    },

    #[error("{} of the downloads failed:\n{}", .0.len(), errors_list(.0))]
    Several(Vec<FetchError>),

    #[error("{}: not a supported archive (tar, tar.gz/tgz, tar.bz2, tar.xz, tar.zst, zip)", archive.display())]
    UnsupportedArchive { archive: PathBuf },

    #[error("{}: entry {entry:?} {reason}; refusing to extract it", archive.display())]
    UnsafeEntry {
        archive: PathBuf,
        entry: String,
        reason: String,
    },

    #[error("{}: cannot extract: {source}", archive.display())]
    Archive {
        archive: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("{}: cannot extract: {source}", archive.display())]
    Zip {
        archive: PathBuf,
        #[source]
        source: zip::result::ZipError,
    },

    #[error("cannot extract into {}: it already exists and is not an empty directory", dest.display())]
    DestinationExists { dest: PathBuf },
}

impl MirrorFailure {
    /// A failure of the local file `path`.
    pub(crate) fn local(path: &std::path::Path, e: &io::Error) -> MirrorFailure {
        MirrorFailure::Local {
            path: path.to_path_buf(),
            errno: e.raw_os_error(),
            message: e.to_string(),
        }
    }
}

impl FetchError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        FetchError::Io {
            path: path.into(),
            source,
        }
    }
}

fn attempts_list(attempts: &[Attempt]) -> String {
    if attempts.is_empty() {
        return "no location to try (no URL, mirror or Debian source given)".to_string();
    }
    let mut s = String::from("tried:");
    for a in attempts {
        s.push_str("\n  - ");
        s.push_str(&a.to_string());
    }
    s
}

fn errors_list(errors: &[FetchError]) -> String {
    errors
        .iter()
        .map(|e| format!("- {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The message of an error followed by its sources, `a: b: c`.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(src) = cur {
        let m = src.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = src.source();
    }
    s
}

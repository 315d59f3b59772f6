//! Source fetching: a shared download cache, mirrors, backends (http(s), local
//! files and directories, Debian source packages), sha256 checks and archive
//! extraction.
//!
//! This module knows nothing about packages: it gets plain data ([`Source`],
//! [`Mirrors`]) and hands back paths. See `docs/fetch.md` for the design.
//!
//! ```no_run
//! use bbsdk::fetch::{default_dl_dir, extract, Fetcher, Mirrors, Source};
//! # fn main() -> Result<(), bbsdk::fetch::FetchError> {
//! let fetcher = Fetcher::new(default_dl_dir(), Mirrors::default())?;
//! let tarball = fetcher.fetch(&Source {
//!     file_name: "zlib-1.3.1.tar.xz".into(),
//!     urls: vec!["https://example.invalid/zlib-1.3.1.tar.xz".into()],
//!     sha256: "38ef96b8dfe510d42707d9c781877914792541133e1870841463bfa73f883e32".into(),
//!     debian: None,
//! })?;
//! extract(&tarball, std::path::Path::new("output/build/zlib-1.3.1"), 1)?;
//! # Ok(()) }
//! ```

mod debian;
mod error;
mod extract;
mod http;

pub use error::{Attempt, FetchError, MirrorFailure};
pub use extract::extract;

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use reqwest::Url;
use sha2::{Digest, Sha256};

/// One file to fetch: its name in the download cache, where it can be found
/// and its expected sha256.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Source {
    /// Name of the file in the download directory and on the primary/backup
    /// mirrors (a plain name: no `/`).
    pub file_name: String,
    /// The recipe's own locations, tried in order: `http://`, `https://` or
    /// `file://` URLs.
    pub urls: Vec<String>,
    /// Expected sha256 of the file, 64 hexadecimal digits.
    pub sha256: String,
    /// A Debian source package that ships this file, tried after `urls`.
    pub debian: Option<DebianSource>,
}

/// A file of a Debian source package, fetched with `apt-get source`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DebianSource {
    /// Source package name (as in `apt-cache showsrc`).
    pub package: String,
    /// Debian version (`2.10-3`); `None` takes the one apt would pick.
    pub version: Option<String>,
    /// Which file of the source package to take, a glob with `*` and `?`.
    /// `None`: the file named like [`Source::file_name`], else the single
    /// `*.orig.tar.*` tarball.
    pub file: Option<String>,
}

/// Where to look besides the recipe's own URLs (Buildroot's BR2_PRIMARY_SITE,
/// BR2_PRIMARY_SITE_ONLY and BR2_BACKUP_SITE).
///
/// A mirror is a URL (`http://`, `https://`, `file://`) or a plain directory;
/// the file is looked up as `<mirror>/<file name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirrors {
    /// Tried first.
    pub primary: Option<String>,
    /// Try the primary mirror only (nothing else is tried, not even the backup).
    pub primary_only: bool,
    /// Tried last.
    pub backup: Option<String>,
    /// Use the Debian source-package backend for sources that name one.
    pub debian: bool,
}

impl Default for Mirrors {
    fn default() -> Self {
        Mirrors {
            primary: None,
            primary_only: false,
            backup: None,
            debian: true,
        }
    }
}

/// Tunables of a [`Fetcher`].
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Limit for establishing a TCP/TLS connection.
    pub connect_timeout: Duration,
    /// Limit for waiting for the response headers and for each read of the body.
    pub read_timeout: Duration,
    /// Retries of one URL after its first try, for transient errors only
    /// (connection errors, timeouts, interrupted transfers, 408, 429, 5xx).
    pub retries: u32,
    /// Wait before the first retry; doubled for each further one.
    pub backoff: Duration,
    /// Draw progress bars on stderr.
    pub progress: bool,
    /// The `apt-get` program used by the Debian backend.
    pub apt_get: PathBuf,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(60),
            retries: 3,
            backoff: Duration::from_secs(1),
            progress: io::stderr().is_terminal(),
            apt_get: PathBuf::from("apt-get"),
        }
    }
}

/// Fetches [`Source`]s into a download directory.
pub struct Fetcher {
    dl_dir: PathBuf,
    mirrors: Mirrors,
    options: FetchOptions,
    client: reqwest::blocking::Client,
    progress: MultiProgress,
}

/// The default download cache: `$XDG_CACHE_HOME/bbsdk/dl`, else
/// `$HOME/.cache/bbsdk/dl`, else `.bbsdk-dl` in the current directory.
pub fn default_dl_dir() -> PathBuf {
    dl_dir_from(std::env::var_os("XDG_CACHE_HOME"), std::env::var_os("HOME"))
}

fn dl_dir_from(xdg_cache_home: Option<OsString>, home: Option<OsString>) -> PathBuf {
    let xdg = xdg_cache_home.filter(|s| !s.is_empty()).map(PathBuf::from);
    // The XDG spec says a relative path is invalid and must be ignored.
    if let Some(xdg) = xdg.filter(|p| p.is_absolute()) {
        return xdg.join("bbsdk").join("dl");
    }
    match home.filter(|s| !s.is_empty()) {
        Some(home) => PathBuf::from(home).join(".cache").join("bbsdk").join("dl"),
        None => PathBuf::from(".bbsdk-dl"),
    }
}

/// The sha256 of a file, as 64 lowercase hexadecimal digits.
pub fn sha256_file(path: &Path) -> Result<String, FetchError> {
    let mut f = File::open(path).map_err(|e| FetchError::io(path, e))?;
    let mut hasher = Sha256::new();
    io::copy(&mut f, &mut HashWriter(&mut hasher)).map_err(|e| FetchError::io(path, e))?;
    Ok(hex::encode(hasher.finalize()))
}

/// Where one try goes.
enum Location {
    Http(Url),
    Local(PathBuf),
    Debian(DebianSource),
}

struct Candidate {
    /// What the error message shows for this try.
    label: String,
    location: Location,
}

impl Fetcher {
    /// A fetcher with default [`FetchOptions`].
    pub fn new(dl_dir: PathBuf, mirrors: Mirrors) -> Result<Self, FetchError> {
        Self::with_options(dl_dir, mirrors, FetchOptions::default())
    }

    pub fn with_options(
        dl_dir: PathBuf,
        mirrors: Mirrors,
        options: FetchOptions,
    ) -> Result<Self, FetchError> {
        let client = reqwest::blocking::Client::builder()
            .user_agent(concat!("bbsdk/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(options.connect_timeout)
            // In the blocking client this bounds the wait for the headers and
            // each read of the body, not the whole transfer.
            .timeout(options.read_timeout)
            .redirect(reqwest::redirect::Policy::limited(10))
            .build()
            .map_err(FetchError::Client)?;
        let target = if options.progress {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Ok(Fetcher {
            dl_dir,
            mirrors,
            options,
            client,
            progress: MultiProgress::with_draw_target(target),
        })
    }

    pub fn dl_dir(&self) -> &Path {
        &self.dl_dir
    }

    /// Fetches one file into the download directory (or finds it there,
    /// re-verified) and returns its path.
    pub fn fetch(&self, src: &Source) -> Result<PathBuf, FetchError> {
        validate_file_name(&src.file_name)?;
        let expected = normalize_sha256(&src.file_name, &src.sha256)?;
        fs::create_dir_all(&self.dl_dir).map_err(|e| FetchError::io(&self.dl_dir, e))?;
        let final_path = self.dl_dir.join(&src.file_name);
        // Another process sharing this download directory may be fetching the
        // same file: wait for it, then look at the cache again.
        let _lock = self.lock(&src.file_name)?;
        if self.cached_ok(&final_path, &expected)? {
            return Ok(final_path);
        }
        let part = self.dl_dir.join(format!("{}.part", src.file_name));
        let mut attempts = Vec::new();
        for candidate in self.candidates(src) {
            let candidate = match candidate {
                Ok(c) => c,
                Err(attempt) => {
                    attempts.push(attempt);
                    continue;
                }
            };
            let result = match &candidate.location {
                Location::Http(url) => self.fetch_http(url, &src.file_name, &part, &expected),
                Location::Local(path) => self.copy_local(path, &src.file_name, &part, &expected),
                Location::Debian(deb) => self.fetch_debian(deb, &src.file_name, &part, &expected),
            };
            match result {
                Ok(()) => {
                    fs::rename(&part, &final_path).map_err(|e| FetchError::io(&final_path, e))?;
                    return Ok(final_path);
                }
                // The disk, not the location: no other location can do better.
                Err(MirrorFailure::Local {
                    path,
                    errno,
                    message,
                }) => {
                    let e = match errno {
                        Some(n) => io::Error::from_raw_os_error(n),
                        None => io::Error::other(message),
                    };
                    return Err(FetchError::io(path, e));
                }
                Err(failure) => attempts.push(Attempt {
                    location: candidate.label,
                    failure,
                }),
            }
        }
        Err(FetchError::AllMirrorsFailed {
            file: src.file_name.clone(),
            expected,
            attempts,
        })
    }

    /// Fetches several files with at most `jobs` downloads at a time. The
    /// paths come back in the order of `srcs`. A file listed twice is fetched
    /// once. Every file is tried; all failures are reported together.
    pub fn fetch_all(&self, srcs: &[Source], jobs: usize) -> Result<Vec<PathBuf>, FetchError> {
        // One fetch per file name: two threads must not write the same `.part`.
        let mut unique: Vec<&Source> = Vec::new();
        let mut slot_of = Vec::with_capacity(srcs.len());
        for src in srcs {
            match unique.iter().position(|u| u.file_name == src.file_name) {
                Some(i) => {
                    let first = &unique[i].sha256;
                    if !first.eq_ignore_ascii_case(&src.sha256) {
                        return Err(FetchError::ConflictingSources {
                            file: src.file_name.clone(),
                            first: first.clone(),
                            second: src.sha256.clone(),
                        });
                    }
                    slot_of.push(i);
                }
                None => {
                    slot_of.push(unique.len());
                    unique.push(src);
                }
            }
        }
        let results: Vec<Mutex<Option<Result<PathBuf, FetchError>>>> =
            unique.iter().map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        let workers = jobs.clamp(1, unique.len().max(1));
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(src) = unique.get(i) else { break };
                    let result = self.fetch(src);
                    if let Ok(mut slot) = results[i].lock() {
                        *slot = Some(result);
                    }
                });
            }
        });
        let mut paths = Vec::with_capacity(unique.len());
        let mut errors = Vec::new();
        for (src, slot) in unique.iter().zip(results) {
            let result = slot.into_inner().ok().flatten().unwrap_or_else(|| {
                Err(FetchError::AllMirrorsFailed {
                    file: src.file_name.clone(),
                    expected: src.sha256.clone(),
                    attempts: vec![Attempt {
                        location: src.file_name.clone(),
                        failure: MirrorFailure::Io("the download thread panicked".into()),
                    }],
                })
            });
            match result {
                Ok(p) => paths.push(p),
                Err(e) => errors.push(e),
            }
        }
        match errors.len() {
            0 => Ok(slot_of.into_iter().map(|i| paths[i].clone()).collect()),
            1 => Err(errors.remove(0)),
            _ => Err(FetchError::Several(errors)),
        }
    }

    /// Locations to try, in order, for one source. A location that cannot even
    /// be parsed comes back as a failed [`Attempt`].
    fn candidates(&self, src: &Source) -> Vec<Result<Candidate, Attempt>> {
        let mut out = Vec::new();
        if let Some(primary) = &self.mirrors.primary {
            out.push(mirror_candidate(primary, &src.file_name));
        }
        if self.mirrors.primary_only {
            return out;
        }
        out.extend(src.urls.iter().map(|u| url_candidate(u)));
        if self.mirrors.debian {
            if let Some(deb) = &src.debian {
                out.push(Ok(Candidate {
                    label: format!("apt-get source {}", debian::spec(deb)),
                    location: Location::Debian(deb.clone()),
                }));
            }
        }
        if let Some(backup) = &self.mirrors.backup {
            out.push(mirror_candidate(backup, &src.file_name));
        }
        out
    }

    /// Whether `path` holds the right file; a wrong one is removed.
    fn cached_ok(&self, path: &Path, expected: &str) -> Result<bool, FetchError> {
        match fs::symlink_metadata(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(FetchError::io(path, e)),
            Ok(m) if m.is_dir() => {
                return Err(FetchError::io(
                    path,
                    io::Error::other("a directory is in the way of a download"),
                ))
            }
            Ok(_) => {}
        }
        if sha256_file(path)? == expected {
            return Ok(true);
        }
        fs::remove_file(path).map_err(|e| FetchError::io(path, e))?;
        Ok(false)
    }

    fn lock(&self, file_name: &str) -> Result<File, FetchError> {
        let path = self.dl_dir.join(format!("{file_name}.lock"));
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| FetchError::io(&path, e))?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
            .map_err(|e| FetchError::io(&path, e.into()))?;
        Ok(file)
    }

    /// Copies a local file into `part`, hashing it on the way.
    fn copy_local(
        &self,
        path: &Path,
        name: &str,
        part: &Path,
        expected: &str,
    ) -> Result<(), MirrorFailure> {
        let mut input = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(MirrorFailure::NotFound("no such file".into()))
            }
            Err(e) => return Err(MirrorFailure::Io(e.to_string())),
        };
        let meta = input
            .metadata()
            .map_err(|e| MirrorFailure::Io(e.to_string()))?;
        if meta.is_dir() {
            return Err(MirrorFailure::NotFound("is a directory".into()));
        }
        let local = |e: io::Error| MirrorFailure::local(part, &e);
        let mut out = File::create(part).map_err(local)?;
        let bar = self.bar(name, Some(meta.len()));
        let mut hasher = Sha256::new();
        let result = copy_hashing(&mut input, &mut out, &mut hasher, &bar);
        bar.finish_and_clear();
        match result {
            Ok(_) => {}
            Err(Copy::Read(e)) => return Err(MirrorFailure::Io(e.to_string())),
            Err(Copy::Write(e)) => return Err(local(e)),
        }
        out.sync_all().map_err(local)?;
        drop(out);
        check_part(part, expected, hex::encode(hasher.finalize()))
    }

    /// A progress bar for one transfer; hidden when progress is off.
    fn bar(&self, name: &str, len: Option<u64>) -> ProgressBar {
        let bar = match len {
            Some(len) => ProgressBar::new(len).with_style(
                ProgressStyle::with_template(
                    "{msg:30!} {bar:30} {bytes:>10}/{total_bytes:<10} {bytes_per_sec:>12} {eta:>4}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{msg:30!} {spinner} {bytes:>10} {bytes_per_sec:>12}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        let bar = self.progress.add(bar);
        bar.set_message(name.to_string());
        bar
    }
}

/// `<mirror>/<file name>` for a URL or directory mirror.
fn mirror_candidate(mirror: &str, file_name: &str) -> Result<Candidate, Attempt> {
    if !mirror.contains("://") {
        let path = Path::new(mirror).join(file_name);
        return Ok(Candidate {
            label: path.display().to_string(),
            location: Location::Local(path),
        });
    }
    let fail = |why: String| Attempt {
        location: format!("{}/{}", mirror.trim_end_matches('/'), file_name),
        failure: MirrorFailure::Unsupported(why),
    };
    let mut url = Url::parse(mirror).map_err(|e| fail(format!("bad mirror URL: {e}")))?;
    url.path_segments_mut()
        .map_err(|_| fail("mirror URL cannot have a path".into()))?
        .pop_if_empty()
        .push(file_name);
    url_candidate(url.as_str())
}

/// A recipe URL (or a joined mirror URL).
fn url_candidate(raw: &str) -> Result<Candidate, Attempt> {
    let fail = |why: String| Attempt {
        location: raw.to_string(),
        failure: MirrorFailure::Unsupported(why),
    };
    let url = Url::parse(raw).map_err(|e| fail(format!("not a URL: {e}")))?;
    let location = match url.scheme() {
        "http" | "https" => Location::Http(url),
        "file" => Location::Local(
            url.to_file_path()
                .map_err(|()| fail("not a local file URL".into()))?,
        ),
        other => return Err(fail(format!("the {other}: scheme is not supported"))),
    };
    Ok(Candidate {
        label: raw.to_string(),
        location,
    })
}

fn validate_file_name(name: &str) -> Result<(), FetchError> {
    let reason = if name.is_empty() {
        "it is empty"
    } else if name == "." || name == ".." {
        "it is a relative directory"
    } else if name.contains('/') || name.contains('\\') {
        "it contains a path separator"
    } else if name.contains('\0') {
        "it contains a NUL byte"
    } else {
        return Ok(());
    };
    Err(FetchError::InvalidFileName {
        name: name.to_string(),
        reason,
    })
}

fn normalize_sha256(file: &str, sha256: &str) -> Result<String, FetchError> {
    let s = sha256.trim();
    if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(s.to_ascii_lowercase())
    } else {
        Err(FetchError::InvalidSha256 {
            file: file.to_string(),
            sha256: sha256.to_string(),
        })
    }
}

/// Compares the sha256 of `part` with `expected`; a mismatch removes `part`.
fn check_part(part: &Path, expected: &str, actual: String) -> Result<(), MirrorFailure> {
    if actual == expected {
        Ok(())
    } else {
        let _ = fs::remove_file(part);
        Err(MirrorFailure::ChecksumMismatch {
            expected: expected.to_string(),
            actual,
        })
    }
}

/// A writer that feeds a hasher.
struct HashWriter<'a>(&'a mut Sha256);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Which side of a copy failed.
enum Copy {
    /// The source (the network, another file): worth another try.
    Read(io::Error),
    /// The destination (our disk): not.
    Write(io::Error),
}

/// Copies `input` to `out`, feeding `hasher` and `bar`; returns the byte count.
fn copy_hashing(
    input: &mut dyn Read,
    out: &mut dyn Write,
    hasher: &mut Sha256,
    bar: &ProgressBar,
) -> Result<u64, Copy> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Copy::Read(e)),
        };
        out.write_all(&buf[..n]).map_err(Copy::Write)?;
        hasher.update(&buf[..n]);
        total += n as u64;
        bar.inc(n as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_urls_are_joined_and_encoded() {
        let c = mirror_candidate("https://mirror.invalid/dl/", "a b.tar.gz").ok();
        assert_eq!(
            c.map(|c| c.label).as_deref(),
            Some("https://mirror.invalid/dl/a%20b.tar.gz")
        );
        let c = mirror_candidate("https://mirror.invalid/dl", "x.tar").ok();
        assert_eq!(
            c.map(|c| c.label).as_deref(),
            Some("https://mirror.invalid/dl/x.tar")
        );
        let c = mirror_candidate("/srv/mirror", "x.tar").ok();
        assert!(
            matches!(c.map(|c| c.location), Some(Location::Local(p)) if p == Path::new("/srv/mirror/x.tar"))
        );
        let c = mirror_candidate("file:///srv/my%20mirror/", "x.tar").ok();
        assert!(
            matches!(c.map(|c| c.location), Some(Location::Local(p)) if p == Path::new("/srv/my mirror/x.tar"))
        );
    }

    #[test]
    fn unsupported_urls_are_failed_attempts() {
        let e = url_candidate("ftp://host.invalid/x.tar").err();
        assert!(matches!(
            e.map(|a| a.failure),
            Some(MirrorFailure::Unsupported(m)) if m.contains("ftp")
        ));
        assert!(url_candidate("not a url").is_err());
    }

    #[test]
    fn file_names_and_hashes_are_validated() {
        assert!(validate_file_name("zlib-1.3.tar.gz").is_ok());
        for bad in ["", ".", "..", "a/b", "../x", "a\0b"] {
            assert!(validate_file_name(bad).is_err(), "{bad:?}");
        }
        let h = "AB".repeat(32);
        assert_eq!(normalize_sha256("f", &h).ok(), Some("ab".repeat(32)));
        assert!(normalize_sha256("f", "abc").is_err());
        assert!(normalize_sha256("f", &"g".repeat(64)).is_err());
    }

    #[test]
    fn default_dl_dir_follows_xdg_then_home() {
        let os = |s: &str| Some(OsString::from(s));
        assert_eq!(
            dl_dir_from(os("/x/cache"), os("/home/u")),
            PathBuf::from("/x/cache/bbsdk/dl")
        );
        assert_eq!(
            dl_dir_from(os("relative"), os("/home/u")),
            PathBuf::from("/home/u/.cache/bbsdk/dl")
        );
        assert_eq!(
            dl_dir_from(os(""), os("/home/u")),
            PathBuf::from("/home/u/.cache/bbsdk/dl")
        );
        assert_eq!(dl_dir_from(None, None), PathBuf::from(".bbsdk-dl"));
    }

    #[test]
    fn sha256_is_lower_case_hex() {
        // sha256 of the empty string
        assert_eq!(
            hex::encode(Sha256::new().finalize()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}

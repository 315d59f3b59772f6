//! The binary cache: a package's per-package output trees (staging, target,
//! host), stored once built and unpacked instead of building when a later
//! build (in any output directory) needs the same key.
//!
//! ```text
//! <cache>/entries/<key>.json     the entry: an OCI-style descriptor of its archive
//! <cache>/blobs/sha256/<hex>     the archive (tar + zstd), named by its own sha256
//! <cache>/tmp/                   files being written (flock-ed by their writer)
//! ```
//!
//! Every archive is named by the sha256 of its bytes, and the entry records
//! that digest and the size; a restore hashes the archive while unpacking
//! it and uses it only when the digest matches. An archive whose digest does
//! not match is removed (with its entry) and the package is built again; a
//! restore that fails for any other reason (a full or read-only disk, a
//! permission) keeps the entry and reports the OS error and the path.
//! Archives and entries are written under `tmp/` and renamed into place, so a
//! reader sees a whole file or none. See docs/build.md ("The binary cache").

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

use rustix::fs::{flock, FlockOperation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::layout::TREES;
use super::tree;

/// The first member of every archive: format, package name, identity.
const META: &str = "bbsdk-cache";
/// The archive format (the first line of [`META`]).
pub(crate) const FORMAT: &str = "bbsdk-cache-2";
/// The media type of an archive, in its entry (and in a registry's manifest).
pub(crate) const MEDIA_TYPE: &str = "application/vnd.bbsdk.cache.v2.tar+zstd";
/// Annotation keys of an entry.
pub(crate) const ANNOTATION_PACKAGE: &str = "org.bbsdk.cache.package";
pub(crate) const ANNOTATION_IDENTITY: &str = "org.bbsdk.cache.identity";

/// An entry: where its archive is and what it must hash to. The fields and
/// their JSON names are those of an OCI content descriptor, so a registry
/// backend can use it as a manifest's layer as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Descriptor {
    pub media_type: String,
    /// `sha256:<64 lower-case hex digits>` of the archive's bytes.
    pub digest: String,
    /// The archive's size in bytes.
    pub size: u64,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

impl Descriptor {
    /// The hex digest, when the descriptor is one of ours and well formed.
    pub(crate) fn sha256_hex(&self) -> Result<&str, String> {
        if self.media_type != MEDIA_TYPE {
            return Err(format!(
                "media type {:?} is not {MEDIA_TYPE}",
                self.media_type
            ));
        }
        match self.digest.strip_prefix("sha256:") {
            Some(h) if is_sha256_hex(h) => Ok(h),
            _ => Err(format!("digest {:?} is not sha256:<64 hex>", self.digest)),
        }
    }
}

fn is_sha256_hex(h: &str) -> bool {
    h.len() == 64
        && h.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A file-system error of the cache, with the path it happened on.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub(crate) struct CacheError {
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

fn at(path: &Path) -> impl FnOnce(io::Error) -> CacheError + '_ {
    move |source| CacheError {
        path: path.to_path_buf(),
        source,
    }
}

/// What a lookup found.
#[derive(Debug)]
pub(crate) enum Restored {
    /// The entry was verified and unpacked into the per-package directory.
    Hit,
    /// No entry for the key.
    Miss,
    /// The archive does not match its recorded digest (or the entry is
    /// unreadable): both were removed. The reason.
    Corrupt(String),
    /// The archive matches its digest but cannot be used here (another
    /// package's, an unsupported member): kept, the package is built and
    /// the new build replaces the entry. The reason.
    Unusable(String),
}

pub(crate) struct Cache {
    dir: PathBuf,
}

impl Cache {
    pub(crate) fn new(dir: PathBuf) -> Cache {
        Cache { dir }
    }

    /// `<cache>/entries/<key>.json`.
    pub(crate) fn entry(&self, key: &str) -> PathBuf {
        self.dir.join("entries").join(format!("{key}.json"))
    }

    /// `<cache>/blobs/sha256/<hex>`.
    pub(crate) fn blob(&self, hex: &str) -> PathBuf {
        self.dir.join("blobs").join("sha256").join(hex)
    }

    fn tmp_dir(&self) -> PathBuf {
        self.dir.join("tmp")
    }

    /// The entry of `key`: `Ok(None)` when there is none, `Err(Ok(reason))`
    /// when it cannot be parsed, `Err(Err(e))` when it cannot be read.
    #[allow(clippy::type_complexity)]
    fn descriptor(&self, key: &str) -> Result<Option<Descriptor>, Result<String, CacheError>> {
        let path = self.entry(key);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Err(at(&path)(e))),
        };
        let d: Descriptor = serde_json::from_slice(&bytes)
            .map_err(|e| Ok(format!("entry {}: {e}", path.display())))?;
        d.sha256_hex()
            .map_err(|e| Ok(format!("entry {}: {e}", path.display())))?;
        Ok(Some(d))
    }

    /// A new file under `<cache>/tmp/`, locked while it lives (so that
    /// [`Cache::remove_stale`] tells it from one a killed writer left).
    fn temp_file(&self) -> Result<tempfile::NamedTempFile, CacheError> {
        let dir = self.tmp_dir();
        fs::create_dir_all(&dir).map_err(at(&dir))?;
        for _ in 0..8 {
            let t = tempfile::Builder::new()
                .prefix(".")
                .suffix(".tmp")
                .tempfile_in(&dir)
                .map_err(at(&dir))?;
            // A sweeper may have taken it between its creation and our
            // lock: then it is unlinked (or still locked); take another.
            if flock(t.as_file(), FlockOperation::NonBlockingLockExclusive).is_ok()
                && t.as_file().metadata().is_ok_and(|m| m.nlink() > 0)
            {
                return Ok(t);
            }
        }
        Err(at(&dir)(io::Error::other(
            "cannot create a temporary file that stays (another process keeps removing them)",
        )))
    }

    /// Removes what killed writers left in `<cache>/tmp/`: files no live
    /// writer holds a lock on. Returns how many were removed.
    pub(crate) fn remove_stale(&self) -> Result<usize, CacheError> {
        let dir = self.tmp_dir();
        let rd = match fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(at(&dir)(e)),
        };
        let mut removed = 0;
        for entry in rd {
            let path = entry.map_err(at(&dir))?.path();
            let Ok(f) = File::open(&path) else { continue };
            if flock(&f, FlockOperation::NonBlockingLockExclusive).is_ok() {
                match fs::remove_file(&path) {
                    Ok(()) => removed += 1,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(at(&path)(e)),
                }
            }
        }
        Ok(removed)
    }

    /// Stores the output trees of `pp_dir` (the per-package directory) under `key`.
    pub(crate) fn store(
        &self,
        key: &str,
        name: &str,
        identity: &str,
        pp_dir: &Path,
    ) -> Result<(), CacheError> {
        let tmp = self.temp_file()?;
        let (hex, size) =
            write_archive(tmp.as_file(), name, identity, pp_dir).map_err(at(tmp.path()))?;
        let blob = self.blob(&hex);
        let blobs = blob.parent().unwrap_or(&self.dir);
        fs::create_dir_all(blobs).map_err(at(blobs))?;
        tmp.persist(&blob).map_err(|e| at(&blob)(e.error))?;

        let mut annotations = BTreeMap::new();
        annotations.insert(ANNOTATION_PACKAGE.to_string(), name.to_string());
        annotations.insert(ANNOTATION_IDENTITY.to_string(), identity.to_string());
        let d = Descriptor {
            media_type: MEDIA_TYPE.to_string(),
            digest: format!("sha256:{hex}"),
            size,
            annotations,
        };
        let json = serde_json::to_vec_pretty(&d).map_err(|e| at(&blob)(e.into()))?;
        let entry = self.entry(key);
        let old = self.descriptor(key).ok().flatten();
        let tmp = self.temp_file()?;
        let mut f = tmp.as_file();
        f.write_all(&json).map_err(at(tmp.path()))?;
        let entries = entry.parent().unwrap_or(&self.dir);
        fs::create_dir_all(entries).map_err(at(entries))?;
        tmp.persist(&entry).map_err(|e| at(&entry)(e.error))?;
        // The archive the entry named before is no longer reachable.
        if let Some(old_hex) = old.as_ref().and_then(|o| o.sha256_hex().ok()) {
            if old_hex != hex {
                let _ = fs::remove_file(self.blob(old_hex));
            }
        }
        Ok(())
    }

    /// Unpacks the entry of `key` into `pp_dir` (replacing it) once its
    /// archive matches its digest and belongs to `name`/`identity`.
    pub(crate) fn restore(
        &self,
        key: &str,
        name: &str,
        identity: &str,
        pp_dir: &Path,
    ) -> Result<Restored, CacheError> {
        let d = match self.descriptor(key) {
            Ok(Some(d)) => d,
            Ok(None) => return Ok(Restored::Miss),
            Err(Ok(reason)) => {
                self.remove_entry(key, None);
                return Ok(Restored::Corrupt(reason));
            }
            Err(Err(e)) => return Err(e),
        };
        let hex = d.sha256_hex().unwrap_or_default().to_string();
        let blob = self.blob(&hex);
        let file = match File::open(&blob) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // An entry whose archive went away (replaced by a newer
                // build of the same key in another process, or removed).
                self.remove_entry(key, None);
                return Ok(Restored::Miss);
            }
            Err(e) => return Err(at(&blob)(e)),
        };
        let len = file.metadata().map_err(at(&blob))?.len();
        if len != d.size {
            self.remove_entry(key, Some(&hex));
            return Ok(Restored::Corrupt(format!(
                "{}: {len} bytes, the entry records {}",
                blob.display(),
                d.size
            )));
        }
        let parent = pp_dir.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(parent).map_err(at(parent))?;
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}.restore-"))
            .tempdir_in(parent)
            .map_err(at(parent))?;
        let mut reader = HashingReader::new(file);
        let failure = match unpack(&mut reader, tmp.path(), name, identity) {
            Ok(()) => None,
            Err(Fail::Write(path, e)) => return Err(CacheError { path, source: e }),
            Err(Fail::Archive(reason)) => Some(reason),
        };
        let actual = match failure {
            // The rest of the file (the archive's padding) counts too.
            None => {
                io::copy(&mut reader, &mut io::sink()).map_err(at(&blob))?;
                reader.hex()
            }
            // Tell a damaged archive from one that is whole but unusable.
            Some(_) => crate::fetch::sha256_file(&blob).map_err(|e| match e {
                crate::fetch::FetchError::Io { path, source } => CacheError { path, source },
                other => at(&blob)(io::Error::other(other.to_string())),
            })?,
        };
        if actual != hex {
            self.remove_entry(key, Some(&hex));
            return Ok(Restored::Corrupt(format!(
                "{}: sha256 {actual}, the entry records {hex}",
                blob.display()
            )));
        }
        if let Some(reason) = failure {
            return Ok(Restored::Unusable(reason));
        }
        tree::remove_all(pp_dir).map_err(at(pp_dir))?;
        let kept = tmp.keep();
        if let Err(e) = fs::rename(&kept, pp_dir) {
            let _ = tree::remove_all(&kept);
            return Err(at(pp_dir)(e));
        }
        Ok(Restored::Hit)
    }

    /// Removes the entry of `key` and, when given, its archive. Another
    /// process may have stored a good one meanwhile: removing it costs one
    /// rebuild, never a wrong result.
    fn remove_entry(&self, key: &str, hex: Option<&str>) {
        let _ = fs::remove_file(self.entry(key));
        if let Some(h) = hex {
            let _ = fs::remove_file(self.blob(h));
        }
    }
}

/// Writes the archive of `pp_dir`'s trees to `file`; its sha256 (hex) and size.
fn write_archive(
    file: &File,
    name: &str,
    identity: &str,
    pp_dir: &Path,
) -> io::Result<(String, u64)> {
    let writer = HashingWriter::new(BufWriter::with_capacity(256 * 1024, file));
    let enc = zstd::stream::write::Encoder::new(writer, 3)?;
    let mut tar = tar::Builder::new(enc);
    tar.follow_symlinks(false);
    let meta = format!("{FORMAT}\n{name}\n{identity}\n");
    let mut header = tar::Header::new_gnu();
    header.set_size(meta.len() as u64);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    tar.append_data(&mut header, META, meta.as_bytes())?;
    for t in TREES {
        let dir = pp_dir.join(t);
        if dir.is_dir() {
            tar.append_dir_all(t, &dir)?;
        }
    }
    let mut writer = tar.into_inner()?.finish()?;
    writer.flush()?;
    let (hex, size, buf) = writer.finish();
    buf.into_inner().map_err(|e| e.into_error())?;
    Ok((hex, size))
}

/// Why an unpack stopped.
enum Fail {
    /// The archive is damaged, hostile or not ours (to be told apart by its digest).
    Archive(String),
    /// Writing the files failed (no space, read-only, permission): the path.
    Write(PathBuf, io::Error),
}

fn archive_err(e: impl std::fmt::Display) -> Fail {
    Fail::Archive(e.to_string())
}

/// Unpacks an archive into the fresh directory `dest`, checking that every
/// member is below `staging/`, `target/` or `host/` and never written
/// through a symlink, and that the first member names `name`/`identity`.
fn unpack<R: Read>(src: R, dest: &Path, name: &str, identity: &str) -> Result<(), Fail> {
    let dec = zstd::stream::read::Decoder::with_buffer(BufReader::with_capacity(256 * 1024, src))
        .map_err(archive_err)?;
    let mut ar = tar::Archive::new(dec);
    let mut meta = None;
    let mut dirs = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    for entry in ar.entries().map_err(archive_err)? {
        let mut entry = entry.map_err(archive_err)?;
        let path = entry.path().map_err(archive_err)?.into_owned();
        if path == Path::new(META) {
            let mut s = String::new();
            (&mut entry)
                .take(4096)
                .read_to_string(&mut s)
                .map_err(archive_err)?;
            meta = Some(s);
            continue;
        }
        let top_ok = matches!(path.components().next(), Some(Component::Normal(c)) if TREES.iter().any(|t| c == *t));
        if !top_ok || !path.components().all(|c| matches!(c, Component::Normal(_))) {
            return Err(Fail::Archive(format!(
                "unexpected member {}",
                path.display()
            )));
        }
        let target = dest.join(&path);
        make_parents(dest, &path)?;
        let header = entry.header();
        let mode = header.mode().map_err(archive_err)? & 0o7777;
        let mtime = header
            .mtime()
            .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s))
            .map_err(archive_err)?;
        match header.entry_type() {
            tar::EntryType::Directory => {
                match fs::symlink_metadata(&target) {
                    Ok(m) if m.is_dir() => {}
                    Ok(_) => {
                        return Err(Fail::Archive(format!(
                            "{}: not a directory",
                            path.display()
                        )))
                    }
                    Err(_) => {
                        fs::create_dir(&target).map_err(|e| Fail::Write(target.clone(), e))?
                    }
                }
                // Its mode is applied once its files are in (a read-only
                // directory would refuse them).
                dirs.push((target, mode));
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                clear(&target, &path)?;
                let w = |e| Fail::Write(target.clone(), e);
                let mut out = File::create_new(&target).map_err(w)?;
                loop {
                    let n = match entry.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(archive_err(e)),
                    };
                    out.write_all(&buf[..n]).map_err(w)?;
                }
                out.set_permissions(fs::Permissions::from_mode(mode))
                    .map_err(w)?;
                out.set_times(fs::FileTimes::new().set_accessed(mtime).set_modified(mtime))
                    .map_err(w)?;
            }
            tar::EntryType::Symlink => {
                let link = entry
                    .link_name()
                    .map_err(archive_err)?
                    .ok_or_else(|| {
                        Fail::Archive(format!("{}: symlink without a target", path.display()))
                    })?
                    .into_owned();
                clear(&target, &path)?;
                std::os::unix::fs::symlink(&link, &target)
                    .map_err(|e| Fail::Write(target.clone(), e))?;
                let t = rustix::fs::Timespec {
                    tv_sec: mtime
                        .duration_since(SystemTime::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs() as i64),
                    tv_nsec: 0,
                };
                rustix::fs::utimensat(
                    rustix::fs::CWD,
                    &target,
                    &rustix::fs::Timestamps {
                        last_access: t,
                        last_modification: t,
                    },
                    rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
                )
                .map_err(|e| Fail::Write(target.clone(), e.into()))?;
            }
            other => {
                return Err(Fail::Archive(format!(
                    "member {} has an unsupported type ({other:?})",
                    path.display()
                )))
            }
        }
    }
    for (dir, mode) in dirs.iter().rev() {
        fs::set_permissions(dir, fs::Permissions::from_mode(*mode))
            .map_err(|e| Fail::Write(dir.clone(), e))?;
    }
    let expected = format!("{FORMAT}\n{name}\n{identity}\n");
    match meta {
        Some(m) if m == expected => {}
        Some(_) => {
            return Err(Fail::Archive(
                "the archive belongs to another package or identity".into(),
            ))
        }
        None => return Err(Fail::Archive(format!("no {META} member"))),
    }
    for t in TREES {
        let d = dest.join(t);
        fs::create_dir_all(&d).map_err(|e| Fail::Write(d.clone(), e))?;
    }
    Ok(())
}

/// Makes the directories above member `rel` exist as real directories
/// below `dest` (a symlink on the way is refused: never write through one).
fn make_parents(dest: &Path, rel: &Path) -> Result<(), Fail> {
    let mut cur = dest.to_path_buf();
    let n = rel.components().count();
    for c in rel.components().take(n.saturating_sub(1)) {
        cur.push(c);
        match fs::symlink_metadata(&cur) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(Fail::Archive(format!(
                    "member {} would be written through {}",
                    rel.display(),
                    cur.strip_prefix(dest).unwrap_or(&cur).display()
                )))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir(&cur).map_err(|e| Fail::Write(cur.clone(), e))?
            }
            Err(e) => return Err(Fail::Write(cur.clone(), e)),
        }
    }
    Ok(())
}

/// Removes a non-directory an earlier member left at `target`.
fn clear(target: &Path, rel: &Path) -> Result<(), Fail> {
    match fs::symlink_metadata(target) {
        Ok(m) if m.is_dir() => Err(Fail::Archive(format!(
            "member {}: a directory is in the way",
            rel.display()
        ))),
        Ok(_) => fs::remove_file(target).map_err(|e| Fail::Write(target.to_path_buf(), e)),
        Err(_) => Ok(()),
    }
}

/// A reader that hashes what it reads.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R> HashingReader<R> {
    fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
        }
    }

    fn hex(self) -> String {
        hex::encode(self.hasher.finalize())
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// A writer that hashes and counts what it writes.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W> HashingWriter<W> {
    fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    /// The hex sha256, the byte count and the inner writer.
    fn finish(self) -> (String, u64, W) {
        (hex::encode(self.hasher.finalize()), self.count, self.inner)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

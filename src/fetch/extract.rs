//! Archive extraction: tar (plain, gzip, bzip2, xz, zstd) and zip, with
//! `strip_components`, refusing entries that would land outside the
//! destination, and all-or-nothing: the archive is extracted into a
//! temporary directory next to the destination, renamed into place at the end.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::FetchError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Tar(Compression),
    Zip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    None,
    Gzip,
    Bzip2,
    Xz,
    Zstd,
}

/// Extracts `archive` into `dest`, dropping the first `strip_components`
/// path components of every entry (entries with no more components are
/// skipped), like `tar --strip-components`.
///
/// The format is recognised by the archive's first bytes (gzip, bzip2, xz,
/// zstd, zip, ustar), falling back to the name for old tar files. `dest` must
/// not exist, or be an empty directory; its parent is created. Nothing is left
/// behind when extraction fails. An entry with an absolute path, a `..`
/// component, or that would be written through a symlink pointing outside
/// `dest` fails the whole extraction with [`FetchError::UnsafeEntry`].
/// Device nodes and FIFOs are skipped; symlinks are created as they are.
pub fn extract(archive: &Path, dest: &Path, strip_components: usize) -> Result<(), FetchError> {
    match fs::symlink_metadata(dest) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(FetchError::io(dest, e)),
        Ok(m) if m.is_dir() && dir_is_empty(dest)? => {}
        Ok(_) => {
            return Err(FetchError::DestinationExists {
                dest: dest.to_path_buf(),
            })
        }
    }
    let file = File::open(archive).map_err(|e| FetchError::io(archive, e))?;
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let kind = detect(archive, &mut reader)?;

    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(|e| FetchError::io(&parent, e))?;
    let dest_name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{dest_name}.extract-"))
        .tempdir_in(&parent)
        .map_err(|e| FetchError::io(&parent, e))?;

    let mut ex = Extractor::new(archive, tmp.path(), strip_components)?;
    match kind {
        Kind::Tar(compression) => {
            let decoder: Box<dyn Read> = match compression {
                Compression::None => Box::new(reader),
                Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(reader)),
                Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(reader)),
                Compression::Xz => Box::new(xz2::read::XzDecoder::new_multi_decoder(reader)),
                Compression::Zstd => Box::new(
                    zstd::stream::read::Decoder::with_buffer(reader).map_err(|e| ex.bad(e))?,
                ),
            };
            ex.tar(decoder)?;
        }
        Kind::Zip => {
            drop(reader);
            ex.zip()?;
        }
    }
    ex.finish_dirs()?;

    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755))
        .map_err(|e| FetchError::io(tmp.path(), e))?;
    // `rename` replaces an empty directory; on failure `tmp` is removed.
    fs::rename(tmp.path(), dest).map_err(|e| FetchError::io(dest, e))?;
    let _ = tmp.keep();
    Ok(())
}

fn dir_is_empty(dir: &Path) -> Result<bool, FetchError> {
    let mut it = fs::read_dir(dir).map_err(|e| FetchError::io(dir, e))?;
    Ok(it.next().is_none())
}

/// Recognises the archive format from its first bytes, else from its name.
fn detect(archive: &Path, reader: &mut BufReader<File>) -> Result<Kind, FetchError> {
    let head = reader
        .fill_buf()
        .map_err(|e| FetchError::io(archive, e))?
        .to_vec();
    let kind = if head.starts_with(&[0x1f, 0x8b]) {
        Kind::Tar(Compression::Gzip)
    } else if head.starts_with(b"BZh") {
        Kind::Tar(Compression::Bzip2)
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Kind::Tar(Compression::Xz)
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Kind::Tar(Compression::Zstd)
    } else if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        Kind::Zip
    } else if head.get(257..262) == Some(b"ustar") {
        Kind::Tar(Compression::None)
    } else if archive
        .file_name()
        .is_some_and(|n| n.to_string_lossy().ends_with(".tar"))
    {
        // A pre-POSIX (v7) tar has no magic.
        Kind::Tar(Compression::None)
    } else {
        return Err(FetchError::UnsupportedArchive {
            archive: archive.to_path_buf(),
        });
    };
    Ok(kind)
}

/// The relative path an entry goes to after stripping, `None` when nothing
/// is left; an error (the reason) for absolute paths and `..`.
///
/// Like GNU tar, a leading `.` counts as a component: `./pkg-1.0/a` with
/// one component stripped is `pkg-1.0/a`.
fn safe_relative(path: &Path, strip: usize) -> Result<Option<PathBuf>, String> {
    let mut parts = Vec::new();
    for c in path.components() {
        match c {
            Component::Prefix(_) | Component::RootDir => {
                return Err("has an absolute path".into());
            }
            Component::ParentDir => return Err("has a '..' component".into()),
            // `components()` keeps `.` only at the start.
            Component::CurDir => parts.push(None),
            Component::Normal(s) => parts.push(Some(s)),
        }
    }
    let rest: PathBuf = parts.into_iter().skip(strip).flatten().collect();
    Ok((!rest.as_os_str().is_empty()).then_some(rest))
}

/// State of one extraction into a private temporary directory.
struct Extractor<'a> {
    archive: &'a Path,
    root: &'a Path,
    /// `root` with all symlinks resolved, to check where paths really go.
    real_root: PathBuf,
    strip: usize,
    /// Directories get their mode and mtime at the end, once their entries
    /// are written (a read-only directory would refuse them).
    dirs: Vec<(PathBuf, u32, Option<SystemTime>)>,
}

impl<'a> Extractor<'a> {
    fn new(archive: &'a Path, root: &'a Path, strip: usize) -> Result<Self, FetchError> {
        let real_root = root.canonicalize().map_err(|e| FetchError::io(root, e))?;
        Ok(Extractor {
            archive,
            root,
            real_root,
            strip,
            dirs: Vec::new(),
        })
    }

    fn bad(&self, source: io::Error) -> FetchError {
        FetchError::Archive {
            archive: self.archive.to_path_buf(),
            source,
        }
    }

    fn unsafe_entry(&self, entry: &Path, reason: impl Into<String>) -> FetchError {
        FetchError::UnsafeEntry {
            archive: self.archive.to_path_buf(),
            entry: entry.display().to_string(),
            reason: reason.into(),
        }
    }

    /// The stripped, checked relative path of an entry (`None`: skip it).
    fn relative(&self, entry: &Path) -> Result<Option<PathBuf>, FetchError> {
        safe_relative(entry, self.strip).map_err(|reason| self.unsafe_entry(entry, reason))
    }

    /// Makes the parents of `rel` exist as real directories inside the root
    /// (refusing to go through a symlink that leads outside), removes what
    /// is in the way of a non-directory entry, and returns the full path.
    fn prepare(&self, entry: &Path, rel: &Path, is_dir: bool) -> Result<PathBuf, FetchError> {
        let mut cur = self.root.to_path_buf();
        let count = rel.components().count();
        for comp in rel.components().take(count.saturating_sub(1)) {
            cur.push(comp);
            match fs::symlink_metadata(&cur) {
                Ok(m) if m.is_dir() => {}
                Ok(m) if m.file_type().is_symlink() => {
                    let inside = cur
                        .canonicalize()
                        .is_ok_and(|real| real.starts_with(&self.real_root) && real.is_dir());
                    if !inside {
                        let shown = cur.strip_prefix(self.root).unwrap_or(&cur);
                        return Err(self.unsafe_entry(
                            entry,
                            format!(
                                "would be written through the symlink {} that points outside the destination",
                                shown.display()
                            ),
                        ));
                    }
                }
                Ok(_) => {
                    return Err(self.bad(io::Error::other(format!(
                        "entry {}: a parent is not a directory",
                        entry.display()
                    ))))
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    fs::create_dir(&cur).map_err(|e| FetchError::io(&cur, e))?;
                }
                Err(e) => return Err(FetchError::io(&cur, e)),
            }
        }
        let target = self.root.join(rel);
        match fs::symlink_metadata(&target) {
            Ok(m) if m.is_dir() => {
                if !is_dir {
                    return Err(self.bad(io::Error::other(format!(
                        "entry {}: a directory of the same name is already there",
                        entry.display()
                    ))));
                }
            }
            // Never write through what an earlier entry left (a symlink above all).
            Ok(_) => fs::remove_file(&target).map_err(|e| FetchError::io(&target, e))?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(FetchError::io(&target, e)),
        }
        Ok(target)
    }

    fn make_dir(
        &mut self,
        target: &Path,
        mode: u32,
        mtime: Option<SystemTime>,
    ) -> Result<(), FetchError> {
        if !target.is_dir() {
            fs::create_dir(target).map_err(|e| FetchError::io(target, e))?;
        }
        // Keep the directory usable by its owner (the build writes into it).
        self.dirs
            .push((target.to_path_buf(), (mode & 0o777) | 0o700, mtime));
        Ok(())
    }

    /// Applies the recorded modes and mtimes of directories, deepest first.
    fn finish_dirs(&mut self) -> Result<(), FetchError> {
        self.dirs.sort_by(|a, b| b.0.cmp(&a.0));
        for (dir, mode, mtime) in self.dirs.drain(..) {
            if let Some(t) = mtime {
                let set = File::open(&dir).and_then(|f| f.set_modified(t));
                set.map_err(|e| FetchError::io(&dir, e))?;
            }
            fs::set_permissions(&dir, fs::Permissions::from_mode(mode))
                .map_err(|e| FetchError::io(&dir, e))?;
        }
        Ok(())
    }

    fn tar(&mut self, reader: Box<dyn Read>) -> Result<(), FetchError> {
        use tar::EntryType;
        let mut archive = tar::Archive::new(reader);
        archive.set_preserve_mtime(true);
        archive.set_preserve_permissions(false);
        archive.set_unpack_xattrs(false);
        archive.set_overwrite(true);
        for entry in archive.entries().map_err(|e| self.bad(e))? {
            let mut entry = entry.map_err(|e| self.bad(e))?;
            let path = entry.path().map_err(|e| self.bad(e))?.into_owned();
            let kind = entry.header().entry_type();
            if matches!(
                kind,
                EntryType::XGlobalHeader
                    | EntryType::XHeader
                    | EntryType::GNULongName
                    | EntryType::GNULongLink
                    | EntryType::Char
                    | EntryType::Block
                    | EntryType::Fifo
            ) {
                continue;
            }
            let Some(rel) = self.relative(&path)? else {
                continue;
            };
            // Old tar writers mark directories with a trailing slash only.
            let is_dir = kind == EntryType::Directory || entry.path_bytes().ends_with(b"/");
            let target = self.prepare(&path, &rel, is_dir)?;
            if is_dir {
                let mode = entry.header().mode().unwrap_or(0o755);
                let mtime = entry
                    .header()
                    .mtime()
                    .ok()
                    .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s));
                self.make_dir(&target, mode, mtime)?;
            } else if kind == EntryType::Link {
                let link = entry
                    .link_name()
                    .map_err(|e| self.bad(e))?
                    .ok_or_else(|| self.bad(io::Error::other("hard link without a target")))?
                    .into_owned();
                self.hard_link(&path, &link, &target)?;
            } else {
                // Regular files, symlinks (created as they are: only writing
                // through them is checked) and unknown types (as files).
                entry.unpack(&target).map_err(|e| self.bad(e))?;
            }
        }
        Ok(())
    }

    fn hard_link(&self, entry: &Path, link: &Path, target: &Path) -> Result<(), FetchError> {
        let outside = || {
            self.unsafe_entry(
                entry,
                format!(
                    "is a hard link to {} outside the destination",
                    link.display()
                ),
            )
        };
        let rel = safe_relative(link, self.strip)
            .map_err(|_| outside())?
            .ok_or_else(outside)?;
        let src = self.root.join(&rel);
        // Its directory, symlinks resolved, must be inside (the link itself
        // does not follow a final symlink).
        let parent_inside = src
            .parent()
            .and_then(|p| p.canonicalize().ok())
            .is_some_and(|p| p.starts_with(&self.real_root));
        if !parent_inside {
            return Err(outside());
        }
        fs::hard_link(&src, target).map_err(|e| {
            self.bad(io::Error::new(
                e.kind(),
                format!("hard link {} -> {}: {e}", entry.display(), link.display()),
            ))
        })
    }

    fn zip(&mut self) -> Result<(), FetchError> {
        let zip_err = |source| FetchError::Zip {
            archive: self.archive.to_path_buf(),
            source,
        };
        let file = File::open(self.archive).map_err(|e| FetchError::io(self.archive, e))?;
        let mut zip = zip::ZipArchive::new(BufReader::new(file)).map_err(zip_err)?;
        for i in 0..zip.len() {
            let mut f = zip.by_index(i).map_err(|source| FetchError::Zip {
                archive: self.archive.to_path_buf(),
                source,
            })?;
            // Some zip writers use backslashes.
            let path = PathBuf::from(f.name().replace('\\', "/"));
            let Some(rel) = self.relative(&path)? else {
                continue;
            };
            let mtime = f.last_modified().and_then(|d| {
                zip_time(
                    d.year(),
                    d.month(),
                    d.day(),
                    d.hour(),
                    d.minute(),
                    d.second(),
                )
            });
            let mode = f.unix_mode();
            if f.is_dir() {
                let target = self.prepare(&path, &rel, true)?;
                self.make_dir(&target, mode.unwrap_or(0o755), mtime)?;
            } else if f.is_symlink() {
                let mut link = String::new();
                // A link target is short; do not read a hostile entry whole.
                (&mut f)
                    .take(4096)
                    .read_to_string(&mut link)
                    .map_err(|e| self.bad(e))?;
                let target = self.prepare(&path, &rel, false)?;
                std::os::unix::fs::symlink(&link, &target)
                    .map_err(|e| FetchError::io(&target, e))?;
            } else {
                let target = self.prepare(&path, &rel, false)?;
                let mut out = File::create_new(&target).map_err(|e| FetchError::io(&target, e))?;
                io::copy(&mut f, &mut out).map_err(|e| self.bad(e))?;
                if let Some(mode) = mode {
                    out.set_permissions(fs::Permissions::from_mode(mode & 0o777))
                        .map_err(|e| FetchError::io(&target, e))?;
                }
                if let Some(t) = mtime {
                    out.set_modified(t)
                        .map_err(|e| FetchError::io(&target, e))?;
                }
            }
        }
        Ok(())
    }
}

/// A zip (MS-DOS) date and time, taken as UTC, as a `SystemTime`.
fn zip_time(year: u16, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> Option<SystemTime> {
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    // Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
    u64::try_from(secs)
        .ok()
        .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_and_rejects() {
        let p = |s: &str| safe_relative(Path::new(s), 1);
        assert_eq!(p("pkg-1.0/src/a.c"), Ok(Some(PathBuf::from("src/a.c"))));
        assert_eq!(p("./pkg-1.0/a.c"), Ok(Some(PathBuf::from("pkg-1.0/a.c"))));
        assert_eq!(p("./a.c"), Ok(Some(PathBuf::from("a.c"))));
        assert_eq!(p("./"), Ok(None));
        assert_eq!(p("pkg-1.0/"), Ok(None));
        assert!(p("/etc/passwd").is_err());
        assert!(p("pkg/../../x").is_err());
        assert_eq!(
            safe_relative(Path::new("a/b"), 0),
            Ok(Some(PathBuf::from("a/b")))
        );
    }

    #[test]
    fn zip_times() {
        let t = |y, mo, d, h, mi, s| {
            zip_time(y, mo, d, h, mi, s)
                .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
                .map(|d| d.as_secs())
        };
        assert_eq!(t(1980, 1, 1, 0, 0, 0), Some(315_532_800));
        assert_eq!(t(2000, 3, 1, 12, 30, 15), Some(951_913_815));
        assert_eq!(t(2024, 2, 29, 23, 59, 58), Some(1_709_251_198));
        assert_eq!(t(2024, 13, 1, 0, 0, 0), None);
    }
}

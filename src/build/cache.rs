//! The binary cache: a package's per-package output trees (staging, target,
//! host), stored as `<cache>/<key>.tar.zst` once built, and unpacked instead
//! of building when a later build (in any output directory) needs the same
//! key. Entries are written to a temporary name and renamed, so a reader
//! sees a whole entry or none; an entry that cannot be read back is removed
//! and the package is built again.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use super::layout::TREES;
use super::tree;

/// The first entry of every archive: format, package name, identity.
const META: &str = "bbsdk-cache";
const FORMAT: &str = "bbsdk-cache-1";

pub(crate) struct Cache {
    dir: PathBuf,
}

/// What a lookup found.
pub(crate) enum Restored {
    /// The entry was unpacked into the per-package directory.
    Hit,
    /// No entry for the key.
    Miss,
    /// The entry was unreadable (and is removed); the reason.
    Corrupt(String),
}

impl Cache {
    pub(crate) fn new(dir: PathBuf) -> Cache {
        Cache { dir }
    }

    pub(crate) fn entry(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.tar.zst"))
    }

    /// Stores the output trees of `pp_dir` (the per-package directory) under `key`.
    pub(crate) fn store(
        &self,
        key: &str,
        name: &str,
        identity: &str,
        pp_dir: &Path,
    ) -> io::Result<()> {
        fs::create_dir_all(&self.dir)?;
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{key}."))
            .suffix(".tmp")
            .tempfile_in(&self.dir)?;
        {
            let writer = BufWriter::with_capacity(256 * 1024, tmp.as_file());
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
            let enc = tar.into_inner()?;
            let mut writer = enc.finish()?;
            io::Write::flush(&mut writer)?;
        }
        tmp.persist(self.entry(key)).map_err(|e| e.error)?;
        Ok(())
    }

    /// Unpacks the entry of `key` into `pp_dir` (replacing it), checking that
    /// it is whole and belongs to `name`/`identity`.
    pub(crate) fn restore(
        &self,
        key: &str,
        name: &str,
        identity: &str,
        pp_dir: &Path,
    ) -> io::Result<Restored> {
        let path = self.entry(key);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Restored::Miss),
            Err(e) => return Err(e),
        };
        let parent = pp_dir.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(parent)?;
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}.restore-"))
            .tempdir_in(parent)?;
        if let Err(reason) = unpack(file, tmp.path(), name, identity) {
            // Another process may have replaced it meanwhile with a good
            // one; removing that costs one rebuild, never a wrong result.
            let _ = fs::remove_file(&path);
            return Ok(Restored::Corrupt(reason));
        }
        tree::remove_all(pp_dir)?;
        let kept = tmp.keep();
        if let Err(e) = fs::rename(&kept, pp_dir) {
            let _ = tree::remove_all(&kept);
            return Err(e);
        }
        Ok(Restored::Hit)
    }
}

fn unpack(file: File, dest: &Path, name: &str, identity: &str) -> Result<(), String> {
    let dec = zstd::stream::read::Decoder::with_buffer(BufReader::with_capacity(256 * 1024, file))
        .map_err(|e| e.to_string())?;
    let mut ar = tar::Archive::new(dec);
    ar.set_preserve_permissions(true);
    ar.set_preserve_mtime(true);
    ar.set_unpack_xattrs(false);
    let mut meta = None;
    let mut dirs = Vec::new();
    for entry in ar.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let path = entry.path().map_err(|e| e.to_string())?.into_owned();
        if path == Path::new(META) {
            let mut s = String::new();
            entry.read_to_string(&mut s).map_err(|e| e.to_string())?;
            meta = Some(s);
            continue;
        }
        let top_ok = matches!(path.components().next(), Some(Component::Normal(c)) if TREES.iter().any(|t| c == *t));
        if !top_ok {
            return Err(format!("unexpected entry {}", path.display()));
        }
        if entry.header().entry_type() == tar::EntryType::Directory {
            // Created writable; its mode is applied once its files are in
            // (a read-only directory would refuse them).
            if !path.components().all(|c| matches!(c, Component::Normal(_))) {
                return Err(format!("entry {} points outside", path.display()));
            }
            let mode = entry.header().mode().map_err(|e| e.to_string())?;
            fs::create_dir_all(dest.join(&path)).map_err(|e| e.to_string())?;
            dirs.push((dest.join(&path), mode));
            continue;
        }
        let inside = entry.unpack_in(dest).map_err(|e| e.to_string())?;
        if !inside {
            return Err(format!("entry {} points outside", path.display()));
        }
    }
    for (dir, mode) in dirs.iter().rev() {
        fs::set_permissions(dir, fs::Permissions::from_mode(mode & 0o7777))
            .map_err(|e| e.to_string())?;
    }
    // Reading to the end checks the zstd frame is complete.
    let expected = format!("{FORMAT}\n{name}\n{identity}\n");
    match meta {
        Some(m) if m == expected => {}
        Some(_) => return Err("the entry belongs to another package or identity".into()),
        None => return Err("no bbsdk-cache entry".into()),
    }
    for t in TREES {
        fs::create_dir_all(dest.join(t)).map_err(|e| e.to_string())?;
    }
    Ok(())
}

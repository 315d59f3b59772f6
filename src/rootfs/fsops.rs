//! File operations on the real target directory. Every path inside the
//! target is resolved with [`resolve_in_root`], so a symbolic link such as
//! `lib -> /usr/lib` leads to `<target>/usr/lib`, never to the host's
//! `/usr/lib`.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Timespec, Timestamps, CWD};
use walkdir::WalkDir;

use super::manifest::{resolve_links, walk_error};
use super::{Error, Result};

/// The real path of `rel` inside `root`, following symbolic links as the
/// target system would (absolute link targets start again at `root`, `..`
/// never leaves it). Links in the last component are followed only with
/// `follow_last`. Missing components are kept as they are.
pub(crate) fn resolve_in_root(root: &Path, rel: &Path, follow_last: bool) -> Result<PathBuf> {
    let done = resolve_links(rel, follow_last, &root.join(rel), |candidate| {
        let full = root.join(candidate);
        match fs::symlink_metadata(&full) {
            Ok(md) if md.file_type().is_symlink() => fs::read_link(&full)
                .map(Some)
                .map_err(|e| Error::io(&full, e)),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(full, e)),
        }
    })?;
    Ok(root.join(done))
}

/// `fs::symlink_metadata`, with "does not exist" as `None`.
fn lstat(path: &Path) -> Result<Option<fs::Metadata>> {
    match fs::symlink_metadata(path) {
        Ok(md) => Ok(Some(md)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Sets the modification (and access) time of `path` without following a
/// symbolic link.
fn set_mtime(path: &Path, mtime: i64, nsec: i64) -> Result<()> {
    let ts = Timespec {
        tv_sec: mtime,
        tv_nsec: nsec as _,
    };
    let times = Timestamps {
        last_access: ts,
        last_modification: ts,
    };
    rustix::fs::utimensat(CWD, path, &times, AtFlags::SYMLINK_NOFOLLOW)
        .map_err(|e| Error::io(path, e.into()))
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|e| Error::io(path, e))
}

/// Directory modes that could not be applied on disk. Directories in the
/// target always keep `u+rwx` so later layers, scripts and the next clean-up
/// can write into them; the wanted mode is kept here (by path relative to
/// the target) and put back into the Manifest.
pub(crate) type LoosenedDirs = BTreeMap<PathBuf, u32>;

fn create_dir(path: &Path) -> Result<()> {
    fs::create_dir(path).map_err(|e| Error::io(path, e))
}

fn apply_dir_mode(root: &Path, dir: &Path, want: u32, loosened: &mut LoosenedDirs) -> Result<()> {
    let on_disk = want | 0o700;
    set_mode(dir, on_disk)?;
    let rel = dir.strip_prefix(root).unwrap_or(dir).to_path_buf();
    if on_disk != want {
        loosened.insert(rel, want);
    } else {
        loosened.remove(&rel);
    }
    Ok(())
}

/// Copies the tree `src` over the target `root`, like `rsync -a
/// --keep-dirlinks`: later files replace earlier ones, a directory in `src`
/// goes into an existing symbolic link to a directory (the directory the
/// link names is created when missing), modes, times and hard links within
/// `src` are kept. Entries for which `skip` (given the
/// path relative to `src`) is true are left out, with everything below them.
pub(crate) fn copy_tree(
    src: &Path,
    root: &Path,
    skip: &dyn Fn(&Path) -> bool,
    loosened: &mut LoosenedDirs,
) -> Result<()> {
    let md = fs::metadata(src).map_err(|e| Error::io(src, e))?;
    if !md.is_dir() {
        return Err(Error::tree(src, "not a directory"));
    }
    let mut dirs: HashMap<PathBuf, PathBuf> = HashMap::new();
    dirs.insert(PathBuf::new(), root.to_path_buf());
    let mut links: HashMap<(u64, u64), PathBuf> = HashMap::new();
    let mut walker = WalkDir::new(src)
        .follow_links(false)
        .sort_by_file_name()
        .min_depth(1)
        .into_iter();
    while let Some(item) = walker.next() {
        let item = item.map_err(|e| walk_error(src, e))?;
        let Ok(rel) = item.path().strip_prefix(src) else {
            continue;
        };
        let is_dir = item.file_type().is_dir();
        if skip(rel) {
            if is_dir {
                walker.skip_current_dir();
            }
            continue;
        }
        let parent_rel = rel.parent().unwrap_or(Path::new(""));
        let Some(parent_dest) = dirs.get(parent_rel).cloned() else {
            continue;
        };
        let dest = parent_dest.join(item.file_name());
        let md = item.metadata().map_err(|e| walk_error(src, e))?;
        let ft = md.file_type();
        let existing = lstat(&dest)?;
        let want = md.mode() & 0o7777;
        if ft.is_dir() {
            let real = match existing {
                Some(e) if e.is_dir() => {
                    apply_dir_mode(root, &dest, want, loosened)?;
                    dest
                }
                Some(e) if e.file_type().is_symlink() => {
                    let rel_dest = dest.strip_prefix(root).unwrap_or(&dest);
                    let resolved = resolve_in_root(root, rel_dest, true)?;
                    let found = lstat(&resolved)?;
                    if found.as_ref().is_some_and(|m| m.is_dir()) {
                        resolved
                    } else if found.is_none() {
                        // A link to a directory that does not exist yet
                        // (var/run -> ../run before /run is made): make it.
                        let rel_resolved = resolved.strip_prefix(root).unwrap_or(&resolved);
                        mkdir_all_in_root(root, rel_resolved)?
                    } else {
                        fs::remove_file(&dest).map_err(|e| Error::io(&dest, e))?;
                        create_dir(&dest)?;
                        apply_dir_mode(root, &dest, want, loosened)?;
                        dest
                    }
                }
                Some(_) => {
                    fs::remove_file(&dest).map_err(|e| Error::io(&dest, e))?;
                    create_dir(&dest)?;
                    apply_dir_mode(root, &dest, want, loosened)?;
                    dest
                }
                None => {
                    create_dir(&dest)?;
                    apply_dir_mode(root, &dest, want, loosened)?;
                    dest
                }
            };
            dirs.insert(rel.to_path_buf(), real);
            continue;
        }
        if let Some(e) = existing {
            if e.is_dir() {
                return Err(Error::tree(
                    item.path(),
                    format!(
                        "would replace the directory {} with a non-directory; \
                         remove it in a post-build script or rename one of them",
                        dest.display()
                    ),
                ));
            }
            fs::remove_file(&dest).map_err(|e| Error::io(&dest, e))?;
        }
        if ft.is_file() {
            if md.nlink() > 1 {
                let key = (md.dev(), md.ino());
                if let Some(first) = links.get(&key) {
                    fs::hard_link(first, &dest).map_err(|e| Error::io(&dest, e))?;
                    continue;
                }
                links.insert(key, dest.clone());
            }
            fs::copy(item.path(), &dest).map_err(|e| Error::io(item.path(), e))?;
            set_mode(&dest, want)?;
        } else if ft.is_symlink() {
            let target = fs::read_link(item.path()).map_err(|e| Error::io(item.path(), e))?;
            std::os::unix::fs::symlink(&target, &dest).map_err(|e| Error::io(&dest, e))?;
        } else if ft.is_fifo() {
            rustix::fs::mknodat(
                CWD,
                &dest,
                rustix::fs::FileType::Fifo,
                rustix::fs::Mode::from_raw_mode(want),
                0,
            )
            .map_err(|e| Error::io(&dest, e.into()))?;
            set_mode(&dest, want)?;
        } else {
            return Err(Error::tree(
                item.path(),
                "device nodes and sockets cannot be copied into the target; \
                 declare device nodes in a device table instead",
            ));
        }
        set_mtime(&dest, md.mtime(), md.mtime_nsec())?;
    }
    Ok(())
}

/// Creates the directory `rel` and its missing parents inside `root`
/// (mode 0755), following symbolic links inside the root. Returns the real
/// path. An existing non-directory is an error.
pub(crate) fn mkdir_all_in_root(root: &Path, rel: &Path) -> Result<PathBuf> {
    let real = resolve_in_root(root, rel, true)?;
    let mut current = root.to_path_buf();
    let Ok(below) = real.strip_prefix(root) else {
        return Ok(real);
    };
    for c in below.components() {
        current.push(c);
        match lstat(&current)? {
            Some(md) if md.is_dir() => {}
            Some(_) => {
                return Err(Error::tree(
                    &current,
                    "exists and is not a directory, so nothing can be created in it",
                ))
            }
            None => {
                create_dir(&current)?;
                set_mode(&current, 0o755)?;
            }
        }
    }
    Ok(real)
}

/// Reads the file `rel` inside `root` (links followed inside the root);
/// `None` when it does not exist.
pub(crate) fn read_in_root(root: &Path, rel: &Path) -> Result<Option<String>> {
    let real = resolve_in_root(root, rel, true)?;
    match fs::read(&real) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(real, e)),
    }
}

/// Writes the file `rel` inside `root` (links followed inside the root):
/// the old file is unlinked first, so a hard link to a file elsewhere is
/// never written through; its mode is kept, or `new_mode` is used for a
/// new file. Missing parents are created.
pub(crate) fn write_in_root(root: &Path, rel: &Path, bytes: &[u8], new_mode: u32) -> Result<()> {
    let real = resolve_in_root(root, rel, true)?;
    if let Some(parent) = real.parent() {
        let parent_rel = parent.strip_prefix(root).unwrap_or(Path::new(""));
        mkdir_all_in_root(root, parent_rel)?;
    }
    let mode = match lstat(&real)? {
        Some(md) if md.is_dir() => {
            return Err(Error::tree(&real, "is a directory, expected a file"));
        }
        Some(md) => {
            fs::remove_file(&real).map_err(|e| Error::io(&real, e))?;
            md.mode() & 0o7777
        }
        None => new_mode,
    };
    fs::write(&real, bytes).map_err(|e| Error::io(&real, e))?;
    set_mode(&real, mode)
}

/// Removes `path` whatever it is (a tree is made writable first so that
/// read-only directories do not stop the removal).
pub(crate) fn remove_all(path: &Path) -> Result<()> {
    let Some(md) = lstat(path)? else {
        return Ok(());
    };
    if !md.is_dir() {
        return fs::remove_file(path).map_err(|e| Error::io(path, e));
    }
    if fs::remove_dir_all(path).is_ok() {
        return Ok(());
    }
    for item in WalkDir::new(path).follow_links(false) {
        let Ok(item) = item else { continue };
        if item.file_type().is_dir() {
            let _ = fs::set_permissions(item.path(), fs::Permissions::from_mode(0o700));
        }
    }
    fs::remove_dir_all(path).map_err(|e| Error::io(path, e))
}

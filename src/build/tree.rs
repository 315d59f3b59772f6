//! File-tree helpers: hard-link (or copy) one tree into another, move a tree
//! into another, list files, and remove trees even when they hold read-only
//! directories.

use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Links every entry of `src` into `dst` (created when missing): directories
/// are created, regular files hard-linked (copied when a link cannot be made,
/// e.g. across file systems), symlinks re-created. An existing entry of `dst`
/// with the same path is replaced: the tree linked last wins.
///
/// Directories are created owner-writable so that more trees can be linked
/// in; those whose mode lacks owner rwx are pushed on `modes` for
/// [`apply_modes`] once all trees are in.
pub(crate) fn link_tree(src: &Path, dst: &Path, modes: &mut Vec<(PathBuf, u32)>) -> io::Result<()> {
    let meta = match fs::symlink_metadata(src) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !meta.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a directory", src.display()),
        ));
    }
    ensure_dir(dst, meta.mode(), modes)?;
    link_dir(src, dst, modes)
}

fn link_dir(src: &Path, dst: &Path, modes: &mut Vec<(PathBuf, u32)>) -> io::Result<()> {
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        let from = entry.path();
        let to = dst.join(entry.file_name());
        let ft = entry.file_type()?;
        if ft.is_dir() {
            let mode = entry.metadata()?.mode();
            ensure_dir(&to, mode, modes)?;
            link_dir(&from, &to, modes)?;
        } else {
            replace_with(&from, &to, ft.is_symlink())?;
        }
    }
    Ok(())
}

/// Makes `path` a directory (replacing a non-directory), owner-writable so
/// that later trees can be merged into it.
fn ensure_dir(path: &Path, mode: u32, modes: &mut Vec<(PathBuf, u32)>) -> io::Result<()> {
    if mode & 0o700 != 0o700 {
        modes.push((path.to_path_buf(), mode & 0o7777));
    }
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() && m.mode() & 0o700 == 0o700 => return Ok(()),
        // A directory given its read-only mode by an earlier merge.
        Ok(m) if m.is_dir() => {
            return fs::set_permissions(path, fs::Permissions::from_mode(m.mode() | 0o700))
        }
        Ok(_) => fs::remove_file(path)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    fs::create_dir(path)?;
    fs::set_permissions(path, fs::Permissions::from_mode((mode & 0o7777) | 0o700))
}

fn replace_with(from: &Path, to: &Path, symlink: bool) -> io::Result<()> {
    match fs::symlink_metadata(to) {
        Ok(m) if m.is_dir() => remove_all(to)?,
        Ok(_) => fs::remove_file(to)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    if symlink {
        let target = fs::read_link(from)?;
        return std::os::unix::fs::symlink(target, to);
    }
    if fs::hard_link(from, to).is_ok() {
        return Ok(());
    }
    copy_file(from, to)
}

/// Gives the directories recorded by [`link_tree`] their modes, deepest first.
pub(crate) fn apply_modes(modes: &[(PathBuf, u32)]) -> io::Result<()> {
    for (dir, mode) in modes.iter().rev() {
        fs::set_permissions(dir, fs::Permissions::from_mode(*mode))?;
    }
    Ok(())
}

/// Copies a regular file with its permissions and modification time.
pub(crate) fn copy_file(from: &Path, to: &Path) -> io::Result<()> {
    fs::copy(from, to)?;
    let meta = fs::metadata(from)?;
    if let Ok(mtime) = meta.modified() {
        let f = fs::OpenOptions::new().write(true).open(to)?;
        f.set_modified(mtime)?;
    }
    Ok(())
}

/// Moves every entry of `src` into `dst` by renaming; where both hold a
/// directory of the same name their contents are merged, otherwise the entry
/// of `src` replaces the one of `dst`. `src` is left empty.
pub(crate) fn move_into(src: &Path, dst: &Path) -> io::Result<()> {
    fs::create_dir_all(dst)?;
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        let from = entry.path();
        let to = dst.join(entry.file_name());
        let from_dir = entry.file_type()?.is_dir();
        match fs::symlink_metadata(&to) {
            Ok(m) if m.is_dir() && from_dir => {
                move_into(&from, &to)?;
                fs::remove_dir(&from)?;
                continue;
            }
            Ok(m) if m.is_dir() => remove_all(&to)?,
            Ok(_) => fs::remove_file(&to)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        fs::rename(&from, &to)?;
    }
    Ok(())
}

/// Removes a file or a tree; a missing path is fine. Directories without
/// write permission (some packages install them) are made writable first.
pub(crate) fn remove_all(path: &Path) -> io::Result<()> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !meta.is_dir() {
        return fs::remove_file(path);
    }
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            make_writable(path)?;
            fs::remove_dir_all(path)
        }
        Err(e) => Err(e),
    }
}

fn make_writable(dir: &Path) -> io::Result<()> {
    let meta = fs::symlink_metadata(dir)?;
    if !meta.is_dir() {
        return Ok(());
    }
    fs::set_permissions(dir, fs::Permissions::from_mode(meta.mode() | 0o700))?;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            make_writable(&entry.path())?;
        }
    }
    Ok(())
}

/// The non-directory entries below `root` as `prefix/relative/path`, sorted.
pub(crate) fn list_files(root: &Path, prefix: &str, out: &mut Vec<String>) -> io::Result<()> {
    fn walk(dir: &Path, rel: &mut PathBuf, out: &mut Vec<String>) -> io::Result<()> {
        let mut entries: Vec<_> = fs::read_dir(dir)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            rel.push(e.file_name());
            if e.file_type()?.is_dir() {
                walk(&e.path(), rel, out)?;
            } else {
                out.push(rel.to_string_lossy().into_owned());
            }
            rel.pop();
        }
        Ok(())
    }
    if !root.is_dir() {
        return Ok(());
    }
    let mut rel = PathBuf::from(prefix);
    walk(root, &mut rel, out)
}

/// Writes `bytes` to `path` through a temporary file renamed into place.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".bbsdk-tmp-")
        .tempfile_in(dir)?;
    io::Write::write_all(&mut tmp, bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The file's content, or `None` when it does not exist.
pub(crate) fn read_optional(path: &Path) -> io::Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

//! The Manifest: every entry of the final root filesystem, with its type,
//! mode, owner, time and content, sorted by path. Image writers read only
//! this, never the target directory itself.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Component, Path, PathBuf};

use walkdir::WalkDir;

use super::{Error, Result};

/// Where the bytes of a regular file come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// A file on disk, with the size it had when the Manifest was made.
    /// Writers refuse the file if its size changed since.
    Disk { path: PathBuf, size: u64 },
    /// Bytes held in memory (generated files such as `etc/passwd`).
    Inline(Vec<u8>),
}

impl Content {
    /// Size in bytes.
    pub fn size(&self) -> u64 {
        match self {
            Content::Disk { size, .. } => *size,
            Content::Inline(bytes) => bytes.len() as u64,
        }
    }

    /// All the bytes of the file.
    pub fn read(&self) -> io::Result<Vec<u8>> {
        match self {
            Content::Disk { path, .. } => fs::read(path),
            Content::Inline(bytes) => Ok(bytes.clone()),
        }
    }
}

/// The type of an entry, with what that type needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    Dir,
    File(Content),
    /// A symbolic link with its target, stored as written (absolute targets
    /// are resolved inside the root filesystem at run time).
    Symlink(PathBuf),
    /// A hard link to another entry of the Manifest (a regular file whose
    /// path sorts before this one).
    HardLink(PathBuf),
    CharDevice {
        major: u32,
        minor: u32,
    },
    BlockDevice {
        major: u32,
        minor: u32,
    },
    Fifo,
}

/// One entry of the root filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: EntryKind,
    /// Permission bits, including setuid (0o4000), setgid (0o2000) and
    /// sticky (0o1000).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Modification time, seconds since 1970. Writers clamp it to
    /// `SOURCE_DATE_EPOCH` when they are given one.
    pub mtime: u64,
}

impl Entry {
    /// An entry of the given kind owned by root with mtime 0.
    pub fn new(kind: EntryKind, mode: u32) -> Self {
        Entry {
            kind,
            mode: mode & 0o7777,
            uid: 0,
            gid: 0,
            mtime: 0,
        }
    }

    /// A directory.
    pub fn dir(mode: u32) -> Self {
        Entry::new(EntryKind::Dir, mode)
    }

    /// A regular file with the given bytes.
    pub fn inline_file(bytes: impl Into<Vec<u8>>, mode: u32) -> Self {
        Entry::new(EntryKind::File(Content::Inline(bytes.into())), mode)
    }

    /// A symbolic link (mode 0777).
    pub fn symlink(target: impl Into<PathBuf>) -> Self {
        Entry::new(EntryKind::Symlink(target.into()), 0o777)
    }

    /// The same entry with another owner.
    pub fn with_owner(mut self, uid: u32, gid: u32) -> Self {
        self.uid = uid;
        self.gid = gid;
        self
    }

    /// The same entry with another modification time.
    pub fn with_mtime(mut self, mtime: u64) -> Self {
        self.mtime = mtime;
        self
    }

    /// Size of the content: the file size for regular files, 0 otherwise.
    pub fn size(&self) -> u64 {
        match &self.kind {
            EntryKind::File(content) => content.size(),
            _ => 0,
        }
    }

    pub fn is_dir(&self) -> bool {
        matches!(self.kind, EntryKind::Dir)
    }
}

/// Every entry of a root filesystem, sorted by path.
///
/// Paths are relative to the root and normalised (`etc/passwd`); the root
/// itself is the empty path. Every entry but the root has a directory entry
/// as its parent. Methods taking a path accept `/etc/passwd`, `./etc/passwd`
/// and `etc/passwd` alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    entries: BTreeMap<PathBuf, Entry>,
}

/// How many symbolic links one path lookup may follow.
const MAX_SYMLINKS: usize = 40;

impl Manifest {
    /// A Manifest holding only the root directory (mode 0755, owned by
    /// root, with the given time, which is also the time of entries created
    /// later by tables).
    pub fn new(root_mtime: u64) -> Self {
        let mut entries = BTreeMap::new();
        entries.insert(PathBuf::new(), Entry::dir(0o755).with_mtime(root_mtime));
        Manifest { entries }
    }

    /// The Manifest of a directory tree, walked without following symbolic
    /// links. Every entry is owned by root (uid and gid 0): files produced
    /// by an unprivileged build belong to root in the image. Regular files
    /// that are hard links of each other become one file plus hard links.
    /// Sockets are skipped (no image format stores them).
    pub fn from_dir(root: &Path) -> Result<Self> {
        let root = &std::path::absolute(root).map_err(|e| Error::io(root, e))?;
        let root_md = fs::metadata(root).map_err(|e| Error::io(root, e))?;
        if !root_md.is_dir() {
            return Err(Error::tree(root, "not a directory"));
        }
        let mut entries = BTreeMap::new();
        let mut inodes: HashMap<(u64, u64), PathBuf> = HashMap::new();
        for item in WalkDir::new(root).follow_links(false).sort_by_file_name() {
            let item = item.map_err(|e| walk_error(root, e))?;
            let Ok(rel) = item.path().strip_prefix(root) else {
                continue;
            };
            let rel = rel.to_path_buf();
            let md = if rel.as_os_str().is_empty() {
                root_md.clone()
            } else {
                item.metadata().map_err(|e| walk_error(root, e))?
            };
            let ft = md.file_type();
            let kind = if ft.is_dir() {
                EntryKind::Dir
            } else if ft.is_file() {
                let first = if md.nlink() > 1 {
                    let key = (md.dev(), md.ino());
                    match inodes.get(&key) {
                        Some(first) => Some(first.clone()),
                        None => {
                            inodes.insert(key, rel.clone());
                            None
                        }
                    }
                } else {
                    None
                };
                match first {
                    Some(first) => EntryKind::HardLink(first),
                    None => EntryKind::File(Content::Disk {
                        path: item.path().to_path_buf(),
                        size: md.len(),
                    }),
                }
            } else if ft.is_symlink() {
                let target = fs::read_link(item.path()).map_err(|e| Error::io(item.path(), e))?;
                EntryKind::Symlink(target)
            } else if ft.is_char_device() {
                EntryKind::CharDevice {
                    major: rustix::fs::major(md.rdev()),
                    minor: rustix::fs::minor(md.rdev()),
                }
            } else if ft.is_block_device() {
                EntryKind::BlockDevice {
                    major: rustix::fs::major(md.rdev()),
                    minor: rustix::fs::minor(md.rdev()),
                }
            } else if ft.is_fifo() {
                EntryKind::Fifo
            } else {
                continue;
            };
            let mode = if matches!(kind, EntryKind::Symlink(_)) {
                0o777
            } else {
                md.mode() & 0o7777
            };
            entries.insert(
                rel,
                Entry {
                    kind,
                    mode,
                    uid: 0,
                    gid: 0,
                    mtime: md.mtime().max(0) as u64,
                },
            );
        }
        Ok(Manifest { entries })
    }

    /// Number of entries, the root included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when not even the root is there (never for Manifests made by
    /// [`Manifest::new`] or [`Manifest::from_dir`]).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// All entries, sorted by path (parents before their contents).
    pub fn iter(&self) -> impl Iterator<Item = (&Path, &Entry)> {
        self.entries.iter().map(|(p, e)| (p.as_path(), e))
    }

    /// The entry at `path` (not following symbolic links).
    pub fn get(&self, path: impl AsRef<Path>) -> Option<&Entry> {
        let path = normalize(path.as_ref()).ok()?;
        self.entries.get(&path)
    }

    /// The entry at `path`, to change it (not following symbolic links).
    pub fn get_mut(&mut self, path: impl AsRef<Path>) -> Option<&mut Entry> {
        let path = normalize(path.as_ref()).ok()?;
        self.entries.get_mut(&path)
    }

    pub fn contains(&self, path: impl AsRef<Path>) -> bool {
        self.get(path).is_some()
    }

    /// The time given to entries created after the Manifest was made: the
    /// modification time of the root directory.
    pub fn creation_time(&self) -> u64 {
        self.entries.get(Path::new("")).map_or(0, |e| e.mtime)
    }

    /// Adds or replaces the entry at `path` and returns the one it replaced.
    ///
    /// The parent must be a directory entry. A directory replacing a
    /// directory keeps its contents; anything else replacing a directory
    /// that still has contents is refused. A hard link must point at a
    /// regular file that sorts before it.
    pub fn insert(&mut self, path: impl AsRef<Path>, entry: Entry) -> Result<Option<Entry>> {
        let path = normalize(path.as_ref())?;
        if path.as_os_str().is_empty() {
            if !entry.is_dir() {
                return Err(Error::tree("/", "the root must be a directory"));
            }
            return Ok(self.entries.insert(path, entry));
        }
        let parent = path.parent().unwrap_or(Path::new(""));
        match self.entries.get(parent) {
            Some(e) if e.is_dir() => {}
            Some(_) => {
                return Err(Error::tree(
                    display_path(&path),
                    format!("{} is not a directory", display_path(parent).display()),
                ))
            }
            None => {
                return Err(Error::tree(
                    display_path(&path),
                    format!(
                        "parent directory {} does not exist",
                        display_path(parent).display()
                    ),
                ))
            }
        }
        if let EntryKind::HardLink(target) = &entry.kind {
            let target = normalize(target)?;
            if target >= path {
                return Err(Error::tree(
                    display_path(&path),
                    format!(
                        "hard link target {} must sort before the link",
                        display_path(&target).display()
                    ),
                ));
            }
            match self.entries.get(&target) {
                Some(Entry {
                    kind: EntryKind::File(_),
                    ..
                }) => {}
                _ => {
                    return Err(Error::tree(
                        display_path(&path),
                        format!(
                            "hard link target {} is not a regular file",
                            display_path(&target).display()
                        ),
                    ))
                }
            }
        }
        match self.entries.get(&path) {
            Some(old) if old.is_dir() && entry.is_dir() => Ok(self.entries.insert(path, entry)),
            Some(old) if old.is_dir() && self.has_children(&path) => Err(Error::tree(
                display_path(&path),
                "cannot replace a directory that is not empty",
            )),
            Some(_) => {
                let old = self.remove(&path);
                self.entries.insert(path, entry);
                Ok(old)
            }
            None => Ok(self.entries.insert(path, entry)),
        }
    }

    /// Removes the entry at `path`, and everything below it when it is a
    /// directory; returns the entry. Hard links to a removed file survive:
    /// the first of them takes the file's content.
    pub fn remove(&mut self, path: impl AsRef<Path>) -> Option<Entry> {
        let path = normalize(path.as_ref()).ok()?;
        if path.as_os_str().is_empty() {
            return None;
        }
        let below: Vec<PathBuf> = self.subtree(&path).skip(1).cloned().collect();
        let mut removed_files: HashMap<PathBuf, EntryKind> = HashMap::new();
        for p in below {
            if let Some(e) = self.entries.remove(&p) {
                if let EntryKind::File(_) = e.kind {
                    removed_files.insert(p, e.kind);
                }
            }
        }
        let entry = self.entries.remove(&path)?;
        if let EntryKind::File(_) = entry.kind {
            removed_files.insert(path, entry.kind.clone());
        }
        if !removed_files.is_empty() {
            self.promote_links(removed_files);
        }
        Some(entry)
    }

    /// After removing files, turn the first remaining hard link to each of
    /// them into the file and point the other links at that one.
    fn promote_links(&mut self, mut removed: HashMap<PathBuf, EntryKind>) {
        let mut links: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
        for (p, e) in &self.entries {
            if let EntryKind::HardLink(t) = &e.kind {
                if removed.contains_key(t) {
                    links.entry(t.clone()).or_default().push(p.clone());
                }
            }
        }
        for (old, paths) in links {
            let (Some((first, rest)), Some(kind)) = (paths.split_first(), removed.remove(&old))
            else {
                continue;
            };
            if let Some(e) = self.entries.get_mut(first) {
                e.kind = kind;
            }
            for p in rest {
                if let Some(e) = self.entries.get_mut(p) {
                    e.kind = EntryKind::HardLink(first.clone());
                }
            }
        }
    }

    fn has_children(&self, path: &Path) -> bool {
        self.subtree(path).nth(1).is_some()
    }

    /// The paths of `path` and of everything below it, in order.
    fn subtree<'a>(&'a self, path: &'a Path) -> impl Iterator<Item = &'a PathBuf> + 'a {
        self.entries
            .range(path.to_path_buf()..)
            .map(|(p, _)| p)
            .take_while(move |p| p.starts_with(path))
    }

    /// The paths of `path` and everything below it (normalised).
    pub fn paths_under(&self, path: impl AsRef<Path>) -> Vec<PathBuf> {
        match normalize(path.as_ref()) {
            Ok(path) => self.subtree(&path).cloned().collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Sets the owner of `path` and of everything below it, and the mode
    /// too when one is given. Symbolic links are not followed.
    pub fn set_tree_attributes(
        &mut self,
        path: impl AsRef<Path>,
        uid: u32,
        gid: u32,
        mode: Option<u32>,
    ) {
        for p in self.paths_under(path) {
            if let Some(e) = self.entries.get_mut(&p) {
                e.uid = uid;
                e.gid = gid;
                if let Some(mode) = mode {
                    if !matches!(e.kind, EntryKind::Symlink(_)) {
                        e.mode = mode & 0o7777;
                    }
                }
            }
        }
    }

    /// Resolves symbolic links inside the Manifest, as the kernel would
    /// inside the image: links in every component but the last are
    /// followed, and in the last one too with `follow_last`; absolute
    /// targets start again from the root. Components that do not exist
    /// (yet) are kept as they are, so the result may name a missing entry.
    pub fn resolve(&self, path: impl AsRef<Path>, follow_last: bool) -> Result<PathBuf> {
        let path = path.as_ref();
        resolve_links(path, follow_last, path, |candidate| {
            Ok(match self.entries.get(candidate) {
                Some(Entry {
                    kind: EntryKind::Symlink(target),
                    ..
                }) => Some(target.clone()),
                _ => None,
            })
        })
    }

    /// The content of the regular file at `path` (symbolic links and hard
    /// links followed), or `None` when there is no entry there.
    pub fn read_file(&self, path: impl AsRef<Path>) -> Result<Option<Vec<u8>>> {
        let real = self.resolve(path.as_ref(), true)?;
        let Some(entry) = self.entries.get(&real) else {
            return Ok(None);
        };
        let entry = match &entry.kind {
            EntryKind::HardLink(target) => match self.entries.get(target) {
                Some(e) => e,
                None => return Ok(None),
            },
            _ => entry,
        };
        match &entry.kind {
            EntryKind::File(content) => content
                .read()
                .map(Some)
                .map_err(|e| Error::io(display_path(&real), e)),
            _ => Err(Error::tree(display_path(&real), "not a regular file")),
        }
    }

    /// Replaces the content of the regular file at `path` (following
    /// symbolic links) with `bytes`, keeping its mode and owner; creates the
    /// file with `new_mode`, owned by root, when it does not exist. The
    /// entry gets the Manifest's creation time.
    pub fn write_file(
        &mut self,
        path: impl AsRef<Path>,
        bytes: impl Into<Vec<u8>>,
        new_mode: u32,
    ) -> Result<()> {
        let real = self.resolve(path.as_ref(), true)?;
        let now = self.creation_time();
        let real = match self.entries.get(&real) {
            Some(Entry {
                kind: EntryKind::HardLink(target),
                ..
            }) => target.clone(),
            _ => real,
        };
        match self.entries.get_mut(&real) {
            Some(e) if matches!(e.kind, EntryKind::File(_)) => {
                e.kind = EntryKind::File(Content::Inline(bytes.into()));
                e.mtime = now;
                Ok(())
            }
            Some(_) => Err(Error::tree(display_path(&real), "not a regular file")),
            None => {
                if let Some(parent) = real.parent() {
                    self.create_dir_all(parent, 0o755, 0, 0)?;
                }
                self.insert(&real, Entry::inline_file(bytes, new_mode).with_mtime(now))?;
                Ok(())
            }
        }
    }

    /// Creates the directory `path` and its missing parents (symbolic links
    /// in existing components are followed). Created parents get mode 0755
    /// and root as owner, `path` itself the given mode and owner when it is
    /// created; an existing directory is left as it is. Returns the real
    /// (resolved) path.
    pub fn create_dir_all(
        &mut self,
        path: impl AsRef<Path>,
        mode: u32,
        uid: u32,
        gid: u32,
    ) -> Result<PathBuf> {
        let real = self.resolve(path.as_ref(), true)?;
        let now = self.creation_time();
        let mut current = PathBuf::new();
        let components: Vec<_> = real.components().collect();
        for (i, c) in components.iter().enumerate() {
            current.push(c);
            match self.entries.get(&current) {
                Some(e) if e.is_dir() => {}
                Some(_) => {
                    return Err(Error::tree(
                        display_path(&current),
                        "exists and is not a directory",
                    ))
                }
                None => {
                    let entry = if i + 1 == components.len() {
                        Entry::dir(mode).with_owner(uid, gid)
                    } else {
                        Entry::dir(0o755)
                    };
                    self.insert(&current, entry.with_mtime(now))?;
                }
            }
        }
        Ok(real)
    }
}

/// `path` with a leading `/`, for messages about entries of the image.
pub(crate) fn display_path(path: &Path) -> PathBuf {
    Path::new("/").join(path)
}

/// Normalises a path inside the root: drops `/`, `.` and repeated
/// separators; refuses `..`.
pub fn normalize(path: &Path) -> Result<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            Component::ParentDir => {
                return Err(Error::tree(
                    path,
                    "paths in the root filesystem cannot use '..'",
                ))
            }
            Component::Normal(name) => out.push(name),
        }
    }
    Ok(out)
}

/// Resolves `path` component by component as the target system would:
/// `link(candidate)` gives the target when the partial path is a symbolic
/// link; absolute targets start again from the root, `..` never leaves it,
/// the last component is followed only with `follow_last`. `err_path`
/// names the path in a "too many levels" error.
pub(crate) fn resolve_links(
    path: &Path,
    follow_last: bool,
    err_path: &Path,
    mut link: impl FnMut(&Path) -> Result<Option<PathBuf>>,
) -> Result<PathBuf> {
    let mut todo: VecDeque<Part> = parts(path);
    let mut done = PathBuf::new();
    let mut hops = 0;
    while let Some(part) = todo.pop_front() {
        let name = match part {
            Part::Up => {
                done.pop();
                continue;
            }
            Part::Name(name) => name,
        };
        let candidate = done.join(&name);
        if !todo.is_empty() || follow_last {
            if let Some(target) = link(&candidate)? {
                hops += 1;
                if hops > MAX_SYMLINKS {
                    return Err(Error::tree(err_path, "too many levels of symbolic links"));
                }
                if target.is_absolute() {
                    done = PathBuf::new();
                }
                for p in parts(&target).into_iter().rev() {
                    todo.push_front(p);
                }
                continue;
            }
        }
        done = candidate;
    }
    Ok(done)
}

pub(crate) enum Part {
    Up,
    Name(OsString),
}

pub(crate) fn parts(path: &Path) -> VecDeque<Part> {
    path.components()
        .filter_map(|c| match c {
            Component::ParentDir => Some(Part::Up),
            Component::Normal(n) => Some(Part::Name(n.to_os_string())),
            _ => None,
        })
        .collect()
}

pub(crate) fn walk_error(root: &Path, e: walkdir::Error) -> Error {
    let path = e.path().unwrap_or(root).to_path_buf();
    let source = e
        .into_io_error()
        .unwrap_or_else(|| io::Error::other("filesystem loop"));
    Error::io(path, source)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        let mut m = Manifest::new(100);
        m.insert("etc", Entry::dir(0o755)).unwrap();
        m.insert("usr", Entry::dir(0o755)).unwrap();
        m.insert("usr/lib", Entry::dir(0o755)).unwrap();
        m.insert("lib", Entry::symlink("usr/lib")).unwrap();
        m.insert("etc/a", Entry::inline_file("a", 0o644)).unwrap();
        m
    }

    #[test]
    fn sorted_parents_first() {
        let mut m = sample();
        m.insert("etc-b", Entry::dir(0o755)).unwrap();
        let paths: Vec<_> = m.iter().map(|(p, _)| p.to_path_buf()).collect();
        let names: Vec<_> = paths.iter().map(|p| p.display().to_string()).collect();
        assert_eq!(
            names,
            ["", "etc", "etc/a", "etc-b", "lib", "usr", "usr/lib"]
        );
    }

    #[test]
    fn insert_needs_a_parent() {
        let mut m = sample();
        let err = m.insert("var/log", Entry::dir(0o755)).unwrap_err();
        assert!(err.to_string().contains("/var"), "{err}");
        assert!(m.insert("../x", Entry::dir(0o755)).is_err());
    }

    #[test]
    fn resolve_follows_links() {
        let m = sample();
        assert_eq!(m.resolve("/lib/x", false).unwrap(), Path::new("usr/lib/x"));
        assert_eq!(m.resolve("lib", false).unwrap(), Path::new("lib"));
        assert_eq!(m.resolve("lib", true).unwrap(), Path::new("usr/lib"));
    }

    #[test]
    fn create_dir_all_through_symlink() {
        let mut m = sample();
        let real = m.create_dir_all("/lib/firmware/x", 0o700, 5, 6).unwrap();
        assert_eq!(real, Path::new("usr/lib/firmware/x"));
        let e = m.get("usr/lib/firmware/x").unwrap();
        assert_eq!((e.mode, e.uid, e.gid, e.mtime), (0o700, 5, 6, 100));
        assert_eq!(m.get("usr/lib/firmware").unwrap().mode, 0o755);
    }

    #[test]
    fn remove_promotes_hard_links() {
        let mut m = sample();
        m.insert(
            "etc/b",
            Entry::new(EntryKind::HardLink("etc/a".into()), 0o644),
        )
        .unwrap();
        m.insert(
            "etc/c",
            Entry::new(EntryKind::HardLink("etc/a".into()), 0o644),
        )
        .unwrap();
        m.remove("etc/a");
        assert!(matches!(m.get("etc/b").unwrap().kind, EntryKind::File(_)));
        assert_eq!(
            m.get("etc/c").unwrap().kind,
            EntryKind::HardLink("etc/b".into())
        );
        assert_eq!(m.read_file("etc/c").unwrap().unwrap(), b"a");
    }

    #[test]
    fn write_file_keeps_attributes() {
        let mut m = sample();
        m.get_mut("etc/a").unwrap().mode = 0o600;
        m.write_file("/etc/a", "new", 0o644).unwrap();
        let e = m.get("etc/a").unwrap();
        assert_eq!(e.mode, 0o600);
        assert_eq!(m.read_file("etc/a").unwrap().unwrap(), b"new");
        m.write_file("var/lib/x", "y", 0o640).unwrap();
        assert_eq!(m.get("var/lib/x").unwrap().mode, 0o640);
    }
}

//! The fingerprint of everything the root filesystem and the images are
//! made from, so a `bbsdk make` with nothing changed skips assembling the
//! root and writing the images (Buildroot re-runs its target-finalize and
//! image steps every time).
//!
//! The caller feeds in what matters (the configuration, the packages'
//! identities, the files of the skeleton, overlays, tables and scripts, the
//! epoch, bbsdk itself); [`Stamp`] compares the digest with the one recorded
//! after the last successful run and checks that the outputs it recorded are
//! still there. Files are fingerprinted by path, type, mode, size and mtime:
//! reading them would cost more than the assembly this saves.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Accumulates the inputs.
#[derive(Default)]
pub struct Inputs {
    hash: Sha256,
}

impl Inputs {
    pub fn new() -> Inputs {
        Inputs::default()
    }

    /// A named value (length-prefixed, so values cannot run into each other).
    pub fn value(&mut self, name: &str, bytes: &[u8]) {
        for part in [name.as_bytes(), bytes] {
            self.hash.update((part.len() as u64).to_le_bytes());
            self.hash.update(part);
        }
    }

    /// A file or directory tree by metadata: every entry's relative path,
    /// type, mode, size, mtime and link target. A missing path counts as such.
    pub fn tree(&mut self, path: &Path) {
        let mut lines = String::new();
        for entry in walkdir::WalkDir::new(path).sort_by_file_name() {
            let line = match entry {
                Ok(e) => match e.metadata() {
                    Ok(m) => {
                        let rel = e.path().strip_prefix(path).unwrap_or(e.path());
                        let link = if e.path_is_symlink() {
                            std::fs::read_link(e.path()).unwrap_or_default()
                        } else {
                            PathBuf::new()
                        };
                        format!(
                            "{} {:o} {} {}.{} {}\n",
                            rel.display(),
                            m.mode(),
                            m.len(),
                            m.mtime(),
                            m.mtime_nsec(),
                            link.display()
                        )
                    }
                    Err(err) => format!("? {err}\n"),
                },
                Err(err) => format!("! {err}\n"),
            };
            lines.push_str(&line);
        }
        self.value(&path.display().to_string(), lines.as_bytes());
    }

    /// The running bbsdk executable (a new bbsdk may assemble differently).
    pub fn this_program(&mut self) {
        let id = std::env::current_exe()
            .and_then(std::fs::metadata)
            .map(|m| format!("{} {}.{}", m.len(), m.mtime(), m.mtime_nsec()))
            .unwrap_or_default();
        self.value("bbsdk", id.as_bytes());
        self.value("bbsdk-version", env!("CARGO_PKG_VERSION").as_bytes());
    }

    pub fn digest(self) -> String {
        hex::encode(self.hash.finalize())
    }
}

/// The record of the last successful run: its digest and the files it wrote.
pub struct Stamp {
    path: PathBuf,
}

impl Stamp {
    pub fn new(path: impl Into<PathBuf>) -> Stamp {
        Stamp { path: path.into() }
    }

    /// The outputs of the last run when its digest was `digest` and every
    /// output still exists; `None` means "assemble again".
    pub fn fresh(&self, digest: &str) -> Option<Vec<PathBuf>> {
        let text = std::fs::read_to_string(&self.path).ok()?;
        let mut lines = text.lines();
        if lines.next()? != digest {
            return None;
        }
        let outputs: Vec<PathBuf> = lines.map(PathBuf::from).collect();
        outputs
            .iter()
            .all(|p| p.symlink_metadata().is_ok())
            .then_some(outputs)
    }

    /// Records a successful run (atomically).
    pub fn record(&self, digest: &str, outputs: &[PathBuf]) -> std::io::Result<()> {
        let mut text = format!("{digest}\n");
        for o in outputs {
            text.push_str(&format!("{}\n", o.display()));
        }
        crate::kconfig::write_atomic(&self.path, text.as_bytes(), false)
            .map_err(|e| std::io::Error::other(e.to_string()))
    }

    /// Forgets the last run (before assembling, so a failure in between can
    /// never leave a stamp that vouches for half-written outputs).
    pub fn clear(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest_of(f: impl FnOnce(&mut Inputs)) -> String {
        let mut i = Inputs::new();
        f(&mut i);
        i.digest()
    }

    #[test]
    fn values_are_delimited() {
        let a = digest_of(|i| {
            i.value("a", b"bc");
        });
        let b = digest_of(|i| {
            i.value("ab", b"c");
        });
        assert_ne!(a, b);
    }

    #[test]
    fn a_tree_changes_with_its_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("etc")).unwrap();
        std::fs::write(d.join("etc/hostname"), "one\n").unwrap();
        let first = digest_of(|i| i.tree(d));
        assert_eq!(first, digest_of(|i| i.tree(d)), "stable");
        std::fs::write(d.join("etc/hostname"), "three\n").unwrap();
        let second = digest_of(|i| i.tree(d));
        assert_ne!(first, second, "size changed");
        std::os::unix::fs::symlink("hostname", d.join("etc/name")).unwrap();
        assert_ne!(second, digest_of(|i| i.tree(d)), "new link");
        let missing = digest_of(|i| i.tree(&d.join("nope")));
        assert_ne!(missing, digest_of(|i| i.tree(&d.join("nope2"))));
    }

    #[test]
    fn stamp_is_fresh_only_for_the_same_digest_and_present_outputs() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("rootfs.tar");
        std::fs::write(&out, "x").unwrap();
        let stamp = Stamp::new(dir.path().join("stamp"));
        assert_eq!(stamp.fresh("d1"), None, "nothing recorded yet");
        stamp.record("d1", std::slice::from_ref(&out)).unwrap();
        assert_eq!(stamp.fresh("d1"), Some(vec![out.clone()]));
        assert_eq!(stamp.fresh("d2"), None, "other inputs");
        std::fs::remove_file(&out).unwrap();
        assert_eq!(stamp.fresh("d1"), None, "an output is gone");
        stamp.record("d1", &[]).unwrap();
        stamp.clear();
        assert_eq!(stamp.fresh("d1"), None);
    }
}

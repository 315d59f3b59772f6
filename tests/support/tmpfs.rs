//! A small tmpfs mounted for one test (a full or read-only disk on demand),
//! unmounted when dropped. Mounting needs root: the suite runs as root
//! (scripts/test.sh in CI); anywhere else these tests fail, saying why.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Tmpfs {
    dir: PathBuf,
}

/// Fails loudly when not root: a skipped fault test would prove nothing.
pub fn require_root(what: &str) {
    assert!(
        rustix::process::geteuid().is_root(),
        "{what} mounts a tmpfs, which needs root: run the suite as root (scripts/test.sh does in CI), \
         e.g. `sudo -E cargo test --test hostile_cache`"
    );
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`64k`, `1m`...) at `dir` (created);
    /// `extra` mount options are appended (`ro`).
    pub fn mount(dir: &Path, size: &str, extra: &str) -> Tmpfs {
        require_root("this test");
        std::fs::create_dir_all(dir).unwrap();
        let mut opts = format!("size={size},mode=0755");
        if !extra.is_empty() {
            opts.push(',');
            opts.push_str(extra);
        }
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &opts, "bbr-tmpfs"])
            .arg(dir)
            .status()
            .expect("run mount");
        assert!(st.success(), "mount -t tmpfs -o {opts} {}", dir.display());
        Tmpfs {
            dir: dir.to_path_buf(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Remounts read-only.
    pub fn read_only(&self) {
        let st = Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.dir)
            .status()
            .expect("run mount");
        assert!(st.success(), "remount {} read-only", self.dir.display());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

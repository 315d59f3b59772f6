//! The output directory's lock: an exclusive `flock` on `<output>/.bbsdk.lock`,
//! taken without waiting, so that a second `bbsdk make` on the same output
//! directory fails at once instead of interleaving with the first.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use rustix::fs::{flock, FlockOperation};
use rustix::io::Errno;

use super::BuildError;

/// Name of the lock file inside the output directory.
pub const LOCK_FILE: &str = ".bbsdk.lock";

/// Holds the lock until dropped (the kernel releases it when the file closes,
/// also when the process dies).
#[derive(Debug)]
pub struct OutputLock {
    file: File,
    path: PathBuf,
}

impl OutputLock {
    /// Takes the lock of `output` (creating the directory), or fails with
    /// [`BuildError::Locked`] naming the lock file when another process holds it.
    pub fn acquire(output: &Path) -> Result<OutputLock, BuildError> {
        std::fs::create_dir_all(output)
            .map_err(|e| BuildError::io("creating the output directory", output, e))?;
        let path = output.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| BuildError::io("opening the output lock", &path, e))?;
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(e) if e == Errno::WOULDBLOCK || e == Errno::AGAIN => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                let pid = pid.trim();
                let holder = if !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) {
                    format!(" (pid {pid})")
                } else {
                    String::new()
                };
                return Err(BuildError::Locked {
                    output: output.to_path_buf(),
                    lock: path,
                    holder,
                });
            }
            Err(e) => {
                return Err(BuildError::io(
                    "locking the output directory",
                    &path,
                    e.into(),
                ))
            }
        }
        // Who holds it, for the message of the next one (best effort). A
        // fixed-width write in place: truncating would make ext4 flush the
        // file on close, which costs more than the rest of a no-op build.
        let _ = file.write_all_at(format!("{:<10}\n", std::process::id()).as_bytes(), 0);
        Ok(OutputLock { file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        // Unlock explicitly: a child forked by another thread of this
        // process may still share the open file (until its exec closes it),
        // and closing our descriptor alone would leave the lock held.
        let _ = flock(&self.file, FlockOperation::Unlock);
    }
}

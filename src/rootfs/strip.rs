//! Stripping ELF executables and shared libraries in a target directory.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use walkdir::WalkDir;

use super::manifest::walk_error;
use super::{Error, Result};

/// Directories whose files are never stripped: kernel modules and firmware
/// (often ELF for another processor).
const SKIPPED_DIRS: &[&str] = &[
    "lib/modules",
    "usr/lib/modules",
    "lib/firmware",
    "usr/lib/firmware",
];

/// Arguments given to strip for every file.
const STRIP_ARGS: &[&str] = &["--remove-section=.comment", "--remove-section=.note"];

/// ELF object types worth stripping: ET_EXEC (executables) and ET_DYN
/// (shared libraries and position-independent executables).
fn is_strippable_elf(path: &Path) -> Result<bool> {
    let mut head = [0u8; 18];
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut got = 0;
    while got < head.len() {
        match file.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    if got < head.len() || &head[..4] != b"\x7fELF" {
        return Ok(false);
    }
    let e_type = match head[5] {
        1 => u16::from_le_bytes([head[16], head[17]]),
        2 => u16::from_be_bytes([head[16], head[17]]),
        _ => return Ok(false),
    };
    Ok(e_type == 2 || e_type == 3)
}

/// glibc's dynamic loader and libpthread keep their symbols (debuggers
/// need them): only debugging information is removed there.
fn keeps_symbols(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    (name.starts_with("ld-") || name.starts_with("libpthread")) && name.contains(".so")
}

/// Strips every ELF executable and shared library under `root` with the
/// strip program `strip` (e.g. `aarch64-linux-gnu-strip`), removing the
/// symbol table and the `.comment` and `.note` sections. Non-ELF files,
/// object files and kernel modules are left alone; modes (setuid included)
/// and hard links are kept. Returns how many files were stripped. A failure
/// names the file and carries strip's message.
pub fn strip_tree(root: &Path, strip: &Path) -> Result<usize> {
    // Files grouped by inode, so hard links are stripped once.
    let mut groups: BTreeMap<(u64, u64), Vec<PathBuf>> = BTreeMap::new();
    let mut walker = WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter();
    while let Some(item) = walker.next() {
        let item = item.map_err(|e| walk_error(root, e))?;
        let rel = item.path().strip_prefix(root).unwrap_or(item.path());
        if item.file_type().is_dir() {
            if SKIPPED_DIRS.iter().any(|d| rel == Path::new(d)) {
                walker.skip_current_dir();
            }
            continue;
        }
        if !item.file_type().is_file() {
            continue;
        }
        let md = item.metadata().map_err(|e| walk_error(root, e))?;
        if !is_strippable_elf(item.path())? {
            continue;
        }
        groups
            .entry((md.dev(), md.ino()))
            .or_default()
            .push(item.path().to_path_buf());
    }
    let mut stripped = 0;
    for paths in groups.values() {
        let Some((first, others)) = paths.split_first() else {
            continue;
        };
        strip_one(first, strip)?;
        stripped += 1;
        let new_ino = fs::metadata(first).map_err(|e| Error::io(first, e))?.ino();
        for other in others {
            let ino = fs::symlink_metadata(other)
                .map_err(|e| Error::io(other, e))?
                .ino();
            if ino != new_ino {
                fs::remove_file(other).map_err(|e| Error::io(other, e))?;
                fs::hard_link(first, other).map_err(|e| Error::io(other, e))?;
            }
        }
    }
    Ok(stripped)
}

fn strip_one(path: &Path, strip: &Path) -> Result<()> {
    let mode = fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .permissions()
        .mode()
        & 0o7777;
    if mode & 0o600 != 0o600 {
        fs::set_permissions(path, fs::Permissions::from_mode(mode | 0o600))
            .map_err(|e| Error::io(path, e))?;
    }
    let mut cmd = Command::new(strip);
    cmd.args(STRIP_ARGS);
    if keeps_symbols(path) {
        cmd.arg("--strip-debug");
    }
    let out = cmd.arg(path).output().map_err(|e| Error::Strip {
        file: path.to_path_buf(),
        message: format!("cannot run {}: {e}", strip.display()),
    })?;
    if !out.status.success() {
        return Err(Error::Strip {
            file: path.to_path_buf(),
            message: format!(
                "{} failed ({}): {}",
                strip.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|e| Error::io(path, e))
}

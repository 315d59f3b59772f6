//! Runtime libraries: the shared libraries and the dynamic loader that the
//! target's dynamically linked programs need, copied from the toolchain's
//! library directories into the target, and nothing else.
//!
//! Every ELF file of the target is read (with the `object` crate) for its
//! program interpreter (`PT_INTERP`) and its `DT_NEEDED` entries. A needed
//! library already in the target's `lib`, `usr/lib`, `lib64` or
//! `usr/lib64` is left alone; otherwise it is looked up in the toolchain's
//! directories in order and copied to `lib/` (the loader at the path the
//! programs name). A library reached through a symlink is copied under its
//! real name with the link beside it (musl's loader is a link to
//! `libc.so`). Copied libraries are read in turn for what they need.

use std::collections::{BTreeSet, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};

use object::read::elf::{Dyn, FileHeader, ProgramHeader};
use object::{elf, Endianness, FileKind};
use walkdir::WalkDir;

use super::{Error, Result};

/// What an ELF file asks of the dynamic loader.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DynamicNeeds {
    /// `PT_INTERP`: the loader's absolute path; `None` for static programs
    /// and for libraries.
    pub interpreter: Option<String>,
    /// `DT_NEEDED` names, in order.
    pub needed: Vec<String>,
}

/// Reads the interpreter and the needed libraries of an ELF file; `None`
/// when `data` is not an ELF file.
pub fn dynamic_needs(data: &[u8]) -> Option<DynamicNeeds> {
    match FileKind::parse(data).ok()? {
        FileKind::Elf32 => needs::<elf::FileHeader32<Endianness>>(data),
        FileKind::Elf64 => needs::<elf::FileHeader64<Endianness>>(data),
        _ => None,
    }
}

fn needs<H: FileHeader<Endian = Endianness>>(data: &[u8]) -> Option<DynamicNeeds> {
    let h = H::parse(data).ok()?;
    let e = h.endian().ok()?;
    let mut out = DynamicNeeds::default();
    for ph in h.program_headers(e, data).ok()? {
        if let Ok(Some(i)) = ph.interpreter(e, data) {
            out.interpreter = Some(String::from_utf8_lossy(i).into_owned());
        }
    }
    let sections = h.sections(e, data).ok()?;
    if let Ok(Some((dyns, link))) = sections.dynamic(e, data) {
        let strings = sections.strings(e, data, link).ok()?;
        for d in dyns {
            if d.tag32(e) == Some(elf::DT_NEEDED) {
                if let Ok(name) = d.string(e, strings) {
                    out.needed.push(String::from_utf8_lossy(name).into_owned());
                }
            }
        }
    }
    Some(out)
}

/// Where the target looks for libraries itself.
const TARGET_LIB_DIRS: [&str; 4] = ["lib", "usr/lib", "lib64", "usr/lib64"];

fn in_target(target: &Path, name: &str) -> bool {
    TARGET_LIB_DIRS
        .iter()
        .any(|d| target.join(d).join(name).symlink_metadata().is_ok())
}

/// The first `dir/name` that is an ELF file (not a linker script such as
/// glibc's `libc.so`).
fn find(dirs: &[PathBuf], name: &str) -> Option<PathBuf> {
    use std::io::Read;
    dirs.iter().map(|d| d.join(name)).find(|p| {
        let mut magic = [0u8; 4];
        fs::File::open(p)
            .and_then(|mut f| f.read_exact(&mut magic))
            .is_ok()
            && &magic == b"\x7fELF"
    })
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |e| Error::io(path, e)
}

/// Copies `found` into `dir` of the target as `name`: the real file under
/// its own name, plus a link `name` -> real name when they differ. Returns
/// the paths written, relative to the target.
/// `exec`: the file is a loader, which the kernel only runs when executable.
fn install(target: &Path, dir: &str, name: &str, found: &Path, exec: bool) -> Result<Vec<PathBuf>> {
    let real = found.canonicalize().map_err(io(found))?;
    let real_name = real
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| name.to_string());
    let to_dir = target.join(dir);
    fs::create_dir_all(&to_dir).map_err(io(&to_dir))?;
    let mut written = Vec::new();
    let real_dest = to_dir.join(&real_name);
    if real_dest.symlink_metadata().is_err() {
        let tmp = to_dir.join(format!(".{real_name}.tmp"));
        fs::copy(&real, &tmp).map_err(io(&tmp))?;
        if exec {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&tmp, fs::Permissions::from_mode(0o755)).map_err(io(&tmp))?;
        }
        fs::rename(&tmp, &real_dest).map_err(io(&real_dest))?;
        written.push(Path::new(dir).join(&real_name));
    }
    if real_name != name {
        let link = to_dir.join(name);
        if link.symlink_metadata().is_err() {
            std::os::unix::fs::symlink(&real_name, &link).map_err(io(&link))?;
            written.push(Path::new(dir).join(name));
        }
    }
    Ok(written)
}

/// Installs in `target` the loader and the libraries its ELF files need,
/// found in `lib_dirs` (in order). Returns the files and links written,
/// relative to `target`, sorted. A needed library found nowhere is an error.
pub fn install_runtime_libs(target: &Path, lib_dirs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut queue: VecDeque<PathBuf> = VecDeque::new();
    for e in WalkDir::new(target).sort_by_file_name() {
        let e = e.map_err(|e| Error::Tree {
            path: target.to_path_buf(),
            message: e.to_string(),
        })?;
        if e.file_type().is_file() {
            queue.push_back(e.into_path());
        }
    }
    let mut written = BTreeSet::new();
    let mut seen = BTreeSet::new();
    while let Some(file) = queue.pop_front() {
        if !seen.insert(file.clone()) {
            continue;
        }
        let data = fs::read(&file).map_err(io(&file))?;
        let Some(needs) = dynamic_needs(&data) else {
            continue;
        };
        let rel = file.strip_prefix(target).unwrap_or(&file).to_path_buf();
        if let Some(interp) = &needs.interpreter {
            let ipath = Path::new(interp.trim_start_matches('/'));
            if target.join(ipath).symlink_metadata().is_err() {
                let name = ipath
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                // musl's loader is libc.so itself.
                let found = find(lib_dirs, &name).or_else(|| {
                    name.starts_with("ld-musl-")
                        .then(|| find(lib_dirs, "libc.so"))
                        .flatten()
                });
                let Some(found) = found else {
                    return Err(missing(&rel, interp, lib_dirs));
                };
                let dir = ipath
                    .parent()
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "lib".into());
                for w in install(target, &dir, &name, &found, true)? {
                    queue.push_back(target.join(&w));
                    written.insert(w);
                }
            }
        }
        for lib in &needs.needed {
            if lib.contains('/') || in_target(target, lib) {
                continue;
            }
            let Some(found) = find(lib_dirs, lib) else {
                return Err(missing(&rel, lib, lib_dirs));
            };
            for w in install(target, "lib", lib, &found, false)? {
                queue.push_back(target.join(&w));
                written.insert(w);
            }
        }
    }
    Ok(written.into_iter().collect())
}

fn missing(file: &Path, lib: &str, dirs: &[PathBuf]) -> Error {
    Error::Tree {
        path: file.to_path_buf(),
        message: format!(
            "needs {lib}, which is neither in the target nor in the toolchain's library directories ({})\n  hint: add the package that provides it, or link the program statically",
            dirs.iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

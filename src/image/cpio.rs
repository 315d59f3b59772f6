//! `rootfs.cpio`: the root filesystem as a cpio archive in the "newc"
//! format (magic `070701`), which the Linux kernel unpacks as an
//! initramfs; optionally gzip-compressed.
//!
//! Written here rather than with a crate: the format is one fixed 110-byte
//! ASCII header per entry, and what matters is exactly what crates leave
//! to the caller or decide differently: device numbers and owners taken
//! from the Manifest (no root needed to make device nodes), inode numbers
//! counted from 1 in Manifest order (so the bytes do not depend on the
//! build machine), hard links sharing an inode with the data stored once
//! on the first of them (what the kernel's unpacker expects: later links
//! are linked to it), and times clamped to `SOURCE_DATE_EPOCH`.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use super::blob::{flush_buf, gzip_writer, io_err, AtomicFile};
use super::ImageError;
use crate::rootfs::{Content, EntryKind, Manifest};

const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;
const S_IFCHR: u32 = 0o020000;
const S_IFBLK: u32 = 0o060000;
const S_IFIFO: u32 = 0o010000;

/// Writes the cpio archive of `manifest` to `dest` (gzip-compressed with
/// `gzip`), through a temporary file and a rename.
pub fn write_cpio(
    manifest: &Manifest,
    dest: &Path,
    gzip: bool,
    epoch: u64,
) -> Result<(), ImageError> {
    let file = AtomicFile::create(dest)?;
    let out = BufWriter::new(file.file());
    let out = if gzip {
        let enc = write_stream(manifest, gzip_writer(out), epoch)?;
        enc.finish().map_err(io_err(dest))?
    } else {
        write_stream(manifest, out, epoch)?
    };
    flush_buf(out, dest)?;
    file.commit()
}

struct Counter<W> {
    inner: W,
    n: u64,
}

impl<W: Write> Counter<W> {
    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.inner.write_all(bytes)?;
        self.n += bytes.len() as u64;
        Ok(())
    }
    fn pad4(&mut self) -> io::Result<()> {
        let pad = (4 - (self.n % 4) as usize) % 4;
        self.put(&[0u8; 3][..pad])
    }
}

struct Header {
    ino: u32,
    mode: u32,
    uid: u32,
    gid: u32,
    nlink: u32,
    mtime: u64,
    size: u64,
    rdev: (u32, u32),
}

fn put_header<W: Write>(w: &mut Counter<W>, h: &Header, name: &[u8]) -> io::Result<()> {
    let size = u32::try_from(h.size)
        .map_err(|_| io::Error::other("a file of 4 GiB or more does not fit the newc format"))?;
    let mtime = u32::try_from(h.mtime).unwrap_or(u32::MAX);
    let fields = [
        h.ino,
        h.mode,
        h.uid,
        h.gid,
        h.nlink,
        mtime,
        size,
        0,
        0,
        h.rdev.0,
        h.rdev.1,
        name.len() as u32 + 1,
        0,
    ];
    let mut s = String::with_capacity(110);
    s.push_str("070701");
    for f in fields {
        s.push_str(&format!("{f:08X}"));
    }
    w.put(s.as_bytes())?;
    w.put(name)?;
    w.put(&[0])?;
    w.pad4()
}

fn write_stream<W: Write>(manifest: &Manifest, w: W, epoch: u64) -> Result<W, ImageError> {
    use std::os::unix::ffi::OsStrExt;
    let mut w = Counter { inner: w, n: 0 };
    // Hard link counts and the inode of each file that has links.
    let mut links: HashMap<PathBuf, u32> = HashMap::new();
    for (_, e) in manifest.iter() {
        if let EntryKind::HardLink(t) = &e.kind {
            *links.entry(t.clone()).or_insert(1) += 1;
        }
    }
    let mut inodes: HashMap<PathBuf, u32> = HashMap::new();
    for (next_ino, (path, entry)) in (1u32..).zip(manifest.iter()) {
        let name: &[u8] = if path.as_os_str().is_empty() {
            b"."
        } else {
            path.as_os_str().as_bytes()
        };
        let err = |source: io::Error| ImageError::Io {
            path: Path::new("/").join(path),
            source,
        };
        let attrs = match &entry.kind {
            EntryKind::HardLink(t) => manifest.get(t).unwrap_or(entry),
            _ => entry,
        };
        let mut h = Header {
            ino: next_ino,
            mode: attrs.mode & 0o7777,
            uid: attrs.uid,
            gid: attrs.gid,
            nlink: 1,
            mtime: attrs.mtime.min(epoch),
            size: 0,
            rdev: (0, 0),
        };
        match &entry.kind {
            EntryKind::Dir => {
                h.mode |= S_IFDIR;
                h.nlink = 2;
                put_header(&mut w, &h, name).map_err(err)?;
            }
            EntryKind::File(content) => {
                h.mode |= S_IFREG;
                h.size = content.size();
                if let Some(n) = links.get(path) {
                    h.nlink = *n;
                    inodes.insert(path.to_path_buf(), h.ino);
                }
                put_header(&mut w, &h, name).map_err(err)?;
                match content {
                    Content::Inline(bytes) => w.put(bytes).map_err(err)?,
                    Content::Disk { path: file, size } => {
                        let f = File::open(file).map_err(io_err(file))?;
                        let mut r = f.take(*size);
                        let copied = io::copy(&mut r, &mut w.inner).map_err(err)?;
                        if copied != *size {
                            return Err(ImageError::Invalid(format!(
                                "{}: changed since the manifest was made ({size} bytes then, {copied} now)",
                                file.display()
                            )));
                        }
                        w.n += copied;
                    }
                }
                w.pad4().map_err(err)?;
            }
            EntryKind::HardLink(target) => {
                h.mode |= S_IFREG;
                h.ino = inodes.get(target).copied().unwrap_or(h.ino);
                h.nlink = links.get(target).copied().unwrap_or(1);
                put_header(&mut w, &h, name).map_err(err)?;
            }
            EntryKind::Symlink(target) => {
                h.mode = S_IFLNK | 0o777;
                let t = target.as_os_str().as_bytes();
                h.size = t.len() as u64;
                put_header(&mut w, &h, name).map_err(err)?;
                w.put(t).map_err(err)?;
                w.pad4().map_err(err)?;
            }
            EntryKind::CharDevice { major, minor } | EntryKind::BlockDevice { major, minor } => {
                h.mode |= if matches!(entry.kind, EntryKind::CharDevice { .. }) {
                    S_IFCHR
                } else {
                    S_IFBLK
                };
                h.rdev = (*major, *minor);
                put_header(&mut w, &h, name).map_err(err)?;
            }
            EntryKind::Fifo => {
                h.mode |= S_IFIFO;
                put_header(&mut w, &h, name).map_err(err)?;
            }
        }
    }
    let trailer = Header {
        ino: 0,
        mode: 0,
        uid: 0,
        gid: 0,
        nlink: 1,
        mtime: 0,
        size: 0,
        rdev: (0, 0),
    };
    let e = |source| ImageError::Io {
        path: PathBuf::from("(cpio trailer)"),
        source,
    };
    put_header(&mut w, &trailer, b"TRAILER!!!").map_err(e)?;
    // Pad the archive to a 512-byte block as cpio(1) does.
    let pad = (512 - (w.n % 512) as usize) % 512;
    w.put(&vec![0u8; pad]).map_err(e)?;
    Ok(w.inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rootfs::Entry;

    #[test]
    fn newc_header_layout() {
        let mut m = Manifest::new(5);
        m.insert("a", Entry::inline_file("hi", 0o644).with_owner(1, 2))
            .unwrap();
        let bytes = write_stream(&m, Vec::new(), 100).unwrap();
        assert_eq!(bytes.len() % 512, 0);
        // Root entry ".": header 110 bytes + "." + NUL, padded to 112.
        assert!(bytes.starts_with(b"070701"));
        assert_eq!(&bytes[110..112], b".\0");
        let second = &bytes[112..];
        assert!(second.starts_with(b"07070100000002000081A4000000010000000200000001"));
        // name "a\0" after the header (112 bytes, aligned), then "hi" padded.
        assert_eq!(&second[110..112], b"a\0");
        assert_eq!(&second[112..116], b"hi\0\0");
    }
}

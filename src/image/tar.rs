//! `rootfs.tar`, written from a Manifest.
//!
//! The archive is deterministic: entries in Manifest order (sorted, parents
//! first), GNU headers (long names and link targets as GNU extensions),
//! numeric owners without user or group names, no access or change times,
//! modification times clamped to `SOURCE_DATE_EPOCH` when one is given, and
//! compressors with fixed settings (gzip without a name and with time 0).
//! The same Manifest always gives the same bytes.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tar::{Builder, EntryType, Header};

use crate::rootfs::{Content, Entry, EntryKind, Manifest};

/// Compression of the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    #[default]
    None,
    /// gzip level 9, header time 0, no file name, OS "Unix".
    Gzip,
    /// bzip2 level 9.
    Bzip2,
    /// xz preset 6, CRC64, single-threaded.
    Xz,
    /// zstd level 19 with a checksum, single-threaded.
    Zstd,
}

impl Compression {
    /// The suffix added to `.tar`: `""`, `".gz"`, `".bz2"`, `".xz"`, `".zst"`.
    pub fn extension(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => ".gz",
            Compression::Bzip2 => ".bz2",
            Compression::Xz => ".xz",
            Compression::Zstd => ".zst",
        }
    }

    /// All compressions, for tests and listings.
    pub const ALL: [Compression; 5] = [
        Compression::None,
        Compression::Gzip,
        Compression::Bzip2,
        Compression::Xz,
        Compression::Zstd,
    ];
}

/// How to write the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TarOptions {
    pub compression: Compression,
    /// Modification times later than this are written as this.
    pub source_date_epoch: Option<u64>,
}

/// Errors of the tar writer.
#[derive(Debug, thiserror::Error)]
pub enum TarError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot add /{} to the archive: {source}", entry.display())]
    Entry {
        entry: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "cannot add /{}: {} changed since the manifest was made ({expected} bytes then, {found} now)",
        entry.display(), file.display()
    )]
    Changed {
        entry: PathBuf,
        file: PathBuf,
        expected: u64,
        found: u64,
    },
}

/// Writes the Manifest as a tar archive at `dest`. The archive is written
/// to a temporary file next to `dest` and renamed over it at the end, so a
/// failure leaves no partial image (and an older `dest` untouched).
pub fn write_tar(manifest: &Manifest, dest: &Path, options: &TarOptions) -> Result<(), TarError> {
    let dir = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| TarError::Io { path, source }
    };
    let tmp = tempfile::Builder::new()
        .prefix(".bbsdk-tar-")
        .tempfile_in(dir)
        .map_err(io_err(dir))?;
    let epoch = options.source_date_epoch;
    {
        let out = BufWriter::new(tmp.as_file());
        let out = match options.compression {
            Compression::None => write_tar_stream(manifest, out, epoch)?,
            Compression::Gzip => {
                let enc = flate2::GzBuilder::new()
                    .mtime(0)
                    .operating_system(3)
                    .write(out, flate2::Compression::best());
                write_tar_stream(manifest, enc, epoch)?
                    .finish()
                    .map_err(io_err(dest))?
            }
            Compression::Bzip2 => {
                let enc = bzip2::write::BzEncoder::new(out, bzip2::Compression::best());
                write_tar_stream(manifest, enc, epoch)?
                    .finish()
                    .map_err(io_err(dest))?
            }
            Compression::Xz => {
                let enc = xz2::write::XzEncoder::new(out, 6);
                write_tar_stream(manifest, enc, epoch)?
                    .finish()
                    .map_err(io_err(dest))?
            }
            Compression::Zstd => {
                let mut enc = zstd::stream::write::Encoder::new(out, 19).map_err(io_err(dest))?;
                enc.include_checksum(true).map_err(io_err(dest))?;
                write_tar_stream(manifest, enc, epoch)?
                    .finish()
                    .map_err(io_err(dest))?
            }
        };
        out.into_inner()
            .map_err(|e| TarError::Io {
                path: dest.to_path_buf(),
                source: e.into_error(),
            })?
            .sync_all()
            .map_err(io_err(dest))?;
    }
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o644)).map_err(io_err(dest))?;
    tmp.persist(dest).map_err(|e| TarError::Io {
        path: dest.to_path_buf(),
        source: e.error,
    })?;
    Ok(())
}

/// Writes the Manifest as an uncompressed tar stream into `writer` (with
/// the end-of-archive blocks) and gives the writer back. Other image
/// writers (OCI layers, docker-archive) use this for their layer.
pub fn write_tar_stream<W: Write>(
    manifest: &Manifest,
    writer: W,
    source_date_epoch: Option<u64>,
) -> Result<W, TarError> {
    let mut builder = Builder::new(writer);
    append_manifest(&mut builder, manifest, source_date_epoch, None)?;
    builder.into_inner().map_err(|source| TarError::Entry {
        entry: PathBuf::from("(end of archive)"),
        source,
    })
}

/// Appends every entry of the Manifest to a tar builder, each member name
/// (and hard link target) under `prefix` when one is given (the ACI writer
/// puts the root filesystem under `rootfs/`).
pub fn append_manifest<W: Write>(
    builder: &mut Builder<W>,
    manifest: &Manifest,
    source_date_epoch: Option<u64>,
    prefix: Option<&Path>,
) -> Result<(), TarError> {
    for (path, entry) in manifest.iter() {
        append_entry(builder, manifest, path, entry, source_date_epoch, prefix).map_err(
            |e| match e {
                AppendError::Io(source) => TarError::Entry {
                    entry: path.to_path_buf(),
                    source,
                },
                AppendError::Tar(t) => t,
            },
        )?;
    }
    Ok(())
}

enum AppendError {
    Io(io::Error),
    Tar(TarError),
}

impl From<io::Error> for AppendError {
    fn from(e: io::Error) -> Self {
        AppendError::Io(e)
    }
}

/// The member name of an entry: `./` for the root, `dir/` for directories;
/// under a prefix, `prefix/` for the root and `prefix/dir/`.
fn member_name(path: &Path, is_dir: bool, prefix: Option<&Path>) -> PathBuf {
    if let Some(prefix) = prefix {
        let joined = prefix.join(path);
        return member_name(&joined, is_dir, None);
    }
    if path.as_os_str().is_empty() {
        PathBuf::from("./")
    } else if is_dir {
        let mut s = path.as_os_str().to_os_string();
        s.push("/");
        PathBuf::from(s)
    } else {
        path.to_path_buf()
    }
}

fn append_entry<W: Write>(
    builder: &mut Builder<W>,
    manifest: &Manifest,
    path: &Path,
    entry: &Entry,
    epoch: Option<u64>,
    prefix: Option<&Path>,
) -> Result<(), AppendError> {
    // A hard link carries the attributes of its file.
    let attrs = match &entry.kind {
        EntryKind::HardLink(target) => manifest.get(target).unwrap_or(entry),
        _ => entry,
    };
    let mut h = Header::new_gnu();
    h.set_mode(attrs.mode & 0o7777);
    h.set_uid(u64::from(attrs.uid));
    h.set_gid(u64::from(attrs.gid));
    h.set_mtime(epoch.map_or(attrs.mtime, |e| attrs.mtime.min(e)));
    h.set_size(0);
    let name = member_name(path, entry.is_dir(), prefix);
    match &entry.kind {
        EntryKind::Dir => {
            h.set_entry_type(EntryType::Directory);
            builder.append_data(&mut h, &name, io::empty())?;
        }
        EntryKind::File(Content::Inline(bytes)) => {
            h.set_entry_type(EntryType::Regular);
            h.set_size(bytes.len() as u64);
            builder.append_data(&mut h, &name, bytes.as_slice())?;
        }
        EntryKind::File(Content::Disk { path: file, size }) => {
            let f = File::open(file).map_err(|source| {
                AppendError::Tar(TarError::Io {
                    path: file.clone(),
                    source,
                })
            })?;
            let found = f
                .metadata()
                .map_err(|source| {
                    AppendError::Tar(TarError::Io {
                        path: file.clone(),
                        source,
                    })
                })?
                .len();
            if found != *size {
                return Err(AppendError::Tar(TarError::Changed {
                    entry: path.to_path_buf(),
                    file: file.clone(),
                    expected: *size,
                    found,
                }));
            }
            h.set_entry_type(EntryType::Regular);
            h.set_size(*size);
            let reader = ExactReader {
                inner: f,
                remaining: *size,
            };
            builder.append_data(&mut h, &name, reader)?;
        }
        EntryKind::Symlink(target) => {
            h.set_entry_type(EntryType::Symlink);
            builder.append_link(&mut h, &name, target)?;
        }
        EntryKind::HardLink(target) => {
            h.set_entry_type(EntryType::Link);
            let target = match prefix {
                Some(p) => p.join(target),
                None => target.clone(),
            };
            builder.append_link(&mut h, &name, &target)?;
        }
        EntryKind::CharDevice { major, minor } | EntryKind::BlockDevice { major, minor } => {
            h.set_entry_type(if matches!(entry.kind, EntryKind::CharDevice { .. }) {
                EntryType::Char
            } else {
                EntryType::Block
            });
            h.set_device_major(*major)?;
            h.set_device_minor(*minor)?;
            builder.append_data(&mut h, &name, io::empty())?;
        }
        EntryKind::Fifo => {
            h.set_entry_type(EntryType::Fifo);
            builder.append_data(&mut h, &name, io::empty())?;
        }
    }
    Ok(())
}

/// Reads exactly `remaining` bytes: a file that shrank while being read is
/// an error instead of a corrupt archive, one that grew is cut.
struct ExactReader<R> {
    inner: R,
    remaining: u64,
}

impl<R: Read> Read for ExactReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            return Ok(0);
        }
        let max = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..max])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file shrank while it was being archived",
            ));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

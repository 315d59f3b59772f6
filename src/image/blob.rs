//! What the container writers share: content digests, canonical JSON, the
//! layer (an uncompressed tar and its deterministic gzip), and atomic blob
//! files.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::ImageError;
use crate::rootfs::Manifest;

/// `sha256:<hex>` of some bytes.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// The hex part of `sha256:<hex>`.
pub fn digest_hex(digest: &str) -> &str {
    digest.strip_prefix("sha256:").unwrap_or(digest)
}

/// A writer that hashes and counts what goes through it.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    /// The inner writer, the `sha256:` digest and the byte count.
    pub fn finish(self) -> (W, String, u64) {
        let d = format!("sha256:{}", hex(&self.hasher.finalize()));
        (self.inner, d, self.count)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// JSON with object keys sorted at every level and no whitespace, so the
/// same value always gives the same bytes (and digest), whatever map type
/// the value was built from.
pub fn canonical_json<T: Serialize>(value: &T) -> Result<Vec<u8>, ImageError> {
    let v = serde_json::to_value(value).map_err(|e| ImageError::Invalid(e.to_string()))?;
    serde_json::to_vec(&sorted(v)).map_err(|e| ImageError::Invalid(e.to_string()))
}

fn sorted(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            let sorted: std::collections::BTreeMap<String, Value> =
                map.into_iter().map(|(k, v)| (k, sorted(v))).collect();
            Value::Object(sorted.into_iter().collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sorted).collect()),
        other => other,
    }
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ImageError + '_ {
    move |source| ImageError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A file written under a temporary name next to its destination, which
/// only appears (mode 0644, synced) when [`AtomicFile::commit`] renames it;
/// dropped uncommitted, it is removed.
pub(crate) struct AtomicFile<'a> {
    tmp: tempfile::NamedTempFile,
    dest: &'a Path,
}

impl<'a> AtomicFile<'a> {
    /// Creates the temporary file (and `dest`'s directory when needed).
    pub(crate) fn create(dest: &'a Path) -> Result<AtomicFile<'a>, ImageError> {
        let dir = parent_of(dest);
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let tmp = tempfile::Builder::new()
            .prefix(".bbsdk-")
            .tempfile_in(dir)
            .map_err(io_err(dir))?;
        Ok(AtomicFile { tmp, dest })
    }

    pub(crate) fn file(&self) -> &File {
        self.tmp.as_file()
    }

    /// Syncs the file and renames it to the destination.
    pub(crate) fn commit(self) -> Result<(), ImageError> {
        self.tmp.as_file().sync_all().map_err(io_err(self.dest))?;
        set_mode_644(self.tmp.path())?;
        self.tmp.persist(self.dest).map_err(|e| ImageError::Io {
            path: self.dest.to_path_buf(),
            source: e.error,
        })?;
        Ok(())
    }
}

/// Flushes a buffered writer and hands back what it wrote to.
pub(crate) fn flush_buf<W: Write>(w: BufWriter<W>, path: &Path) -> Result<W, ImageError> {
    w.into_inner().map_err(|e| ImageError::Io {
        path: path.to_path_buf(),
        source: e.into_error(),
    })
}

/// Writes `bytes` to `dest` through a temporary file in the same directory
/// and a rename, creating the directory if needed.
pub fn write_file_atomic(dest: &Path, bytes: &[u8]) -> Result<(), ImageError> {
    let out = AtomicFile::create(dest)?;
    out.file().write_all(bytes).map_err(io_err(dest))?;
    out.commit()
}

/// Puts the content of `src` at `dest` atomically: a hard link under a
/// temporary name renamed over `dest` when both are on one filesystem (no
/// bytes copied; fine for the immutable files image writers share), else a
/// copy through a temporary file.
pub fn link_or_copy_atomic(src: &Path, dest: &Path) -> Result<(), ImageError> {
    let dir = parent_of(dest);
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let tmp = dir.join(format!(
        ".bbsdk-link-{}-{}",
        std::process::id(),
        dest.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    let _ = fs::remove_file(&tmp);
    if fs::hard_link(src, &tmp).is_ok() {
        return fs::rename(&tmp, dest).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            io_err(dest)(e)
        });
    }
    copy_file_atomic(src, dest)
}

/// Copies `src` to `dest` through a temporary file and a rename.
pub fn copy_file_atomic(src: &Path, dest: &Path) -> Result<(), ImageError> {
    let out = AtomicFile::create(dest)?;
    {
        let mut from = File::open(src).map_err(io_err(src))?;
        let mut to = BufWriter::new(out.file());
        io::copy(&mut from, &mut to).map_err(io_err(dest))?;
        to.flush().map_err(io_err(dest))?;
    }
    out.commit()
}

fn set_mode_644(path: &Path) -> Result<(), ImageError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o644)).map_err(io_err(path))
}

pub(crate) fn parent_of(p: &Path) -> &Path {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// One filesystem layer: the uncompressed tar (its digest is the layer's
/// `diff_id`) and its gzip (the blob registries and OCI layouts store),
/// both in a temporary directory removed when the Layer is dropped.
pub struct Layer {
    _dir: tempfile::TempDir,
    pub tar: PathBuf,
    pub gz: PathBuf,
    /// sha256 of the uncompressed tar.
    pub diff_id: String,
    pub tar_size: u64,
    /// sha256 of the gzip blob.
    pub digest: String,
    pub size: u64,
}

/// gzip as every layer is written: level 6, header time 0, no file name,
/// OS "Unix". The same input gives the same bytes.
pub fn gzip_writer<W: Write>(w: W) -> flate2::write::GzEncoder<W> {
    flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(3)
        .write(w, flate2::Compression::new(6))
}

/// Writes the layer of `manifest` into a temporary directory under `work`;
/// without `gzip`, only the tar (`gz`, `digest` and `size` are then empty).
pub fn write_layer(
    manifest: &Manifest,
    epoch: u64,
    work: &Path,
    gzip: bool,
) -> Result<Layer, ImageError> {
    fs::create_dir_all(work).map_err(io_err(work))?;
    let dir = tempfile::Builder::new()
        .prefix(".bbsdk-layer-")
        .tempdir_in(work)
        .map_err(io_err(work))?;
    let tar = dir.path().join("layer.tar");
    let gz = dir.path().join("layer.tar.gz");
    let f = File::create(&tar).map_err(io_err(&tar))?;
    let w = HashingWriter::new(BufWriter::new(f));
    let w = super::tar::write_tar_stream(manifest, w, Some(epoch))?;
    let (buf, diff_id, tar_size) = w.finish();
    flush_buf(buf, &tar)?.sync_all().map_err(io_err(&tar))?;
    let (digest, size) = if gzip {
        gzip_file(&tar, &gz)?
    } else {
        (String::new(), 0)
    };
    Ok(Layer {
        _dir: dir,
        tar,
        gz,
        diff_id,
        tar_size,
        digest,
        size,
    })
}

/// gzips `src` into `dest` (see [`gzip_writer`]); returns digest and size of `dest`.
pub fn gzip_file(src: &Path, dest: &Path) -> Result<(String, u64), ImageError> {
    let mut from = File::open(src).map_err(io_err(src))?;
    let out = File::create(dest).map_err(io_err(dest))?;
    let mut enc = gzip_writer(HashingWriter::new(BufWriter::new(out)));
    io::copy(&mut from, &mut enc).map_err(io_err(dest))?;
    let (w, digest, size) = enc.finish().map_err(io_err(dest))?.finish();
    flush_buf(w, dest)?.sync_all().map_err(io_err(dest))?;
    Ok((digest, size))
}

/// sha256 and size of a file.
pub fn file_digest(path: &Path) -> Result<(String, u64), ImageError> {
    let mut f = File::open(path).map_err(io_err(path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let r = f.read(&mut buf).map_err(io_err(path))?;
        if r == 0 {
            break;
        }
        h.update(&buf[..r]);
        n += r as u64;
    }
    Ok((format!("sha256:{}", hex(&h.finalize())), n))
}

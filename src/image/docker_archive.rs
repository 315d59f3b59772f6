//! docker-archive: the tar `docker save` writes and `docker load`, `podman
//! load` and `skopeo copy docker-archive:...` read.
//!
//! Members: `manifest.json` (one image: config file, `name:tag`, layer
//! files), the image configuration as `<sha256>.json` (the same bytes as
//! the OCI config blob), every layer uncompressed as `<diff_id>/layer.tar`,
//! and the legacy `repositories` file. Every member is owned by root with
//! mode 0644 (0755 for directories) and the image's creation time, in a
//! fixed order: the same inputs give the same bytes.

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

use tar::{Builder, EntryType, Header};

use super::blob::{canonical_json, digest_hex, flush_buf, io_err, AtomicFile};
use super::{ImageError, ImageSpec};

/// An uncompressed layer tar and its digest.
#[derive(Debug, Clone)]
pub struct LayerTar {
    pub path: PathBuf,
    pub diff_id: String,
}

/// Writes the archive to `dest` (temporary file + rename).
pub fn write_docker_archive(
    dest: &Path,
    spec: &ImageSpec,
    config_bytes: &[u8],
    layers: &[LayerTar],
) -> Result<(), ImageError> {
    let out = AtomicFile::create(dest)?;
    let mtime = spec.created;
    let config_name = format!(
        "{}.json",
        digest_hex(&super::blob::sha256_digest(config_bytes))
    );
    let layer_names: Vec<String> = layers
        .iter()
        .map(|l| format!("{}/layer.tar", digest_hex(&l.diff_id)))
        .collect();
    let manifest = serde_json::json!([{
        "Config": config_name,
        "RepoTags": [spec.reference()],
        "Layers": layer_names,
    }]);
    let top = layers
        .last()
        .map(|l| digest_hex(&l.diff_id).to_string())
        .unwrap_or_default();
    let repositories = serde_json::json!({ spec.name.clone(): { spec.tag.clone(): top } });
    {
        let mut b = Builder::new(BufWriter::new(out.file()));
        let mut seen = std::collections::BTreeSet::new();
        for l in layers {
            let hex = digest_hex(&l.diff_id).to_string();
            if !seen.insert(hex.clone()) {
                continue;
            }
            add_dir(&mut b, &format!("{hex}/"), mtime).map_err(io_err(dest))?;
            let f = File::open(&l.path).map_err(io_err(&l.path))?;
            let len = f.metadata().map_err(io_err(&l.path))?.len();
            add_file(&mut b, &format!("{hex}/layer.tar"), len, f, mtime).map_err(io_err(dest))?;
        }
        add_bytes(&mut b, &config_name, config_bytes, mtime).map_err(io_err(dest))?;
        add_bytes(&mut b, "manifest.json", &canonical_json(&manifest)?, mtime)
            .map_err(io_err(dest))?;
        add_bytes(
            &mut b,
            "repositories",
            &canonical_json(&repositories)?,
            mtime,
        )
        .map_err(io_err(dest))?;
        flush_buf(b.into_inner().map_err(io_err(dest))?, dest)?;
    }
    out.commit()
}

fn header(kind: EntryType, mode: u32, size: u64, mtime: u64) -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(mtime);
    h.set_size(size);
    h
}

fn add_dir<W: io::Write>(b: &mut Builder<W>, name: &str, mtime: u64) -> io::Result<()> {
    let mut h = header(EntryType::Directory, 0o755, 0, mtime);
    b.append_data(&mut h, name, io::empty())
}

fn add_file<W: io::Write, R: io::Read>(
    b: &mut Builder<W>,
    name: &str,
    size: u64,
    data: R,
    mtime: u64,
) -> io::Result<()> {
    let mut h = header(EntryType::Regular, 0o644, size, mtime);
    b.append_data(&mut h, name, data)
}

fn add_bytes<W: io::Write>(
    b: &mut Builder<W>,
    name: &str,
    bytes: &[u8],
    mtime: u64,
) -> io::Result<()> {
    add_file(b, name, bytes.len() as u64, bytes, mtime)
}

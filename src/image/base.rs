//! Layered images (`BBSDK_IMAGE_BASE`): a base image built by bbsdk, read
//! from its OCI layout, and the Manifest of what this build adds to it.
//!
//! The base is either an OCI layout directory or the name of a defconfig
//! whose output directory (`output-<name>` next to this one) holds
//! `images/oci`; a `:TAG` suffix picks one tag when the layout holds
//! several. Its layers are read (whiteouts applied) into a table of path →
//! type, mode, owner and content digest; the new layer holds the entries
//! that are missing from the base or differ from it in any of these
//! (modification times are ignored, they follow `SOURCE_DATE_EPOCH`), plus
//! the parent directories they need and the files their hard links point
//! to. Files of the base missing from this build stay (no whiteouts): a
//! build on a base usually leaves the base's packages out.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use oci_spec::image::{History, MediaType};
use sha2::{Digest as _, Sha256};

use super::blob::hex;
use super::oci::{blob_path, find_images, LayerBlob};
use super::ImageError;
use crate::rootfs::manifest::normalize;
use crate::rootfs::{Content, Entry, EntryKind, Manifest};

/// What identifies an entry for the comparison with the base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sig {
    Dir,
    File(String),
    Symlink(PathBuf),
    HardLink(PathBuf),
    Char(u32, u32),
    Block(u32, u32),
    Fifo,
}

/// Type and content plus mode and owner.
pub type FullSig = (Sig, u32, u32, u32);

/// A base image, read from an OCI layout.
#[derive(Debug, Clone)]
pub struct BaseImage {
    pub layout: PathBuf,
    pub tag: String,
    /// `name:tag` of the base, from its manifest annotations (for `FROM`).
    pub reference: Option<String>,
    pub manifest_digest: String,
    pub layers: Vec<LayerBlob>,
    pub history: Vec<History>,
    pub files: HashMap<PathBuf, FullSig>,
}

/// The annotation bbsdk puts on its manifests with the full `name:tag`.
pub const ANNOTATION_BBSDK_REF: &str = "io.bbsdk.image.ref";

/// Where the value of `BBSDK_IMAGE_BASE` points: `(layout dir, tag)`.
/// Relative layout paths are relative to `top` (bbsdk's tree).
pub fn resolve_base(value: &str, top: &Path, output: &Path) -> (PathBuf, Option<String>) {
    let (what, tag) = match value.rsplit_once(':') {
        Some((w, t)) if !t.contains('/') && !t.is_empty() => (w, Some(t.to_string())),
        _ => (value, None),
    };
    let as_path = top.join(what);
    if what.contains('/') || as_path.join("oci-layout").exists() {
        return (as_path, tag);
    }
    let name = what.strip_suffix("_defconfig").unwrap_or(what);
    let parent = super::blob::parent_of(output);
    (
        parent.join(format!("output-{name}")).join("images/oci"),
        tag,
    )
}

/// Reads the base image of this platform from `layout`.
pub fn load_base(
    layout: &Path,
    tag: Option<&str>,
    arch: &str,
    variant: Option<&str>,
) -> Result<BaseImage, ImageError> {
    let img = select_image(layout, tag, arch, variant)?;
    let diff_ids = img.config.rootfs().diff_ids().clone();
    if diff_ids.len() != img.manifest.layers().len() {
        return Err(ImageError::Invalid(format!(
            "BBSDK_IMAGE_BASE: {}: the image has {} layers but {} diff_ids",
            layout.display(),
            img.manifest.layers().len(),
            diff_ids.len()
        )));
    }
    let mut layers = Vec::new();
    let mut files: HashMap<PathBuf, FullSig> = HashMap::new();
    for (d, diff_id) in img.manifest.layers().iter().zip(diff_ids) {
        let source = blob_path(layout, d.digest().as_ref());
        read_layer(&source, d.media_type(), &mut files)?;
        layers.push(LayerBlob {
            source,
            digest: d.digest().to_string(),
            size: d.size(),
            diff_id,
            media_type: d.media_type().clone(),
        });
    }
    let reference = img
        .manifest
        .annotations()
        .as_ref()
        .and_then(|a| a.get(ANNOTATION_BBSDK_REF).cloned());
    Ok(BaseImage {
        layout: layout.to_path_buf(),
        tag: img.tag,
        reference,
        manifest_digest: img.manifest_digest,
        layers,
        history: img.config.history().clone().unwrap_or_default(),
        files,
    })
}

/// The one image of this platform (and tag, when given) in the base layout.
fn select_image(
    layout: &Path,
    tag: Option<&str>,
    arch: &str,
    variant: Option<&str>,
) -> Result<super::oci::LayoutImage, ImageError> {
    if !layout.join("index.json").exists() {
        return Err(ImageError::Invalid(format!(
            "BBSDK_IMAGE_BASE: no OCI image layout at {}\n  hint: build the base first (with BBSDK_IMAGE_OCI=y), e.g. `bbsdk -O output-NAME make NAME_defconfig all`, or give the path of an OCI layout",
            layout.display()
        )));
    }
    let mut found = find_images(layout, tag, arch, variant)?;
    let platform = match variant {
        Some(v) => format!("linux/{arch}/{v}"),
        None => format!("linux/{arch}"),
    };
    Ok(match found.len() {
        1 => found.remove(0),
        0 => {
            return Err(ImageError::Invalid(format!(
                "BBSDK_IMAGE_BASE: {} holds no image for {platform}{}\n  hint: the base must be built for the same architecture",
                layout.display(),
                tag.map(|t| format!(" tagged {t}")).unwrap_or_default()
            )))
        }
        _ => {
            let tags: Vec<&str> = found.iter().map(|i| i.tag.as_str()).collect();
            return Err(ImageError::Invalid(format!(
                "BBSDK_IMAGE_BASE: {} holds several images for {platform} (tags {})\n  hint: pick one with a :TAG suffix, e.g. \"{}:{}\"",
                layout.display(),
                tags.join(", "),
                layout.display(),
                tags[0]
            )));
        }
    })
}

/// The annotation listing the target packages an image was built from
/// (`name=identity` words, sorted), so a layered build knows what its base
/// already holds.
pub const ANNOTATION_BBSDK_PACKAGES: &str = "io.bbsdk.packages";

/// The value of [`ANNOTATION_BBSDK_PACKAGES`].
pub fn format_packages(packages: &BTreeMap<String, String>) -> String {
    packages
        .iter()
        .map(|(n, id)| format!("{n}={id}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The packages (name → identity) of the base image of this platform, read
/// from its manifest's annotation (no layer is read). Empty for a base
/// that was not built by a bbsdk that records them.
pub fn base_packages(
    layout: &Path,
    tag: Option<&str>,
    arch: &str,
    variant: Option<&str>,
) -> Result<BTreeMap<String, String>, ImageError> {
    let img = select_image(layout, tag, arch, variant)?;
    Ok(img
        .manifest
        .annotations()
        .as_ref()
        .and_then(|a| a.get(ANNOTATION_BBSDK_PACKAGES))
        .map(|v| {
            v.split_whitespace()
                .filter_map(|w| w.split_once('='))
                .map(|(n, id)| (n.to_string(), id.to_string()))
                .collect()
        })
        .unwrap_or_default())
}

/// The reader of a layer blob (gzip or plain tar).
pub fn layer_reader(path: &Path, media_type: &MediaType) -> Result<Box<dyn Read>, ImageError> {
    let f = File::open(path).map_err(super::blob::io_err(path))?;
    let f = io::BufReader::new(f);
    Ok(match media_type {
        MediaType::ImageLayer => Box::new(f),
        MediaType::ImageLayerGzip => Box::new(flate2::read::GzDecoder::new(f)),
        MediaType::Other(t) if t.ends_with("tar.gzip") || t.ends_with("tar+gzip") => {
            Box::new(flate2::read::GzDecoder::new(f))
        }
        other => {
            return Err(ImageError::Invalid(format!(
                "{}: layers of type {other} are not supported (gzip or plain tar only)",
                path.display()
            )))
        }
    })
}

fn read_layer(
    path: &Path,
    media_type: &MediaType,
    files: &mut HashMap<PathBuf, FullSig>,
) -> Result<(), ImageError> {
    let bad = |e: io::Error| ImageError::Invalid(format!("{}: {e}", path.display()));
    let mut ar = tar::Archive::new(layer_reader(path, media_type)?);
    for entry in ar.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let raw = entry.path().map_err(bad)?.to_path_buf();
        let Ok(p) = normalize(&raw) else { continue };
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        if let Some(hidden) = name.strip_prefix(".wh.") {
            let dir = p.parent().unwrap_or(Path::new("")).to_path_buf();
            if hidden == ".wh..opq" {
                files.retain(|k, _| !(k.starts_with(&dir) && *k != dir));
            } else {
                let gone = dir.join(hidden);
                files.retain(|k, _| !k.starts_with(&gone));
            }
            continue;
        }
        let h = entry.header();
        let mode = h.mode().map_err(bad)? & 0o7777;
        let uid = h.uid().map_err(bad)? as u32;
        let gid = h.gid().map_err(bad)? as u32;
        let dev = || -> Result<(u32, u32), ImageError> {
            Ok((
                h.device_major().map_err(bad)?.unwrap_or(0),
                h.device_minor().map_err(bad)?.unwrap_or(0),
            ))
        };
        let sig = match h.entry_type() {
            tar::EntryType::Directory => Sig::Dir,
            tar::EntryType::Symlink => Sig::Symlink(
                entry
                    .link_name()
                    .map_err(bad)?
                    .map(|l| l.to_path_buf())
                    .unwrap_or_default(),
            ),
            tar::EntryType::Link => Sig::HardLink(
                entry
                    .link_name()
                    .map_err(bad)?
                    .and_then(|l| normalize(&l).ok())
                    .unwrap_or_default(),
            ),
            tar::EntryType::Char => {
                let (a, b) = dev()?;
                Sig::Char(a, b)
            }
            tar::EntryType::Block => {
                let (a, b) = dev()?;
                Sig::Block(a, b)
            }
            tar::EntryType::Fifo => Sig::Fifo,
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let mut hasher = Sha256::new();
                let mut buf = vec![0u8; 1 << 16];
                loop {
                    let n = entry.read(&mut buf).map_err(bad)?;
                    if n == 0 {
                        break;
                    }
                    hasher.update(&buf[..n]);
                }
                Sig::File(hex(&hasher.finalize()))
            }
            _ => continue,
        };
        let mode = if matches!(sig, Sig::Symlink(_)) {
            0o777
        } else {
            mode
        };
        files.insert(p, (sig, mode, uid, gid));
    }
    Ok(())
}

fn sig_of(entry: &Entry) -> Result<FullSig, ImageError> {
    let sig = match &entry.kind {
        EntryKind::Dir => Sig::Dir,
        EntryKind::File(c) => {
            let mut hasher = Sha256::new();
            match c {
                Content::Inline(b) => hasher.update(b),
                Content::Disk { path, .. } => {
                    let mut f = File::open(path).map_err(super::blob::io_err(path))?;
                    io::copy(&mut f, &mut hasher).map_err(super::blob::io_err(path))?;
                }
            }
            Sig::File(hex(&hasher.finalize()))
        }
        EntryKind::Symlink(t) => Sig::Symlink(t.clone()),
        EntryKind::HardLink(t) => Sig::HardLink(t.clone()),
        EntryKind::CharDevice { major, minor } => Sig::Char(*major, *minor),
        EntryKind::BlockDevice { major, minor } => Sig::Block(*major, *minor),
        EntryKind::Fifo => Sig::Fifo,
    };
    let mode = if matches!(sig, Sig::Symlink(_)) {
        0o777
    } else {
        entry.mode
    };
    Ok((sig, mode, entry.uid, entry.gid))
}

/// The entries of `manifest` the base does not have, or has differently,
/// with the parent directories and hard link targets they need.
pub fn diff_manifest(
    manifest: &Manifest,
    base: &HashMap<PathBuf, FullSig>,
) -> Result<Manifest, ImageError> {
    let mut wanted: BTreeSet<PathBuf> = BTreeSet::new();
    for (path, entry) in manifest.iter() {
        if path.as_os_str().is_empty() {
            continue;
        }
        let differs = match base.get(path) {
            None => true,
            Some(b) => *b != sig_of(entry)?,
        };
        if differs {
            wanted.insert(path.to_path_buf());
            if let EntryKind::HardLink(t) = &entry.kind {
                wanted.insert(t.clone());
            }
        }
    }
    let root = manifest
        .get("")
        .cloned()
        .unwrap_or_else(|| Entry::dir(0o755));
    let mut out = Manifest::new(root.mtime);
    let tree = |e: crate::rootfs::Error| ImageError::Invalid(e.to_string());
    out.insert("", root).map_err(tree)?;
    for path in &wanted {
        let mut ancestors: Vec<&Path> = path
            .ancestors()
            .skip(1)
            .filter(|a| !a.as_os_str().is_empty())
            .collect();
        ancestors.reverse();
        for a in ancestors {
            if !out.contains(a) {
                if let Some(e) = manifest.get(a) {
                    out.insert(a, e.clone()).map_err(tree)?;
                }
            }
        }
        if let Some(e) = manifest.get(path) {
            out.insert(path, e.clone()).map_err(tree)?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_keeps_new_and_changed_entries_with_parents() {
        let mut m = Manifest::new(0);
        m.insert("etc", Entry::dir(0o755)).unwrap();
        m.insert("etc/same", Entry::inline_file("x", 0o644))
            .unwrap();
        m.insert("etc/changed", Entry::inline_file("new", 0o644))
            .unwrap();
        m.insert("etc/mode", Entry::inline_file("m", 0o600))
            .unwrap();
        m.insert("usr", Entry::dir(0o755)).unwrap();
        m.insert("usr/bin", Entry::dir(0o755)).unwrap();
        m.insert("usr/bin/app", Entry::inline_file("app", 0o755))
            .unwrap();
        let mut base = HashMap::new();
        let mut put = |p: &str, e: &Entry| {
            base.insert(PathBuf::from(p), sig_of(e).unwrap());
        };
        put("etc", &Entry::dir(0o755));
        put("etc/same", &Entry::inline_file("x", 0o644));
        put("etc/changed", &Entry::inline_file("old", 0o644));
        put("etc/mode", &Entry::inline_file("m", 0o644));
        put("usr", &Entry::dir(0o755));
        let d = diff_manifest(&m, &base).unwrap();
        let paths: Vec<String> = d.iter().map(|(p, _)| p.display().to_string()).collect();
        assert_eq!(
            paths,
            [
                "",
                "etc",
                "etc/changed",
                "etc/mode",
                "usr",
                "usr/bin",
                "usr/bin/app"
            ]
        );
    }
}

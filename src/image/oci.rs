//! The OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/`),
//! written with the `oci-spec` crate's types.
//!
//! One build adds one image (gzip layers, config, manifest) for its
//! platform under its tag. When the layout already holds that tag for other
//! platforms, the tag then names an image index with one manifest per
//! platform (the previous manifest of the same platform is replaced): this
//! is how several targets built into one shared layout make a multi-arch
//! image. A tag with a single platform points straight at its manifest,
//! which every tool reads (umoci does not follow nested indexes).
//!
//! Writes are atomic: a new layout is written in a temporary directory and
//! renamed into place; an existing one is updated blob by blob (each a
//! temporary file and a rename) with `index.json` written last, under a
//! lock file next to the layout so concurrent builds do not lose entries.
//! Blobs no longer reachable from `index.json` are removed afterwards.
//! JSON blobs are canonical (sorted keys, no whitespace): the same
//! configuration and sources give the same digests.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use oci_spec::image::{
    Arch, ConfigBuilder, Descriptor, History, HistoryBuilder, ImageConfiguration,
    ImageConfigurationBuilder, ImageIndex, ImageIndexBuilder, ImageManifest, ImageManifestBuilder,
    MediaType, Os, Platform, PlatformBuilder, RootFsBuilder, ANNOTATION_REF_NAME,
};

use super::blob::{canonical_json, digest_hex, io_err, link_or_copy_atomic, write_file_atomic};
use super::{ImageError, ImageSpec};

/// A layer blob to put in the image: where its gzip is and what it is.
#[derive(Debug, Clone)]
pub struct LayerBlob {
    pub source: PathBuf,
    pub digest: String,
    pub size: u64,
    pub diff_id: String,
    pub media_type: MediaType,
}

/// What [`write_layout`] wrote.
#[derive(Debug, Clone)]
pub struct OciWritten {
    pub layout: PathBuf,
    /// Digest of this platform's image manifest.
    pub manifest_digest: String,
    /// Digest of the image index the tag names, when it holds several platforms.
    pub index_digest: Option<String>,
    /// Platforms the tag holds now (`linux/amd64`, ...).
    pub platforms: Vec<String>,
}

fn oci(e: oci_spec::OciSpecError) -> ImageError {
    ImageError::Invalid(format!("OCI data: {e}"))
}

/// The image configuration of `spec` over layers with these `diff_ids`;
/// `history` holds the entries of base layers, this image's own is added.
pub fn image_config(
    spec: &ImageSpec,
    diff_ids: Vec<String>,
    mut history: Vec<History>,
) -> Result<ImageConfiguration, ImageError> {
    let created = spec.created_rfc3339();
    let mut cfg = ConfigBuilder::default();
    if !spec.user.is_empty() {
        cfg = cfg.user(spec.user.clone());
    }
    if !spec.exposed_ports.is_empty() {
        cfg = cfg.exposed_ports(spec.exposed_ports.clone());
    }
    if !spec.env.is_empty() {
        cfg = cfg.env(spec.env.clone());
    }
    if !spec.entrypoint.is_empty() {
        cfg = cfg.entrypoint(spec.entrypoint.clone());
    }
    if !spec.cmd.is_empty() {
        cfg = cfg.cmd(spec.cmd.clone());
    }
    if !spec.workdir.is_empty() {
        cfg = cfg.working_dir(spec.workdir.clone());
    }
    if !spec.labels.is_empty() {
        cfg = cfg.labels(spec.labels.clone().into_iter().collect::<HashMap<_, _>>());
    }
    history.push(
        HistoryBuilder::default()
            .created(created.clone())
            .created_by(format!(
                "bbsdk make: root filesystem of {}",
                spec.reference()
            ))
            .build()
            .map_err(oci)?,
    );
    let mut b = ImageConfigurationBuilder::default()
        .created(created)
        .architecture(Arch::from(spec.architecture.as_str()))
        .os(Os::Linux)
        .config(cfg.build().map_err(oci)?)
        .rootfs(
            RootFsBuilder::default()
                .typ("layers")
                .diff_ids(diff_ids)
                .build()
                .map_err(oci)?,
        )
        .history(history);
    if let Some(v) = &spec.variant {
        b = b.variant(v.clone());
    }
    b.build().map_err(oci)
}

/// The platform of `spec`, as descriptors carry it.
pub fn platform(spec: &ImageSpec) -> Result<Platform, ImageError> {
    let mut p = PlatformBuilder::default()
        .architecture(Arch::from(spec.architecture.as_str()))
        .os(Os::Linux);
    if let Some(v) = &spec.variant {
        p = p.variant(v.clone());
    }
    p.build().map_err(oci)
}

fn platform_key(p: &Platform) -> String {
    match p.variant() {
        Some(v) => format!("{}/{}/{v}", p.os(), p.architecture()),
        None => format!("{}/{}", p.os(), p.architecture()),
    }
}

/// Path of a blob in a layout.
pub fn blob_path(layout: &Path, digest: &str) -> PathBuf {
    layout.join("blobs").join("sha256").join(digest_hex(digest))
}

fn put_blob(layout: &Path, bytes: &[u8]) -> Result<(String, u64), ImageError> {
    let digest = super::blob::sha256_digest(bytes);
    let path = blob_path(layout, &digest);
    if !path.exists() {
        write_file_atomic(&path, bytes)?;
    }
    Ok((digest, bytes.len() as u64))
}

fn descriptor(media_type: MediaType, digest: &str, size: u64) -> Result<Descriptor, ImageError> {
    let d: oci_spec::image::Digest = digest.parse().map_err(oci)?;
    Ok(Descriptor::new(media_type, size, d))
}

/// Writes one image (this platform of `spec`) into the layout at `layout`
/// under `spec.tag`. `config` is the image configuration (see
/// [`image_config`]); `annotations` go on the manifest.
pub fn write_layout(
    layout: &Path,
    spec: &ImageSpec,
    layers: &[LayerBlob],
    config: &ImageConfiguration,
    annotations: BTreeMap<String, String>,
) -> Result<OciWritten, ImageError> {
    let parent = super::blob::parent_of(layout);
    fs::create_dir_all(parent).map_err(io_err(parent))?;
    let _lock = lock(layout)?;
    let fresh = !layout.join("oci-layout").exists();
    if fresh
        && layout.is_dir()
        && fs::read_dir(layout)
            .map_err(io_err(layout))?
            .next()
            .is_some()
    {
        return Err(ImageError::Invalid(format!(
            "{}: exists and is not an OCI image layout (no oci-layout file)\n  hint: remove it or point BBSDK_IMAGE_OCI_LAYOUT_DIR elsewhere",
            layout.display()
        )));
    }
    let tmp = if fresh {
        Some(
            tempfile::Builder::new()
                .prefix(".bbsdk-oci-")
                .tempdir_in(parent)
                .map_err(io_err(parent))?,
        )
    } else {
        None
    };
    let work: &Path = tmp.as_ref().map_or(layout, |t| t.path());
    if !work.join("oci-layout").exists() {
        write_file_atomic(
            &work.join("oci-layout"),
            br#"{"imageLayoutVersion":"1.0.0"}"#,
        )?;
    }
    fs::create_dir_all(work.join("blobs/sha256")).map_err(io_err(work))?;

    let mut layer_descs = Vec::new();
    for l in layers {
        let dest = blob_path(work, &l.digest);
        if !dest.exists() {
            link_or_copy_atomic(&l.source, &dest)?;
        }
        layer_descs.push(descriptor(l.media_type.clone(), &l.digest, l.size)?);
    }
    let (cdigest, csize) = put_blob(work, &canonical_json(config)?)?;
    let mut mb = ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .config(descriptor(MediaType::ImageConfig, &cdigest, csize)?)
        .layers(layer_descs);
    if !annotations.is_empty() {
        mb = mb.annotations(annotations.into_iter().collect::<HashMap<_, _>>());
    }
    let manifest: ImageManifest = mb.build().map_err(oci)?;
    let (mdigest, msize) = put_blob(work, &canonical_json(&manifest)?)?;
    let mut mdesc = descriptor(MediaType::ImageManifest, &mdigest, msize)?;
    let plat = platform(spec)?;
    mdesc.set_platform(Some(plat.clone()));

    // The tag's other platforms, from the layout as it is.
    let index_path = work.join("index.json");
    let mut entries: Vec<Descriptor> = if index_path.exists() {
        read_json::<ImageIndex>(&index_path)?.manifests().clone()
    } else {
        Vec::new()
    };
    let ref_of = |d: &Descriptor| {
        d.annotations()
            .as_ref()
            .and_then(|a| a.get(ANNOTATION_REF_NAME).cloned())
    };
    let mut siblings: Vec<Descriptor> = Vec::new();
    for d in entries
        .iter()
        .filter(|d| ref_of(d).as_deref() == Some(&spec.tag))
    {
        match d.media_type() {
            MediaType::ImageIndex => {
                let idx: ImageIndex = read_json(&blob_path(work, d.digest().as_ref()))?;
                siblings.extend(idx.manifests().iter().cloned());
            }
            _ => {
                let mut d = d.clone();
                d.set_annotations(None);
                if d.platform().is_none() {
                    let m: ImageManifest = read_json(&blob_path(work, d.digest().as_ref()))?;
                    let c: ImageConfiguration =
                        read_json(&blob_path(work, m.config().digest().as_ref()))?;
                    let mut p = PlatformBuilder::default()
                        .architecture(c.architecture().clone())
                        .os(c.os().clone());
                    if let Some(v) = c.variant() {
                        p = p.variant(v.clone());
                    }
                    d.set_platform(Some(p.build().map_err(oci)?));
                }
                siblings.push(d);
            }
        }
    }
    let key = platform_key(&plat);
    siblings.retain(|d| d.platform().as_ref().map(platform_key).as_deref() != Some(&key));
    siblings.push(mdesc);
    siblings.sort_by_key(|d| d.platform().as_ref().map(platform_key).unwrap_or_default());
    let platforms: Vec<String> = siblings
        .iter()
        .filter_map(|d| d.platform().as_ref().map(platform_key))
        .collect();
    let ref_ann = HashMap::from([(ANNOTATION_REF_NAME.to_string(), spec.tag.clone())]);
    let (mut tag_desc, index_digest) = if siblings.len() == 1 {
        (siblings.remove(0), None)
    } else {
        let idx: ImageIndex = ImageIndexBuilder::default()
            .schema_version(2u32)
            .media_type(MediaType::ImageIndex)
            .manifests(siblings)
            .build()
            .map_err(oci)?;
        let (d, s) = put_blob(work, &canonical_json(&idx)?)?;
        (descriptor(MediaType::ImageIndex, &d, s)?, Some(d))
    };
    tag_desc.set_annotations(Some(ref_ann));
    entries.retain(|d| ref_of(d).as_deref() != Some(&spec.tag));
    entries.push(tag_desc);
    entries.sort_by_key(|d| ref_of(d).unwrap_or_default());
    let index: ImageIndex = ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(entries)
        .build()
        .map_err(oci)?;
    write_file_atomic(&index_path, &canonical_json(&index)?)?;
    collect_garbage(work);
    if let Some(tmp) = tmp {
        if layout.is_dir() {
            fs::remove_dir(layout).map_err(io_err(layout))?;
        }
        let tmp_path = tmp.keep();
        set_dir_mode_755(&tmp_path)?;
        fs::rename(&tmp_path, layout).map_err(io_err(layout))?;
    }
    Ok(OciWritten {
        layout: layout.to_path_buf(),
        manifest_digest: mdigest,
        index_digest,
        platforms,
    })
}

fn set_dir_mode_755(p: &Path) -> Result<(), ImageError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(p, fs::Permissions::from_mode(0o755)).map_err(io_err(p))
}

/// An exclusive lock on `<layout>.lock`, held while the guard lives.
fn lock(layout: &Path) -> Result<fs::File, ImageError> {
    let mut name = layout.as_os_str().to_os_string();
    name.push(".lock");
    let path = PathBuf::from(name);
    let f = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_err(&path))?;
    rustix::fs::flock(&f, rustix::fs::FlockOperation::LockExclusive).map_err(|e| {
        ImageError::Io {
            path: path.clone(),
            source: e.into(),
        }
    })?;
    Ok(f)
}

pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ImageError> {
    let bytes = fs::read(path).map_err(io_err(path))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ImageError::Invalid(format!("{}: {e}", path.display())))
}

/// Removes blobs `index.json` no longer reaches. Does nothing when some
/// reachable blob cannot be read (better a stale blob than a lost one).
fn collect_garbage(layout: &Path) {
    let Ok(index) = read_json::<ImageIndex>(&layout.join("index.json")) else {
        return;
    };
    let mut keep = BTreeSet::new();
    let mut todo: Vec<Descriptor> = index.manifests().clone();
    while let Some(d) = todo.pop() {
        let digest = d.digest().to_string();
        if !keep.insert(digest_hex(&digest).to_string()) {
            continue;
        }
        let path = blob_path(layout, &digest);
        match d.media_type() {
            MediaType::ImageIndex => match read_json::<ImageIndex>(&path) {
                Ok(i) => todo.extend(i.manifests().iter().cloned()),
                Err(_) => return,
            },
            MediaType::ImageManifest => match read_json::<ImageManifest>(&path) {
                Ok(m) => {
                    todo.push(m.config().clone());
                    todo.extend(m.layers().iter().cloned());
                }
                Err(_) => return,
            },
            MediaType::Other(t) if t.contains("manifest") || t.contains("index") => return,
            _ => {}
        }
    }
    let dir = layout.join("blobs").join("sha256");
    let Ok(rd) = fs::read_dir(&dir) else { return };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if !keep.contains(&name) && !name.starts_with('.') {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// The image of one platform in a layout: its manifest and configuration.
#[derive(Debug, Clone)]
pub struct LayoutImage {
    pub tag: String,
    pub manifest_digest: String,
    pub manifest: ImageManifest,
    pub config: ImageConfiguration,
}

/// The images a layout holds for `arch`/`variant` (for every tag, or only
/// for `tag`): one per tag, reached through nested indexes.
pub fn find_images(
    layout: &Path,
    tag: Option<&str>,
    arch: &str,
    variant: Option<&str>,
) -> Result<Vec<LayoutImage>, ImageError> {
    let index: ImageIndex = read_json(&layout.join("index.json"))?;
    let mut out = Vec::new();
    for d in index.manifests() {
        let Some(t) = d
            .annotations()
            .as_ref()
            .and_then(|a| a.get(ANNOTATION_REF_NAME))
        else {
            continue;
        };
        if tag.is_some_and(|want| want != t) {
            continue;
        }
        let mut candidates = vec![d.clone()];
        if *d.media_type() == MediaType::ImageIndex {
            let idx: ImageIndex = read_json(&blob_path(layout, d.digest().as_ref()))?;
            candidates = idx.manifests().clone();
        }
        for c in candidates {
            if *c.media_type() != MediaType::ImageManifest {
                continue;
            }
            let m: ImageManifest = read_json(&blob_path(layout, c.digest().as_ref()))?;
            let cfg: ImageConfiguration =
                read_json(&blob_path(layout, m.config().digest().as_ref()))?;
            let same_arch = cfg.architecture().to_string() == arch;
            let same_variant = match (cfg.variant().as_deref(), variant) {
                (Some(a), Some(b)) => a == b,
                (None, None) => true,
                _ => false,
            };
            if same_arch && same_variant {
                out.push(LayoutImage {
                    tag: t.clone(),
                    manifest_digest: c.digest().to_string(),
                    manifest: m,
                    config: cfg,
                });
            }
        }
    }
    Ok(out)
}

//! Image writers. Each reads a [`crate::rootfs::Manifest`] and nothing else:
//! never the build tree, never the target directory directly.
//!
//! [`write_images`] writes every format the configuration selects
//! (Dockerfile + context, OCI layout, docker-archive, ACI, cpio) from one
//! Manifest; [`push`] sends an image of an OCI layout to a registry.

pub mod aci;
pub mod base;
pub mod blob;
pub mod cpio;
pub mod docker_archive;
pub mod dockerfile;
pub mod inputs;
pub mod oci;
pub mod push;
pub mod spec;
pub mod tar;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use oci_spec::image::MediaType;

pub use spec::{ImageSpec, SpecError};

use crate::rootfs::Manifest;
use crate::target::Target;

/// Errors of the image writers.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Tar(#[from] tar::TarError),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

/// Which images to write and how, from the `BBSDK_IMAGE_*` options.
#[derive(Debug, Clone)]
pub struct ImageSettings {
    /// The container settings; `None` when no container format is selected.
    pub spec: Option<ImageSpec>,
    pub dockerfile: bool,
    pub oci: bool,
    pub docker_archive: bool,
    pub aci: bool,
    pub cpio: bool,
    pub cpio_gzip: bool,
    /// Where the OCI layout goes (`BBSDK_IMAGE_OCI_LAYOUT_DIR`, default
    /// `<output>/images/oci`).
    pub oci_layout: PathBuf,
    /// `BBSDK_IMAGE_BASE`, resolved: layout directory and optional tag.
    pub base: Option<(PathBuf, Option<String>)>,
    pub source_date_epoch: u64,
    /// The target packages of the image (name → identity), recorded in the
    /// OCI manifest so images built on this one know what it holds. Set by
    /// the caller (the plan); empty from [`ImageSettings::from_values`].
    pub packages: BTreeMap<String, String>,
}

impl ImageSettings {
    /// Reads the options. `top` is bbsdk's tree (relative paths in options
    /// are relative to it), `output` the output directory.
    pub fn from_values(
        values: &BTreeMap<String, String>,
        target: &Target,
        top: &Path,
        output: &Path,
        source_date_epoch: u64,
    ) -> Result<ImageSettings, ImageError> {
        let get = |k: &str| values.get(k).map(String::as_str).unwrap_or("");
        let on = |k: &str| get(k) == "y";
        let dockerfile = on("BBSDK_IMAGE_DOCKERFILE");
        let oci = on("BBSDK_IMAGE_OCI");
        let docker_archive = on("BBSDK_IMAGE_DOCKER_ARCHIVE");
        let aci = on("BBSDK_IMAGE_ACI");
        let spec = if dockerfile || oci || docker_archive || aci {
            Some(ImageSpec::from_values(values, target, source_date_epoch)?)
        } else {
            None
        };
        let oci_layout = match get("BBSDK_IMAGE_OCI_LAYOUT_DIR") {
            "" => output.join("images").join("oci"),
            d => top.join(d),
        };
        let base = match get("BBSDK_IMAGE_BASE").trim() {
            "" => None,
            v => Some(base::resolve_base(v, top, output)),
        };
        Ok(ImageSettings {
            spec,
            dockerfile,
            oci,
            docker_archive,
            aci,
            cpio: on("BBSDK_IMAGE_CPIO"),
            cpio_gzip: on("BBSDK_IMAGE_CPIO_GZIP"),
            oci_layout,
            base,
            source_date_epoch,
            packages: BTreeMap::new(),
        })
    }
}

/// The packages of `plan` a layered image's base already holds: target
/// packages whose identity equals the one recorded in the base's manifest
/// (same recipe, sources, options, toolchain and dependencies). Empty when
/// the configuration names no base or writes no container image.
pub fn provided_by_base(
    settings: &ImageSettings,
    plan: &crate::plan::Plan,
) -> Result<BTreeSet<String>, ImageError> {
    let (Some(spec), Some((layout, tag))) = (&settings.spec, &settings.base) else {
        return Ok(BTreeSet::new());
    };
    let theirs = base::base_packages(
        layout,
        tag.as_deref(),
        &spec.architecture,
        spec.variant.as_deref(),
    )?;
    Ok(plan
        .nodes
        .iter()
        .filter(|n| n.variant == crate::package::Variant::Target)
        .filter(|n| theirs.get(&n.name) == Some(&n.identity))
        .map(|n| n.name.clone())
        .collect())
}

/// `plan` without the `provided` packages that nothing left in it needs to
/// build (a package still needed for its headers and libraries stays).
pub fn plan_without(plan: &crate::plan::Plan, provided: &BTreeSet<String>) -> crate::plan::Plan {
    let mut keep: BTreeSet<usize> = (0..plan.nodes.len())
        .filter(|&i| !provided.contains(&plan.nodes[i].name))
        .collect();
    let mut todo: Vec<usize> = keep.iter().copied().collect();
    while let Some(i) = todo.pop() {
        for &d in &plan.nodes[i].build_deps {
            if keep.insert(d) {
                todo.push(d);
            }
        }
    }
    let new_index: BTreeMap<usize, usize> = keep.iter().enumerate().map(|(n, &o)| (o, n)).collect();
    let remap = |v: &[usize]| v.iter().filter_map(|d| new_index.get(d).copied()).collect();
    let nodes: Vec<crate::plan::Node> = keep
        .iter()
        .map(|&i| {
            let mut n = plan.nodes[i].clone();
            n.build_deps = remap(&plan.nodes[i].build_deps);
            n.runtime_deps = remap(&plan.nodes[i].runtime_deps);
            n
        })
        .collect();
    let index = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name.clone(), i))
        .collect();
    let mut out = plan.clone();
    out.nodes = nodes;
    out.index = index;
    out
}

/// `name-tag`, safe as a file name (`/` and `:` become `-`).
pub fn file_stem(spec: &ImageSpec) -> String {
    format!("{}-{}", spec.name, spec.tag).replace(['/', ':'], "-")
}

/// Writes every selected image of `manifest` into `images` (the
/// `<output>/images` directory) and returns the files and directories
/// written.
pub fn write_images(
    manifest: &Manifest,
    settings: &ImageSettings,
    images: &Path,
) -> Result<Vec<PathBuf>, ImageError> {
    let mut written = Vec::new();
    let epoch = settings.source_date_epoch;
    if settings.cpio {
        let dest = images.join(if settings.cpio_gzip {
            "rootfs.cpio.gz"
        } else {
            "rootfs.cpio"
        });
        cpio::write_cpio(manifest, &dest, settings.cpio_gzip, epoch)?;
        written.push(dest);
    }
    let Some(spec) = &settings.spec else {
        return Ok(written);
    };
    if settings.aci {
        let dest = images.join(format!("{}.aci", file_stem(spec)));
        aci::write_aci(&dest, spec, manifest)?;
        written.push(dest);
    }
    let base = match &settings.base {
        Some((layout, tag)) => Some(base::load_base(
            layout,
            tag.as_deref(),
            &spec.architecture,
            spec.variant.as_deref(),
        )?),
        None => None,
    };
    // What this image adds: everything, or what the base lacks.
    let top_storage;
    let top: &Manifest = match &base {
        Some(b) => {
            top_storage = base::diff_manifest(manifest, &b.files)?;
            &top_storage
        }
        None => manifest,
    };
    if !(settings.dockerfile || settings.oci || settings.docker_archive) {
        return Ok(written);
    }
    // The layer tar is also the Dockerfile context's rootfs.tar (same bytes).
    let layer = blob::write_layer(top, epoch, images, settings.oci)?;
    if settings.dockerfile {
        let from = base.as_ref().map(|b| {
            b.reference
                .clone()
                .unwrap_or_else(|| format!("bbsdk/base:{}", b.tag))
        });
        written.extend(dockerfile::write_context(
            &images.join("docker"),
            spec,
            dockerfile::ContextTar::Written(&layer.tar),
            from.as_deref(),
        )?);
    }
    if !(settings.oci || settings.docker_archive) {
        return Ok(written);
    }
    let mut layers: Vec<oci::LayerBlob> =
        base.as_ref().map(|b| b.layers.clone()).unwrap_or_default();
    layers.push(oci::LayerBlob {
        source: layer.gz.clone(),
        digest: layer.digest.clone(),
        size: layer.size,
        diff_id: layer.diff_id.clone(),
        media_type: MediaType::ImageLayerGzip,
    });
    let history = base.as_ref().map(|b| b.history.clone()).unwrap_or_default();
    let config = oci::image_config(
        spec,
        layers.iter().map(|l| l.diff_id.clone()).collect(),
        history,
    )?;
    if settings.oci {
        let mut ann = BTreeMap::new();
        ann.insert(
            oci_spec::image::ANNOTATION_CREATED.to_string(),
            spec.created_rfc3339(),
        );
        ann.insert(base::ANNOTATION_BBSDK_REF.to_string(), spec.reference());
        if !settings.packages.is_empty() {
            ann.insert(
                base::ANNOTATION_BBSDK_PACKAGES.to_string(),
                base::format_packages(&settings.packages),
            );
        }
        if let Some(b) = &base {
            ann.insert(
                oci_spec::image::ANNOTATION_BASE_IMAGE_DIGEST.to_string(),
                b.manifest_digest.clone(),
            );
            if let Some(r) = &b.reference {
                ann.insert(
                    oci_spec::image::ANNOTATION_BASE_IMAGE_NAME.to_string(),
                    r.clone(),
                );
            }
        }
        let w = oci::write_layout(&settings.oci_layout, spec, &layers, &config, ann)?;
        written.push(w.layout);
    }
    if settings.docker_archive {
        // docker-archive holds uncompressed layers: the base's are unpacked
        // into the layer's temporary directory first.
        let tmp = tempfile::Builder::new()
            .prefix(".bbsdk-base-")
            .tempdir_in(images)
            .map_err(blob::io_err(images))?;
        let mut tars = Vec::new();
        let mut done = BTreeSet::new();
        for (i, l) in layers.iter().enumerate() {
            if i + 1 == layers.len() {
                tars.push(docker_archive::LayerTar {
                    path: layer.tar.clone(),
                    diff_id: layer.diff_id.clone(),
                });
                continue;
            }
            if !done.insert(l.diff_id.clone()) {
                continue;
            }
            let path = tmp.path().join(format!("{i}.tar"));
            let mut r = base::layer_reader(&l.source, &l.media_type)?;
            let mut f = std::fs::File::create(&path).map_err(blob::io_err(&path))?;
            std::io::copy(&mut r, &mut f).map_err(blob::io_err(&l.source))?;
            tars.push(docker_archive::LayerTar {
                path,
                diff_id: l.diff_id.clone(),
            });
        }
        let dest = images.join(format!("{}.docker.tar", file_stem(spec)));
        docker_archive::write_docker_archive(&dest, spec, &blob::canonical_json(&config)?, &tars)?;
        written.push(dest);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::Variant;
    use crate::plan::{Node, Plan};

    fn node(name: &str, build_deps: Vec<usize>) -> Node {
        Node {
            name: name.into(),
            package: name.into(),
            variant: Variant::Target,
            build_deps,
            runtime_deps: vec![],
            identity: format!("id-{name}"),
            symbols: BTreeMap::new(),
        }
    }

    #[test]
    #[allow(clippy::field_reassign_with_default)] // Plan may grow fields
    fn provided_packages_leave_the_plan_unless_needed() {
        // zlib (provided) <- app (ours); busybox (provided, needed by nothing).
        let nodes = vec![
            node("zlib", vec![]),
            node("busybox", vec![]),
            node("app", vec![0]),
        ];
        let index = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.clone(), i))
            .collect();
        let mut plan = Plan::default();
        plan.nodes = nodes;
        plan.index = index;
        let provided: BTreeSet<String> = ["zlib".to_string(), "busybox".to_string()].into();
        let p = plan_without(&plan, &provided);
        let names: Vec<&str> = p.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["zlib", "app"]);
        assert_eq!(p.get("app").unwrap().build_deps, [0]);
        assert_eq!(p.index["app"], 1);
    }
}

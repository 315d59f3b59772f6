//! A Dockerfile and its build context (`output/images/docker/`): the
//! Dockerfile starts `FROM scratch` (or from the base image), adds
//! `rootfs.tar` (the root filesystem, or for a layered image only what it
//! adds to the base) and applies the container settings, so `docker build`
//! and `podman build` make the image with the engine's own tools.
//!
//! ENTRYPOINT and CMD are in the exec (JSON) form, so no shell is needed in
//! the image; ENV and LABEL values are double-quoted with `\`, `"` and `$`
//! escaped, so nothing is expanded.

use std::fs;
use std::path::{Path, PathBuf};

use super::blob::{io_err, write_file_atomic};
use super::{ImageError, ImageSpec};
use crate::rootfs::Manifest;

/// `s` double-quoted for a Dockerfile, nothing expanded.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if matches!(c, '\\' | '"' | '$') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn exec_form(words: &[String]) -> String {
    serde_json::to_string(words).unwrap_or_else(|_| "[]".into())
}

/// The text of the Dockerfile. `from` is the base image reference, or
/// `None` for `FROM scratch`.
pub fn dockerfile(spec: &ImageSpec, from: Option<&str>) -> String {
    let mut s = String::new();
    s.push_str("# Written by bbsdk. Build with:\n");
    s.push_str(&format!(
        "#   docker build --platform {} -t {} .\n",
        spec.platform(),
        spec.reference()
    ));
    s.push_str(&format!("FROM {}\n", from.unwrap_or("scratch")));
    s.push_str("ADD rootfs.tar /\n");
    for e in &spec.env {
        if let Some((k, v)) = e.split_once('=') {
            s.push_str(&format!("ENV {k}={}\n", quote(v)));
        }
    }
    if !spec.workdir.is_empty() {
        s.push_str(&format!("WORKDIR {}\n", spec.workdir));
    }
    if !spec.user.is_empty() {
        s.push_str(&format!("USER {}\n", spec.user));
    }
    if !spec.exposed_ports.is_empty() {
        s.push_str(&format!("EXPOSE {}\n", spec.exposed_ports.join(" ")));
    }
    for (k, v) in &spec.labels {
        s.push_str(&format!("LABEL {}={}\n", quote(k), quote(v)));
    }
    if !spec.entrypoint.is_empty() {
        s.push_str(&format!("ENTRYPOINT {}\n", exec_form(&spec.entrypoint)));
    }
    if !spec.cmd.is_empty() {
        s.push_str(&format!("CMD {}\n", exec_form(&spec.cmd)));
    }
    s
}

/// The tar to put in the context: written from a Manifest, or an
/// identical layer tar already on disk (linked, not rewritten).
pub enum ContextTar<'a> {
    Manifest(&'a Manifest),
    Written(&'a Path),
}

/// Writes `dir` (`Dockerfile` + `rootfs.tar`): built in a temporary
/// directory next to it, then swapped in.
pub fn write_context(
    dir: &Path,
    spec: &ImageSpec,
    rootfs: ContextTar,
    from: Option<&str>,
) -> Result<Vec<PathBuf>, ImageError> {
    let parent = super::blob::parent_of(dir);
    fs::create_dir_all(parent).map_err(io_err(parent))?;
    let tmp = tempfile::Builder::new()
        .prefix(".bbsdk-docker-")
        .tempdir_in(parent)
        .map_err(io_err(parent))?;
    let tar = tmp.path().join("rootfs.tar");
    match rootfs {
        ContextTar::Manifest(manifest) => super::tar::write_tar(
            manifest,
            &tar,
            &super::tar::TarOptions {
                compression: super::tar::Compression::None,
                source_date_epoch: Some(spec.created),
            },
        )?,
        ContextTar::Written(path) => super::blob::link_or_copy_atomic(path, &tar)?,
    }
    write_file_atomic(
        &tmp.path().join("Dockerfile"),
        dockerfile(spec, from).as_bytes(),
    )?;
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755))
            .map_err(io_err(tmp.path()))?;
    }
    // Swap: the old context (if any) moves aside, the new one takes its
    // name, the old one is removed.
    let new = tmp.keep();
    let old = parent.join(format!(
        ".bbsdk-old-{}",
        dir.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    let _ = fs::remove_dir_all(&old);
    if dir.exists() {
        fs::rename(dir, &old).map_err(io_err(dir))?;
    }
    if let Err(e) = fs::rename(&new, dir) {
        let _ = fs::rename(&old, dir);
        let _ = fs::remove_dir_all(&new);
        return Err(io_err(dir)(e));
    }
    let _ = fs::remove_dir_all(&old);
    Ok(vec![dir.join("Dockerfile"), dir.join("rootfs.tar")])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_instruction() {
        let spec = ImageSpec {
            name: "bbsdk/app".into(),
            tag: "t".into(),
            entrypoint: vec!["/bin/app".into()],
            cmd: vec!["say \"hi\"".into()],
            env: vec!["GREETING=hello $USER".into()],
            workdir: "/srv".into(),
            user: "1000:1000".into(),
            exposed_ports: vec!["80/tcp".into()],
            labels: [("a.b".to_string(), "x y".to_string())].into(),
            architecture: "amd64".into(),
            variant: None,
            created: 0,
        };
        let d = dockerfile(&spec, None);
        for want in [
            "FROM scratch\nADD rootfs.tar /\n",
            "ENV GREETING=\"hello \\$USER\"\n",
            "WORKDIR /srv\n",
            "USER 1000:1000\n",
            "EXPOSE 80/tcp\n",
            "LABEL \"a.b\"=\"x y\"\n",
            "ENTRYPOINT [\"/bin/app\"]\n",
            "CMD [\"say \\\"hi\\\"\"]\n",
        ] {
            assert!(d.contains(want), "{want:?} missing from\n{d}");
        }
        assert!(dockerfile(&spec, Some("base:1")).contains("FROM base:1\n"));
    }
}

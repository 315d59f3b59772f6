//! ACI, the App Container Image of the appc specification (version 0.8.11,
//! the last one). appc and rkt, its main runtime, are abandoned in favour
//! of OCI; this writer exists for old deployments that still consume ACIs.
//!
//! An ACI is a tar holding `manifest` (the JSON image manifest) and the
//! root filesystem under `rootfs/`. The manifest names the image, carries
//! the `version` (the tag), `os` and `arch` labels, and the app: `exec`
//! (entry point then command), `user`/`group`, `environment`,
//! `workingDirectory` and `ports`. Labels of the configuration become
//! annotations.

use std::io::BufWriter;
use std::path::Path;

use serde_json::{json, Value};

use super::blob::{canonical_json, flush_buf, io_err, AtomicFile};
use super::{ImageError, ImageSpec};
use crate::rootfs::Manifest;

/// appc's name of an OCI architecture.
fn appc_arch(spec: &ImageSpec) -> String {
    match (spec.architecture.as_str(), spec.variant.as_deref()) {
        ("amd64", _) => "amd64".into(),
        ("arm64", _) => "aarch64".into(),
        ("arm", Some("v6")) => "armv6l".into(),
        ("arm", _) => "armv7l".into(),
        (other, _) => other.into(),
    }
}

/// The appc image manifest of `spec`.
pub fn aci_manifest(spec: &ImageSpec) -> Value {
    let mut m = json!({
        "acKind": "ImageManifest",
        "acVersion": "0.8.11",
        // AC identifiers allow [a-z0-9] and -._~/ (no port colon).
        "name": spec.name.replace(':', "-"),
        "labels": [
            {"name": "version", "value": spec.tag},
            {"name": "os", "value": "linux"},
            {"name": "arch", "value": appc_arch(spec)},
        ],
    });
    let exec: Vec<&String> = spec.entrypoint.iter().chain(&spec.cmd).collect();
    if !exec.is_empty() {
        let (user, group) = match spec.user.split_once(':') {
            Some((u, g)) => (u.to_string(), g.to_string()),
            None if spec.user.is_empty() => ("0".into(), "0".into()),
            None => (spec.user.clone(), "0".into()),
        };
        let env: Vec<Value> = spec
            .env
            .iter()
            .filter_map(|e| e.split_once('='))
            .map(|(k, v)| json!({"name": k, "value": v}))
            .collect();
        let ports: Vec<Value> = spec
            .exposed_ports
            .iter()
            .filter_map(|p| p.split_once('/'))
            .map(|(n, proto)| {
                json!({
                    "name": format!("{proto}-{n}"),
                    "protocol": proto,
                    "port": n.parse::<u16>().unwrap_or(0),
                })
            })
            .collect();
        let mut app = json!({
            "exec": exec,
            "user": user,
            "group": group,
        });
        if !env.is_empty() {
            app["environment"] = Value::Array(env);
        }
        if !spec.workdir.is_empty() {
            app["workingDirectory"] = json!(spec.workdir);
        }
        if !ports.is_empty() {
            app["ports"] = Value::Array(ports);
        }
        m["app"] = app;
    }
    if !spec.labels.is_empty() {
        m["annotations"] = Value::Array(
            spec.labels
                .iter()
                .map(|(k, v)| json!({"name": k, "value": v}))
                .collect(),
        );
    }
    m
}

/// Writes the ACI of `manifest` to `dest` (uncompressed tar; temporary
/// file + rename).
pub fn write_aci(dest: &Path, spec: &ImageSpec, manifest: &Manifest) -> Result<(), ImageError> {
    let out = AtomicFile::create(dest)?;
    let json = canonical_json(&aci_manifest(spec))?;
    {
        let mut b = tar::Builder::new(BufWriter::new(out.file()));
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(spec.created);
        h.set_size(json.len() as u64);
        b.append_data(&mut h, "manifest", json.as_slice())
            .map_err(io_err(dest))?;
        super::tar::append_manifest(
            &mut b,
            manifest,
            Some(spec.created),
            Some(Path::new("rootfs")),
        )?;
        flush_buf(b.into_inner().map_err(io_err(dest))?, dest)?;
    }
    out.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_fields() {
        let spec = ImageSpec {
            name: "bbsdk/app".into(),
            tag: "1.0".into(),
            entrypoint: vec!["/bin/app".into()],
            cmd: vec!["--x".into()],
            env: vec!["A=b=c".into()],
            workdir: "/srv".into(),
            user: "1000".into(),
            exposed_ports: vec!["53/udp".into()],
            labels: [("k".to_string(), "v".to_string())].into(),
            architecture: "arm".into(),
            variant: Some("v7".into()),
            created: 0,
        };
        let m = aci_manifest(&spec);
        assert_eq!(m["acKind"], "ImageManifest");
        assert_eq!(m["labels"][2]["value"], "armv7l");
        assert_eq!(m["app"]["exec"], json!(["/bin/app", "--x"]));
        assert_eq!(
            m["app"]["environment"][0],
            json!({"name": "A", "value": "b=c"})
        );
        assert_eq!(m["app"]["ports"][0]["port"], 53);
        assert_eq!(
            (m["app"]["user"].as_str(), m["app"]["group"].as_str()),
            (Some("1000"), Some("0"))
        );
    }
}

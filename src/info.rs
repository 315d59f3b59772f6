//! Introspection of a plan: `show-info` (JSON), `graph-depends` (DOT/SVG)
//! and an SPDX 2.3 SBOM. Reads the plan and recipes; runs nothing but `dot`.

use serde_json::{json, Value};

use crate::package::Registry;
use crate::plan::Plan;
use crate::target::Target;

/// `show-info`: every planned package with version, license, sources,
/// dependencies and identity hash.
pub fn show_info(plan: &Plan, registry: &Registry) -> Value {
    let mut out = serde_json::Map::new();
    for n in &plan.nodes {
        let Ok((p, _)) = registry.resolve(&n.name) else {
            continue;
        };
        let r = &p.recipe;
        out.insert(
            n.name.clone(),
            json!({
                "package": n.package,
                "variant": format!("{:?}", n.variant).to_lowercase(),
                "version": r.version,
                "license": r.license,
                "license_files": r.license_files,
                "homepage": r.homepage,
                "build_system": format!("{:?}", r.build.system).to_lowercase(),
                "sources": r.sources.iter().map(|s| json!({
                    "file": s.file,
                    "urls": s.urls,
                    "sha256": s.sha256.get_ref(),
                    "debian": s.debian.as_ref().map(|d| json!({"package": d.package, "version": d.version})),
                })).collect::<Vec<_>>(),
                "patches": p.patches.iter().filter_map(|x| x.file_name()).map(|x| x.to_string_lossy().into_owned()).collect::<Vec<_>>(),
                "build_dependencies": n.build_deps.iter().map(|&d| plan.nodes[d].name.clone()).collect::<Vec<_>>(),
                "runtime_dependencies": n.runtime_deps.iter().map(|&d| plan.nodes[d].name.clone()).collect::<Vec<_>>(),
                "identity": n.identity,
            }),
        );
    }
    Value::Object(out)
}

/// An SPDX 2.3 JSON document for the target packages of a plan.
/// `created` is an RFC 3339 time (from `SOURCE_DATE_EPOCH` for reproducible output).
pub fn spdx_sbom(
    plan: &Plan,
    registry: &Registry,
    target: &Target,
    name: &str,
    created: &str,
) -> Value {
    let spdx_id = |n: &str| {
        format!(
            "SPDXRef-Package-{}",
            n.replace(
                |c: char| !c.is_ascii_alphanumeric() && c != '.' && c != '-',
                "-"
            )
        )
    };
    let mut packages = Vec::new();
    let mut relationships = vec![json!({
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": "SPDXRef-RootFS",
    })];
    packages.push(json!({
        "SPDXID": "SPDXRef-RootFS",
        "name": name,
        "versionInfo": target.name(),
        "downloadLocation": "NOASSERTION",
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "primaryPackagePurpose": "CONTAINER",
    }));
    for n in plan
        .nodes
        .iter()
        .filter(|n| n.variant == crate::package::Variant::Target)
    {
        let Ok((p, _)) = registry.resolve(&n.name) else {
            continue;
        };
        let r = &p.recipe;
        let main = r.sources.first();
        packages.push(json!({
            "SPDXID": spdx_id(&n.name),
            "name": n.name,
            "versionInfo": r.version,
            "downloadLocation": main.and_then(|s| s.urls.first().cloned()).unwrap_or_else(|| "NOASSERTION".into()),
            "homepage": r.homepage.clone().unwrap_or_else(|| "NOASSERTION".into()),
            "licenseConcluded": r.license,
            "licenseDeclared": r.license,
            "copyrightText": "NOASSERTION",
            "checksums": main.map(|s| vec![json!({"algorithm": "SHA256", "checksumValue": s.sha256.get_ref()})]).unwrap_or_default(),
            "filesAnalyzed": false,
        }));
        relationships.push(json!({
            "spdxElementId": "SPDXRef-RootFS",
            "relationshipType": "CONTAINS",
            "relatedSpdxElement": spdx_id(&n.name),
        }));
        for &d in &n.runtime_deps {
            relationships.push(json!({
                "spdxElementId": spdx_id(&n.name),
                "relationshipType": "DEPENDS_ON",
                "relatedSpdxElement": spdx_id(&plan.nodes[d].name),
            }));
        }
    }
    json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": name,
        "documentNamespace": format!("https://bbsdk.invalid/spdx/{name}-{}", target.name()),
        "creationInfo": { "created": created, "creators": [format!("Tool: bbsdk-{}", env!("CARGO_PKG_VERSION"))] },
        "packages": packages,
        "relationships": relationships,
    })
}

/// `SOURCE_DATE_EPOCH` (or 0) as an RFC 3339 UTC time.
pub fn source_date(epoch: Option<i64>) -> String {
    time::OffsetDateTime::from_unix_timestamp(epoch.unwrap_or(0))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn source_date_is_rfc3339() {
        assert_eq!(super::source_date(Some(0)), "1970-01-01T00:00:00Z");
        assert_eq!(
            super::source_date(Some(1_700_000_000)),
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(
            super::source_date(Some(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
    }
}

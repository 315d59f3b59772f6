//! The commands that work on a configured output directory, as Buildroot's
//! make targets: `source`, `show-info`, `graph-depends`, `sbom` (and, as the
//! build issues land, the build itself). Each opens the [`Project`], plans,
//! and calls the module that does the work.

use std::path::PathBuf;
use std::process::Command;

use crate::defconfig::Paths;
use crate::info;
use crate::kconfig::write_atomic;
use crate::project::{Project, ProjectError};

/// `bbsdk source`: downloads every source the configuration needs into the
/// download directory, so a later build needs no network.
pub fn source(paths: Paths) -> Result<Vec<PathBuf>, ProjectError> {
    let project = Project::open(paths)?;
    let plan = project.plan()?;
    let sources = project.sources(&plan);
    let fetcher = project.fetcher()?;
    Ok(fetcher.fetch_all(&sources, project.jobs().max(2))?)
}

/// `bbsdk show-info`: JSON describing every planned package.
pub fn show_info(paths: Paths) -> Result<String, ProjectError> {
    let project = Project::open(paths)?;
    let plan = project.plan()?;
    let v = info::show_info(&plan, &project.registry);
    Ok(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n")
}

/// `bbsdk graph-depends`: writes `<output>/graphs/graph-depends.dot`, and
/// `.svg` next to it when Graphviz's `dot` is installed. Returns the files written.
pub fn graph_depends(paths: Paths) -> Result<Vec<PathBuf>, ProjectError> {
    let project = Project::open(paths)?;
    let plan = project.plan()?;
    let dir = project.paths.output.join("graphs");
    let dot = dir.join("graph-depends.dot");
    write_atomic(&dot, plan.to_dot().as_bytes(), false)?;
    let mut out = vec![dot.clone()];
    let svg = dir.join("graph-depends.svg");
    let tmp = dir.join(".graph-depends.svg.tmp");
    if let Ok(st) = Command::new("dot")
        .arg("-Tsvg")
        .arg(&dot)
        .arg("-o")
        .arg(&tmp)
        .status()
    {
        if st.success() && std::fs::rename(&tmp, &svg).is_ok() {
            out.push(svg);
        }
    }
    let _ = std::fs::remove_file(&tmp);
    Ok(out)
}

/// Writes the SPDX 2.3 SBOM of the plan to `<output>/images/sbom.spdx.json`.
pub fn sbom(paths: Paths) -> Result<PathBuf, ProjectError> {
    let project = Project::open(paths)?;
    let plan = project.plan()?;
    let name = match project.value("BBSDK_IMAGE_NAME") {
        "" => "rootfs".to_string(),
        n => n.replace('/', "-"),
    };
    let epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.parse().ok());
    let doc = info::spdx_sbom(
        &plan,
        &project.registry,
        &project.target,
        &name,
        &info::source_date(epoch),
    );
    let path = project.paths.output.join("images").join("sbom.spdx.json");
    let text = serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n";
    write_atomic(&path, text.as_bytes(), false)?;
    Ok(path)
}

//! `legal-info`: what a distributor of the image must hand over. For every
//! package of the plan: a manifest line (name, version, license, license
//! files, source archive, where it came from), the license texts out of its
//! source tree, its source archives and its patches, under
//! `<output>/legal-info/` (Buildroot's layout: `manifest.csv`,
//! `host-manifest.csv`, `licenses/`, `sources/`, `host-licenses/`, `host-sources/`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::fetch::{self, Fetcher};
use crate::package::{Registry, Variant};
use crate::plan::Plan;

/// Why legal-info could not be written.
#[derive(Debug, thiserror::Error)]
pub enum LegalError {
    #[error(transparent)]
    Fetch(#[from] fetch::FetchError),
    #[error("{package}: license file {file} is not in its source tree\n  hint: fix `license_files` in package/{package}/{package}.toml")]
    MissingLicense { package: String, file: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LegalError + '_ {
    move |e| LegalError::Io {
        path: path.to_path_buf(),
        source: e,
    }
}

fn csv(field: &str) -> String {
    format!("\"{}\"", field.replace('"', "\"\""))
}

/// Writes `<output>/legal-info` (replacing it as a whole at the end).
pub fn legal_info(
    plan: &Plan,
    registry: &Registry,
    fetcher: &Fetcher,
    output: &Path,
) -> Result<PathBuf, LegalError> {
    let dest = output.join("legal-info");
    let tmp = output.join(".legal-info.tmp");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
    let header = "PACKAGE,VERSION,LICENSE,LICENSE FILES,SOURCE ARCHIVE,SOURCE SITE\n";
    let (mut target_csv, mut host_csv) = (header.to_string(), header.to_string());
    for n in &plan.nodes {
        let Ok((p, variant)) = registry.resolve(&n.name) else {
            continue;
        };
        let r = &p.recipe;
        let (csv_out, lic_dir, src_dir) = match variant {
            Variant::Target => (&mut target_csv, "licenses", "sources"),
            Variant::Host => (&mut host_csv, "host-licenses", "host-sources"),
        };
        let pv = format!("{}-{}", n.name, r.version);
        let sources: Vec<fetch::Source> = r.sources.iter().map(|s| s.to_fetch()).collect();
        let files = fetcher.fetch_all(&sources, 2)?;
        let sdir = tmp.join(src_dir).join(&pv);
        std::fs::create_dir_all(&sdir).map_err(io(&sdir))?;
        for f in files.iter().chain(&p.patches) {
            let name = f.file_name().map(|x| x.to_os_string()).unwrap_or_default();
            std::fs::copy(f, sdir.join(&name)).map_err(io(f))?;
        }
        if !r.license_files.is_empty() {
            let ldir = tmp.join(lic_dir).join(&pv);
            std::fs::create_dir_all(&ldir).map_err(io(&ldir))?;
            let tree = tmp.join(".extract").join(&pv);
            match (files.first(), r.sources.first()) {
                (Some(archive), Some(s)) if s.extract => {
                    fetch::extract(archive, &tree, s.strip_components)?
                }
                _ => std::fs::create_dir_all(&tree).map_err(io(&tree))?,
            }
            for lf in &r.license_files {
                let from = tree.join(lf);
                if !from.is_file() {
                    return Err(LegalError::MissingLicense {
                        package: n.name.clone(),
                        file: lf.clone(),
                    });
                }
                let to = ldir.join(lf);
                if let Some(parent) = to.parent() {
                    std::fs::create_dir_all(parent).map_err(io(parent))?;
                }
                std::fs::copy(&from, &to).map_err(io(&from))?;
            }
        }
        let main = r.sources.first();
        let _ = writeln!(
            csv_out,
            "{},{},{},{},{},{}",
            csv(&n.name),
            csv(&r.version),
            csv(&r.license),
            csv(&r.license_files.join(" ")),
            csv(main.map(|s| s.file.as_str()).unwrap_or("")),
            csv(main
                .and_then(|s| s.urls.first().map(String::as_str))
                .unwrap_or(""))
        );
    }
    let extract = tmp.join(".extract");
    if extract.exists() {
        std::fs::remove_dir_all(&extract).map_err(io(&extract))?;
    }
    for (name, text) in [
        ("manifest.csv", &target_csv),
        ("host-manifest.csv", &host_csv),
    ] {
        let f = tmp.join(name);
        std::fs::write(&f, text).map_err(io(&f))?;
    }
    let readme = tmp.join("README");
    std::fs::write(
        &readme,
        "This directory lists the software in the image built by bbsdk, with its licenses,\nlicense texts (licenses/), source archives and patches (sources/), and the same\nfor the host tools used to build it (host-*).\n",
    )
    .map_err(io(&readme))?;
    if dest.exists() {
        std::fs::remove_dir_all(&dest).map_err(io(&dest))?;
    }
    std::fs::rename(&tmp, &dest).map_err(io(&dest))?;
    Ok(dest)
}

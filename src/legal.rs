//! `legal-info`: what a distributor of the image must hand over. For every
//! package of the plan: a manifest line (name, version, license, license
//! files, source archive, where it came from), the license texts out of its
//! source tree, its source archives and its patches, under
//! `<output>/legal-info/` (Buildroot's layout: `manifest.csv`,
//! `host-manifest.csv`, `licenses/`, `sources/`, `host-licenses/`, `host-sources/`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::fetch::{self, Fetcher};
use crate::package::{Package, Registry, Variant};
use crate::plan::Plan;

/// Why legal-info could not be written.
#[derive(Debug, thiserror::Error)]
pub enum LegalError {
    #[error(transparent)]
    Fetch(#[from] fetch::FetchError),
    /// A license file the recipe names is missing from the package's source
    /// tree, or resolves (through a symlink) outside it.
    #[error("{}:{line}: {package}: license file {file} {reason}\n  hint: `license_files` names files of the package's own source tree; fix the recipe", recipe.display())]
    License {
        recipe: PathBuf,
        line: usize,
        package: String,
        file: String,
        reason: String,
    },
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

/// Copies `from` to `to`, which must not exist yet: nothing is ever
/// truncated, least of all a file onto itself.
fn copy_new(from: &Path, to: &Path) -> Result<(), LegalError> {
    let mut input = std::fs::File::open(from).map_err(io(from))?;
    let mut out = std::fs::File::create_new(to).map_err(io(to))?;
    std::io::copy(&mut input, &mut out).map_err(io(to))?;
    Ok(())
}

/// Copies the license files of `p` from its extracted source tree `tree`
/// into `ldir`. Each must resolve, symlinks included, to a regular file
/// inside `tree`: a link out of the tree is refused, never followed.
fn copy_licenses(p: &Package, name: &str, tree: &Path, ldir: &Path) -> Result<(), LegalError> {
    let real_tree = tree.canonicalize().map_err(io(tree))?;
    for lf in &p.recipe.license_files {
        let refuse = |reason: &str| LegalError::License {
            recipe: p.recipe_file.clone(),
            line: p.line(lf.span().start),
            package: name.to_string(),
            file: lf.get_ref().clone(),
            reason: reason.to_string(),
        };
        let from = match tree.join(lf.get_ref()).canonicalize() {
            Ok(real) if !real.starts_with(&real_tree) => {
                return Err(refuse(
                    "resolves outside the package's source tree (a symlink out of it); refused",
                ))
            }
            Ok(real) if real.is_file() => real,
            Ok(_) => return Err(refuse("is not a regular file in its source tree")),
            Err(_) => return Err(refuse("is not in its source tree")),
        };
        let to = ldir.join(lf.get_ref());
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        copy_new(&from, &to)?;
    }
    Ok(())
}

fn csv(field: &str) -> String {
    format!("\"{}\"", field.replace('"', "\"\""))
}

/// Writes `<output>/legal-info` (replacing it as a whole at the end; a
/// failure leaves the previous one and no temporary).
pub fn legal_info(
    plan: &Plan,
    registry: &Registry,
    fetcher: &Fetcher,
    output: &Path,
) -> Result<PathBuf, LegalError> {
    let dest = output.join("legal-info");
    let tmp = output.join(".legal-info.tmp");
    remove_tree(&tmp)?;
    std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
    if let Err(e) = write_tree(plan, registry, fetcher, &tmp) {
        let _ = remove_tree(&tmp);
        return Err(e);
    }
    remove_tree(&dest)?;
    std::fs::rename(&tmp, &dest).map_err(io(&dest))?;
    Ok(dest)
}

/// Removes a directory tree (or a file or symlink in its place, never
/// following it); a missing path is fine.
fn remove_tree(p: &Path) -> Result<(), LegalError> {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(p).map_err(io(p)),
        Ok(_) => std::fs::remove_file(p).map_err(io(p)),
        Err(_) => Ok(()),
    }
}

/// Everything of legal-info into `tmp`.
fn write_tree(
    plan: &Plan,
    registry: &Registry,
    fetcher: &Fetcher,
    tmp: &Path,
) -> Result<(), LegalError> {
    let header = "PACKAGE,VERSION,LICENSE,LICENSE FILES,SOURCE ARCHIVE,SOURCE SITE\n";
    let (mut target_csv, mut host_csv) = (header.to_string(), header.to_string());
    for n in &plan.nodes {
        let Ok((p, variant)) = registry.resolve(&n.name) else {
            continue;
        };
        let (csv_out, lic_dir, src_dir) = match variant {
            Variant::Target => (&mut target_csv, "licenses", "sources"),
            Variant::Host => (&mut host_csv, "host-licenses", "host-sources"),
        };
        let pv = format!("{}-{}", n.name, p.recipe.version);
        package(
            p,
            &n.name,
            fetcher,
            &tmp.join(src_dir).join(&pv),
            &tmp.join(lic_dir).join(&pv),
            &tmp.join(".extract").join(&pv),
        )?;
        csv_out.push_str(&manifest_line(p, &n.name));
    }
    remove_tree(&tmp.join(".extract"))?;
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
    .map_err(io(&readme))
}

/// One package: its sources and patches into `sdir`, its license texts
/// (when it names some) into `ldir`, out of its sources extracted to `tree`.
fn package(
    p: &Package,
    name: &str,
    fetcher: &Fetcher,
    sdir: &Path,
    ldir: &Path,
    tree: &Path,
) -> Result<(), LegalError> {
    let r = &p.recipe;
    let sources: Vec<fetch::Source> = r.sources.iter().map(|s| s.to_fetch()).collect();
    let files = fetcher.fetch_all(&sources, 2)?;
    std::fs::create_dir_all(sdir).map_err(io(sdir))?;
    for f in files.iter().chain(&p.patches) {
        let file = f.file_name().map(|x| x.to_os_string()).unwrap_or_default();
        copy_new(f, &sdir.join(&file))?;
    }
    if r.license_files.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(ldir).map_err(io(ldir))?;
    match (files.first(), r.sources.first()) {
        (Some(archive), Some(s)) if s.extract => fetch::extract(archive, tree, s.strip_components)?,
        _ => std::fs::create_dir_all(tree).map_err(io(tree))?,
    }
    copy_licenses(p, name, tree, ldir)
}

/// The package's line of `manifest.csv`.
fn manifest_line(p: &Package, name: &str) -> String {
    let r = &p.recipe;
    let main = r.sources.first();
    let licenses: Vec<&str> = r
        .license_files
        .iter()
        .map(|l| l.get_ref().as_str())
        .collect();
    let mut line = String::new();
    let _ = writeln!(
        line,
        "{},{},{},{},{},{}",
        csv(name),
        csv(&r.version),
        csv(&r.license),
        csv(&licenses.join(" ")),
        csv(main.map(|s| s.file.as_str()).unwrap_or("")),
        csv(main
            .and_then(|s| s.urls.first().map(String::as_str))
            .unwrap_or(""))
    );
    line
}

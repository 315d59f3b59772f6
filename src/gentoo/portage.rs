//! Portage from PyPI: `python3 -m venv` plus `pip install portage==VERSION`
//! into `<cache>/portage-<version>/`, built in a temporary directory and
//! renamed into place when complete, so an interrupted install is never used.
//!
//! Installed as a Python module, Portage takes its prefix (`EPREFIX`) from
//! the venv, so the venv is also the configuration of the build machine's
//! side ("/" in Portage's terms, where build-time tools would go): it gets a
//! make.conf without sandbox and a small host profile, and its
//! `var/db/pkg` stays empty. Nothing outside the venv is read or written.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{GentooError, Result};

/// A usable Portage installation.
#[derive(Debug, Clone)]
pub struct Portage {
    /// The venv (also Portage's own EPREFIX).
    pub venv: PathBuf,
    pub python: PathBuf,
    /// Portage's executables (`emerge`, `egencache`, ...).
    pub bin: PathBuf,
    pub version: String,
}

const COMPLETE: &str = ".bbsdk-complete";

impl Portage {
    fn at(venv: PathBuf, version: &str) -> Portage {
        Portage {
            python: venv.join("bin").join("python3"),
            bin: venv.join("lib").join("portage").join("bin"),
            venv,
            version: version.to_string(),
        }
    }

    /// The path of one of Portage's programs (`emerge`, `egencache`).
    pub fn program(&self, name: &str) -> PathBuf {
        self.bin.join(name)
    }
}

/// Returns the Portage `version` of the cache directory, installing it first.
pub fn ensure(cache_dir: &Path, version: &str) -> Result<Portage> {
    let venv = cache_dir.join(format!("portage-{version}"));
    if venv.join(COMPLETE).is_file() {
        return Ok(Portage::at(venv, version));
    }
    std::fs::create_dir_all(cache_dir).map_err(|e| GentooError::io(cache_dir, e))?;
    let tmp = cache_dir.join(format!(".portage-{version}.tmp-{}", std::process::id()));
    let _ = crate::build::tree::remove_all(&tmp);
    eprintln!(
        ">>> gentoo: installing Portage {version} from PyPI into {}",
        venv.display()
    );
    if let Err(e) = install(&tmp, version) {
        let _ = crate::build::tree::remove_all(&tmp);
        return Err(e);
    }
    match std::fs::rename(&tmp, &venv) {
        Ok(()) => {}
        // Another bbsdk finished the same install first: use that one.
        Err(_) if venv.join(COMPLETE).is_file() => {
            let _ = crate::build::tree::remove_all(&tmp);
        }
        Err(e) => return Err(GentooError::io(&venv, e)),
    }
    Ok(Portage::at(venv, version))
}

/// Makes the venv at `tmp`, installs Portage and the host configuration.
fn install(tmp: &Path, version: &str) -> Result<()> {
    let python = which("python3").ok_or_else(|| GentooError::Host {
        msg: "python3 is not on PATH; Portage needs it".into(),
        hint: "install python3 and python3-venv (scripts/setup-host.sh)".into(),
    })?;
    run(
        Command::new(&python).arg("-m").arg("venv").arg(tmp),
        "python3 -m venv",
        "install python3-venv (scripts/setup-host.sh)",
    )?;
    run(
        Command::new(tmp.join("bin").join("python3"))
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
            .arg("--no-input")
            .arg(format!("portage=={version}")),
        &format!("pip install portage=={version}"),
        "check the version exists on PyPI (`pip index versions portage`) and that PyPI is reachable (or PIP_INDEX_URL points at a mirror)",
    )?;
    let installed = Portage::at(tmp.to_path_buf(), version);
    if !installed.program("emerge").is_file() {
        return Err(GentooError::Host {
            msg: format!(
                "pip installed portage=={version} but {} is missing",
                installed.program("emerge").display()
            ),
            hint: "pick another Portage version (BBSDK_GENTOO_PORTAGE_VERSION)".into(),
        });
    }
    host_config(tmp)?;
    std::fs::write(tmp.join(COMPLETE), format!("portage {version}\n"))
        .map_err(|e| GentooError::io(tmp, e))?;
    Ok(())
}

/// The build machine's side of Portage: `<venv>/etc/portage`.
fn host_config(venv: &Path) -> Result<()> {
    let etc = venv.join("etc").join("portage");
    let profile = etc.join("bbsdk-host-profile");
    std::fs::create_dir_all(&profile).map_err(|e| GentooError::io(&profile, e))?;
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm",
        other => other,
    };
    let files = [
        (
            etc.join("make.conf"),
            "# Written by bbsdk: the build machine's side of Portage (BROOT).\n\
             # No sandbox: bbsdk runs Portage without privileges.\n\
             FEATURES=\"-sandbox -usersandbox -ipc-sandbox -network-sandbox -pid-sandbox -mount-sandbox -news\"\n"
                .to_string(),
        ),
        (profile.join("eapi"), "8\n".to_string()),
        (
            profile.join("make.defaults"),
            format!(
                "# Written by bbsdk: the build machine, as far as Portage needs to know.\n\
                 ARCH=\"{arch}\"\nACCEPT_KEYWORDS=\"{arch}\"\nELIBC=\"glibc\"\nKERNEL=\"linux\"\nUSERLAND=\"GNU\"\n"
            ),
        ),
    ];
    for (path, text) in files {
        crate::build::tree::write_atomic(&path, text.as_bytes())
            .map_err(|e| GentooError::io(&path, e))?;
    }
    let link = etc.join("make.profile");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink("bbsdk-host-profile", &link).map_err(|e| GentooError::io(&link, e))
}

/// Runs a setup command, its output shown only when it fails.
fn run(cmd: &mut Command, what: &str, hint: &str) -> Result<()> {
    let out = cmd.output().map_err(|e| GentooError::Host {
        msg: format!("{what}: {e}"),
        hint: hint.to_string(),
    })?;
    if out.status.success() {
        return Ok(());
    }
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    let tail: Vec<&str> = text.lines().rev().take(15).collect();
    Err(GentooError::Host {
        msg: format!(
            "{what} failed ({}):\n{}",
            out.status,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        ),
        hint: hint.to_string(),
    })
}

/// The first `name` on PATH.
pub(crate) fn which(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| {
            std::fs::metadata(p)
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_pypi_does_not_have_is_a_clear_error() {
        let d = tempfile::tempdir().unwrap();
        let e = ensure(d.path(), "0.0.1").unwrap_err().to_string();
        assert!(e.contains("pip install portage==0.0.1 failed"), "{e}");
        assert!(e.contains("hint: check the version exists on PyPI"), "{e}");
        // Nothing half-installed is left behind.
        let left: Vec<_> = std::fs::read_dir(d.path()).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn which_finds_programs_on_path() {
        assert!(which("sh").is_some());
        assert!(which("no-such-program-bbsdk").is_none());
    }
}

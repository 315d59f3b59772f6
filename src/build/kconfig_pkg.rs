//! The Kconfig tree of a kconfig-infrastructure package (busybox, Linux,
//! U-Boot), handled by bbsdk's own Kconfig engine instead of the package's
//! bundled `conf`: the configure step's olddefconfig, and the
//! `<pkg>-menuconfig` / `<pkg>-savedefconfig` / `<pkg>-update-config`
//! targets. Older bundled kconfigs (busybox 1.35's) have no `olddefconfig`,
//! and ours behaves the same for every package.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::kconfig::{self, Config, LoadOptions, Tree, Warning};

/// The symbol prefix of packages' `.config` files.
pub const PACKAGE_PREFIX: &str = "CONFIG_";

/// A package's Kconfig tree and its `.config`.
#[derive(Debug, Clone)]
pub struct KconfigTree {
    /// The top Kconfig file (`<src>/Config.in`).
    pub kconfig: PathBuf,
    /// kconfig's current directory: `source` paths are relative to it.
    pub base_dir: PathBuf,
    /// The package's `.config`.
    pub config: PathBuf,
}

impl KconfigTree {
    /// Loads the package's Kconfig files.
    pub fn load(&self) -> kconfig::Result<Arc<Tree>> {
        kconfig::load(
            &self.kconfig,
            &LoadOptions {
                base_dir: Some(self.base_dir.clone()),
                srctree: Some(self.base_dir.clone()),
                legacy: None,
            },
        )
    }

    /// The tree with the `.config` read (defaults when there is none yet).
    pub fn config(&self) -> kconfig::Result<Config> {
        let tree = self.load()?;
        let mut cfg = Config::new(tree);
        cfg.prefix = PACKAGE_PREFIX.to_string();
        if self.config.exists() {
            cfg.read(&self.config)?;
        }
        Ok(cfg)
    }

    /// kconfig's olddefconfig: reads `.config` (which may be a minimal
    /// defconfig), gives every other symbol its default, writes the full
    /// `.config` back. Returns the engine's warnings.
    pub fn olddefconfig(&self) -> kconfig::Result<Vec<Warning>> {
        let mut cfg = self.config()?;
        cfg.write_config(&self.config)?;
        let mut w = cfg.tree().warnings.clone();
        w.append(&mut cfg.warnings);
        Ok(w)
    }

    /// Writes the minimal configuration (kconfig's savedefconfig) to `out`.
    pub fn savedefconfig(&self, out: &Path) -> kconfig::Result<()> {
        let mut cfg = self.config()?;
        cfg.write_defconfig(out)
    }
}

/// The `.config` a kconfig package starts from: its configuration file,
/// then the fragments in order, then one line per `bool_symbols` entry
/// (the package symbol following the bbsdk symbol). Later lines win, as in
/// kconfig.
pub(crate) fn seed_config(
    files: &[PathBuf],
    bool_symbols: &BTreeMap<String, String>,
    symbols: &BTreeMap<String, String>,
) -> Result<String, (PathBuf, io::Error)> {
    let mut config = String::new();
    for path in files {
        let text = std::fs::read_to_string(path).map_err(|e| (path.clone(), e))?;
        config.push_str(&text);
        if !config.ends_with('\n') {
            config.push('\n');
        }
    }
    for (bbsdk, pkg) in bool_symbols {
        if symbols.get(bbsdk).is_some_and(|v| v == "y") {
            config.push_str(&format!("{pkg}=y\n"));
        } else {
            config.push_str(&format!("# {pkg} is not set\n"));
        }
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_appends_fragments_and_followed_symbols() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.config");
        let b = dir.path().join("b.config");
        std::fs::write(&a, "CONFIG_LS=y").unwrap();
        std::fs::write(&b, "# CONFIG_LS is not set\n").unwrap();
        let bools: BTreeMap<String, String> = [
            ("BBSDK_X_STATIC".to_string(), "CONFIG_STATIC".to_string()),
            ("BBSDK_X_PIE".to_string(), "CONFIG_PIE".to_string()),
        ]
        .into_iter()
        .collect();
        let syms: BTreeMap<String, String> = [("BBSDK_X_STATIC".to_string(), "y".to_string())]
            .into_iter()
            .collect();
        let s = seed_config(&[a, b], &bools, &syms).unwrap();
        assert_eq!(
            s,
            "CONFIG_LS=y\n# CONFIG_LS is not set\n# CONFIG_PIE is not set\nCONFIG_STATIC=y\n"
        );
        let missing = dir.path().join("nope");
        let (p, _) = seed_config(std::slice::from_ref(&missing), &bools, &syms).unwrap_err();
        assert_eq!(p, missing);
    }
}

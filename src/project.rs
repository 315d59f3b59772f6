//! A configured output directory: bbsdk's tree, the `.config` values, the
//! recipes and the target, loaded once and handed to the planner, the
//! executor and the introspection commands as plain data.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::defconfig::{self, Paths};
use crate::fetch::{self, Fetcher, Mirrors};
use crate::kconfig::{self, Config};
use crate::package::{PackageError, Registry};
use crate::plan::{self, Plan, PlanError, PlanInput};
use crate::target::Target;

/// Why a project could not be opened or planned.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error(transparent)]
    Kconfig(#[from] kconfig::Error),
    #[error(transparent)]
    Package(#[from] PackageError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Fetch(#[from] fetch::FetchError),
    #[error("{0}")]
    Config(String),
}

/// Everything a build needs to know about the configuration.
#[derive(Debug)]
pub struct Project {
    pub paths: Paths,
    /// Symbol values of `.config` (see `kconfig::Config::values`).
    pub values: BTreeMap<String, String>,
    pub registry: Registry,
    pub target: Target,
    /// The prepared toolchain's identity (real compiler, C library, wrapper
    /// flags), set once the toolchain is ready: plans made afterwards put
    /// it into the packages' identities.
    toolchain_identity: std::sync::OnceLock<String>,
}

impl Project {
    /// Loads the tree and `<output>/.config` (which must exist) and scans `package/`.
    pub fn open(paths: Paths) -> Result<Project, ProjectError> {
        defconfig::require_config(&paths)?;
        let tree = defconfig::load_tree(&paths)?;
        let mut cfg = Config::new(tree);
        cfg.prefix = defconfig::PREFIX.to_string();
        cfg.read(&paths.config())?;
        let values = cfg.values();
        let registry = Registry::scan(&paths.top.join("package"))?;
        let target = Target::from_values(&values).map_err(ProjectError::Config)?;
        Ok(Project {
            paths,
            values,
            registry,
            target,
            toolchain_identity: std::sync::OnceLock::new(),
        })
    }

    /// A value of the configuration (`""` when the symbol is not set).
    pub fn value(&self, symbol: &str) -> &str {
        self.values.get(symbol).map(String::as_str).unwrap_or("")
    }

    /// What identifies the cross toolchain: its kind and every toolchain option.
    pub fn toolchain_id(&self) -> String {
        self.values
            .iter()
            .filter(|(k, _)| {
                k.starts_with("BBSDK_TOOLCHAIN_")
                    || k.starts_with("BBSDK_GCC_")
                    || k.starts_with("BBSDK_TARGET_OPTIMIZATION")
                    || k.starts_with("BBSDK_TARGET_CFLAGS")
                    || k.starts_with("BBSDK_TARGET_LDFLAGS")
                    || k.ends_with("_LIBS")
            })
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The download directory: `$BBSDK_DL_DIR`, else `BBSDK_DL_DIR`, else the default.
    pub fn dl_dir(&self) -> PathBuf {
        std::env::var_os("BBSDK_DL_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                Some(self.value("BBSDK_DL_DIR"))
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            })
            .unwrap_or_else(fetch::default_dl_dir)
    }

    /// The binary cache directory: `BBSDK_CACHE_DIR`, else `$XDG_CACHE_HOME/bbsdk/cache`.
    pub fn cache_dir(&self) -> PathBuf {
        match self.value("BBSDK_CACHE_DIR") {
            "" => fetch::default_dl_dir()
                .parent()
                .map(|p| p.join("cache"))
                .unwrap_or_else(|| PathBuf::from(".bbsdk-cache")),
            v => PathBuf::from(v),
        }
    }

    /// Parallel jobs: `BBSDK_JLEVEL`, 0 meaning the number of CPUs.
    pub fn jobs(&self) -> usize {
        match self.value("BBSDK_JLEVEL").parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
        }
    }

    /// The fetcher with the mirrors of the configuration.
    pub fn fetcher(&self) -> Result<Fetcher, ProjectError> {
        let opt = |k: &str| Some(self.value(k).to_string()).filter(|v| !v.is_empty());
        Ok(Fetcher::new(
            self.dl_dir(),
            Mirrors {
                primary: opt("BBSDK_PRIMARY_SITE"),
                primary_only: self.value("BBSDK_PRIMARY_SITE_ONLY") == "y",
                backup: opt("BBSDK_BACKUP_SITE"),
                debian: self.value("BBSDK_DEBIAN_SOURCE_MIRROR") == "y",
            },
        )?)
    }

    /// Every source file the plan needs, for the fetcher.
    pub fn sources(&self, plan: &Plan) -> Vec<fetch::Source> {
        let mut out = Vec::new();
        for n in &plan.nodes {
            let Ok((p, _)) = self.registry.resolve(&n.name) else {
                continue;
            };
            for s in &p.recipe.sources {
                let src = s.to_fetch();
                if !out.contains(&src) {
                    out.push(src);
                }
            }
        }
        out
    }

    /// Records the prepared toolchain's identity (the first one set stays).
    pub fn set_toolchain_identity(&self, identity: String) {
        let _ = self.toolchain_identity.set(identity);
    }

    /// The build plan. Once [`Project::set_toolchain_identity`] was called,
    /// the prepared toolchain's identity is in the packages' identities
    /// besides the toolchain options: prepare the toolchain first, then plan.
    pub fn plan(&self) -> Result<Plan, ProjectError> {
        let mut tc = self.toolchain_id();
        if let Some(t) = self.toolchain_identity.get() {
            tc.push('\n');
            tc.push_str(t);
        }
        Ok(plan::plan(PlanInput {
            registry: &self.registry,
            values: &self.values,
            target: &self.target,
            toolchain_id: &tc,
            host_toolchain_id: "host",
            top: &self.paths.top,
        })?)
    }
}

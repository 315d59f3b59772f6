//! The recipe model: what `package/<name>/<name>.toml` says, as plain data.
//! See docs/recipes.md for the format.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use toml::Spanned;

/// One package recipe.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    pub name: Spanned<String>,
    pub version: String,
    /// SPDX license expression.
    pub license: String,
    /// Paths inside the package's source tree.
    #[serde(default)]
    pub license_files: Vec<Spanned<String>>,
    #[serde(default)]
    pub homepage: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Which variants exist: a target package (`<name>`), a host tool
    /// (`host-<name>`), or both. Default: target only.
    #[serde(default = "default_variants")]
    pub variants: Vec<Variant>,
    #[serde(default, rename = "source")]
    pub sources: Vec<Source>,
    #[serde(default)]
    pub dependencies: Dependencies,
    pub build: Build,
    #[serde(default)]
    pub install: Install,
    /// Lines in Buildroot's makeusers format.
    #[serde(default)]
    pub users: Vec<String>,
    /// Lines in Buildroot's makedevs format (permissions and device nodes).
    #[serde(default)]
    pub permissions: Vec<String>,
}

fn default_variants() -> Vec<Variant> {
    vec![Variant::Target]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Variant {
    Target,
    Host,
}

/// A source archive (or file).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The file name in the download cache.
    pub file: String,
    #[serde(default)]
    pub urls: Vec<String>,
    pub sha256: Spanned<String>,
    /// Leading path components dropped on extraction (default 1).
    #[serde(default = "one")]
    pub strip_components: usize,
    /// Extract it (default), or just copy it into the build directory.
    #[serde(default = "yes")]
    pub extract: bool,
    /// A Debian source package that ships the same file.
    #[serde(default)]
    pub debian: Option<DebianSource>,
}

impl Source {
    /// The fetcher's view of this source.
    pub fn to_fetch(&self) -> crate::fetch::Source {
        crate::fetch::Source {
            file_name: self.file.clone(),
            urls: self.urls.clone(),
            sha256: self.sha256.get_ref().clone(),
            debian: self.debian.as_ref().map(|d| crate::fetch::DebianSource {
                package: d.package.clone(),
                version: d.version.clone(),
                file: d.file.clone(),
            }),
        }
    }
}

fn one() -> usize {
    1
}
fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DebianSource {
    pub package: String,
    #[serde(default)]
    pub version: Option<String>,
    /// Glob of the file in the source package (default: the `.orig` tarball).
    #[serde(default)]
    pub file: Option<String>,
}

/// What a package needs, by package name (`host-<name>` for host tools).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Dependencies {
    /// Needed to build: installed into this package's staging view first.
    #[serde(default)]
    pub build: Vec<Spanned<String>>,
    /// Needed at run time only.
    #[serde(default)]
    pub runtime: Vec<Spanned<String>>,
}

/// The build infrastructures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum System {
    /// Shell steps from `[build.steps]`.
    Generic,
    /// `make` and `make install`.
    Make,
    /// `./configure && make && make install`.
    Autotools,
    Cmake,
    Meson,
    /// busybox-like: a Kconfig tree, a config file from the bbsdk config, `make`.
    Kconfig,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Build {
    pub system: System,
    /// Directory of the source tree to build in, relative to its top.
    #[serde(default)]
    pub subdir: Option<String>,
    /// Extra environment for every step.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub configure_args: Vec<String>,
    #[serde(default)]
    pub make_args: Vec<String>,
    #[serde(default)]
    pub install_args: Vec<String>,
    /// Build in the source tree (default) or in a separate directory.
    #[serde(default)]
    pub out_of_tree: bool,
    /// Steps of the generic infrastructure, and overrides for the others.
    #[serde(default)]
    pub steps: Steps,
    #[serde(default)]
    pub kconfig: Option<KconfigBuild>,
    /// `BBSDK_*` symbol -> arguments added to `configure_args` when the symbol is `y`.
    #[serde(default)]
    pub options: BTreeMap<String, Vec<String>>,
}

/// Shell snippets run by `sh -e` in the build directory.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Steps {
    #[serde(default)]
    pub configure: Option<String>,
    #[serde(default)]
    pub build: Option<String>,
    #[serde(default)]
    pub install_staging: Option<String>,
    #[serde(default)]
    pub install_target: Option<String>,
    #[serde(default)]
    pub install_host: Option<String>,
}

/// Settings of the kconfig infrastructure.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KconfigBuild {
    /// The bbsdk symbol naming the package's config file.
    pub config_symbol: String,
    /// The bbsdk symbol naming extra fragment files (space separated).
    #[serde(default)]
    pub fragments_symbol: Option<String>,
    /// The package's top Kconfig file (default `Config.in`).
    #[serde(default = "config_in")]
    pub kconfig_file: String,
    /// Make targets run in the source tree before the configuration is
    /// made (busybox's `gen_build_files` generates its Config.in files).
    #[serde(default)]
    pub prepare: Vec<String>,
    /// bbsdk bool symbol -> the package's own symbol (with its prefix, e.g.
    /// `CONFIG_STATIC`), set to `y` or `n` to follow it.
    #[serde(default)]
    pub bool_symbols: BTreeMap<String, String>,
}

fn config_in() -> String {
    "Config.in".to_string()
}

/// Where the package installs.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Install {
    /// Install into staging (headers, libraries, .pc files for later packages).
    #[serde(default = "yes")]
    pub staging: bool,
    /// Install into the target root.
    #[serde(default = "yes")]
    pub target: bool,
}

impl Default for Install {
    fn default() -> Install {
        Install {
            staging: true,
            target: true,
        }
    }
}

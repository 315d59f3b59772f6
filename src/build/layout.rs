//! Where things go in an output directory (Buildroot's layout, plus the
//! per-package directories).
//!
//! ```text
//! <output>/.config                         the configuration (not touched here)
//! <output>/.bbsdk.lock                     the output lock
//! <output>/.bbsdk-merged                   manifest of the last merge: `name identity` lines
//! <output>/build/<name>-<version>/         sources, build tree, stamps, build.log
//! <output>/per-package/<name>/{staging,target,host}/   that package's installed files only
//! <output>/per-package/<name>/files.txt    the list of those files
//! <output>/per-package/<name>/identity     the identity they were built with (written last)
//! <output>/staging, target, host           the merge of every planned package, in plan order
//! <output>/images/                         image writers' output (not touched here)
//! ```

use std::path::{Path, PathBuf};

/// The kinds of per-package output trees, in merge order.
pub const TREES: [&str; 3] = ["staging", "target", "host"];

/// Paths of one output directory.
#[derive(Debug, Clone)]
pub struct Layout {
    output: PathBuf,
}

impl Layout {
    /// `output` should be absolute (the executor makes it so).
    pub fn new(output: impl Into<PathBuf>) -> Layout {
        Layout {
            output: output.into(),
        }
    }

    pub fn output(&self) -> &Path {
        &self.output
    }

    /// Whether `path` names something strictly below the output directory
    /// (by its components: no `..`, no `.`, not the directory itself).
    pub fn contains(&self, path: &Path) -> bool {
        path.strip_prefix(&self.output).is_ok_and(|rel| {
            rel.components().next().is_some()
                && rel
                    .components()
                    .all(|c| matches!(c, std::path::Component::Normal(_)))
        })
    }

    /// `<output>/build/<name>-<version>`.
    pub fn build_dir(&self, name: &str, version: &str) -> PathBuf {
        self.output.join("build").join(format!("{name}-{version}"))
    }

    /// `<output>/build/<name>-<version>/build.log`.
    pub fn log(&self, name: &str, version: &str) -> PathBuf {
        self.build_dir(name, version).join("build.log")
    }

    /// `<output>/per-package/<name>`.
    pub fn per_package(&self, name: &str) -> PathBuf {
        self.output.join("per-package").join(name)
    }

    pub fn staging(&self) -> PathBuf {
        self.output.join("staging")
    }

    pub fn target(&self) -> PathBuf {
        self.output.join("target")
    }

    pub fn host(&self) -> PathBuf {
        self.output.join("host")
    }

    pub fn images(&self) -> PathBuf {
        self.output.join("images")
    }

    /// The manifest of the last merge of staging/target/host.
    pub fn manifest(&self) -> PathBuf {
        self.output.join(".bbsdk-merged")
    }
}

//! Package recipes: the model (`recipe`), and the registry that scans
//! `package/*/` and validates every recipe with file:line errors. This
//! module reads files; it never runs a build.

mod paths;
mod recipe;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use recipe::{
    Build, DebianSource, Dependencies, Install, KconfigBuild, Recipe, Source, Steps, System,
    Variant,
};

/// A recipe problem, with the file, the line and the field.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("{file}:{line}: {msg}\n  hint: {hint}")]
    Invalid {
        file: PathBuf,
        line: usize,
        msg: String,
        hint: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Several(String),
}

/// A loaded recipe with what was read alongside it.
#[derive(Debug, Clone)]
pub struct Package {
    pub recipe: Recipe,
    /// `package/<name>/`.
    pub dir: PathBuf,
    /// The recipe file and its bytes (they go into the identity hash).
    pub recipe_file: PathBuf,
    pub recipe_text: String,
    /// `*.patch` files of the package directory, in name order.
    pub patches: Vec<PathBuf>,
}

impl Package {
    /// The line of the recipe file where byte `offset` (a span's start) is.
    pub fn line(&self, offset: usize) -> usize {
        line_of(&self.recipe_text, offset)
    }

    pub fn name(&self) -> &str {
        self.recipe.name.get_ref()
    }

    /// The Kconfig symbol that selects the package: `BBSDK_PACKAGE_<NAME>`.
    pub fn symbol(&self) -> String {
        symbol_for(self.name())
    }
}

/// `BBSDK_PACKAGE_<NAME>` for a package name (`-` and `.` become `_`).
pub fn symbol_for(name: &str) -> String {
    let mut s = String::from("BBSDK_PACKAGE_");
    for c in name.chars() {
        s.push(if c.is_ascii_alphanumeric() {
            c.to_ascii_uppercase()
        } else {
            '_'
        });
    }
    s
}

/// A package name with its variant: `zlib` is (zlib, Target), `host-zlib` is (zlib, Host).
pub fn split_variant(name: &str) -> (&str, Variant) {
    match name.strip_prefix("host-") {
        Some(base) => (base, Variant::Host),
        None => (name, Variant::Target),
    }
}

/// All recipes of a tree, by name.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    pub packages: BTreeMap<String, Package>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|&b| b == b'\n')
        .count()
        + 1
}

impl Registry {
    /// Reads every `package/<name>/<name>.toml` below `package_dir` and checks them.
    pub fn scan(package_dir: &Path) -> Result<Registry, PackageError> {
        let mut reg = Registry::default();
        let rd = std::fs::read_dir(package_dir).map_err(|e| PackageError::Io {
            path: package_dir.to_path_buf(),
            source: e,
        })?;
        let mut dirs: Vec<PathBuf> = rd
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        let mut errors = Vec::new();
        for dir in dirs {
            let Some(name) = dir.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
                continue;
            };
            let file = dir.join(format!("{name}.toml"));
            if !file.is_file() {
                continue;
            }
            match Self::load_one(&dir, &name, &file) {
                Ok(p) => {
                    reg.packages.insert(name, p);
                }
                Err(e) => errors.push(e),
            }
        }
        errors.extend(reg.validate());
        match errors.len() {
            0 => Ok(reg),
            1 => Err(errors.remove(0)),
            _ => Err(PackageError::Several(
                errors
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("\n"),
            )),
        }
    }

    /// Parses one recipe file.
    pub fn load_one(dir: &Path, name: &str, file: &Path) -> Result<Package, PackageError> {
        let text = std::fs::read_to_string(file).map_err(|e| PackageError::Io {
            path: file.to_path_buf(),
            source: e,
        })?;
        let recipe: Recipe = toml::from_str(&text).map_err(|e| {
            let line = e.span().map(|s| line_of(&text, s.start)).unwrap_or(1);
            PackageError::Invalid {
                file: file.to_path_buf(),
                line,
                msg: e.message().to_string(),
                hint: "see docs/recipes.md for the fields of a recipe".into(),
            }
        })?;
        let invalid =
            |span: std::ops::Range<usize>, msg: String, hint: &str| PackageError::Invalid {
                file: file.to_path_buf(),
                line: line_of(&text, span.start),
                msg,
                hint: hint.to_string(),
            };
        if recipe.name.get_ref() != name {
            return Err(invalid(
                recipe.name.span(),
                format!(
                    "field `name`: \"{}\" does not match the directory package/{name}",
                    recipe.name.get_ref()
                ),
                "a recipe's name is the name of its directory",
            ));
        }
        paths::check(&text, file)?;
        for s in &recipe.sources {
            let sum = s.sha256.get_ref();
            if sum.len() != 64 || !sum.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(invalid(
                    s.sha256.span(),
                    format!(
                        "field `source.sha256` of {}: \"{sum}\" is not a sha256 (64 hex digits)",
                        s.file
                    ),
                    "every source needs its checksum: sha256sum FILE",
                ));
            }
            if s.urls.is_empty() && s.debian.is_none() {
                return Err(invalid(
                    s.sha256.span(),
                    format!("source {} has neither `urls` nor `debian`", s.file),
                    "give at least one URL or a Debian source package",
                ));
            }
        }
        let text_ref = &text;
        let missing_field = |field: &str| PackageError::Invalid {
            file: file.to_path_buf(),
            line: text_ref
                .lines()
                .position(|l| l.trim_start().starts_with("[build"))
                .map(|i| i + 1)
                .unwrap_or(1),
            msg: format!(
                "field `{field}` is required by build system {:?}",
                recipe.build.system
            ),
            hint: "see docs/recipes.md".into(),
        };
        match recipe.build.system {
            System::Generic
                if recipe.build.steps.build.is_none()
                    && recipe.build.steps.install_target.is_none()
                    && recipe.build.steps.install_host.is_none() =>
            {
                return Err(missing_field("build.steps"))
            }
            System::Kconfig if recipe.build.kconfig.is_none() => {
                return Err(missing_field("build.kconfig"))
            }
            _ => {}
        }
        let mut patches: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| PackageError::Io {
                path: dir.to_path_buf(),
                source: e,
            })?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "patch"))
            .collect();
        patches.sort();
        paths::check_patches(dir, &patches)?;
        Ok(Package {
            recipe,
            dir: dir.to_path_buf(),
            recipe_file: file.to_path_buf(),
            recipe_text: text,
            patches,
        })
    }

    /// Cross-recipe checks: unknown dependencies, variants that do not exist.
    pub fn validate(&self) -> Vec<PackageError> {
        let mut errors = Vec::new();
        for p in self.packages.values() {
            let deps = p
                .recipe
                .dependencies
                .build
                .iter()
                .chain(&p.recipe.dependencies.runtime);
            for d in deps {
                if let Err(msg) = self.resolve(d.get_ref()) {
                    errors.push(PackageError::Invalid {
                        file: p.recipe_file.clone(),
                        line: line_of(&p.recipe_text, d.span().start),
                        msg: format!("field `dependencies`: {msg}"),
                        hint: "dependencies name packages of package/ (host tools as host-<name>)"
                            .into(),
                    });
                }
            }
        }
        errors
    }

    /// Finds `name` or `host-name`.
    pub fn resolve(&self, name: &str) -> Result<(&Package, Variant), String> {
        let (base, variant) = split_variant(name);
        let p = self
            .packages
            .get(base)
            .ok_or_else(|| format!("unknown package \"{name}\""))?;
        if !p.recipe.variants.contains(&variant) {
            return Err(format!(
                "package \"{base}\" has no {} variant (its recipe's `variants` is {:?})",
                if variant == Variant::Host {
                    "host"
                } else {
                    "target"
                },
                p.recipe.variants
            ));
        }
        Ok((p, variant))
    }
}

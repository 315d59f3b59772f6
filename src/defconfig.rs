//! bbsdk's own configuration: where the tree and the output directory are,
//! and the Buildroot-style commands over them (`<name>_defconfig`,
//! `defconfig FILE`, `savedefconfig`, `olddefconfig`, `list-defconfigs`).

use std::path::{Path, PathBuf};

use crate::kconfig::frontend::{self, Action, Outcome, Request};
use crate::kconfig::{Error, LoadOptions, Result};

/// The symbol prefix of bbsdk's tree: none, names already start with `BBSDK_`.
pub const PREFIX: &str = "";

/// The tree and the output directory of one bbsdk invocation.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The directory holding the root `Config.in`, `configs/`, `package/`.
    pub top: PathBuf,
    /// The output directory (`-O`), `<top>/output` by default.
    pub output: PathBuf,
}

impl Paths {
    /// Finds the tree: `$BBSDK_TOP`, else the nearest parent of the current
    /// directory with `Config.in` and `configs/`, else the source tree bbsdk
    /// was built from.
    pub fn discover(output: Option<PathBuf>) -> Result<Paths> {
        let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
        let is_top = |d: &Path| d.join("Config.in").is_file() && d.join("configs").is_dir();
        let top = std::env::var_os("BBSDK_TOP")
            .map(PathBuf::from)
            .or_else(|| cwd.ancestors().find(|d| is_top(d)).map(Path::to_path_buf))
            .or_else(|| {
                let built = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
                is_top(&built).then_some(built)
            })
            .ok_or_else(|| {
                Error::Config(
                    "cannot find the bbsdk tree (a directory with Config.in and configs/)\n  hint: run bbsdk from the bbsdk checkout or set BBSDK_TOP".into(),
                )
            })?;
        let output = match output {
            Some(o) if o.is_absolute() => o,
            Some(o) => cwd.join(o),
            None => top.join("output"),
        };
        Ok(Paths { top, output })
    }

    /// `<output>/.config`.
    pub fn config(&self) -> PathBuf {
        self.output.join(".config")
    }

    /// Where the name of the defconfig last applied is remembered.
    fn origin_file(&self) -> PathBuf {
        self.output.join(".bbsdk").join("defconfig-origin")
    }

    fn request(&self, action: Action) -> Request {
        Request {
            kconfig: PathBuf::from("Config.in"),
            config: self.config(),
            action,
            load: LoadOptions {
                base_dir: Some(self.top.clone()),
                srctree: None,
                legacy: Some(false),
            },
            prefix: Some(PREFIX.to_string()),
        }
    }
}

/// Loads bbsdk's own Kconfig tree.
pub fn load_tree(paths: &Paths) -> Result<std::sync::Arc<crate::kconfig::Tree>> {
    crate::kconfig::load(
        &PathBuf::from("Config.in"),
        &paths.request(Action::Olddefconfig).load,
    )
}

/// The defconfigs shipped in `configs/`, sorted.
pub fn list_defconfigs(paths: &Paths) -> Result<Vec<String>> {
    let dir = paths.top.join("configs");
    let rd = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
    let mut names: Vec<String> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with("_defconfig"))
        .collect();
    names.sort();
    Ok(names)
}

/// Resolves `NAME_defconfig` to `configs/NAME_defconfig`, or takes a path as is.
pub fn resolve_defconfig(paths: &Paths, name: &str) -> Result<PathBuf> {
    let p = PathBuf::from(name);
    if p.is_file() {
        return Ok(p);
    }
    let in_configs = paths.top.join("configs").join(name);
    if in_configs.is_file() {
        return Ok(in_configs);
    }
    let known = list_defconfigs(paths).unwrap_or_default();
    Err(Error::Config(format!(
        "{name}: no such defconfig\n  hint: `bbsdk list-defconfigs` shows the {} shipped ones: {}",
        known.len(),
        known.join(", ")
    )))
}

/// `bbsdk NAME_defconfig` / `bbsdk defconfig FILE`.
pub fn apply_defconfig(paths: &Paths, name: &str) -> Result<Outcome> {
    let file = resolve_defconfig(paths, name)?;
    let out = frontend::run(&paths.request(Action::Defconfig(file.clone())))?;
    let abs = file.canonicalize().unwrap_or(file);
    crate::kconfig::write_atomic(
        &paths.origin_file(),
        abs.display().to_string().as_bytes(),
        false,
    )?;
    Ok(out)
}

/// `bbsdk savedefconfig [FILE]`: by default back to the defconfig last
/// applied, else `<output>/defconfig`.
pub fn savedefconfig(paths: &Paths, file: Option<PathBuf>) -> Result<Outcome> {
    require_config(paths)?;
    let target = match file {
        Some(f) => f,
        None => std::fs::read_to_string(paths.origin_file())
            .ok()
            .map(|s| PathBuf::from(s.trim()))
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| paths.output.join("defconfig")),
    };
    frontend::run(&paths.request(Action::Savedefconfig(target)))
}

/// `bbsdk olddefconfig`.
pub fn olddefconfig(paths: &Paths) -> Result<Outcome> {
    require_config(paths)?;
    frontend::run(&paths.request(Action::Olddefconfig))
}

/// Fails with a hint when the output directory has no `.config` yet.
pub fn require_config(paths: &Paths) -> Result<()> {
    if paths.config().is_file() {
        return Ok(());
    }
    Err(Error::Config(format!(
        "{}: no configuration yet\n  hint: start from a defconfig, e.g. `bbsdk container_x86_64_musl_defconfig` (see `bbsdk list-defconfigs`), or run `bbsdk menuconfig`",
        paths.config().display()
    )))
}

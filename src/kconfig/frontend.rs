//! kconfig's `conf` program as a library call: load a tree, apply one
//! action, write the result. `bbsdk kconfig` and bbsdk's own configuration
//! commands are thin wrappers over [`run`].

use std::path::{Path, PathBuf};

use super::conf::{randconfig_rng, NewMode};
use super::error::{Error, Result, Warning};
use super::eval::Config;
use super::parser::LoadOptions;

/// What to do with the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Read the given defconfig, fill in defaults, write .config.
    Defconfig(PathBuf),
    /// Write the minimal configuration to the given file.
    Savedefconfig(PathBuf),
    Olddefconfig,
    /// Ask for new symbols on stdin.
    Oldconfig,
    Alldefconfig,
    Allnoconfig,
    Allyesconfig,
    Allmodconfig,
    Randconfig,
    Listnewconfig,
}

impl Action {
    /// Parses `NAME [ARG]` as given on the command line.
    pub fn parse(name: &str, arg: Option<&str>) -> std::result::Result<Action, String> {
        let need = |what: &str| -> std::result::Result<PathBuf, String> {
            arg.map(PathBuf::from)
                .ok_or_else(|| format!("'{what}' needs a file argument: {what} FILE"))
        };
        let a = match name {
            "defconfig" => Action::Defconfig(need("defconfig")?),
            "savedefconfig" => Action::Savedefconfig(need("savedefconfig")?),
            "olddefconfig" => Action::Olddefconfig,
            "oldconfig" => Action::Oldconfig,
            "alldefconfig" => Action::Alldefconfig,
            "allnoconfig" => Action::Allnoconfig,
            "allyesconfig" => Action::Allyesconfig,
            "allmodconfig" => Action::Allmodconfig,
            "randconfig" => Action::Randconfig,
            "listnewconfig" => Action::Listnewconfig,
            other => {
                return Err(format!(
                    "unknown action '{other}'; expected one of: defconfig FILE, savedefconfig FILE, olddefconfig, oldconfig, alldefconfig, allnoconfig, allyesconfig, allmodconfig, randconfig, listnewconfig"
                ))
            }
        };
        if arg.is_some() && !matches!(a, Action::Defconfig(_) | Action::Savedefconfig(_)) {
            return Err(format!("'{name}' takes no argument"));
        }
        Ok(a)
    }
}

/// Everything [`run`] needs.
#[derive(Debug, Clone)]
pub struct Request {
    pub kconfig: PathBuf,
    pub config: PathBuf,
    pub action: Action,
    pub load: LoadOptions,
    /// Symbol prefix in .config (`None`: `$CONFIG_`, else `CONFIG_`).
    pub prefix: Option<String>,
}

/// What [`run`] did.
#[derive(Debug)]
pub struct Outcome {
    /// The configuration as it ended up.
    pub config: Config,
    pub warnings: Vec<Warning>,
    /// Text for stdout (listnewconfig).
    pub stdout: String,
    /// The file written, if any.
    pub written: Option<PathBuf>,
    /// The seed used by randconfig.
    pub seed: Option<u64>,
    /// Informational messages (kconfig's `conf_message`), such as the
    /// defaults file read when there is no configuration yet.
    pub messages: Vec<String>,
}

/// The default configuration file name: `$KCONFIG_CONFIG`, then Buildroot's
/// `$BR2_CONFIG`, then `.config`.
pub fn default_config_path() -> PathBuf {
    std::env::var_os("KCONFIG_CONFIG")
        .or_else(|| std::env::var_os("BR2_CONFIG"))
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".config"))
}

/// kconfig's `conf_read(NULL)`: the configuration file, or when there is
/// none yet, the first existing file of the default list.
fn read_if_exists(
    cfg: &mut Config,
    path: &Path,
    load: &LoadOptions,
    messages: &mut Vec<String>,
) -> Result<bool> {
    if path.exists() {
        cfg.read(path)?;
        return Ok(true);
    }
    let base = match &load.base_dir {
        Some(d) => d.clone(),
        None => std::env::current_dir().map_err(|e| Error::io(".", e))?,
    };
    let srctree = load
        .srctree
        .clone()
        .or_else(|| std::env::var_os("srctree").map(PathBuf::from));
    for name in cfg.default_config_names() {
        // kconfig's zconf_fopen: the current directory, then $srctree.
        let p = Path::new(&name);
        let found = if p.is_absolute() {
            Some(p.to_path_buf())
        } else {
            std::iter::once(base.join(p))
                .chain(srctree.iter().map(|s| s.join(p)))
                .find(|c| c.is_file())
        };
        if let Some(f) = found.filter(|f| f.is_file()) {
            cfg.read(&f)?;
            messages.push(format!("using defaults found in {name}"));
            return Ok(true);
        }
    }
    Ok(false)
}

/// Loads the tree and performs the action.
pub fn run(req: &Request) -> Result<Outcome> {
    let tree = super::load(&req.kconfig, &req.load)?;
    let mut warnings = tree.warnings.clone();
    let mut stdout = String::new();
    let mut written = None;
    let mut seed = None;
    let mut messages = Vec::new();
    let mut cfg = Config::new(tree);
    if let Some(p) = &req.prefix {
        cfg.prefix = p.clone();
    }
    let mut write = true;
    match &req.action {
        Action::Defconfig(file) => {
            if !file.exists() {
                return Err(Error::Config(format!(
                    "{}: can't find default configuration\n  hint: check the path; defconfig files usually live in configs/",
                    file.display()
                )));
            }
            cfg.read(file)?;
            cfg.set_all_new(NewMode::Default, &mut rand::rngs::mock::StepRng::new(0, 1));
        }
        Action::Savedefconfig(file) => {
            read_if_exists(&mut cfg, &req.config, &req.load, &mut messages)?;
            cfg.write_defconfig(file)?;
            written = Some(file.clone());
            write = false;
        }
        Action::Olddefconfig => {
            read_if_exists(&mut cfg, &req.config, &req.load, &mut messages)?;
        }
        Action::Oldconfig => {
            read_if_exists(&mut cfg, &req.config, &req.load, &mut messages)?;
            let stdin = std::io::stdin();
            let mut input = stdin.lock();
            let mut stdout = std::io::stdout();
            cfg.oldconfig(&mut input, &mut stdout)?;
        }
        Action::Listnewconfig => {
            read_if_exists(&mut cfg, &req.config, &req.load, &mut messages)?;
            stdout = cfg.listnewconfig();
            write = false;
        }
        Action::Alldefconfig
        | Action::Allnoconfig
        | Action::Allyesconfig
        | Action::Allmodconfig
        | Action::Randconfig => {
            if let Some(all) = std::env::var_os("KCONFIG_ALLCONFIG").filter(|v| !v.is_empty()) {
                let name = PathBuf::from(&all);
                let file = if all != "1" {
                    Some(name)
                } else {
                    let specific = match req.action {
                        Action::Allnoconfig => "allno.config",
                        Action::Allyesconfig => "allyes.config",
                        Action::Allmodconfig => "allmod.config",
                        Action::Alldefconfig => "alldef.config",
                        _ => "allrandom.config",
                    };
                    [specific, "all.config"]
                        .iter()
                        .map(PathBuf::from)
                        .find(|p| p.exists())
                };
                match file {
                    Some(f) => cfg.read_simple(&f)?,
                    None => {
                        return Err(Error::Config(
                            "KCONFIG_ALLCONFIG is set, but no allXXX.config or all.config file was found".into(),
                        ))
                    }
                }
            }
            let mode = match req.action {
                Action::Allnoconfig => NewMode::No,
                Action::Allyesconfig => NewMode::Yes,
                Action::Allmodconfig => NewMode::Mod,
                Action::Randconfig => NewMode::Random,
                _ => NewMode::Default,
            };
            if mode == NewMode::Random {
                let (mut rng, s) = randconfig_rng();
                seed = Some(s);
                while cfg.set_all_new(mode, &mut rng) {}
            } else {
                cfg.set_all_new(mode, &mut rand::rngs::mock::StepRng::new(0, 1));
            }
        }
    }
    if write {
        cfg.write_config(&req.config)?;
        written = Some(req.config.clone());
    }
    warnings.append(&mut cfg.warnings);
    Ok(Outcome {
        config: cfg,
        warnings,
        stdout,
        written,
        seed,
        messages,
    })
}

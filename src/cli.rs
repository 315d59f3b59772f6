//! The `bbsdk` command line: each command maps to one library call.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::defconfig::{self, Paths};
use crate::kconfig::frontend::{self, Action, Outcome, Request};
use crate::kconfig::LoadOptions;

#[derive(Parser, Debug)]
#[command(
    name = "bbsdk",
    version,
    about = "Build small Linux root filesystems and container images from source"
)]
struct Cli {
    /// Output directory (Buildroot's O=); holds .config, build/, host/, target/, images/.
    #[arg(short = 'O', long = "output", global = true)]
    output: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a kconfig action on any Kconfig tree (busybox's, the kernel's, Buildroot's).
    Kconfig {
        /// Configuration file (default: $KCONFIG_CONFIG, $BR2_CONFIG, or .config).
        #[arg(long)]
        config: Option<PathBuf>,
        /// The top Kconfig file; relative `source` paths resolve against the current directory, then $srctree.
        kconfig_file: PathBuf,
        /// defconfig FILE | savedefconfig FILE | olddefconfig | oldconfig | alldefconfig | allnoconfig | allyesconfig | allmodconfig | randconfig | listnewconfig
        action: String,
        arg: Option<String>,
    },
    /// Load a defconfig file into the output directory's .config.
    Defconfig { file: PathBuf },
    /// Write the minimal defconfig (default: back to the defconfig last loaded).
    Savedefconfig { file: Option<PathBuf> },
    /// Update .config for the current tree, new symbols taking their defaults.
    Olddefconfig,
    /// List the defconfigs in configs/.
    ListDefconfigs,
    /// Build: `bbsdk make [NAME_defconfig] [all]`.
    Make { targets: Vec<String> },
    /// `NAME_defconfig`: load configs/NAME_defconfig.
    #[command(external_subcommand)]
    External(Vec<String>),
}

fn report(out: &Outcome) {
    for w in &out.warnings {
        eprintln!("{w}");
    }
    if !out.stdout.is_empty() {
        print!("{}", out.stdout);
    }
    for m in &out.messages {
        eprintln!("#\n# {m}\n#");
    }
    if let Some(seed) = out.seed {
        eprintln!("KCONFIG_SEED={seed:#x}");
    }
    if let Some(w) = &out.written {
        eprintln!("#\n# configuration written to {}\n#", w.display());
    }
}

fn done(r: crate::kconfig::Result<Outcome>) -> ExitCode {
    match r {
        Ok(out) => {
            report(&out);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let paths = || Paths::discover(cli.output.clone());
    match cli.command {
        Command::Kconfig {
            config,
            kconfig_file,
            action,
            arg,
        } => {
            let action = match Action::parse(&action, arg.as_deref()) {
                Ok(a) => a,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            done(frontend::run(&Request {
                kconfig: kconfig_file,
                config: config.unwrap_or_else(frontend::default_config_path),
                action,
                load: LoadOptions::default(),
                prefix: None,
            }))
        }
        Command::Defconfig { file } => {
            done(paths().and_then(|p| defconfig::apply_defconfig(&p, &file.to_string_lossy())))
        }
        Command::Savedefconfig { file } => {
            done(paths().and_then(|p| defconfig::savedefconfig(&p, file)))
        }
        Command::Olddefconfig => done(paths().and_then(|p| defconfig::olddefconfig(&p))),
        Command::ListDefconfigs => match paths().and_then(|p| defconfig::list_defconfigs(&p)) {
            Ok(names) => {
                for n in names {
                    println!("{n}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Make { targets } => make(cli.output.clone(), &targets),
        Command::External(args) => {
            let name = args.first().cloned().unwrap_or_default();
            if name.ends_with("_defconfig") && args.len() == 1 {
                done(paths().and_then(|p| defconfig::apply_defconfig(&p, &name)))
            } else {
                eprintln!("error: unknown command '{}'\n  hint: see `bbsdk --help`; defconfigs are loaded with `bbsdk NAME_defconfig`", args.join(" "));
                ExitCode::from(2)
            }
        }
    }
}

fn make(output: Option<PathBuf>, targets: &[String]) -> ExitCode {
    let paths = match Paths::discover(output) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    for t in targets {
        let r = if t.ends_with("_defconfig") {
            defconfig::apply_defconfig(&paths, t)
        } else if t == "all" || t == "olddefconfig" {
            defconfig::olddefconfig(&paths)
        } else {
            eprintln!(
                "error: unknown make target '{t}'\n  hint: known targets: NAME_defconfig, all"
            );
            return ExitCode::from(2);
        };
        if done(r) != ExitCode::SUCCESS {
            return ExitCode::FAILURE;
        }
    }
    if targets.is_empty() && done(defconfig::olddefconfig(&paths)) != ExitCode::SUCCESS {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

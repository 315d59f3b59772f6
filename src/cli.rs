//! The `bbsdk` command line: each command maps to one library call.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::defconfig::{self, Paths};
use crate::kconfig::frontend::{self, Action, Outcome, Request};
use crate::kconfig::LoadOptions;
use crate::make;

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
        /// menuconfig | defconfig FILE | savedefconfig FILE | olddefconfig | oldconfig | alldefconfig | allnoconfig | allyesconfig | allmodconfig | randconfig | listnewconfig
        action: String,
        arg: Option<String>,
    },
    /// Edit the output directory's .config in a terminal menu.
    Menuconfig,
    /// Load a defconfig file into the output directory's .config.
    Defconfig { file: PathBuf },
    /// Write the minimal defconfig (default: back to the defconfig last loaded).
    Savedefconfig { file: Option<PathBuf> },
    /// Update .config for the current tree, new symbols taking their defaults.
    Olddefconfig,
    /// List the defconfigs in configs/.
    ListDefconfigs,
    /// Download every source the configuration needs (for offline builds).
    Source,
    /// Print JSON describing every package of the build plan.
    ShowInfo,
    /// Write the dependency graph to <output>/graphs/ (DOT, and SVG with Graphviz).
    GraphDepends,
    /// Write the SPDX 2.3 SBOM of the plan to <output>/images/sbom.spdx.json.
    Sbom,
    /// Collect licenses, license texts, sources and patches into <output>/legal-info/.
    LegalInfo,
    /// Push the configuration's OCI image to a registry: `bbsdk push HOST[:PORT]/REPO[:TAG]`.
    Push {
        /// Destination, e.g. 127.0.0.1:5000/bbsdk/rootfs:latest (tag defaults to BBSDK_IMAGE_TAG).
        reference: String,
        /// Use plain HTTP (and accept any TLS certificate); loopback hosts always use HTTP.
        #[arg(long)]
        insecure: bool,
    },
    /// Build: `bbsdk make [NAME_defconfig] [all]`.
    Make { targets: Vec<String> },
    /// Run Portage's emerge on the Gentoo sysroot with the configuration's
    /// setup (crossdev's `<tuple>-emerge`), e.g. `bbsdk emerge -pv app-misc/jq`.
    Emerge {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
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
            // The process ends right after: freeing a big tree (Buildroot's
            // is ~9,000 symbols) would only cost time.
            std::mem::forget(out);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn menu_done(r: anyhow::Result<crate::tui::Exit>) -> ExitCode {
    match r {
        Ok(e) => {
            eprint!("{}", crate::tui::exit_message(&e));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::FAILURE
}

fn files_done(r: Result<Vec<PathBuf>, crate::project::ProjectError>) -> ExitCode {
    match r {
        Ok(files) => {
            for f in files {
                println!("{}", f.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
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
            let config = config.unwrap_or_else(frontend::default_config_path);
            if action == "menuconfig" {
                if arg.is_some() {
                    eprintln!("error: 'menuconfig' takes no argument");
                    return ExitCode::from(2);
                }
                return menu_done(crate::tui::run_kconfig(&kconfig_file, &config));
            }
            let action = match Action::parse(&action, arg.as_deref()) {
                Ok(a) => a,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            done(frontend::run(&Request {
                kconfig: kconfig_file,
                config,
                action,
                load: LoadOptions::default(),
                prefix: None,
            }))
        }
        Command::Menuconfig => menu_done(
            paths()
                .map_err(anyhow::Error::from)
                .and_then(|p| crate::tui::run_bbsdk(&p)),
        ),
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
        Command::Source => files_done(paths().map_err(Into::into).and_then(make::source)),
        Command::ShowInfo => match paths().map_err(Into::into).and_then(make::show_info) {
            Ok(json) => {
                print!("{json}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
        Command::GraphDepends => {
            files_done(paths().map_err(Into::into).and_then(make::graph_depends))
        }
        Command::LegalInfo => match paths()
            .map_err(|e| make::MakeError::from(crate::project::ProjectError::from(e)))
            .and_then(make::legal_info)
        {
            Ok(p) => {
                println!("{}", p.display());
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
        Command::Sbom => files_done(
            paths()
                .map_err(Into::into)
                .and_then(make::sbom)
                .map(|p| vec![p]),
        ),
        Command::Push {
            reference,
            insecure,
        } => match paths()
            .map_err(|e| make::MakeError::from(crate::project::ProjectError::from(e)))
            .and_then(|p| make::push(p, &reference, insecure))
        {
            Ok(r) => {
                eprintln!(
                    ">>> {} blobs uploaded, {} already there",
                    r.uploaded.len(),
                    r.skipped.len()
                );
                println!("{}@{}", r.reference, r.digest);
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
        Command::Make { targets } => make(cli.output.clone(), &targets),
        Command::Emerge { args } => match paths()
            .map_err(|e| make::MakeError::from(crate::project::ProjectError::from(e)))
            .and_then(|p| make::emerge(p, &args))
        {
            Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
            Err(e) => fail(e),
        },
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

fn file_done(r: Result<PathBuf, make::MakeError>) -> ExitCode {
    match r {
        Ok(p) => {
            eprintln!("#\n# configuration written to {}\n#", p.display());
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

fn make_report(r: Result<make::MakeReport, make::MakeError>) -> ExitCode {
    match r {
        Ok(rep) => {
            eprintln!(
                ">>> {} built, {} from the binary cache, {} up to date",
                rep.built.len(),
                rep.from_cache.len(),
                rep.skipped.len()
            );
            if rep.images_up_to_date {
                eprintln!(">>> images up to date");
            }
            if !rep.provided_by_base.is_empty() {
                eprintln!(
                    ">>> provided by the base image, not built: {}",
                    rep.provided_by_base.join(" ")
                );
            }
            for f in rep.images {
                println!("{}", f.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

fn make(output: Option<PathBuf>, targets: &[String]) -> ExitCode {
    use make::MakeTarget;
    let paths = match Paths::discover(output) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let mut targets: Vec<MakeTarget> = targets.iter().map(|t| MakeTarget::parse(t)).collect();
    if targets.is_empty() {
        targets.push(MakeTarget::All);
    }
    for t in &targets {
        let code = match t {
            MakeTarget::Defconfig(name) => done(defconfig::apply_defconfig(&paths, name)),
            MakeTarget::Olddefconfig => done(defconfig::olddefconfig(&paths)),
            MakeTarget::All => make_report(make::build_all(paths.clone())),
            MakeTarget::Clean | MakeTarget::Distclean => {
                match make::clean(&paths, *t == MakeTarget::Distclean) {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => fail(e),
                }
            }
            MakeTarget::PkgMenuconfig(pkg) => {
                let r = make::package_menuconfig(paths.clone(), pkg);
                if let Ok(crate::tui::Exit::Saved(_)) = &r {
                    eprintln!("hint: `bbsdk make {pkg}-rebuild` builds with it; `bbsdk make {pkg}-update-config` keeps it in the package's configuration file");
                }
                menu_done(r.map_err(anyhow::Error::from))
            }
            MakeTarget::PkgSavedefconfig(pkg) => {
                file_done(make::package_savedefconfig(paths.clone(), pkg))
            }
            MakeTarget::PkgUpdateConfig(pkg) => {
                file_done(make::package_update_config(paths.clone(), pkg))
            }
            other => make_report(make::package_target(paths.clone(), other)),
        };
        if code != ExitCode::SUCCESS {
            return code;
        }
    }
    ExitCode::SUCCESS
}

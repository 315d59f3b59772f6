//! `menuconfig`: a terminal menu over the [`crate::kconfig`] engine, in the
//! spirit of the kernel's mconf with more help on top (why an entry can't be
//! enabled, fuzzy search, changed-value markers, a diff of unsaved changes,
//! undo, the mouse). The TUI only shows and edits: every value comes from a
//! [`Config`](crate::kconfig::Config), the tree is never changed.
//!
//! Split by job: [`app`] holds the state and what each key does (no
//! terminal needed), [`list`] decides what a menu level shows, [`search`]
//! finds symbols, [`render`] draws with ratatui, `term` owns the terminal.

pub mod app;
pub mod list;
pub mod render;
pub mod search;
mod term;

use std::path::Path;
use std::sync::Arc;

use anyhow::Result;

use crate::kconfig::{LoadOptions, Tree};

pub use app::{App, Exit};

/// Runs menuconfig on a loaded tree, editing `config_path`.
pub fn run(tree: Arc<Tree>, config_path: &Path, prefix: &str) -> Result<Exit> {
    let mut app = App::new(tree, config_path, prefix)?;
    term::run(&mut app)?;
    Ok(app.exit.unwrap_or(Exit::Unchanged))
}

/// `bbsdk kconfig --config FILE KCONFIG_FILE menuconfig`: any Kconfig tree.
pub fn run_kconfig(kconfig_file: &Path, config_path: &Path) -> Result<Exit> {
    let tree = crate::kconfig::load(kconfig_file, &LoadOptions::default())?;
    let prefix = crate::kconfig::default_prefix(&tree);
    run(tree, config_path, &prefix)
}

/// `bbsdk menuconfig`: bbsdk's own tree and `<output>/.config`.
pub fn run_bbsdk(paths: &crate::defconfig::Paths) -> Result<Exit> {
    let tree = crate::defconfig::load_tree(paths)?;
    run(tree, &paths.config(), crate::defconfig::PREFIX)
}

/// What to tell the user after the menu closed.
pub fn exit_message(e: &Exit) -> String {
    match e {
        Exit::Saved(p) => format!(
            "\n*** End of the configuration.\n*** Configuration written to {}.\n",
            p.display()
        ),
        Exit::Discarded => "\nYour configuration changes were NOT saved.\n".to_string(),
        Exit::Unchanged => "\n*** End of the configuration (no changes).\n".to_string(),
    }
}

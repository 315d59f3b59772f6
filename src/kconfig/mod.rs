//! An in-house implementation of the Kconfig language, as Linux's
//! `scripts/kconfig` defines it, with file:line on every entry.
//!
//! Data flows one way: [`load`] parses a tree (`parser`), finalizes menus
//! and dependencies (`menu`) and returns an immutable [`Tree`]; a [`Config`]
//! holds symbol values for that tree (`eval`), reads and writes `.config`
//! files (`confdata`) and runs kconfig's actions (`conf`, [`frontend`]).

mod conf;
mod confdata;
mod error;
mod eval;
pub mod explain;
mod expr;
pub mod frontend;
mod lexer;
mod macros;
mod menu;
mod parser;
mod prefetch;
mod snapshot;
mod tree;
mod tri;

use std::path::Path;
use std::sync::Arc;

pub use conf::{randconfig_rng, NewMode};
pub use confdata::{escape_string, write_atomic, ReadReport};
pub use error::{Error, Loc, Result, Warning};
pub use eval::{default_prefix, Config};
pub use expr::{CmpOp, Expr};
pub use parser::LoadOptions;
pub use snapshot::UserSnapshot;
pub use tree::{
    DefaultProp, MenuId, MenuKind, MenuNode, Prompt, RangeProp, ReverseProp, SymId, SymType,
    Symbol, Tree, ROOT_MENU,
};
pub use tri::Tri;

/// Parses and finalizes the Kconfig tree whose top file is `path`.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<Arc<Tree>> {
    let (mut tree, macros) = parser::parse(path, opts)?;
    tree.warnings.extend(macros.warnings);
    for (name, val) in macros.env_used {
        if !tree.env_used.iter().any(|(n, _)| *n == name) {
            tree.env_used.push((name, val));
        }
    }
    menu::finalize(&mut tree)?;
    Ok(Arc::new(tree))
}

//! Errors and diagnostics of the Kconfig engine, always with a file:line.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// A place in a Kconfig or configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Loc {
    pub file: Arc<str>,
    pub line: u32,
}

impl Loc {
    pub fn new(file: impl Into<Arc<str>>, line: u32) -> Loc {
        Loc {
            file: file.into(),
            line,
        }
    }
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// Everything that can go wrong while loading a tree or a configuration.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad syntax or semantics in a Kconfig file.
    #[error("{loc}: {msg}{}", hint.as_ref().map(|h| format!("\n  hint: {h}")).unwrap_or_default())]
    Syntax {
        loc: Loc,
        msg: String,
        hint: Option<String>,
    },
    /// A `source` names a file that does not exist.
    #[error("{loc}: can't open file \"{path}\"\n  hint: {hint}")]
    MissingSource {
        loc: Loc,
        path: String,
        hint: String,
    },
    /// A dependency loop between symbols.
    #[error("{loc}: recursive dependency detected!\n{cycle}")]
    RecursiveDependency { loc: Loc, cycle: String },
    /// `$(error-if,y,...)` fired.
    #[error("{loc}: {msg}")]
    MacroError { loc: Loc, msg: String },
    /// A configuration file that could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A problem with a value in a configuration file that must stop the action.
    #[error("{0}")]
    Config(String),
}

impl Error {
    pub fn syntax(loc: &Loc, msg: impl Into<String>) -> Error {
        Error::Syntax {
            loc: loc.clone(),
            msg: msg.into(),
            hint: None,
        }
    }
    pub fn syntax_hint(loc: &Loc, msg: impl Into<String>, hint: impl Into<String>) -> Error {
        Error::Syntax {
            loc: loc.clone(),
            msg: msg.into(),
            hint: Some(hint.into()),
        }
    }
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A warning: printed by the front ends, collected so tests can check them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub loc: Option<Loc>,
    pub msg: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.loc {
            Some(loc) => write!(f, "{loc}:warning: {}", self.msg),
            None => write!(f, "warning: {}", self.msg),
        }
    }
}

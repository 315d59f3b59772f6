//! The `$(...)` macro language of Linux >= 4.18 kconfig: variables (`=`, `:=`,
//! `+=`), user-defined functions with `$(1)`.. arguments, environment
//! variables, and the built-ins `shell`, `info`, `warning-if`, `error-if`,
//! `filename` and `lineno`.

use std::collections::HashMap;
use std::process::Command;

use super::error::{Error, Loc, Result, Warning};

/// How a variable was assigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// `=`: expanded each time it is used.
    Recursive,
    /// `:=`: expanded once, when assigned.
    Simple,
    /// `+=`: appends, keeping the variable's flavor.
    Append,
}

#[derive(Debug, Clone)]
struct Variable {
    flavor: Flavor,
    value: String,
    depth: u32,
}

/// The macro state of one tree load.
#[derive(Debug, Default)]
pub struct Macros {
    vars: HashMap<String, Variable>,
    /// Environment variables referenced, with the value seen.
    pub env_used: Vec<(String, Option<String>)>,
    pub warnings: Vec<Warning>,
    /// Lines printed by `$(info,...)`.
    pub info: Vec<String>,
    /// `filename`/`lineno` and error locations refer to this.
    pub loc: Option<Loc>,
}

const MAX_ARGS: usize = 64;

impl Macros {
    pub fn new() -> Macros {
        Macros::default()
    }

    fn loc(&self) -> Loc {
        self.loc.clone().unwrap_or_else(|| Loc::new("<macro>", 0))
    }

    /// `NAME op value` at the start of a line.
    pub fn assign(&mut self, name: &str, flavor: Flavor, value: &str) -> Result<()> {
        let (flavor, append) = match (self.vars.get(name), flavor) {
            (Some(v), Flavor::Append) => (v.flavor, true),
            (None, Flavor::Append) => (Flavor::Recursive, false),
            (_, f) => (f, false),
        };
        let new_value = if flavor == Flavor::Simple {
            self.expand(value)?
        } else {
            value.to_string()
        };
        let entry = self.vars.entry(name.to_string()).or_insert(Variable {
            flavor,
            value: String::new(),
            depth: 0,
        });
        entry.flavor = flavor;
        if append {
            entry.value.push(' ');
            entry.value.push_str(&new_value);
        } else {
            entry.value = new_value;
        }
        Ok(())
    }

    /// Expands every `$(...)` in `text`.
    pub fn expand(&mut self, text: &str) -> Result<String> {
        self.expand_with_args(text, &[])
    }

    fn expand_with_args(&mut self, text: &str, args: &[String]) -> Result<String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(pos) = rest.find("$(") {
            out.push_str(&rest[..pos]);
            let inner_start = pos + 2;
            let end = matching_paren(rest, inner_start).ok_or_else(|| {
                Error::syntax_hint(
                    &self.loc(),
                    format!("unterminated reference to '$(': {}", &rest[pos..]),
                    "close every '$(' with ')'",
                )
            })?;
            let clause = &rest[inner_start..end];
            out.push_str(&self.eval_clause(clause, args)?);
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn eval_clause(&mut self, clause: &str, args: &[String]) -> Result<String> {
        if let Ok(n) = clause.parse::<usize>() {
            if n > 0 && n <= args.len() {
                return Ok(args[n - 1].clone());
            }
        }
        let parts = split_args(clause);
        if parts.len() > MAX_ARGS {
            return Err(Error::syntax(&self.loc(), "too many function arguments"));
        }
        let name = self.expand_with_args(parts[0], args)?;
        let mut new_args = Vec::with_capacity(parts.len() - 1);
        for p in &parts[1..] {
            new_args.push(self.expand_with_args(p, args)?);
        }
        if let Some(v) = self.expand_variable(&name, &new_args)? {
            return Ok(v);
        }
        if let Some(v) = self.call_builtin(&name, &new_args)? {
            return Ok(v);
        }
        if new_args.is_empty() {
            let val = std::env::var(&name).ok();
            if !self.env_used.iter().any(|(n, _)| n == &name) {
                self.env_used.push((name.clone(), val.clone()));
            }
            if let Some(v) = val {
                return Ok(v);
            }
        }
        Ok(String::new())
    }

    fn expand_variable(&mut self, name: &str, args: &[String]) -> Result<Option<String>> {
        let Some(var) = self.vars.get_mut(name) else {
            return Ok(None);
        };
        if args.is_empty() && var.depth > 0 {
            return Err(Error::syntax(
                &self.loc(),
                format!("Recursive variable '{name}' references itself (eventually)"),
            ));
        }
        if var.depth > 1000 {
            return Err(Error::syntax(&self.loc(), "Too deep recursive expansion"));
        }
        var.depth += 1;
        let (flavor, value) = (var.flavor, var.value.clone());
        let res = if flavor == Flavor::Recursive {
            self.expand_with_args(&value, args)
        } else {
            Ok(value)
        };
        if let Some(var) = self.vars.get_mut(name) {
            var.depth -= 1;
        }
        res.map(Some)
    }

    fn call_builtin(&mut self, name: &str, args: &[String]) -> Result<Option<String>> {
        let (min, max) = match name {
            "shell" => (1, 1),
            "info" => (0, 1),
            "warning-if" | "error-if" => (2, 2),
            "filename" | "lineno" => (0, 0),
            _ => return Ok(None),
        };
        if args.len() < min {
            return Err(Error::syntax(
                &self.loc(),
                format!("too few function arguments passed to '{name}'"),
            ));
        }
        if args.len() > max {
            return Err(Error::syntax(
                &self.loc(),
                format!("too many function arguments passed to '{name}'"),
            ));
        }
        let loc = self.loc();
        Ok(Some(match name {
            "shell" => run_shell(&args[0], &loc)?,
            "info" => {
                let text = args.first().cloned().unwrap_or_default();
                println!("{text}");
                self.info.push(text);
                String::new()
            }
            "warning-if" => {
                if args[0] == "y" {
                    let w = Warning {
                        loc: Some(loc),
                        msg: args[1].clone(),
                    };
                    eprintln!("{w}");
                    self.warnings.push(w);
                }
                String::new()
            }
            "error-if" => {
                if args[0] == "y" {
                    return Err(Error::MacroError {
                        loc,
                        msg: args[1].clone(),
                    });
                }
                String::new()
            }
            "filename" => loc.file.to_string(),
            "lineno" => loc.line.to_string(),
            _ => unreachable!("checked above"),
        }))
    }
}

fn run_shell(cmd: &str, loc: &Loc) -> Result<String> {
    let out = Command::new("/bin/sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .map_err(|e| Error::MacroError {
            loc: loc.clone(),
            msg: format!("$(shell,{cmd}): cannot run /bin/sh: {e}"),
        })?;
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    while s.ends_with('\n') {
        s.pop();
    }
    Ok(s.replace('\n', " "))
}

/// Index of the `)` that closes a `$(` whose contents start at `start`.
pub(crate) fn matching_paren(s: &str, start: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s[start..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return Some(start + i),
            ')' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// Splits `name,arg1,arg2` at commas outside parentheses.
fn split_args(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_and_functions() {
        let mut m = Macros::new();
        m.assign("A", Flavor::Simple, "x").unwrap();
        m.assign("B", Flavor::Recursive, "$(A)y").unwrap();
        m.assign("A", Flavor::Simple, "z").unwrap();
        assert_eq!(m.expand("$(B)").unwrap(), "zy");
        m.assign("B", Flavor::Append, "w").unwrap();
        assert_eq!(m.expand("$(B)").unwrap(), "zy w");
        m.assign("f", Flavor::Recursive, "<$(2)-$(1)>").unwrap();
        assert_eq!(m.expand("$(f,a,b)").unwrap(), "<b-a>");
        assert_eq!(m.expand("$(shell,printf 'a\\nb\\n')").unwrap(), "a b");
        assert_eq!(m.expand("$(undefined-thing-xyz)").unwrap(), "");
    }

    #[test]
    fn recursion_is_an_error() {
        let mut m = Macros::new();
        m.assign("A", Flavor::Recursive, "$(A)").unwrap();
        assert!(m.expand("$(A)").is_err());
    }

    #[test]
    fn error_if() {
        let mut m = Macros::new();
        m.loc = Some(Loc::new("K", 3));
        let e = m.expand("$(error-if,y,boom)").unwrap_err().to_string();
        assert_eq!(e, "K:3: boom");
        assert_eq!(m.expand("$(error-if,n,boom)").unwrap(), "");
        assert_eq!(m.expand("$(filename):$(lineno)").unwrap(), "K:3");
    }
}

//! Parses Kconfig files into a [`Tree`]: statements, blocks, properties and
//! `source` inclusion. Dependencies are propagated afterwards by `menu`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::{Error, Loc, Result, Warning};
use super::expr::{CmpOp, Expr};
use super::lexer::{read_help, tokenize, Lines, Op, Tok};
use super::macros::{Flavor, Macros};
use super::prefetch::{read_file, FileData, Prefetcher};
use super::tree::{
    DefaultProp, MenuId, MenuKind, MenuNode, Prompt, RangeProp, ReverseProp, SymId, SymType, Tree,
    ROOT_MENU,
};

/// Where relative paths of `source` statements are looked up, and which
/// dialect of the language to read.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Directory that plays kconfig's "current directory" (default: the process's).
    pub base_dir: Option<PathBuf>,
    /// kconfig's `$srctree`, tried after `base_dir` (default: the environment's).
    pub srctree: Option<PathBuf>,
    /// Force the kconfig <= 4.17 dialect (`option env`, no `$(...)` macros,
    /// no `# end of` comments); `None` detects it from the top file.
    pub legacy: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlockKind {
    Menu,
    Choice,
    If,
}

impl BlockKind {
    fn opener(self) -> &'static str {
        match self {
            BlockKind::Menu => "menu",
            BlockKind::Choice => "choice",
            BlockKind::If => "if",
        }
    }
    fn closer(self) -> &'static str {
        match self {
            BlockKind::Menu => "endmenu",
            BlockKind::Choice => "endchoice",
            BlockKind::If => "endif",
        }
    }
}

struct Block {
    kind: BlockKind,
    menu: MenuId,
    loc: Loc,
}

pub(crate) struct Parser<'p> {
    prefetch: &'p Prefetcher,
    pub tree: Tree,
    macros: Macros,
    legacy: bool,
    base_dir: PathBuf,
    srctree: Option<PathBuf>,
    blocks: Vec<Block>,
    /// The entry that attribute lines apply to.
    current: Option<MenuId>,
    /// Files being read, as (device, inode), to detect recursive inclusion.
    stack: Vec<(u64, u64)>,
}

const KEYWORDS: &[&str] = &[
    "mainmenu",
    "menu",
    "endmenu",
    "source",
    "rsource",
    "osource",
    "orsource",
    "choice",
    "endchoice",
    "comment",
    "config",
    "menuconfig",
    "help",
    "---help---",
    "if",
    "endif",
    "depends",
    "visible",
    "optional",
    "default",
    "prompt",
    "select",
    "imply",
    "range",
    "bool",
    "boolean",
    "tristate",
    "string",
    "int",
    "hex",
    "def_bool",
    "def_tristate",
    "option",
    "modules",
    "transitional",
];

/// Parses the tree whose top file is `path`.
pub fn parse(path: &Path, opts: &LoadOptions) -> Result<(Tree, Macros)> {
    let base_dir = match &opts.base_dir {
        Some(d) => d.clone(),
        None => std::env::current_dir().map_err(|e| Error::io(".", e))?,
    };
    let srctree = opts
        .srctree
        .clone()
        .or_else(|| std::env::var_os("srctree").map(PathBuf::from));
    let top_loc = Loc::new(path.display().to_string(), 0);
    let pf = Prefetcher::new(base_dir.clone());
    let (resolved, (text, ident)) = open_source(&pf, &base_dir, srctree.as_deref(), path)?.ok_or_else(|| {
        Error::MissingSource {
            loc: top_loc.clone(),
            path: path.display().to_string(),
            hint: "give the path of the top Kconfig file (relative paths resolve against the current directory, then $srctree)".into(),
        }
    })?;
    let legacy = match opts.legacy {
        Some(l) => l,
        None => match std::env::var("BBSDK_KCONFIG_DIALECT").as_deref() {
            Ok("legacy") => true,
            Ok("modern") => false,
            _ => detect_legacy(&text),
        },
    };
    let mut p = Parser {
        prefetch: &pf,
        tree: Tree::new(Loc::new(path.display().to_string(), 1)),
        macros: Macros::new(),
        legacy,
        base_dir,
        srctree,
        blocks: Vec::new(),
        current: None,
        stack: Vec::new(),
    };
    p.tree.legacy = legacy;
    let display = path.display().to_string();
    std::thread::scope(|s| {
        s.spawn(|| pf.work());
        let r = p.parse_file(&resolved, ident, &display, &text);
        pf.close();
        r
    })?;
    Ok((p.tree, p.macros))
}

/// A tree written for kconfig <= 4.17 announces itself with `option env`,
/// which later versions reject.
fn detect_legacy(text: &str) -> bool {
    text.lines().any(|l| {
        let t = l.trim_start();
        t.starts_with("option") && {
            let rest = t["option".len()..].trim_start();
            rest.starts_with("env") && rest["env".len()..].trim_start().starts_with('=')
        }
    })
}

/// Reads a Kconfig file; returns its text and its (device, inode) identity.
fn read_text(path: &Path) -> Result<FileData> {
    read_file(path).map_err(|e| Error::io(path, e))
}

/// Finds and reads a sourced file as kconfig does: as given (relative to
/// `base`), then under `$srctree`. One open per candidate, no extra stat.
fn open_source(
    pf: &Prefetcher,
    base: &Path,
    srctree: Option<&Path>,
    path: &Path,
) -> Result<Option<(PathBuf, FileData)>> {
    let mut candidates = vec![base.join(path)];
    if !path.is_absolute() {
        if let Some(s) = srctree {
            candidates.push(s.join(path));
        }
    }
    for c in candidates {
        let r = match pf.take(&c) {
            Some(r) => r.map_err(|e| Error::io(&c, e)),
            None => {
                let r = read_text(&c);
                if let Ok((text, _)) = &r {
                    pf.submit_sources_of(&c, text);
                }
                r
            }
        };
        match r {
            Ok(data) => return Ok(Some((c, data))),
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                continue
            }
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

impl Parser<'_> {
    fn parse_file(
        &mut self,
        path: &Path,
        ident: (u64, u64),
        display: &str,
        text: &str,
    ) -> Result<()> {
        self.stack.push(ident);
        self.tree.files.push(path.to_path_buf());
        let file: Arc<str> = Arc::from(display);
        let depth = self.blocks.len();
        let mut lines = Lines::new(text);
        self.current = None;
        while let Some((lineno, line)) = lines.next_logical() {
            let loc = Loc {
                file: file.clone(),
                line: lineno,
            };
            self.statement(&line, &loc, &mut lines, path)?;
        }
        if self.blocks.len() > depth {
            let b = &self.blocks[self.blocks.len() - 1];
            return Err(Error::syntax_hint(
                &b.loc,
                format!(
                    "'{}' is not closed: missing '{}' before the end of {}",
                    b.kind.opener(),
                    b.kind.closer(),
                    display
                ),
                format!("add '{}' at the end of the block", b.kind.closer()),
            ));
        }
        self.current = None;
        self.stack.pop();
        Ok(())
    }

    fn warn(&mut self, loc: &Loc, msg: impl Into<String>) {
        self.tree.warnings.push(Warning {
            loc: Some(loc.clone()),
            msg: msg.into(),
        });
    }

    fn statement(&mut self, line: &str, loc: &Loc, lines: &mut Lines, path: &Path) -> Result<()> {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            return Ok(());
        }
        // Help text follows its keyword raw, before any tokenizing.
        let first_word = trimmed
            .split(|c: char| c.is_whitespace() || c == '#')
            .next()
            .unwrap_or("");
        if first_word == "help" || first_word == "---help---" {
            let Some(menu) = self.current else {
                return Err(Error::syntax(loc, "help text outside of an entry"));
            };
            let help = read_help(lines);
            if self.tree.menus[menu].help.is_some() {
                self.warn(loc, "help text redefined");
            }
            self.tree.menus[menu].help = Some(help);
            return Ok(());
        }
        if !self.legacy {
            if let Some((name, flavor, value)) = split_assignment(trimmed) {
                self.macros.loc = Some(loc.clone());
                let name = if name.contains("$(") {
                    self.macros.expand(name)?
                } else {
                    name.to_string()
                };
                if name.is_empty() || name.contains(char::is_whitespace) {
                    return Err(Error::syntax(
                        loc,
                        format!("invalid variable name '{name}'"),
                    ));
                }
                return self.macros.assign(&name, flavor, value);
            }
        }
        let macros = if self.legacy {
            None
        } else {
            Some(&mut self.macros)
        };
        let toks = tokenize(line, loc, macros)?;
        let Some(first) = toks.first() else {
            return Ok(());
        };
        let kw = match first {
            Tok::Word(w) => w.to_string(),
            _ => {
                return Err(Error::syntax_hint(
                    loc,
                    "a statement must start with a keyword",
                    "see the Kconfig language: config, menu, choice, if, source, ...",
                ))
            }
        };
        let args = &toks[1..];
        match kw.as_str() {
            "config" | "menuconfig" => self.config_entry(&kw, args, loc),
            "choice" => self.choice_entry(args, loc),
            "endchoice" => self.end_block(BlockKind::Choice, args, loc),
            "menu" => self.menu_entry(args, loc),
            "endmenu" => self.end_block(BlockKind::Menu, args, loc),
            "if" => self.if_entry(args, loc),
            "endif" => self.end_block(BlockKind::If, args, loc),
            "comment" => self.comment_entry(args, loc),
            "mainmenu" => {
                let text = self.one_string(args, loc, "mainmenu")?;
                self.tree.menus[ROOT_MENU].prompt = Some(Prompt {
                    text,
                    visible: None,
                    loc: loc.clone(),
                });
                Ok(())
            }
            "source" | "rsource" | "osource" | "orsource" => self.source(&kw, args, loc, path),
            _ => self.attribute(&kw, args, loc),
        }
    }

    fn parent_menu(&self) -> MenuId {
        self.blocks.last().map(|b| b.menu).unwrap_or(ROOT_MENU)
    }

    fn new_menu(&mut self, kind: MenuKind, loc: &Loc) -> MenuId {
        let parent = self.parent_menu();
        let id = self.tree.menus.len();
        self.tree
            .menus
            .push(MenuNode::new(kind, Some(parent), loc.clone()));
        self.tree.menus[parent].children.push(id);
        id
    }

    fn symbol_name(&self, args: &[Tok], loc: &Loc, what: &str) -> Result<String> {
        match args {
            [Tok::Word(w)] if !w.is_empty() => Ok(w.to_string()),
            [] => Err(Error::syntax_hint(
                loc,
                format!("'{what}' needs a symbol name"),
                format!("write '{what} NAME'"),
            )),
            _ => Err(Error::syntax_hint(
                loc,
                format!("invalid symbol name after '{what}'"),
                "symbol names are made of letters, digits and '_'",
            )),
        }
    }

    fn config_entry(&mut self, kw: &str, args: &[Tok], loc: &Loc) -> Result<()> {
        let name = self.symbol_name(args, loc, kw)?;
        if KEYWORDS.contains(&name.as_str()) && name != "modules" {
            return Err(Error::syntax(
                loc,
                format!("'{name}' is a keyword, not a symbol name"),
            ));
        }
        let sym = self.tree.lookup(&name);
        let id = self.new_menu(MenuKind::Symbol(sym), loc);
        self.tree.menus[id].is_menuconfig = kw == "menuconfig";
        self.tree.syms[sym].menus.push(id);
        self.current = Some(id);
        Ok(())
    }

    fn choice_entry(&mut self, args: &[Tok], loc: &Loc) -> Result<()> {
        if let Some(t) = args.first() {
            if !matches!(t, Tok::Word(_)) || args.len() > 1 {
                return Err(Error::syntax(loc, "invalid choice name"));
            }
        }
        // A named choice keeps its name (listnewconfig shows it); it is not
        // entered in the symbol table.
        let name = match args.first() {
            Some(Tok::Word(w)) => w.as_ref(),
            _ => "",
        };
        let sym = self.tree.syms.len();
        let mut s = super::tree::Symbol::new(name, SymType::Unknown, false);
        s.is_choice = true;
        self.tree.syms.push(s);
        let id = self.new_menu(MenuKind::Choice(sym), loc);
        self.tree.syms[sym].menus.push(id);
        self.blocks.push(Block {
            kind: BlockKind::Choice,
            menu: id,
            loc: loc.clone(),
        });
        self.current = Some(id);
        Ok(())
    }

    fn menu_entry(&mut self, args: &[Tok], loc: &Loc) -> Result<()> {
        let text = self.one_string(args, loc, "menu")?;
        let id = self.new_menu(MenuKind::Menu, loc);
        // kconfig applies the `visible if` of enclosing menus to the prompts
        // of symbols and choices only, not to menus and comments.
        self.tree.menus[id].prompt = Some(Prompt {
            text,
            visible: None,
            loc: loc.clone(),
        });
        self.blocks.push(Block {
            kind: BlockKind::Menu,
            menu: id,
            loc: loc.clone(),
        });
        self.current = Some(id);
        Ok(())
    }

    fn if_entry(&mut self, args: &[Tok], loc: &Loc) -> Result<()> {
        if args.is_empty() {
            return Err(Error::syntax_hint(
                loc,
                "'if' needs a condition",
                "write 'if EXPR'",
            ));
        }
        let cond = self.expr(args, loc)?;
        let id = self.new_menu(MenuKind::If, loc);
        self.tree.menus[id].dep = Some(cond);
        self.blocks.push(Block {
            kind: BlockKind::If,
            menu: id,
            loc: loc.clone(),
        });
        self.current = None;
        Ok(())
    }

    fn comment_entry(&mut self, args: &[Tok], loc: &Loc) -> Result<()> {
        let text = self.one_string(args, loc, "comment")?;
        let id = self.new_menu(MenuKind::Comment, loc);
        // kconfig applies the `visible if` of enclosing menus to the prompts
        // of symbols and choices only, not to menus and comments.
        self.tree.menus[id].prompt = Some(Prompt {
            text,
            visible: None,
            loc: loc.clone(),
        });
        self.current = Some(id);
        Ok(())
    }

    fn end_block(&mut self, kind: BlockKind, args: &[Tok], loc: &Loc) -> Result<()> {
        if !args.is_empty() {
            self.warn(loc, format!("ignoring text after '{}'", kind.closer()));
        }
        match self.blocks.last() {
            Some(b) if b.kind == kind => {
                self.blocks.pop();
                self.current = None;
                Ok(())
            }
            Some(b) => Err(Error::syntax_hint(
                loc,
                format!(
                    "'{}' found, but the open block is '{}' from {}",
                    kind.closer(),
                    b.kind.opener(),
                    b.loc
                ),
                format!(
                    "close the '{}' with '{}' first",
                    b.kind.opener(),
                    b.kind.closer()
                ),
            )),
            None => Err(Error::syntax(
                loc,
                format!("'{}' without '{}'", kind.closer(), kind.opener()),
            )),
        }
    }

    /// `visible if` conditions of the enclosing menus, which apply to every prompt inside.
    fn enclosing_visibility(&self, menu: MenuId) -> Option<Expr> {
        let mut out: Option<Expr> = None;
        let mut m = self.tree.menus[menu].parent;
        while let Some(id) = m {
            if let Some(v) = &self.tree.menus[id].visibility {
                out = Some(match out {
                    None => v.clone(),
                    Some(o) => Expr::and(o, v.clone()),
                });
            }
            m = self.tree.menus[id].parent;
        }
        out
    }

    fn one_string(&self, args: &[Tok], loc: &Loc, what: &str) -> Result<String> {
        match args {
            [Tok::Str(s)] => Ok(s.to_string()),
            [Tok::Word(w)] => Ok(w.to_string()),
            _ => Err(Error::syntax_hint(
                loc,
                format!("'{what}' needs one quoted text"),
                format!("write {what} \"text\""),
            )),
        }
    }

    fn source(&mut self, kw: &str, args: &[Tok], loc: &Loc, cur: &Path) -> Result<()> {
        let raw = self.one_string(args, loc, kw)?;
        let name = self.expand_dollar_vars(&raw);
        let optional = kw.starts_with('o');
        let relative = kw.ends_with("rsource");
        let base = if relative {
            cur.parent().map(Path::to_path_buf).unwrap_or_default()
        } else {
            self.base_dir.clone()
        };
        let mut found: Vec<(PathBuf, String, Option<FileData>)> = Vec::new();
        if is_glob(&name) {
            let mut pats = vec![base.join(&name)];
            if !relative && !Path::new(&name).is_absolute() {
                if let Some(s) = &self.srctree {
                    pats.push(s.join(&name));
                }
            }
            for pat in pats {
                let Some(pat_s) = pat.to_str() else { continue };
                let mut hits: Vec<PathBuf> = glob::glob(pat_s)
                    .map_err(|e| Error::syntax(loc, format!("bad pattern '{name}': {e}")))?
                    .filter_map(|p| p.ok())
                    .filter(|p| p.is_file())
                    .collect();
                hits.sort();
                if !hits.is_empty() {
                    found = hits
                        .into_iter()
                        .map(|p| {
                            let d = display_path(&self.base_dir, &p);
                            (p, d, None)
                        })
                        .collect();
                    break;
                }
            }
        } else {
            let p = Path::new(&name);
            let srctree = if relative {
                None
            } else {
                self.srctree.as_deref()
            };
            if let Some((h, data)) = open_source(self.prefetch, &base, srctree, p)? {
                let d = if relative {
                    display_path(&self.base_dir, &h)
                } else {
                    name.clone()
                };
                found.push((h, d, Some(data)));
            }
        }
        if found.is_empty() {
            if optional {
                return Ok(());
            }
            let mut hint = format!(
                "looked in {}",
                if relative {
                    base.display().to_string()
                } else {
                    self.base_dir.display().to_string()
                }
            );
            if !relative {
                match &self.srctree {
                    Some(s) => hint.push_str(&format!(" and $srctree ({})", s.display())),
                    None => hint.push_str("; set $srctree to look in the source tree too"),
                }
            }
            if raw.contains('$') {
                hint.push_str(&format!("; '{raw}' expanded to '{name}'"));
            }
            hint.push_str(&format!(
                "; use '{}' if the file may be missing",
                if relative { "orsource" } else { "osource" }
            ));
            return Err(Error::MissingSource {
                loc: loc.clone(),
                path: name,
                hint,
            });
        }
        for (p, display, read) in found {
            let (text, ident) = match read {
                Some(r) => r,
                None => {
                    let r = read_text(&p)?;
                    self.prefetch.submit_sources_of(&p, &r.0);
                    r
                }
            };
            if self.stack.contains(&ident) {
                return Err(Error::syntax_hint(
                    loc,
                    format!("recursive inclusion of {display}"),
                    "a file must not source itself, directly or through others",
                ));
            }
            self.current = None;
            self.parse_file(&p, ident, &display, &text)?;
        }
        Ok(())
    }

    /// `$NAME` in a `source` path: the value of an `option env` symbol of that
    /// name (kconfig <= 4.17), else the environment variable.
    fn expand_dollar_vars(&mut self, s: &str) -> String {
        if !s.contains('$') {
            return s.to_string();
        }
        let mut out = String::new();
        let mut chars = s.char_indices().peekable();
        while let Some((_, c)) = chars.next() {
            if c != '$' {
                out.push(c);
                continue;
            }
            let mut name = String::new();
            while let Some(&(_, n)) = chars.peek() {
                if n.is_ascii_alphanumeric() || n == '_' {
                    name.push(n);
                    chars.next();
                } else {
                    break;
                }
            }
            let var = self
                .tree
                .find(&name)
                .and_then(|id| self.tree.syms[id].env.clone())
                .unwrap_or_else(|| name.clone());
            let val = std::env::var(&var).ok();
            if !self.tree.env_used.iter().any(|(n, _)| n == &var) {
                self.tree.env_used.push((var, val.clone()));
            }
            out.push_str(&val.unwrap_or_default());
        }
        out
    }

    fn entry_or_err(&self, kw: &str, loc: &Loc) -> Result<MenuId> {
        self.current.ok_or_else(|| {
            Error::syntax_hint(
                loc,
                format!("'{kw}' outside of an entry"),
                "attributes follow a config, menuconfig, choice, menu or comment line",
            )
        })
    }

    fn current_sym(&self, kw: &str, loc: &Loc) -> Result<(MenuId, SymId)> {
        let m = self.entry_or_err(kw, loc)?;
        match self.tree.menus[m].kind {
            MenuKind::Symbol(s) | MenuKind::Choice(s) => Ok((m, s)),
            _ => Err(Error::syntax_hint(
                loc,
                format!("'{kw}' is not allowed here"),
                format!("'{kw}' belongs to a config, menuconfig or choice entry"),
            )),
        }
    }

    fn set_type(&mut self, sym: SymId, ty: SymType, loc: &Loc) {
        let cur = self.tree.syms[sym].ty;
        if cur == SymType::Unknown || cur == ty {
            self.tree.syms[sym].ty = ty;
        } else {
            let name = self.tree.sym_display_name(sym);
            self.warn(
                loc,
                format!(
                    "ignoring type redefinition of '{name}' from '{}' to '{}'",
                    cur.name(),
                    ty.name()
                ),
            );
        }
    }

    fn add_prompt(&mut self, menu: MenuId, text: String, cond: Option<Expr>, loc: &Loc) {
        if self.tree.menus[menu].prompt.is_some() {
            self.warn(loc, "prompt redefined");
        }
        let vis = self.enclosing_visibility(menu);
        let visible = super::expr::and_opt(cond, vis);
        self.tree.menus[menu].prompt = Some(Prompt {
            text,
            visible,
            loc: loc.clone(),
        });
    }

    /// Splits `... if EXPR` into the part before `if` and the condition.
    fn split_if<'a, 't>(
        &mut self,
        args: &'a [Tok<'t>],
        loc: &Loc,
    ) -> Result<(&'a [Tok<'t>], Option<Expr>)> {
        match args.iter().position(|t| t.is_word("if")) {
            Some(i) => {
                if i + 1 >= args.len() {
                    return Err(Error::syntax_hint(
                        loc,
                        "'if' without a condition",
                        "write 'if EXPR'",
                    ));
                }
                let cond = self.expr(&args[i + 1..], loc)?;
                Ok((&args[..i], Some(cond)))
            }
            None => Ok((args, None)),
        }
    }

    /// Linux >= 6.18: a transitional symbol only passes an old value on; it
    /// can have a type and help, nothing else.
    fn check_transitional(&self, kw: &str, args: &[Tok], loc: &Loc) -> Result<()> {
        let Some(m) = self.current else {
            return Ok(());
        };
        let MenuKind::Symbol(s) = self.tree.menus[m].kind else {
            return Ok(());
        };
        let sym = &self.tree.syms[s];
        let bad = match kw {
            "transitional" => {
                let node = &self.tree.menus[m];
                node.prompt.is_some()
                    || node.dep.is_some()
                    || sym.defaults.iter().any(|d| d.menu == m)
                    || sym.selects.iter().chain(&sym.implies).any(|p| p.menu == m)
                    || sym.ranges.iter().any(|r| r.menu == m)
            }
            "bool" | "boolean" | "tristate" | "string" | "int" | "hex" => {
                sym.transitional && !args.is_empty()
            }
            "prompt" | "default" | "def_bool" | "def_tristate" | "select" | "imply" | "depends"
            | "range" => sym.transitional,
            _ => false,
        };
        if bad {
            return Err(Error::syntax(
                loc,
                "transitional symbols can only have help sections",
            ));
        }
        Ok(())
    }

    fn attribute(&mut self, kw: &str, args: &[Tok], loc: &Loc) -> Result<()> {
        self.check_transitional(kw, args, loc)?;
        match kw {
            "bool" | "boolean" | "tristate" | "string" | "int" | "hex" => {
                let (m, s) = self.current_sym(kw, loc)?;
                let ty = match kw {
                    "bool" | "boolean" => SymType::Bool,
                    "tristate" => SymType::Tristate,
                    "string" => SymType::String,
                    "int" => SymType::Int,
                    _ => SymType::Hex,
                };
                self.set_type(s, ty, loc);
                let (rest, cond) = self.split_if(args, loc)?;
                match rest {
                    [] => {}
                    [Tok::Str(t)] => self.add_prompt(m, t.to_string(), cond, loc),
                    _ => return Err(Error::syntax_hint(loc, format!("invalid prompt after '{kw}'"), format!("write {kw} \"prompt\" [if EXPR]"))),
                }
                Ok(())
            }
            "def_bool" | "def_tristate" => {
                let (m, s) = self.current_sym(kw, loc)?;
                let ty = if kw == "def_bool" { SymType::Bool } else { SymType::Tristate };
                self.set_type(s, ty, loc);
                self.add_default(m, s, args, loc, kw)
            }
            "default" => {
                let (m, s) = self.current_sym(kw, loc)?;
                self.add_default(m, s, args, loc, kw)
            }
            "prompt" => {
                let m = self.entry_or_err(kw, loc)?;
                let (rest, cond) = self.split_if(args, loc)?;
                match rest {
                    [Tok::Str(t)] => {
                        self.add_prompt(m, t.to_string(), cond, loc);
                        Ok(())
                    }
                    _ => Err(Error::syntax_hint(loc, "'prompt' needs a quoted text", "write prompt \"text\" [if EXPR]")),
                }
            }
            "depends" => {
                let m = self.entry_or_err(kw, loc)?;
                let rest = match args.first() {
                    Some(t) if t.is_word("on") => &args[1..],
                    _ => return Err(Error::syntax_hint(loc, "'depends' must be followed by 'on'", "write 'depends on EXPR'")),
                };
                if rest.is_empty() {
                    return Err(Error::syntax(loc, "'depends on' needs an expression"));
                }
                let e = self.expr(rest, loc)?;
                let dep = self.tree.menus[m].dep.take();
                self.tree.menus[m].dep = super::expr::and_opt(dep, Some(e));
                Ok(())
            }
            "visible" => {
                let m = self.entry_or_err(kw, loc)?;
                if self.tree.menus[m].kind != MenuKind::Menu {
                    return Err(Error::syntax(loc, "'visible if' is only allowed in a menu"));
                }
                let rest = match args.first() {
                    Some(t) if t.is_word("if") => &args[1..],
                    _ => return Err(Error::syntax_hint(loc, "'visible' must be followed by 'if'", "write 'visible if EXPR'")),
                };
                let e = self.expr(rest, loc)?;
                let v = self.tree.menus[m].visibility.take();
                self.tree.menus[m].visibility = super::expr::and_opt(v, Some(e));
                Ok(())
            }
            "select" | "imply" => {
                let (m, s) = self.current_sym(kw, loc)?;
                let (rest, cond) = self.split_if(args, loc)?;
                let target = match rest {
                    [Tok::Word(w)] => self.tree.lookup(w),
                    _ => return Err(Error::syntax_hint(loc, format!("'{kw}' needs one symbol name"), format!("write '{kw} SYMBOL [if EXPR]'"))),
                };
                let prop = ReverseProp {
                    target,
                    visible: cond,
                    menu: m,
                    loc: loc.clone(),
                };
                if kw == "select" {
                    self.tree.syms[s].selects.push(prop);
                } else {
                    self.tree.syms[s].implies.push(prop);
                }
                Ok(())
            }
            "range" => {
                let (m, s) = self.current_sym(kw, loc)?;
                let (rest, cond) = self.split_if(args, loc)?;
                let (lo, hi) = match rest {
                    [a, b] => (self.range_sym(a, loc)?, self.range_sym(b, loc)?),
                    _ => return Err(Error::syntax_hint(loc, "'range' needs two values", "write 'range MIN MAX [if EXPR]'")),
                };
                self.tree.syms[s].ranges.push(RangeProp {
                    low: lo,
                    high: hi,
                    visible: cond,
                    menu: m,
                    loc: loc.clone(),
                });
                Ok(())
            }
            "optional" => {
                let (_, s) = self.current_sym(kw, loc)?;
                if !self.tree.syms[s].is_choice {
                    return Err(Error::syntax(loc, "'optional' is only allowed in a choice"));
                }
                self.tree.syms[s].optional = true;
                Ok(())
            }
            "modules" => {
                let (_, s) = self.current_sym(kw, loc)?;
                self.set_modules(s, loc);
                Ok(())
            }
            "transitional" => {
                let (_, s) = self.current_sym(kw, loc)?;
                self.tree.syms[s].transitional = true;
                self.tree.syms[s].no_write = true;
                Ok(())
            }
            "option" => self.option(args, loc),
            "on" => Err(Error::syntax_hint(loc, "unexpected 'on'", "write 'depends on EXPR'")),
            _ => Err(Error::syntax_hint(
                loc,
                format!("unknown statement \"{kw}\""),
                "known keywords: config menuconfig choice endchoice menu endmenu if endif comment mainmenu source rsource osource orsource bool tristate string int hex def_bool def_tristate prompt default depends select imply range help option optional visible modules transitional",
            )),
        }
    }

    fn set_modules(&mut self, s: SymId, loc: &Loc) {
        if let Some(old) = self.tree.modules {
            if old != s {
                let name = self.tree.sym_display_name(old);
                self.warn(loc, format!("'modules' already defined by symbol '{name}'"));
                return;
            }
        }
        self.tree.modules = Some(s);
    }

    fn option(&mut self, args: &[Tok], loc: &Loc) -> Result<()> {
        let (m, s) = self.current_sym("option", loc)?;
        match args {
            [Tok::Word(w), Tok::Op(Op::Eq), Tok::Str(v)] if w == "env" => {
                let v = v.to_string();
                let sym = &mut self.tree.syms[s];
                sym.env = Some(v.clone());
                sym.no_write = true;
                let val = std::env::var(&v).ok();
                if !self.tree.env_used.iter().any(|(n, _)| *n == v) {
                    self.tree.env_used.push((v.clone(), val.clone()));
                }
                match val {
                    Some(val) => {
                        let c = self.tree.constant(&val);
                        self.tree.syms[s].defaults.push(DefaultProp {
                            value: Expr::Sym(c),
                            visible: None,
                            menu: m,
                            loc: loc.clone(),
                        });
                    }
                    None => self.warn(loc, format!("environment variable {v} undefined")),
                }
                Ok(())
            }
            [Tok::Word(w)] if w == "defconfig_list" => {
                // Like `option env`, the symbol is kconfig's SYMBOL_AUTO:
                // never written to .config.
                self.tree.syms[s].no_write = true;
                if self.tree.defconfig_list.is_none() {
                    self.tree.defconfig_list = Some(s);
                } else if self.tree.defconfig_list != Some(s) {
                    self.warn(loc, "'defconfig_list' already defined");
                }
                Ok(())
            }
            [Tok::Word(w)] if w == "modules" => {
                self.set_modules(s, loc);
                Ok(())
            }
            [Tok::Word(w)] if w == "allnoconfig_y" => {
                self.tree.syms[s].allnoconfig_y = true;
                Ok(())
            }
            [Tok::Word(w), ..] => {
                self.warn(loc, format!("ignoring unknown option {w}"));
                Ok(())
            }
            _ => Err(Error::syntax_hint(loc, "invalid option", "write 'option env=\"VAR\"', 'option defconfig_list', 'option modules' or 'option allnoconfig_y'")),
        }
    }

    fn range_sym(&mut self, t: &Tok, loc: &Loc) -> Result<SymId> {
        match t {
            Tok::Word(w) => Ok(self.word_sym(w)),
            Tok::Str(s) => Ok(self.tree.constant(s)),
            _ => Err(Error::syntax(loc, "invalid range value")),
        }
    }

    fn add_default(
        &mut self,
        m: MenuId,
        s: SymId,
        args: &[Tok],
        loc: &Loc,
        kw: &str,
    ) -> Result<()> {
        let (rest, cond) = self.split_if(args, loc)?;
        if rest.is_empty() {
            return Err(Error::syntax_hint(
                loc,
                format!("'{kw}' needs a value"),
                format!("write '{kw} VALUE [if EXPR]'"),
            ));
        }
        let value = self.expr(rest, loc)?;
        self.tree.syms[s].defaults.push(DefaultProp {
            value,
            visible: cond,
            menu: m,
            loc: loc.clone(),
        });
        Ok(())
    }

    fn word_sym(&mut self, w: &str) -> SymId {
        match w {
            "y" => self.tree.sym_y(),
            "m" => self.tree.sym_m(),
            "n" => self.tree.sym_n(),
            _ => self.tree.lookup(w),
        }
    }

    /// Parses a whole token slice as one expression.
    fn expr(&mut self, toks: &[Tok], loc: &Loc) -> Result<Expr> {
        let mut pos = 0;
        let e = self.parse_or(toks, &mut pos, loc)?;
        if pos != toks.len() {
            return Err(Error::syntax_hint(
                loc,
                format!("unexpected {} in expression", describe(&toks[pos])),
                "expressions combine symbols with && || ! = != < <= > >= and parentheses",
            ));
        }
        Ok(e)
    }

    fn parse_or(&mut self, t: &[Tok], pos: &mut usize, loc: &Loc) -> Result<Expr> {
        let mut e = self.parse_and(t, pos, loc)?;
        while t.get(*pos) == Some(&Tok::Op(Op::Or)) {
            *pos += 1;
            let r = self.parse_and(t, pos, loc)?;
            e = Expr::or(e, r);
        }
        Ok(e)
    }

    fn parse_and(&mut self, t: &[Tok], pos: &mut usize, loc: &Loc) -> Result<Expr> {
        let mut e = self.parse_not(t, pos, loc)?;
        while t.get(*pos) == Some(&Tok::Op(Op::And)) {
            *pos += 1;
            let r = self.parse_not(t, pos, loc)?;
            e = Expr::and(e, r);
        }
        Ok(e)
    }

    fn parse_not(&mut self, t: &[Tok], pos: &mut usize, loc: &Loc) -> Result<Expr> {
        match t.get(*pos) {
            Some(Tok::Op(Op::Not)) => {
                *pos += 1;
                Ok(Expr::not(self.parse_not(t, pos, loc)?))
            }
            Some(Tok::Op(Op::LParen)) => {
                *pos += 1;
                let e = self.parse_or(t, pos, loc)?;
                if t.get(*pos) != Some(&Tok::Op(Op::RParen)) {
                    return Err(Error::syntax_hint(
                        loc,
                        "missing ')' in expression",
                        "balance the parentheses",
                    ));
                }
                *pos += 1;
                Ok(e)
            }
            _ => {
                let a = self.atom(t, pos, loc)?;
                let op = match t.get(*pos) {
                    Some(Tok::Op(Op::Eq)) => CmpOp::Eq,
                    Some(Tok::Op(Op::Ne)) => CmpOp::Ne,
                    Some(Tok::Op(Op::Lt)) => CmpOp::Lt,
                    Some(Tok::Op(Op::Le)) => CmpOp::Le,
                    Some(Tok::Op(Op::Gt)) => CmpOp::Gt,
                    Some(Tok::Op(Op::Ge)) => CmpOp::Ge,
                    _ => return Ok(Expr::Sym(a)),
                };
                *pos += 1;
                let b = self.atom(t, pos, loc)?;
                Ok(Expr::Cmp(op, a, b))
            }
        }
    }

    fn atom(&mut self, t: &[Tok], pos: &mut usize, loc: &Loc) -> Result<SymId> {
        match t.get(*pos) {
            Some(Tok::Word(w)) => {
                *pos += 1;
                Ok(self.word_sym(w))
            }
            Some(Tok::Str(s)) => {
                *pos += 1;
                Ok(self.tree.constant(s))
            }
            Some(other) => Err(Error::syntax_hint(
                loc,
                format!("unexpected {} in expression", describe(other)),
                "expected a symbol, a \"string\" or '('",
            )),
            None => Err(Error::syntax_hint(
                loc,
                "expression ends too early",
                "complete the expression",
            )),
        }
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Word(w) => format!("'{w}'"),
        Tok::Str(s) => format!("\"{s}\""),
        Tok::Op(o) => format!(
            "'{}'",
            match o {
                Op::And => "&&",
                Op::Or => "||",
                Op::Not => "!",
                Op::Eq => "=",
                Op::Ne => "!=",
                Op::Lt => "<",
                Op::Le => "<=",
                Op::Gt => ">",
                Op::Ge => ">=",
                Op::LParen => "(",
                Op::RParen => ")",
            }
        ),
    }
}

fn display_path(base: &Path, p: &Path) -> String {
    p.strip_prefix(base)
        .map(|r| r.display().to_string())
        .unwrap_or_else(|_| p.display().to_string())
}

/// `NAME = value`, `NAME := value` or `NAME += value` at the start of a line.
fn split_assignment(line: &str) -> Option<(&str, Flavor, &str)> {
    let end = line
        .find(|c: char| {
            !(c.is_ascii_alphanumeric()
                || c == '_'
                || c == '-'
                || c == '$'
                || c == '('
                || c == ')'
                || c == ',')
        })
        .unwrap_or(line.len());
    let name = &line[..end];
    if name.is_empty() || KEYWORDS.contains(&name) {
        return None;
    }
    let rest = line[end..].trim_start_matches([' ', '\t']);
    let (flavor, value) = if let Some(v) = rest.strip_prefix(":=") {
        (Flavor::Simple, v)
    } else if let Some(v) = rest.strip_prefix("+=") {
        (Flavor::Append, v)
    } else if let Some(v) = rest.strip_prefix('=') {
        (Flavor::Recursive, v)
    } else {
        return None;
    };
    Some((name, flavor, value.trim_start_matches([' ', '\t'])))
}

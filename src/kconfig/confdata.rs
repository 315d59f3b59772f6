//! Reading and writing `.config` and defconfig files, byte-compatible with
//! kconfig: same order, same `# X is not set` lines, same quoting, same
//! menu comments.

use std::io::Write;
use std::path::Path;

use super::error::{Error, Loc, Result, Warning};
use super::eval::{string_valid, Config};
use super::expr::Expr;
use super::tree::{MenuId, MenuKind, SymId, SymType, ROOT_MENU};
use super::tri::Tri;

/// Quotes a string value the way kconfig writes it.
pub fn escape_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Result of reading a configuration file.
#[derive(Debug, Default, Clone)]
pub struct ReadReport {
    /// Symbols whose saved value differs from what they compute to now, or
    /// that are new (kconfig's `conf_unsaved`).
    pub unsaved: usize,
}

impl Config {
    fn conf_warn(&mut self, loc: Loc, msg: String) {
        self.warnings.push(Warning {
            loc: Some(loc),
            msg,
        });
    }

    /// Reads user values from a file (kconfig's `conf_read_simple`). As in
    /// kconfig, the file replaces every user value held so far.
    pub fn read_simple(&mut self, path: &Path) -> Result<()> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let text = String::from_utf8_lossy(&bytes);
        self.read_simple_str(&text, &path.display().to_string());
        Ok(())
    }

    /// Like [`Config::read_simple`], from text; `name` is used in warnings.
    pub fn read_simple_str(&mut self, text: &str, name: &str) {
        let tree = self.tree.clone();
        let file: std::sync::Arc<str> = std::sync::Arc::from(name);
        let prefix = self.prefix.clone();
        // conf_read_simple starts from scratch, and marks every choice as
        // having a user value (n until one of its values says otherwise):
        // a choice none of whose values is set stays n when optional.
        for (id, s) in tree.syms.iter().enumerate() {
            let st = &mut self.st[id];
            st.user_set = s.is_choice;
            st.user_tri = Tri::No;
            st.user_val.clear();
            st.user_choice = None;
            st.valid = false;
        }
        for (i, raw) in text.split('\n').enumerate() {
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            let loc = Loc {
                file: file.clone(),
                line: i as u32 + 1,
            };
            let sym;
            if let Some(rest) = line.strip_prefix('#') {
                // "# PREFIXNAME is not set"
                let Some(rest) = rest.strip_prefix(' ') else {
                    continue;
                };
                let Some(rest) = rest.strip_prefix(prefix.as_str()) else {
                    continue;
                };
                let Some(sp) = rest.find(' ') else { continue };
                let (name, tail) = (&rest[..sp], &rest[sp + 1..]);
                if !tail.starts_with("is not set") {
                    continue;
                }
                let Some(id) = tree.find(name) else {
                    continue;
                };
                if self.st[id].user_set {
                    self.conf_warn(
                        loc.clone(),
                        format!("override: reassigning to symbol {name}"),
                    );
                }
                if tree.syms[id].ty.is_bool_like() {
                    self.st[id].user_tri = Tri::No;
                    self.st[id].user_set = true;
                }
                sym = id;
            } else if let Some(rest) = line.strip_prefix(prefix.as_str()) {
                let Some(eq) = rest.find('=') else {
                    if !line.is_empty() {
                        self.conf_warn(loc, format!("unexpected data: {line}"));
                    }
                    continue;
                };
                let (name, value) = (&rest[..eq], &rest[eq + 1..]);
                let Some(id) = tree.find(name) else {
                    if !name.is_empty() {
                        self.conf_warn(loc, format!("unknown symbol: {name}"));
                    }
                    continue;
                };
                if self.st[id].user_set {
                    self.conf_warn(
                        loc.clone(),
                        format!("override: reassigning to symbol {name}"),
                    );
                }
                if !self.set_sym_val(id, value, &loc) {
                    continue;
                }
                sym = id;
            } else {
                if !line.is_empty() {
                    self.conf_warn(loc, format!("unexpected data: {line}"));
                }
                continue;
            }
            if let Some(cs) = tree.syms[sym].choice {
                match self.st[sym].user_tri {
                    Tri::No => {}
                    Tri::Mod => {
                        if self.st[cs].user_tri == Tri::Yes {
                            let n = tree.syms[sym].name.clone();
                            self.conf_warn(
                                loc.clone(),
                                format!("{n} creates inconsistent choice state"),
                            );
                            self.st[cs].user_set = false;
                        }
                    }
                    Tri::Yes => {
                        if self.st[cs].user_tri != Tri::No {
                            let n = tree.syms[sym].name.clone();
                            self.conf_warn(
                                loc.clone(),
                                format!("override: {n} changes choice state"),
                            );
                        }
                        self.st[cs].user_choice = Some(sym);
                    }
                }
                let t = self.st[cs].user_tri.or(self.st[sym].user_tri);
                self.st[cs].user_tri = t;
            }
        }
        self.invalidate();
    }

    /// kconfig's `conf_set_sym_val`; false when the value was rejected.
    fn set_sym_val(&mut self, id: SymId, p: &str, loc: &Loc) -> bool {
        let tree = self.tree.clone();
        let ty = tree.syms[id].ty;
        let name = &tree.syms[id].name;
        match ty {
            SymType::Bool | SymType::Tristate => {
                let t = match p.as_bytes().first() {
                    Some(b'm') if ty == SymType::Tristate => Some(Tri::Mod),
                    Some(b'y') => Some(Tri::Yes),
                    Some(b'n') => Some(Tri::No),
                    _ => None,
                };
                match t {
                    Some(t) => {
                        self.st[id].user_tri = t;
                        self.st[id].user_set = true;
                        true
                    }
                    None => {
                        self.conf_warn(
                            loc.clone(),
                            format!("symbol value '{p}' invalid for {name}"),
                        );
                        false
                    }
                }
            }
            SymType::String => {
                let Some(body) = p.strip_prefix('"') else {
                    // kconfig silently ignores an unquoted string value.
                    return true;
                };
                let mut out = String::new();
                let mut chars = body.chars();
                let mut closed = false;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\\' => {
                            if let Some(n) = chars.next() {
                                out.push(n);
                            }
                        }
                        c => out.push(c),
                    }
                }
                if !closed {
                    self.conf_warn(loc.clone(), "invalid string found".into());
                    return false;
                }
                self.st[id].user_val = out;
                self.st[id].user_set = true;
                true
            }
            SymType::Int | SymType::Hex => {
                if string_valid(ty, p) {
                    self.st[id].user_val = p.to_string();
                    self.st[id].user_set = true;
                    true
                } else {
                    self.conf_warn(
                        loc.clone(),
                        format!("symbol value '{p}' invalid for {name}"),
                    );
                    false
                }
            }
            SymType::Unknown => true,
        }
    }

    /// Reads a configuration as kconfig's `conf_read`: user values, then the
    /// checks that decide whether the file is up to date.
    pub fn read(&mut self, path: &Path) -> Result<ReadReport> {
        self.read_simple(path)?;
        Ok(self.after_read())
    }

    /// The part of `conf_read` that runs after the values are loaded.
    pub fn after_read(&mut self) -> ReadReport {
        let tree = self.tree.clone();
        let mut unsaved = 0;
        for id in 0..tree.syms.len() {
            let s = &tree.syms[id];
            if s.is_const {
                continue;
            }
            self.calc(id);
            if s.is_choice || s.no_write {
                continue;
            }
            let has = self.st[id].user_set;
            let write = self.st[id].write;
            if has && write {
                let same = match s.ty {
                    SymType::Bool | SymType::Tristate => {
                        self.st[id].user_tri == self.st[id].curr_tri
                    }
                    _ => self.st[id].curr_val == self.st[id].user_val,
                };
                if same {
                    continue;
                }
            } else if !has && !write {
                continue;
            }
            unsaved += 1;
        }
        for id in 0..tree.syms.len() {
            let s = &tree.syms[id];
            if s.is_const || !self.st[id].user_set || s.choice.is_some() {
                continue;
            }
            if self.st[id].visible == Tri::No && unsaved == 0 && !s.transitional {
                self.st[id].user_set = false;
            }
            if matches!(s.ty, SymType::String | SymType::Int | SymType::Hex) {
                let v = self.st[id].user_val.clone();
                if !self.string_within_range(id, &v) {
                    self.st[id].user_set = false;
                    self.st[id].valid = false;
                    unsaved += 1;
                }
            }
        }
        // kconfig keeps the values computed above: they are what conf_write
        // writes. That matters where computing has a side effect, e.g. a y
        // choice with a visible value lacking a user value loses its own
        // user value while keeping the y computed from it. Only a symbol
        // whose out-of-range value was dropped is computed again (above);
        // symbols already computed from its old value keep theirs, as in
        // kconfig (whose next olddefconfig then changes them).
        self.adopt_transitional_values();
        ReadReport { unsaved }
    }

    /// Linux >= 6.18: a symbol without a user value whose active default is
    /// a transitional symbol with a value read from the file takes that
    /// value as its own, so oldconfig does not ask for it again.
    fn adopt_transitional_values(&mut self) {
        let tree = self.tree.clone();
        if !tree.syms.iter().any(|s| s.transitional) {
            return;
        }
        let mut adopt = Vec::new();
        for id in 0..tree.syms.len() {
            let s = &tree.syms[id];
            if s.is_const || s.transitional || s.choice.is_some() || self.st[id].user_set {
                continue;
            }
            let from = s
                .defaults
                .iter()
                .find_map(|d| (self.eval_opt(&d.visible) != Tri::No).then_some(&d.value));
            if let Some(Expr::Sym(t)) = from {
                if tree.syms[*t].transitional && self.st[*t].user_set {
                    adopt.push(id);
                }
            }
        }
        for id in adopt {
            self.calc(id);
            let st = &mut self.st[id];
            st.user_tri = st.curr_tri;
            st.user_val = st.curr_val.clone();
            st.user_set = true;
        }
        self.invalidate();
    }

    /// The `.config` line of a symbol, or `None` when it writes nothing.
    fn symbol_line(&mut self, id: SymId) -> String {
        let tree = self.tree.clone();
        let s = &tree.syms[id];
        let val = self.string_value(id);
        match s.ty {
            SymType::Bool | SymType::Tristate if val == "n" => {
                format!("# {}{} is not set\n", self.prefix, s.name)
            }
            SymType::String => format!("{}{}={}\n", self.prefix, s.name, escape_string(&val)),
            _ => format!("{}{}={}\n", self.prefix, s.name, val),
        }
    }

    /// The files kconfig tries when there is no configuration file yet, in
    /// order: the defaults of the `option defconfig_list` symbol (kconfig
    /// <= 4.17) whose condition holds, with `$SYMBOL` references expanded;
    /// without such a symbol, the words of `$KCONFIG_DEFCONFIG_LIST`
    /// (kconfig >= 5.15).
    pub fn default_config_names(&mut self) -> Vec<String> {
        let tree = self.tree.clone();
        let Some(list) = tree.defconfig_list else {
            return std::env::var("KCONFIG_DEFCONFIG_LIST")
                .map(|v| v.split_whitespace().map(String::from).collect())
                .unwrap_or_default();
        };
        let mut out = Vec::new();
        for d in &tree.syms[list].defaults {
            if self.eval_opt(&d.visible) == Tri::No {
                continue;
            }
            if let Expr::Sym(v) = d.value {
                out.push(self.expand_symbol_refs(&tree.syms[v].name));
            }
        }
        out
    }

    /// kconfig's `conf_expand_value`: `$NAME` becomes the value of symbol
    /// NAME (an undefined symbol's value is its name).
    fn expand_symbol_refs(&mut self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(pos) = rest.find('$') {
            out.push_str(&rest[..pos]);
            let after = &rest[pos + 1..];
            let len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            let name = &after[..len];
            match self.tree.find(name) {
                Some(id) => out.push_str(&self.string_value(id)),
                None => out.push_str(name),
            }
            rest = &after[len..];
        }
        out.push_str(rest);
        out
    }

    /// The header comment kconfig puts at the top of `.config`.
    pub fn header(&self) -> String {
        format!(
            "#\n# Automatically generated file; DO NOT EDIT.\n# {}\n#\n",
            self.title()
        )
    }

    /// The tree's title with `$VAR` references of a kconfig <= 4.17 tree expanded.
    pub fn title(&self) -> String {
        let t = self.tree.title();
        if !self.tree.legacy || !t.contains('$') {
            return t.to_string();
        }
        let mut c = self.clone();
        let mut out = String::new();
        let mut chars = t.chars().peekable();
        while let Some(ch) = chars.next() {
            if ch != '$' {
                out.push(ch);
                continue;
            }
            let mut name = String::new();
            while let Some(&n) = chars.peek() {
                if n.is_ascii_alphanumeric() || n == '_' {
                    name.push(n);
                    chars.next();
                } else {
                    break;
                }
            }
            if let Some(id) = c.tree.find(&name) {
                out.push_str(&c.string_value(id));
            }
        }
        out
    }

    /// The full `.config` text (kconfig's `conf_write`).
    pub fn dotconfig(&mut self) -> String {
        let mut out = self.header();
        let tree = self.tree.clone();
        let mut written = vec![false; tree.syms.len()];
        let mut need_newline = false;
        let end_of = !tree.legacy;
        self.write_menu(ROOT_MENU, &mut out, &mut written, &mut need_newline, end_of);
        out
    }

    fn write_menu(
        &mut self,
        m: MenuId,
        out: &mut String,
        written: &mut [bool],
        need_newline: &mut bool,
        end_of: bool,
    ) {
        let tree = self.tree.clone();
        for &c in &tree.menus[m].children {
            let node = &tree.menus[c];
            match node.kind {
                MenuKind::Symbol(s) => {
                    if !written[s] {
                        self.calc(s);
                        if self.st[s].write {
                            if *need_newline {
                                out.push('\n');
                                *need_newline = false;
                            }
                            written[s] = true;
                            out.push_str(&self.symbol_line(s));
                        }
                    }
                }
                MenuKind::Choice(_) => {}
                MenuKind::Menu | MenuKind::Comment | MenuKind::If | MenuKind::Root => {
                    if self.menu_visible(c) {
                        if let Some(p) = &node.prompt {
                            out.push_str(&format!("\n#\n# {}\n#\n", p.text));
                            *need_newline = false;
                        }
                    }
                }
            }
            if !node.children.is_empty() {
                self.write_menu(c, out, written, need_newline, end_of);
            }
            if end_of && node.kind == MenuKind::Menu && self.menu_visible(c) {
                if let Some(p) = &node.prompt {
                    out.push_str(&format!("# end of {}\n", p.text));
                    *need_newline = true;
                }
            }
        }
    }

    /// The minimal configuration (kconfig's `conf_write_defconfig`).
    pub fn savedefconfig(&mut self) -> String {
        self.invalidate();
        let tree = self.tree.clone();
        let mut out = String::new();
        let mut written = vec![false; tree.syms.len()];
        for m in tree.walk() {
            let MenuKind::Symbol(s) = tree.menus[m].kind else {
                continue;
            };
            if written[s] {
                continue;
            }
            self.calc(s);
            if !self.st[s].write {
                continue;
            }
            written[s] = true;
            if !self.is_changeable(s) {
                continue;
            }
            if self.string_value(s) == self.default_string(s) {
                continue;
            }
            if let Some(cs) = tree.syms[s].choice {
                let ds = self.choice_default(cs);
                if !tree.syms[cs].optional
                    && ds == Some(s)
                    && tree.syms[s].ty == SymType::Bool
                    && self.tri(s) == Tri::Yes
                {
                    continue;
                }
            }
            out.push_str(&self.symbol_line(s));
        }
        out
    }

    /// Writes `.config` to `path` atomically; the previous file is kept as `<path>.old`.
    pub fn write_config(&mut self, path: &Path) -> Result<()> {
        let text = self.dotconfig();
        write_atomic(path, text.as_bytes(), true)
    }

    /// Writes the minimal configuration to `path` atomically.
    pub fn write_defconfig(&mut self, path: &Path) -> Result<()> {
        let text = self.savedefconfig();
        write_atomic(path, text.as_bytes(), false)
    }
}

/// Writes a file through a temporary name in the same directory and a rename.
pub fn write_atomic(path: &Path, data: &[u8], keep_old: bool) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config".into());
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    let res = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        Ok(())
    })();
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(&tmp, e));
    }
    if keep_old && path.exists() {
        let old = dir.join(format!("{name}.old"));
        let _ = std::fs::copy(path, old);
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

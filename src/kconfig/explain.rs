//! Read-only reports for front ends: what a help screen says about an entry
//! (type, value, where it is defined, what it depends on with the current
//! value of every term, what selects or implies it, its range and defaults),
//! and why a symbol cannot take the value the user asked for, with what to
//! change so that it can.

use std::collections::HashSet;

use super::eval::Config;
use super::expr::{CmpOp, Expr};
use super::tree::{MenuId, MenuKind, SymId, SymType, Tree};
use super::tri::Tri;

/// What a report line is: a heading, plain text, a condition that holds or
/// does not hold, or a suggestion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Heading,
    Text,
    Met,
    Unmet,
    Hint,
}

/// One line of a [`Report`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportLine {
    pub indent: u16,
    pub text: String,
    pub tone: Tone,
    /// The symbol the line is about, for front ends that can jump to it.
    pub sym: Option<SymId>,
}

/// A report: lines of text with a tone each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub lines: Vec<ReportLine>,
}

impl Report {
    fn push(&mut self, indent: u16, tone: Tone, text: impl Into<String>, sym: Option<SymId>) {
        self.lines.push(ReportLine {
            indent,
            text: text.into(),
            tone,
            sym,
        });
    }

    /// The report as plain text, two spaces per indent level.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for l in &self.lines {
            for _ in 0..l.indent {
                out.push_str("  ");
            }
            out.push_str(&l.text);
            out.push('\n');
        }
        out
    }
}

/// How deep [`why_not`] follows the dependencies of dependencies.
const MAX_DEPTH: usize = 4;

fn tri_word(t: Tri) -> &'static str {
    t.as_str()
}

/// Prints an expression as kconfig's help does, each symbol followed by its
/// current value: `A [=y] && (B [=n] || C="x" [=y])`.
pub fn expr_with_values(cfg: &mut Config, e: &Expr) -> String {
    fn prec(e: &Expr) -> u8 {
        match e {
            Expr::Or(..) => 1,
            Expr::And(..) => 2,
            Expr::Not(..) => 3,
            Expr::Cmp(..) | Expr::Sym(..) => 4,
        }
    }
    fn sym_text(cfg: &mut Config, tree: &Tree, s: SymId) -> String {
        let name = tree.sym_display_name(s);
        if tree.syms[s].is_const {
            name
        } else {
            format!("{name} [={}]", cfg.string_value(s))
        }
    }
    fn go(cfg: &mut Config, tree: &Tree, e: &Expr, parent: u8, out: &mut String) {
        let p = prec(e);
        if p < parent {
            out.push('(');
        }
        match e {
            Expr::Sym(s) => out.push_str(&sym_text(cfg, tree, *s)),
            Expr::Not(inner) => {
                out.push('!');
                go(cfg, tree, inner, 3, out);
            }
            Expr::And(a, b) => {
                go(cfg, tree, a, 2, out);
                out.push_str(" && ");
                go(cfg, tree, b, 2, out);
            }
            Expr::Or(a, b) => {
                go(cfg, tree, a, 1, out);
                out.push_str(" || ");
                go(cfg, tree, b, 1, out);
            }
            Expr::Cmp(op, a, b) => {
                out.push_str(&tree.sym_display_name(*a));
                out.push_str(op.as_str());
                out.push_str(&tree.sym_display_name(*b));
                let mut vals = Vec::new();
                for s in [*a, *b] {
                    if !tree.syms[s].is_const {
                        let v = cfg.string_value(s);
                        let v = if tree.syms[s].ty == SymType::String {
                            format!("\"{v}\"")
                        } else {
                            v
                        };
                        vals.push(format!("{}={v}", tree.syms[s].name));
                    }
                }
                if !vals.is_empty() {
                    out.push_str(&format!(" [{}]", vals.join(", ")));
                }
            }
        }
        if p < parent {
            out.push(')');
        }
    }
    let tree = cfg.tree_arc();
    let mut out = String::new();
    go(cfg, &tree, e, 0, &mut out);
    out
}

/// Where a menu entry is: `Target options > Toolchain > Prompt`.
pub fn location(tree: &Tree, menu: MenuId) -> String {
    let mut parts: Vec<&str> = tree.menu_path(menu);
    if let Some(p) = &tree.menus[menu].prompt {
        parts.push(p.text.as_str());
    }
    if parts.is_empty() {
        "(main menu)".to_string()
    } else {
        parts.join(" > ")
    }
}

/// The first menu entry of a symbol that has a prompt, else its first entry.
pub fn main_menu_of(tree: &Tree, sym: SymId) -> Option<MenuId> {
    let menus = &tree.syms[sym].menus;
    menus
        .iter()
        .copied()
        .find(|&m| tree.menus[m].prompt.is_some())
        .or_else(|| menus.first().copied())
}

/// True when the user can give `sym` the value `want` right now.
pub fn can_set(cfg: &mut Config, sym: SymId, want: Tri) -> bool {
    cfg.tri(sym) == want || cfg.tri_within_range(sym, want)
}

/// Explains why `sym` cannot be set to `want` (a bool or tristate symbol),
/// and what the user could change so that it can. `None` when it can.
pub fn why_not(cfg: &mut Config, sym: SymId, want: Tri) -> Option<Report> {
    let tree = cfg.tree_arc();
    let s = &tree.syms[sym];
    if !s.ty.is_bool_like() {
        if s.ty == SymType::Unknown || cfg.visibility(sym) != Tri::No {
            return None;
        }
    } else if can_set(cfg, sym, want) {
        return None;
    }
    let mut ex = Explainer {
        cfg,
        tree: &tree,
        out: Report::default(),
        visited: HashSet::new(),
    };
    ex.visited.insert(sym);
    let name = tree.sym_display_name(sym);
    let cur = ex.cfg.tri(sym);
    if !s.ty.is_bool_like() {
        ex.out.push(
            0,
            Tone::Heading,
            format!("{name} cannot be changed:"),
            Some(sym),
        );
        ex.explain_enable(sym, Tri::Yes, 1, 0);
    } else if want > cur || ex.cfg.visibility(sym) == Tri::No {
        ex.out.push(
            0,
            Tone::Heading,
            format!(
                "{name} cannot be set to {} (it is {}):",
                tri_word(want),
                tri_word(cur)
            ),
            Some(sym),
        );
        ex.explain_enable(sym, want, 1, 0);
    } else {
        ex.out.push(
            0,
            Tone::Heading,
            format!(
                "{name} cannot be set to {} (it is {}):",
                tri_word(want),
                tri_word(cur)
            ),
            Some(sym),
        );
        ex.explain_forced(sym, want, 1, 0);
    }
    if ex.out.lines.len() == 1 {
        ex.out.push(
            1,
            Tone::Text,
            "its current dependencies allow only the value it has",
            None,
        );
    }
    Some(ex.out)
}

/// The gist of [`why_not`] in one line (for a status bar): the first unmet
/// condition that has a suggestion, and the suggestion.
pub fn why_not_short(cfg: &mut Config, sym: SymId, want: Tri) -> Option<String> {
    let r = why_not(cfg, sym, want)?;
    let body = r.lines.get(1..).unwrap_or(&[]);
    if let Some(h) = body.iter().position(|l| l.tone == Tone::Hint) {
        let hint = body[h].text.trim_start_matches("-> ");
        let unmet = body[..h].iter().rev().find(|l| l.tone == Tone::Unmet);
        return Some(match unmet {
            Some(u) => format!("{}; {hint}", u.text),
            None => hint.to_string(),
        });
    }
    body.iter()
        .find(|l| l.tone == Tone::Unmet)
        .or_else(|| body.first())
        .map(|l| l.text.clone())
}

struct Explainer<'a> {
    cfg: &'a mut Config,
    tree: &'a Tree,
    out: Report,
    visited: HashSet<SymId>,
}

impl Explainer<'_> {
    fn where_is(&self, sym: SymId) -> String {
        match main_menu_of(self.tree, sym) {
            Some(m) => location(self.tree, m),
            None => "(no menu entry)".into(),
        }
    }

    /// `sym` must reach `want` but its prompt is not visible enough.
    fn explain_enable(&mut self, sym: SymId, want: Tri, indent: u16, depth: usize) {
        let tree = self.tree;
        let s = &tree.syms[sym];
        let prompts: Vec<MenuId> = s
            .menus
            .iter()
            .copied()
            .filter(|&m| tree.menus[m].prompt.is_some())
            .collect();
        if prompts.is_empty() {
            self.out.push(
                indent,
                Tone::Unmet,
                format!(
                    "{} has no prompt: only its defaults and the symbols that select it set it",
                    s.name
                ),
                Some(sym),
            );
            self.explain_selectors(sym, want, indent + 1, depth);
            return;
        }
        if let Some(cs) = s.choice {
            if self.cfg.tri(cs) == Tri::Mod && want == Tri::Yes {
                self.out.push(
                    indent,
                    Tone::Unmet,
                    "its choice is set to m: choice values can then only be m or n",
                    None,
                );
            }
        }
        if want == Tri::Mod && self.cfg.effective_type(sym) == SymType::Bool {
            let why = if s.ty == SymType::Tristate {
                "modules are not enabled, so tristates act as bool"
            } else {
                "it is a bool: only y or n"
            };
            self.out.push(indent, Tone::Unmet, why, None);
            return;
        }
        let mut any = false;
        for m in prompts {
            let Some(p) = &tree.menus[m].prompt else {
                continue;
            };
            let Some(vis) = &p.visible else {
                continue;
            };
            let v = self.cfg.eval(vis);
            if v >= want {
                continue;
            }
            any = true;
            let text = expr_with_values(self.cfg, vis);
            self.out.push(
                indent,
                Tone::Unmet,
                format!("depends on {text}  => {}", tri_word(v)),
                Some(sym),
            );
            self.explain_expr(vis, want, indent + 1, depth);
        }
        if !any {
            let rev = self.cfg.rev_dep(sym);
            if rev >= self.cfg.visibility(sym) && rev != Tri::No {
                self.out.push(
                    indent,
                    Tone::Text,
                    format!("it is forced to {} by select", tri_word(rev)),
                    None,
                );
                self.explain_forced(sym, want, indent, depth);
            }
        }
    }

    /// Lists what could select `sym`, for a symbol without a prompt.
    fn explain_selectors(&mut self, sym: SymId, want: Tri, indent: u16, depth: usize) {
        let tree = self.tree;
        let s = &tree.syms[sym];
        let Some(rev) = &s.rev_dep else {
            self.out.push(
                indent,
                Tone::Text,
                "nothing selects it; only its defaults apply",
                None,
            );
            return;
        };
        self.out
            .push(indent, Tone::Text, "selected by one of:", None);
        for t in rev.or_terms() {
            let text = expr_with_values(self.cfg, t);
            let v = self.cfg.eval(t);
            let tone = if v >= want { Tone::Met } else { Tone::Unmet };
            let first = first_sym(tree, t);
            self.out.push(indent + 1, tone, text, first);
            if v < want {
                self.explain_expr(t, want, indent + 2, depth + 1);
            }
        }
    }

    /// `sym` cannot go down to `want` because something selects it.
    fn explain_forced(&mut self, sym: SymId, want: Tri, indent: u16, depth: usize) {
        let tree = self.tree;
        let s = &tree.syms[sym];
        let Some(rev) = &s.rev_dep else {
            return;
        };
        for t in rev.or_terms() {
            let v = self.cfg.eval(t);
            if v <= want {
                continue;
            }
            let text = expr_with_values(self.cfg, t);
            let sel = first_sym(tree, t);
            self.out.push(
                indent,
                Tone::Unmet,
                format!("selected by {text}  => {}", tri_word(v)),
                sel,
            );
            if let Some(x) = sel {
                self.suggest_disable(x, want, indent + 1, depth);
            }
        }
    }

    fn suggest_disable(&mut self, x: SymId, want: Tri, indent: u16, depth: usize) {
        let name = self.tree.syms[x].name.clone();
        if can_set(self.cfg, x, want) {
            let loc = self.where_is(x);
            self.out.push(
                indent,
                Tone::Hint,
                format!("-> set {name} to {} ({loc})", tri_word(want)),
                Some(x),
            );
        } else if depth < MAX_DEPTH && self.visited.insert(x) {
            self.explain_forced(x, want, indent, depth + 1);
            let vis = self.cfg.visibility(x);
            if vis > want && self.cfg.rev_dep(x) <= want {
                // Changeable in principle; nothing more to say.
            } else if vis == Tri::No && self.cfg.rev_dep(x) == Tri::No {
                self.out.push(
                    indent,
                    Tone::Text,
                    format!("{name} has no visible prompt: it follows its default"),
                    Some(x),
                );
            }
        }
    }

    fn suggest_enable(&mut self, x: SymId, want: Tri, indent: u16, depth: usize) {
        let name = self.tree.syms[x].name.clone();
        if !self.tree.syms[x].ty.is_bool_like() {
            return;
        }
        if can_set(self.cfg, x, want) {
            let loc = self.where_is(x);
            self.out.push(
                indent,
                Tone::Hint,
                format!("-> set {name} to {} ({loc})", tri_word(want)),
                Some(x),
            );
        } else if depth < MAX_DEPTH && self.visited.insert(x) {
            self.explain_enable(x, want, indent, depth + 1);
        } else if depth >= MAX_DEPTH {
            self.out.push(
                indent,
                Tone::Text,
                format!("(see the help of {name} for more)"),
                Some(x),
            );
        }
    }

    /// `e` evaluates below `want`: say which parts fail and what would fix them.
    fn explain_expr(&mut self, e: &Expr, want: Tri, indent: u16, depth: usize) {
        let tree = self.tree;
        match e {
            Expr::And(..) => {
                for t in e.and_terms() {
                    if self.cfg.eval(t) < want {
                        let text = expr_with_values(self.cfg, t);
                        if !matches!(t, Expr::Or(..)) {
                            self.out.push(indent, Tone::Unmet, text, first_sym(tree, t));
                        } else {
                            self.out
                                .push(indent, Tone::Unmet, format!("one of: {text}"), None);
                        }
                        self.explain_term(t, want, indent + 1, depth);
                    }
                }
            }
            _ => self.explain_term(e, want, indent, depth),
        }
    }

    fn explain_term(&mut self, t: &Expr, want: Tri, indent: u16, depth: usize) {
        let tree = self.tree;
        match t {
            Expr::Sym(s) if tree.syms[*s].is_const => {
                self.out.push(
                    indent,
                    Tone::Text,
                    format!(
                        "'{}' is a constant: this can never hold",
                        tree.syms[*s].name
                    ),
                    None,
                );
            }
            Expr::Sym(s) => self.suggest_enable(*s, want, indent, depth),
            Expr::Not(inner) => match inner.as_ref() {
                Expr::Sym(s) if !tree.syms[*s].is_const => {
                    self.suggest_disable(*s, want.not(), indent, depth);
                }
                Expr::Cmp(op, a, b) => {
                    let neg = match op {
                        CmpOp::Eq => CmpOp::Ne,
                        CmpOp::Ne => CmpOp::Eq,
                        CmpOp::Lt => CmpOp::Ge,
                        CmpOp::Le => CmpOp::Gt,
                        CmpOp::Gt => CmpOp::Le,
                        CmpOp::Ge => CmpOp::Lt,
                    };
                    self.explain_cmp(neg, *a, *b, want, indent, depth);
                }
                _ => {}
            },
            Expr::Or(..) => {
                for alt in t.or_terms() {
                    let text = expr_with_values(self.cfg, alt);
                    self.out
                        .push(indent, Tone::Unmet, text, first_sym(tree, alt));
                    self.explain_term(alt, want, indent + 1, depth + 1);
                }
            }
            Expr::And(..) => self.explain_expr(t, want, indent, depth),
            Expr::Cmp(op, a, b) => self.explain_cmp(*op, *a, *b, want, indent, depth),
        }
    }

    fn explain_cmp(&mut self, op: CmpOp, a: SymId, b: SymId, want: Tri, indent: u16, depth: usize) {
        let tree = self.tree;
        let (var, konst) = match (tree.syms[a].is_const, tree.syms[b].is_const) {
            (false, true) => (a, b),
            (true, false) => (b, a),
            _ => return,
        };
        let name = tree.syms[var].name.clone();
        let target = tree.sym_display_name(konst);
        if tree.syms[var].ty.is_bool_like() {
            let letter = &tree.syms[konst].name;
            if let Some(t) = Tri::parse(letter).filter(|_| letter.len() == 1) {
                match op {
                    CmpOp::Eq => {
                        if t == Tri::No {
                            self.suggest_disable(var, Tri::No, indent, depth);
                        } else {
                            self.suggest_enable(var, t, indent, depth);
                        }
                    }
                    CmpOp::Ne if t == Tri::No => self.suggest_enable(var, want, indent, depth),
                    _ => {}
                }
                return;
            }
        }
        let loc = self.where_is(var);
        let what = match op {
            CmpOp::Eq => format!("-> set {name} to {target} ({loc})"),
            CmpOp::Ne => format!("-> set {name} to something other than {target} ({loc})"),
            other => format!("-> make {name} {} {target} ({loc})", other.as_str()),
        };
        if self.cfg.visibility(var) != Tri::No {
            self.out.push(indent, Tone::Hint, what, Some(var));
        } else if depth < MAX_DEPTH && self.visited.insert(var) {
            self.out.push(
                indent,
                Tone::Text,
                format!("{name} cannot be changed now:"),
                Some(var),
            );
            self.explain_enable(var, Tri::Yes, indent + 1, depth + 1);
        }
    }
}

/// The first non-constant symbol of an expression.
fn first_sym(tree: &Tree, e: &Expr) -> Option<SymId> {
    let mut found = None;
    e.for_each_sym(&mut |s| {
        if found.is_none() && !tree.syms[s].is_const {
            found = Some(s);
        }
    });
    found
}

/// Everything a help screen shows about one menu entry.
pub fn help_report(cfg: &mut Config, menu: MenuId) -> Report {
    let tree = cfg.tree_arc();
    let node = &tree.menus[menu];
    let mut r = Report::default();
    let sym = match node.kind {
        MenuKind::Symbol(s) | MenuKind::Choice(s) => Some(s),
        _ => None,
    };
    let kind_word = match node.kind {
        MenuKind::Menu => "Menu",
        MenuKind::Comment => "Comment",
        MenuKind::Choice(_) => "Choice",
        MenuKind::If => "If block",
        MenuKind::Root => "Main menu",
        MenuKind::Symbol(_) => "Symbol",
    };
    let prompt = node.prompt.as_ref().map(|p| p.text.clone());
    r.push(
        0,
        Tone::Heading,
        match (&prompt, sym) {
            (Some(p), _) => p.clone(),
            (None, Some(s)) => tree.sym_display_name(s),
            (None, None) => kind_word.to_string(),
        },
        sym,
    );
    r.push(0, Tone::Text, "", None);
    let help = node.help.clone().or_else(|| {
        sym.and_then(|s| {
            tree.syms[s]
                .menus
                .iter()
                .find_map(|&m| tree.menus[m].help.clone())
        })
    });
    match help {
        Some(h) => {
            for line in h.trim_end().lines() {
                r.push(0, Tone::Text, line, None);
            }
        }
        None => r.push(
            0,
            Tone::Text,
            "There is no help available for this option.",
            None,
        ),
    }
    r.push(0, Tone::Text, "", None);
    match sym {
        Some(s) if !tree.syms[s].is_choice => {
            let val = cfg.string_value(s);
            r.push(
                0,
                Tone::Text,
                format!("Symbol: {} [={}]", tree.syms[s].name, val),
                Some(s),
            );
            r.push(
                0,
                Tone::Text,
                format!("Type  : {}", tree.syms[s].ty.name()),
                None,
            );
            if let Some(cs) = tree.syms[s].choice {
                let cp = main_menu_of(&tree, cs)
                    .and_then(|m| tree.menus[m].prompt.as_ref())
                    .map(|p| p.text.clone())
                    .unwrap_or_else(|| "<choice>".into());
                r.push(0, Tone::Text, format!("Value of the choice \"{cp}\""), None);
            }
        }
        Some(cs) => {
            r.push(
                0,
                Tone::Text,
                format!("Choice of type {}", tree.syms[cs].ty.name()),
                None,
            );
            let sel = cfg.choice_selection(cs);
            for &v in &tree.syms[cs].choice_values {
                if cfg.visibility(v) == Tri::No {
                    continue;
                }
                let mark = if Some(v) == sel { "(X)" } else { "( )" };
                let p = tree.sym_prompt(v).unwrap_or("").to_string();
                r.push(
                    1,
                    Tone::Text,
                    format!("{mark} {p} ({})", tree.syms[v].name),
                    Some(v),
                );
            }
        }
        None => r.push(0, Tone::Text, kind_word, None),
    }
    // Definitions: for a symbol all its entries, else this node.
    let defs: Vec<MenuId> = match sym {
        Some(s) => tree.syms[s].menus.clone(),
        None => vec![menu],
    };
    for m in defs {
        let n = &tree.menus[m];
        if let Some(p) = &n.prompt {
            r.push(1, Tone::Text, format!("Prompt: {}", p.text), None);
        }
        r.push(1, Tone::Text, format!("Defined at {}", n.loc), None);
        if let Some(dep) = &n.dep {
            let v = cfg.eval(dep);
            let text = expr_with_values(cfg, dep);
            let tone = if v == Tri::No { Tone::Unmet } else { Tone::Met };
            r.push(2, tone, format!("Depends on: {text}  => {v}"), None);
            let terms = dep.and_terms();
            if terms.len() > 1 {
                for t in terms {
                    let tv = cfg.eval(t);
                    let text = expr_with_values(cfg, t);
                    let tone = if tv == Tri::No {
                        Tone::Unmet
                    } else {
                        Tone::Met
                    };
                    let mark = if tv == Tri::No { "[x]" } else { "[ok]" };
                    r.push(3, tone, format!("{mark} {text}"), first_sym(&tree, t));
                }
            }
        }
        if let Some(vis) = &n.visibility {
            let v = cfg.eval(vis);
            let text = expr_with_values(cfg, vis);
            let tone = if v == Tri::No { Tone::Unmet } else { Tone::Met };
            r.push(2, tone, format!("Visible if: {text}  => {v}"), None);
        }
        let path = tree.menu_path(m);
        r.push(2, Tone::Text, "Location:", None);
        let mut ind = 3;
        for p in path {
            r.push(ind, Tone::Text, format!("-> {p}"), None);
            ind += 1;
        }
        let here = match (&n.prompt, sym) {
            (Some(p), Some(s)) if !tree.syms[s].is_choice => {
                let v = cfg.string_value(s);
                format!("-> {} ({} [={v}])", p.text, tree.syms[s].name)
            }
            (Some(p), _) => format!("-> {}", p.text),
            (None, Some(s)) => format!("-> ({})", tree.sym_display_name(s)),
            (None, None) => "-> (here)".into(),
        };
        r.push(ind, Tone::Text, here, None);
    }
    if let Some(s) = sym {
        symbol_relations(cfg, &tree, s, &mut r);
        if !tree.syms[s].is_choice && tree.syms[s].ty.is_bool_like() {
            let cur = cfg.tri(s);
            let want = if cur == Tri::No { Tri::Yes } else { Tri::No };
            let want = if want == Tri::Yes
                && cfg.effective_type(s) == SymType::Tristate
                && !can_set(cfg, s, Tri::Yes)
                && can_set(cfg, s, Tri::Mod)
            {
                Tri::Mod
            } else {
                want
            };
            if let Some(why) = why_not(cfg, s, want) {
                r.push(0, Tone::Text, "", None);
                r.push(
                    0,
                    Tone::Heading,
                    if want == Tri::No {
                        "Why can't it be disabled?"
                    } else {
                        "Why can't it be enabled?"
                    },
                    None,
                );
                r.lines.extend(why.lines);
            }
        } else if !tree.syms[s].is_choice && cfg.visibility(s) == Tri::No {
            if let Some(why) = why_not(cfg, s, Tri::Yes) {
                r.push(0, Tone::Text, "", None);
                r.push(0, Tone::Heading, "Why can't it be changed?", None);
                r.lines.extend(why.lines);
            }
        }
    }
    r
}

fn symbol_relations(cfg: &mut Config, tree: &Tree, s: SymId, r: &mut Report) {
    let sym = &tree.syms[s];
    if !sym.selects.is_empty() {
        r.push(1, Tone::Text, "Selects:", None);
        for p in &sym.selects {
            let mut text = format!(
                "{} [={}]",
                tree.syms[p.target].name,
                cfg.string_value(p.target)
            );
            if let Some(c) = own_condition(tree, p.visible.as_ref(), p.menu, s) {
                text.push_str(&format!(" if {}", expr_with_values(cfg, &c)));
            }
            r.push(2, Tone::Text, text, Some(p.target));
        }
    }
    if let Some(rev) = &sym.rev_dep {
        let v = cfg.eval(rev);
        r.push(1, Tone::Text, format!("Selected by [{v}]:"), None);
        for t in rev.or_terms() {
            let tv = cfg.eval(t);
            let tone = if tv == Tri::No { Tone::Text } else { Tone::Met };
            r.push(
                2,
                tone,
                format!("- {}", expr_with_values(cfg, t)),
                first_sym(tree, t),
            );
        }
    }
    if !sym.implies.is_empty() {
        r.push(1, Tone::Text, "Implies:", None);
        for p in &sym.implies {
            let text = format!(
                "{} [={}]",
                tree.syms[p.target].name,
                cfg.string_value(p.target)
            );
            r.push(2, Tone::Text, text, Some(p.target));
        }
    }
    if let Some(imp) = &sym.implied {
        let v = cfg.eval(imp);
        r.push(1, Tone::Text, format!("Implied by [{v}]:"), None);
        for t in imp.or_terms() {
            let tv = cfg.eval(t);
            let tone = if tv == Tri::No { Tone::Text } else { Tone::Met };
            r.push(
                2,
                tone,
                format!("- {}", expr_with_values(cfg, t)),
                first_sym(tree, t),
            );
        }
    }
    if matches!(sym.ty, SymType::Int | SymType::Hex) {
        if let Some((lo, hi)) = cfg.range_text(s) {
            r.push(1, Tone::Text, format!("Range: [{lo} {hi}]"), None);
        }
    }
    if !sym.defaults.is_empty() {
        r.push(1, Tone::Text, "Defaults:", None);
        for d in &sym.defaults {
            let mut text = d.value.display(tree).to_string();
            let v = cfg.eval_opt(&d.visible);
            let tone = if v != Tri::No { Tone::Met } else { Tone::Text };
            match own_condition(tree, d.visible.as_ref(), d.menu, s) {
                Some(c) => {
                    text.push_str(&format!(" if {}  => {v}", expr_with_values(cfg, &c)));
                }
                None if v == Tri::No => text.push_str("  (inactive: dependencies not met)"),
                None => {}
            }
            r.push(2, tone, text, None);
        }
    }
}

/// The part of a property's condition written on the property itself (its
/// `if`): the condition without the terms every property of that entry
/// inherits from the entry's dependencies, and without the symbol itself.
fn own_condition(tree: &Tree, cond: Option<&Expr>, menu: MenuId, s: SymId) -> Option<Expr> {
    let cond = cond?;
    let inherited: Vec<&Expr> = tree.menus[menu]
        .dep
        .as_ref()
        .map(|d| d.and_terms())
        .unwrap_or_default();
    let own: Vec<&Expr> = cond
        .and_terms()
        .into_iter()
        .filter(|t| !inherited.contains(t) && !matches!(t, Expr::Sym(x) if *x == s))
        .collect();
    own.into_iter().cloned().reduce(Expr::and)
}

#[cfg(test)]
mod tests {
    use super::super::{load, Config, LoadOptions, Tri};
    use super::*;
    use std::io::Write;

    fn tree(text: &str) -> (tempfile::TempDir, Config) {
        let dir = tempfile::tempdir().unwrap();
        let k = dir.path().join("Kconfig");
        std::fs::File::create(&k)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let t = load(&k, &LoadOptions::default()).unwrap();
        let mut c = Config::new(t);
        c.prefix = "CONFIG_".into();
        (dir, c)
    }

    #[test]
    fn explains_unmet_dependency_chain() {
        let (_d, mut cfg) = tree(
            "config NET\n\tbool \"net\"\nconfig INET\n\tbool \"inet\"\n\tdepends on NET\nconfig FOO\n\tbool \"foo\"\n\tdepends on INET && !BAR\nconfig BAR\n\tbool \"bar\"\n\tdefault y\n",
        );
        let foo = cfg.tree().find("FOO").unwrap();
        let r = why_not(&mut cfg, foo, Tri::Yes).unwrap().to_text();
        assert!(r.contains("FOO cannot be set to y"), "{r}");
        assert!(r.contains("INET [=n]"), "{r}");
        assert!(r.contains("-> set NET to y"), "{r}");
        assert!(r.contains("-> set BAR to n"), "{r}");
        let net = cfg.tree().find("NET").unwrap();
        assert!(why_not(&mut cfg, net, Tri::Yes).is_none());
    }

    #[test]
    fn explains_forced_by_select() {
        let (_d, mut cfg) =
            tree("config A\n\tbool \"a\"\n\tdefault y\n\tselect B\nconfig B\n\tbool \"b\"\n");
        let b = cfg.tree().find("B").unwrap();
        let r = why_not(&mut cfg, b, Tri::No).unwrap().to_text();
        assert!(r.contains("selected by A [=y]"), "{r}");
        assert!(r.contains("-> set A to n"), "{r}");
    }

    #[test]
    fn explains_string_comparisons() {
        let (_d, mut cfg) = tree(
            "config SITE\n\tstring \"site\"\nconfig ONLY\n\tbool \"only\"\n\tdepends on SITE != \"\"\n",
        );
        let only = cfg.tree().find("ONLY").unwrap();
        let r = why_not(&mut cfg, only, Tri::Yes).unwrap().to_text();
        assert!(r.contains("SITE!=\"\" [SITE=\"\"]"), "{r}");
        assert!(
            r.contains("-> set SITE to something other than \"\" (site)"),
            "{r}"
        );
    }

    #[test]
    fn help_lists_terms_with_values() {
        let (_d, mut cfg) = tree(
            "config A\n\tbool \"a\"\nconfig B\n\tbool \"b\"\n\tdefault y\nconfig C\n\tbool \"c\"\n\tdepends on A && B\n\thelp\n\t  Some help.\n",
        );
        let c = cfg.tree().find("C").unwrap();
        let m = cfg.tree().syms[c].menus[0];
        let r = help_report(&mut cfg, m).to_text();
        assert!(r.contains("Some help."), "{r}");
        assert!(r.contains("Depends on: A [=n] && B [=y]  => n"), "{r}");
        assert!(r.contains("[x] A [=n]"), "{r}");
        assert!(r.contains("[ok] B [=y]"), "{r}");
        assert!(r.contains("Why can't it be enabled?"), "{r}");
    }
}

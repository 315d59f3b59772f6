//! Symbol values: the user's values plus kconfig's rules for visibility,
//! defaults, select/imply, choices and ranges (`sym_calc_value`). A
//! [`Config`] holds the values for one [`Tree`]; the tree is never changed.

use std::sync::Arc;

use super::error::Warning;
use super::expr::{CmpOp, Expr};
use super::tree::{MenuId, MenuKind, SymId, SymType, Tree};
use super::tri::Tri;

/// Per-symbol state: what the user set, and the cached computed values.
#[derive(Debug, Clone, Default)]
pub(crate) struct SymState {
    /// kconfig's SYMBOL_DEF_USER: the user value counts.
    pub user_set: bool,
    pub user_tri: Tri,
    pub user_val: String,
    /// For choices: the value the user picked.
    pub user_choice: Option<SymId>,
    pub valid: bool,
    pub write: bool,
    pub need_set_choice_values: bool,
    pub curr_tri: Tri,
    pub curr_val: String,
    /// For choices: the selected value.
    pub curr_choice: Option<SymId>,
    pub visible: Tri,
    pub dir_dep: Tri,
    pub rev_dep: Tri,
    pub implied: Tri,
    pub warned_unmet: bool,
}

/// The values of every symbol of a tree.
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) tree: Arc<Tree>,
    pub(crate) st: Vec<SymState>,
    /// Per menu node: the visibility of its prompt as last computed for its
    /// symbol (kconfig's `prop->visible.tri`).
    prompt_vis: Vec<Tri>,
    modules_val: Tri,
    /// Warnings met while reading or computing (unmet dependencies, bad values).
    pub warnings: Vec<Warning>,
    /// Prefix of symbol names in .config files (`CONFIG_`, or empty for Buildroot-style trees).
    pub prefix: String,
}

/// kconfig's `expr_parse_string` kinds.
enum Num {
    Str,
    Signed(i64),
    Unsigned(u64),
}

/// `strtoll`/`strtoull`-style parse of a whole string; `None` if any text is left.
fn parse_full(s: &str, radix: u32) -> Option<(bool, u64)> {
    let t = s.trim_start();
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (radix, digits) = if radix == 16 || radix == 0 {
        if let Some(r) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            (16, r)
        } else if radix == 0 && t.len() > 1 && t.starts_with('0') {
            (8, &t[1..])
        } else {
            (if radix == 0 { 10 } else { radix }, t)
        }
    } else {
        (radix, t)
    };
    if digits.is_empty() {
        return None;
    }
    let v = u64::from_str_radix(digits, radix).ok()?;
    Some((neg, v))
}

/// `strtoll(s, NULL, base)`: the leading number, 0 when there is none.
pub(crate) fn strtoll(s: &str, radix: u32) -> i64 {
    let t = s.trim_start();
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let t = if radix == 16 {
        t.strip_prefix("0x")
            .or_else(|| t.strip_prefix("0X"))
            .unwrap_or(t)
    } else {
        t
    };
    let end = t
        .char_indices()
        .find(|(_, c)| !c.is_digit(radix))
        .map(|(i, _)| i)
        .unwrap_or(t.len());
    let v = i64::from_str_radix(&t[..end], radix).unwrap_or(if end == 0 { 0 } else { i64::MAX });
    if neg {
        -v
    } else {
        v
    }
}

/// kconfig's `sym_string_valid`.
pub(crate) fn string_valid(ty: SymType, s: &str) -> bool {
    match ty {
        SymType::String => true,
        SymType::Int => {
            let t = s.strip_prefix('-').unwrap_or(s);
            let b = t.as_bytes();
            !b.is_empty() && b.iter().all(|c| c.is_ascii_digit()) && !(b[0] == b'0' && b.len() > 1)
        }
        SymType::Hex => {
            let t = s
                .strip_prefix("0x")
                .or_else(|| s.strip_prefix("0X"))
                .unwrap_or(s);
            !t.is_empty() && t.bytes().all(|c| c.is_ascii_hexdigit())
        }
        SymType::Bool | SymType::Tristate => Tri::parse(s).is_some(),
        SymType::Unknown => false,
    }
}

/// The symbol prefix in .config files: `$CONFIG_` as kconfig reads it;
/// otherwise none for Buildroot trees (whose `conf` is built with an empty
/// prefix: recognised by `$BR2_CONFIG`, which Buildroot's Makefile always
/// sets, or by symbols named `BR2_*`), else `CONFIG_`.
pub fn default_prefix(tree: &Tree) -> String {
    if let Ok(p) = std::env::var("CONFIG_") {
        return p;
    }
    if std::env::var_os("BR2_CONFIG").is_some() {
        return String::new();
    }
    let (mut total, mut br2) = (0usize, 0usize);
    for id in tree.config_symbols() {
        total += 1;
        if tree.syms[id].name.starts_with("BR2_") {
            br2 += 1;
        }
    }
    if total > 0 && br2 * 10 >= total * 9 {
        String::new()
    } else {
        "CONFIG_".to_string()
    }
}

impl Config {
    /// All symbols without user values.
    pub fn new(tree: Arc<Tree>) -> Config {
        let n = tree.syms.len();
        let menus = tree.menus.len();
        let prefix = default_prefix(&tree);
        let mut c = Config {
            tree,
            st: vec![SymState::default(); n],
            prompt_vis: vec![Tri::No; menus],
            modules_val: Tri::No,
            warnings: Vec::new(),
            prefix,
        };
        c.calc_modules();
        c
    }

    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    pub fn tree_arc(&self) -> Arc<Tree> {
        self.tree.clone()
    }

    fn calc_modules(&mut self) {
        self.modules_val = match self.tree.modules {
            Some(m) => {
                self.calc(m);
                self.st[m].curr_tri
            }
            None => Tri::No,
        };
    }

    /// Forgets every computed value (after a user value changed).
    pub fn invalidate(&mut self) {
        for s in &mut self.st {
            s.valid = false;
        }
        self.calc_modules();
    }

    /// The type as kconfig's `sym_get_type`: tristate acts as bool without modules.
    pub fn effective_type(&self, id: SymId) -> SymType {
        let s = &self.tree.syms[id];
        if s.ty == SymType::Tristate {
            if s.choice.is_some() && self.st[id].visible == Tri::Yes {
                return SymType::Bool;
            }
            if self.modules_val == Tri::No {
                return SymType::Bool;
            }
        }
        s.ty
    }

    pub fn eval(&mut self, e: &Expr) -> Tri {
        match e {
            Expr::Sym(s) => {
                self.calc(*s);
                self.st[*s].curr_tri
            }
            Expr::Not(a) => self.eval(a).not(),
            Expr::And(a, b) => {
                let x = self.eval(a);
                let y = self.eval(b);
                x.and(y)
            }
            Expr::Or(a, b) => {
                let x = self.eval(a);
                let y = self.eval(b);
                x.or(y)
            }
            Expr::Cmp(op, a, b) => self.compare(*op, *a, *b),
        }
    }

    pub fn eval_opt(&mut self, e: &Option<Expr>) -> Tri {
        match e {
            None => Tri::Yes,
            Some(e) => self.eval(e),
        }
    }

    fn parse_num(&self, id: SymId, s: &str) -> Num {
        // kconfig's constants (`y`, `m`, `n` included) have no type, so
        // they parse as C numbers or stay strings, never as tristates.
        let sym = &self.tree.syms[id];
        let ty = if sym.is_const {
            SymType::Unknown
        } else {
            sym.ty
        };
        match ty {
            SymType::Bool | SymType::Tristate => Num::Signed(match s {
                "n" => 0,
                "m" => 1,
                "y" => 2,
                _ => -1,
            }),
            SymType::Int => match parse_full(s, 10) {
                Some((neg, v)) => Num::Signed(if neg { -(v as i64) } else { v as i64 }),
                None => Num::Str,
            },
            SymType::Hex => match parse_full(s, 16) {
                Some((neg, v)) => Num::Unsigned(if neg { v.wrapping_neg() } else { v }),
                None => Num::Str,
            },
            SymType::String | SymType::Unknown => match parse_full(s, 0) {
                Some((neg, v)) => Num::Signed(if neg { -(v as i64) } else { v as i64 }),
                None => Num::Str,
            },
        }
    }

    fn compare(&mut self, op: CmpOp, a: SymId, b: SymId) -> Tri {
        let sa = self.string_value(a);
        let sb = self.string_value(b);
        let both_strings =
            self.tree.syms[a].ty == SymType::String && self.tree.syms[b].ty == SymType::String;
        let ord = if both_strings {
            sa.cmp(&sb)
        } else {
            match (self.parse_num(a, &sa), self.parse_num(b, &sb)) {
                (Num::Str, _) | (_, Num::Str) => sa.cmp(&sb),
                (Num::Unsigned(x), Num::Unsigned(y)) => x.cmp(&y),
                (Num::Unsigned(x), Num::Signed(y)) => x.cmp(&(y as u64)),
                (Num::Signed(x), Num::Unsigned(y)) => (x as u64).cmp(&y),
                (Num::Signed(x), Num::Signed(y)) => x.cmp(&y),
            }
        };
        use std::cmp::Ordering::*;
        let r = match op {
            CmpOp::Eq => ord == Equal,
            CmpOp::Ne => ord != Equal,
            CmpOp::Lt => ord == Less,
            CmpOp::Le => ord != Greater,
            CmpOp::Gt => ord == Greater,
            CmpOp::Ge => ord != Less,
        };
        if r {
            Tri::Yes
        } else {
            Tri::No
        }
    }

    /// kconfig's `sym_calc_visibility`.
    fn calc_visibility(&mut self, id: SymId) {
        let tree = self.tree.clone();
        let s = &tree.syms[id];
        let mut tri = Tri::No;
        for &m in &s.menus {
            if let Some(p) = &tree.menus[m].prompt {
                let mut v = self.eval_opt(&p.visible);
                // A tristate choice value visible at m is hidden when the
                // choice is y. The choice's value is read after evaluating
                // the prompt, which computes it, as kconfig does.
                let choice_tri = s.choice.map(|c| self.st[c].curr_tri);
                if s.ty == SymType::Tristate && v == Tri::Mod && choice_tri == Some(Tri::Yes) {
                    v = Tri::No;
                }
                self.prompt_vis[m] = v;
                tri = tri.or(v);
            }
        }
        if tri == Tri::Mod && (s.ty != SymType::Tristate || self.modules_val == Tri::No) {
            tri = Tri::Yes;
        }
        self.st[id].visible = tri;
        if s.choice.is_some() {
            return;
        }
        let bool_ty = self.effective_type(id) == SymType::Bool;
        let fix = |t: Tri| {
            if t == Tri::Mod && bool_ty {
                Tri::Yes
            } else {
                t
            }
        };
        let d = match &s.dir_dep {
            Some(e) => self.eval(e),
            None => Tri::Yes,
        };
        self.st[id].dir_dep = fix(d);
        let r = match &s.rev_dep {
            Some(e) => self.eval(e),
            None => Tri::No,
        };
        self.st[id].rev_dep = fix(r);
        let i = match &s.implied {
            Some(e) => self.eval(e),
            None => Tri::No,
        };
        self.st[id].implied = fix(i);
    }

    /// The first default whose condition holds (kconfig's `sym_get_default_prop`).
    fn default_prop(&mut self, id: SymId) -> Option<(Expr, Tri)> {
        let tree = self.tree.clone();
        for d in &tree.syms[id].defaults {
            let v = self.eval_opt(&d.visible);
            if v != Tri::No {
                return Some((d.value.clone(), v));
            }
        }
        None
    }

    /// kconfig's `sym_calc_value`.
    pub fn calc(&mut self, id: SymId) {
        if self.st[id].valid {
            return;
        }
        let tree = self.tree.clone();
        let s = &tree.syms[id];
        if let Some(cs) = s.choice {
            if self.st[id].need_set_choice_values {
                self.st[id].need_set_choice_values = false;
                self.calc(cs);
            }
        }
        self.st[id].valid = true;
        if s.is_const {
            self.st[id].curr_val = s.name.clone();
            self.st[id].curr_tri = match id {
                i if i == tree.sym_y() => Tri::Yes,
                i if i == tree.sym_m() => Tri::Mod,
                _ => Tri::No,
            };
            return;
        }
        let old_tri = self.st[id].curr_tri;
        let mut new_tri = Tri::No;
        let mut new_val = String::new();
        match s.ty {
            SymType::Unknown => {
                self.st[id].curr_val = s.name.clone();
                self.st[id].curr_tri = Tri::No;
                return;
            }
            SymType::Bool | SymType::Tristate => new_val.clear(),
            _ => {}
        }
        self.st[id].write = false;
        self.calc_visibility(id);
        let visible = self.st[id].visible;
        if visible != Tri::No {
            self.st[id].write = true;
        }
        self.st[id].curr_tri = Tri::No;
        self.st[id].curr_val = String::new();
        match self.effective_type(id) {
            SymType::Bool | SymType::Tristate => {
                if let (Some(cs), Tri::Yes) = (s.choice, visible) {
                    self.calc(cs);
                    new_tri = if self.st[cs].curr_choice == Some(id) {
                        Tri::Yes
                    } else {
                        Tri::No
                    };
                } else {
                    let mut done = false;
                    if visible != Tri::No && self.st[id].user_set {
                        new_tri = self.st[id].user_tri.and(visible);
                        done = true;
                    } else if s.transitional && self.st[id].user_set {
                        // Linux >= 6.18: a transitional symbol has no prompt
                        // but passes on the value read from an old .config.
                        new_tri = self.st[id].user_tri;
                        done = true;
                    }
                    if !done {
                        if self.st[id].rev_dep != Tri::No {
                            self.st[id].write = true;
                        }
                        if !s.is_choice {
                            if let Some((value, vis)) = self.default_prop(id) {
                                new_tri = self.eval(&value).and(vis);
                                if new_tri != Tri::No {
                                    self.st[id].write = true;
                                }
                            }
                            let implied = self.st[id].implied;
                            if implied != Tri::No {
                                self.st[id].write = true;
                                new_tri = new_tri.or(implied).and(self.st[id].dir_dep);
                            }
                        }
                    }
                    let st = &self.st[id];
                    if st.dir_dep < st.rev_dep && !st.warned_unmet && !s.is_choice {
                        self.warn_unmet(id);
                    }
                    new_tri = new_tri.or(self.st[id].rev_dep);
                }
                if new_tri == Tri::Mod && self.effective_type(id) == SymType::Bool {
                    new_tri = Tri::Yes;
                }
            }
            SymType::String | SymType::Int | SymType::Hex => {
                if (visible != Tri::No || s.transitional) && self.st[id].user_set {
                    new_val = self.st[id].user_val.clone();
                } else if let Some((Expr::Sym(ds), _)) = self.default_prop(id) {
                    self.st[id].write = true;
                    self.calc(ds);
                    new_val = self.st[ds].curr_val.clone();
                }
            }
            SymType::Unknown => {}
        }
        self.st[id].curr_tri = new_tri;
        self.st[id].curr_val = new_val;
        if s.is_choice {
            if new_tri == Tri::Yes {
                let sel = self.calc_choice(id);
                self.st[id].curr_choice = sel;
            } else {
                self.st[id].curr_choice = None;
            }
        }
        self.validate_range(id);
        let _ = old_tri;
        if s.is_choice {
            let write = self.st[id].write;
            for &v in &s.choice_values {
                if write && self.st[v].visible != Tri::No {
                    self.st[v].write = true;
                }
            }
        }
        if s.no_write {
            self.st[id].write = false;
        }
        if self.st[id].need_set_choice_values {
            self.set_all_choice_values(id);
        }
    }

    fn warn_unmet(&mut self, id: SymId) {
        self.st[id].warned_unmet = true;
        let tree = self.tree.clone();
        let s = &tree.syms[id];
        let mut msg = format!(
            "unmet direct dependencies detected for {}\n  Depends on [{}]: {}\n",
            s.name,
            self.st[id].dir_dep,
            s.dir_dep
                .as_ref()
                .map(|e| e.display(&tree).to_string())
                .unwrap_or_else(|| "y".into())
        );
        for (by, loc) in &s.selected_by {
            let v = self.tri(*by);
            if v != Tri::No {
                msg.push_str(&format!(
                    "  Selected by [{v}]:\n  - {} [={v}] ({loc})\n",
                    tree.syms[*by].name
                ));
            }
        }
        let loc = s.menus.first().map(|&m| tree.menus[m].loc.clone());
        self.warnings.push(Warning {
            loc,
            msg: msg.trim_end().to_string(),
        });
    }

    /// kconfig's `sym_calc_choice`: the user's pick if visible, else the default.
    fn calc_choice(&mut self, cs: SymId) -> Option<SymId> {
        let tree = self.tree.clone();
        let values = &tree.syms[cs].choice_values;
        let mut all_user = true;
        for &v in values {
            self.calc_visibility(v);
            if self.st[v].visible != Tri::No && !self.st[v].user_set {
                all_user = false;
            }
        }
        if !all_user {
            self.st[cs].user_set = false;
        }
        if let Some(u) = self.st[cs].user_choice {
            if self.st[u].visible != Tri::No {
                return Some(u);
            }
        }
        let d = self.choice_default(cs);
        if d.is_none() {
            self.st[cs].curr_tri = Tri::No;
        }
        d
    }

    /// kconfig's `sym_choice_default`: first visible default, else first visible value.
    pub fn choice_default(&mut self, cs: SymId) -> Option<SymId> {
        let tree = self.tree.clone();
        for d in &tree.syms[cs].defaults {
            if self.eval_opt(&d.visible) == Tri::No {
                continue;
            }
            if let Expr::Sym(v) = d.value {
                self.calc_visibility(v);
                if self.st[v].visible != Tri::No {
                    return Some(v);
                }
            }
        }
        tree.syms[cs]
            .choice_values
            .iter()
            .copied()
            .find(|&v| self.st[v].visible != Tri::No)
    }

    /// kconfig's `set_all_choice_values`: values without a user value become n,
    /// and the choice counts as set by the user.
    pub(crate) fn set_all_choice_values(&mut self, cs: SymId) {
        let tree = self.tree.clone();
        for &v in &tree.syms[cs].choice_values {
            if !self.st[v].user_set {
                self.st[v].user_tri = Tri::No;
            }
        }
        self.st[cs].user_set = true;
        self.st[cs].valid = false;
        self.st[cs].need_set_choice_values = false;
    }

    /// The active `range` (kconfig's `sym_get_range_prop`).
    fn range_prop(&mut self, id: SymId) -> Option<(SymId, SymId)> {
        let tree = self.tree.clone();
        for r in &tree.syms[id].ranges {
            if self.eval_opt(&r.visible) != Tri::No {
                return Some((r.low, r.high));
            }
        }
        None
    }

    fn range_val(&mut self, id: SymId, base: u32) -> i64 {
        self.calc(id);
        let base = match self.tree.syms[id].ty {
            SymType::Int => 10,
            SymType::Hex => 16,
            _ => base,
        };
        strtoll(&self.st[id].curr_val, base)
    }

    fn validate_range(&mut self, id: SymId) {
        let base = match self.tree.syms[id].ty {
            SymType::Int => 10,
            SymType::Hex => 16,
            _ => return,
        };
        let Some((lo, hi)) = self.range_prop(id) else {
            return;
        };
        let val = strtoll(&self.st[id].curr_val, base);
        let low = self.range_val(lo, base);
        if val >= low {
            let high = self.range_val(hi, base);
            if val <= high {
                return;
            }
            self.st[id].curr_val = self.st[hi].curr_val.clone();
        } else {
            self.st[id].curr_val = self.st[lo].curr_val.clone();
        }
    }

    /// The tristate value of a symbol.
    pub fn tri(&mut self, id: SymId) -> Tri {
        self.calc(id);
        self.st[id].curr_tri
    }

    /// The value as text, as .config shows it (`y`, `m`, `n`, or the string).
    pub fn string_value(&mut self, id: SymId) -> String {
        self.calc(id);
        if self.tree.syms[id].is_const {
            // kconfig's `m` reads "m" even without modules: constants have no type.
            return self.st[id].curr_val.clone();
        }
        match self.tree.syms[id].ty {
            SymType::Bool | SymType::Tristate => match self.st[id].curr_tri {
                Tri::No => "n".into(),
                Tri::Mod => {
                    if self.modules_val == Tri::No {
                        "n".into()
                    } else {
                        "m".into()
                    }
                }
                Tri::Yes => "y".into(),
            },
            _ => self.st[id].curr_val.clone(),
        }
    }

    /// The visibility of a symbol's prompts.
    pub fn visibility(&mut self, id: SymId) -> Tri {
        self.calc(id);
        self.st[id].visible
    }

    /// Value of the `select`s pointing at a symbol.
    pub fn rev_dep(&mut self, id: SymId) -> Tri {
        self.calc(id);
        self.st[id].rev_dep
    }

    /// Value of the direct dependencies of a symbol.
    pub fn dir_dep(&mut self, id: SymId) -> Tri {
        self.calc(id);
        self.st[id].dir_dep
    }

    /// For a choice: the selected value.
    pub fn choice_selection(&mut self, cs: SymId) -> Option<SymId> {
        self.calc(cs);
        if self.st[cs].curr_tri == Tri::No {
            return None;
        }
        self.st[cs].curr_choice
    }

    /// Whether the symbol has a user value (kconfig's `sym_has_value`).
    pub fn has_user_value(&self, id: SymId) -> bool {
        self.st[id].user_set
    }

    /// Whether the symbol would be written to .config.
    pub fn is_written(&mut self, id: SymId) -> bool {
        self.calc(id);
        self.st[id].write
    }

    /// kconfig's `sym_is_changeable`: the user can change it.
    pub fn is_changeable(&mut self, id: SymId) -> bool {
        self.calc(id);
        self.st[id].visible > self.st[id].rev_dep
    }

    /// kconfig's `sym_tristate_within_range`.
    pub fn tri_within_range(&mut self, id: SymId, val: Tri) -> bool {
        self.calc(id);
        let ty = self.effective_type(id);
        let st = &self.st[id];
        if st.visible == Tri::No || !ty.is_bool_like() {
            return false;
        }
        if ty == SymType::Bool && val == Tri::Mod {
            return false;
        }
        if st.visible <= st.rev_dep {
            return false;
        }
        if self.tree.syms[id].choice.is_some() && st.visible == Tri::Yes {
            return val == Tri::Yes;
        }
        val >= st.rev_dep && val <= st.visible
    }

    /// Sets a bool/tristate symbol as the user would (kconfig's
    /// `sym_set_tristate_value`). Returns false when the value is not allowed.
    pub fn set_tri(&mut self, id: SymId, val: Tri) -> bool {
        let old = self.tri(id);
        if old != val && !self.tri_within_range(id, val) {
            return false;
        }
        self.st[id].user_set = true;
        let tree = self.tree.clone();
        if let (Some(cs), Tri::Yes) = (tree.syms[id].choice, val) {
            self.st[cs].user_choice = Some(id);
            self.st[cs].user_set = true;
            for &v in &tree.syms[cs].choice_values {
                if self.st[v].visible != Tri::No {
                    self.st[v].user_set = true;
                }
            }
        }
        self.st[id].user_tri = val;
        if old != val {
            self.invalidate();
        }
        true
    }

    /// kconfig's `sym_string_within_range`.
    pub fn string_within_range(&mut self, id: SymId, s: &str) -> bool {
        let ty = self.tree.syms[id].ty;
        match ty {
            SymType::String => true,
            SymType::Int | SymType::Hex => {
                if !string_valid(ty, s) {
                    return false;
                }
                let base = if ty == SymType::Int { 10 } else { 16 };
                match self.range_prop(id) {
                    None => true,
                    Some((lo, hi)) => {
                        let v = strtoll(s, base);
                        v >= self.range_val(lo, base) && v <= self.range_val(hi, base)
                    }
                }
            }
            SymType::Bool | SymType::Tristate => match Tri::parse(s) {
                Some(t) => self.tri_within_range(id, t),
                None => false,
            },
            SymType::Unknown => false,
        }
    }

    /// The active range of an int/hex symbol as text, for help screens.
    pub fn range_text(&mut self, id: SymId) -> Option<(String, String)> {
        let (lo, hi) = self.range_prop(id)?;
        Some((self.string_value(lo), self.string_value(hi)))
    }

    /// Sets a string/int/hex symbol as the user would (`sym_set_string_value`).
    /// Hex values get a `0x` prefix when missing. Returns false when invalid or out of range.
    pub fn set_string(&mut self, id: SymId, s: &str) -> bool {
        let ty = self.tree.syms[id].ty;
        if ty.is_bool_like() {
            return match Tri::parse(s) {
                Some(t) => self.set_tri(id, t),
                None => false,
            };
        }
        if !self.string_within_range(id, s) {
            return false;
        }
        let val = if ty == SymType::Hex && !(s.starts_with("0x") || s.starts_with("0X")) {
            format!("0x{s}")
        } else {
            s.to_string()
        };
        self.st[id].user_set = true;
        if self.st[id].user_val != val {
            self.st[id].user_val = val;
            self.invalidate();
        }
        true
    }

    /// Forgets the user value of a symbol, so it takes its default again.
    pub fn unset(&mut self, id: SymId) {
        self.st[id].user_set = false;
        self.invalidate();
    }

    /// kconfig's `sym_get_string_default`: what the value would be without a user value.
    pub fn default_string(&mut self, id: SymId) -> String {
        self.calc(id);
        self.calc_visibility(id);
        let tree = self.tree.clone();
        let s = &tree.syms[id];
        let mut val = Tri::No;
        let mut text = String::new();
        if let Some((value, vis)) = self.default_prop(id) {
            match s.ty {
                SymType::Bool | SymType::Tristate => val = self.eval(&value).and(vis),
                _ => {
                    if let Expr::Sym(ds) = value {
                        self.calc(ds);
                        text = self.st[ds].curr_val.clone();
                    }
                }
            }
        }
        val = val.or(self.st[id].rev_dep);
        if val == Tri::Mod && s.choice.is_none() && self.modules_val == Tri::No {
            val = Tri::Yes;
        }
        if s.ty == SymType::Bool && val == Tri::Mod {
            val = Tri::Yes;
        }
        if val < self.st[id].implied {
            val = self.st[id].implied;
        }
        match s.ty {
            SymType::Bool | SymType::Tristate => val.as_str().to_string(),
            SymType::Int | SymType::Hex | SymType::String => text,
            SymType::Unknown => String::new(),
        }
    }

    /// The value of every symbol `.config` would hold, by name (`y`/`m`/`n`
    /// for bool/tristate, the text for the others): plain data for the
    /// parts of bbsdk that must not know about Kconfig.
    pub fn values(&mut self) -> std::collections::BTreeMap<String, String> {
        let tree = self.tree.clone();
        let mut out = std::collections::BTreeMap::new();
        for id in tree.config_symbols() {
            self.calc(id);
            if self.st[id].write {
                out.insert(tree.syms[id].name.clone(), self.string_value(id));
            }
        }
        out
    }

    /// kconfig's `menu_is_visible`.
    pub fn menu_visible(&mut self, m: MenuId) -> bool {
        let tree = self.tree.clone();
        let node = &tree.menus[m];
        let Some(prompt) = &node.prompt else {
            return false;
        };
        if let Some(v) = &node.visibility {
            if self.eval(v) == Tri::No {
                return false;
            }
        }
        let sym = match node.kind {
            MenuKind::Symbol(s) | MenuKind::Choice(s) => Some(s),
            _ => None,
        };
        // For a symbol, kconfig uses the prompt's visibility as computed
        // with the symbol's value (which may be older than the values now
        // cached for the symbols the condition names).
        let visible = match sym {
            Some(s) => {
                self.calc(s);
                self.prompt_vis[m]
            }
            None => self.eval_opt(&prompt.visible),
        };
        if visible != Tri::No {
            return true;
        }
        match sym {
            Some(s) if self.tri(s) != Tri::No => {}
            _ => return false,
        }
        let visible_child = node
            .children
            .clone()
            .into_iter()
            .any(|c| self.menu_visible(c));
        if let (true, Some(s)) = (visible_child, sym) {
            // kconfig's menu_is_visible() marks such a symbol (hidden
            // prompt, value not n, a visible entry below) as set by the user.
            if tree.syms[s].ty.is_bool_like() {
                self.st[s].user_set = true;
            }
        }
        visible_child
    }

    /// The prompt's own visibility at one menu node.
    pub fn prompt_visible(&mut self, m: MenuId) -> Tri {
        let tree = self.tree.clone();
        match &tree.menus[m].prompt {
            Some(p) => self.eval_opt(&p.visible),
            None => Tri::No,
        }
    }
}

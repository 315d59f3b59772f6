//! Turns the parsed tree into its final shape, as kconfig's `menu_finalize`:
//! dependencies of menus, `if` blocks and choices flow into every entry and
//! property, `select`/`imply` become reverse dependencies, choice values are
//! marked, entries that depend on the symbol above them become its submenu,
//! and `if` blocks are flattened. Then dependency loops are rejected.

use super::error::{Error, Result, Warning};
use super::expr::{and_opt, or_acc, CmpOp, Expr};
use super::tree::{MenuId, MenuKind, SymId, SymType, Tree, ROOT_MENU};
use std::sync::Arc;

pub(crate) fn finalize(tree: &mut Tree) -> Result<()> {
    finalize_node(tree, ROOT_MENU);
    check_choices(tree);
    check_types(tree);
    check_cycles(tree)
}

fn node_sym(tree: &Tree, m: MenuId) -> Option<SymId> {
    match tree.menus[m].kind {
        MenuKind::Symbol(s) | MenuKind::Choice(s) => Some(s),
        _ => None,
    }
}

fn finalize_node(tree: &mut Tree, parent: MenuId) {
    let sym = node_sym(tree, parent);
    let is_choice = matches!(tree.menus[parent].kind, MenuKind::Choice(_));
    if !tree.menus[parent].children.is_empty() {
        let parentdep = if let (true, Some(cs)) = (is_choice, sym) {
            if tree.syms[cs].ty == SymType::Unknown {
                let first = tree.menus[parent]
                    .children
                    .iter()
                    .filter_map(|&c| node_sym(tree, c))
                    .map(|s| tree.syms[s].ty)
                    .find(|t| *t != SymType::Unknown);
                if let Some(t) = first {
                    tree.syms[cs].ty = t;
                }
            }
            let cty = tree.syms[cs].ty;
            for c in tree.menus[parent].children.clone() {
                if let Some(s) = node_sym(tree, c) {
                    if tree.syms[s].ty == SymType::Unknown {
                        tree.syms[s].ty = cty;
                    }
                }
            }
            Some(Expr::Sym(cs))
        } else {
            tree.menus[parent].dep.clone()
        };
        let rm = RewriteM::of(tree);
        for c in tree.menus[parent].children.clone() {
            let own = rm.apply(tree.menus[c].dep.take());
            let basedep = and_opt(parentdep.clone(), own);
            tree.menus[c].dep = basedep.clone();
            if let Some(p) = tree.menus[c].prompt.as_mut() {
                p.visible = and_opt(basedep.clone(), rm.apply(p.visible.take()));
            }
            if let Some(s) = node_sym(tree, c) {
                propagate_props(tree, s, c, &basedep);
            }
        }
        let mut i = 0;
        while i < tree.menus[parent].children.len() {
            finalize_child(tree, parent, i);
            i += 1;
        }
    }
    if let MenuKind::Symbol(s) = tree.menus[parent].kind {
        // kconfig ORs the dependencies of every definition; a definition
        // without any adds nothing (expr_alloc_or(e, NULL) is e), so a
        // symbol defined both inside `if X` and unconditionally still has
        // X as its direct dependency. With no dependency at all it is y.
        if let Some(dep) = tree.menus[parent].dep.clone() {
            let old = tree.syms[s].dir_dep.take();
            tree.syms[s].dir_dep = or_acc(old, dep);
        }
    }
    let mut i = 0;
    while i < tree.menus[parent].children.len() {
        let c = tree.menus[parent].children[i];
        if let (true, Some(cs), Some(vs)) = (is_choice, sym, node_sym(tree, c)) {
            if vs != cs && tree.syms[vs].choice.is_none() && !tree.syms[vs].is_choice {
                tree.syms[vs].choice = Some(cs);
                tree.syms[cs].choice_values.push(vs);
                if tree.menus[c].prompt.is_none() {
                    let loc = tree.menus[c].loc.clone();
                    tree.warnings.push(Warning {
                        loc: Some(loc),
                        msg: "choice value must have a prompt".into(),
                    });
                }
                if tree.syms[cs].ty == SymType::Tristate && tree.syms[vs].ty != SymType::Tristate {
                    require_choice_y(tree, cs, vs, c);
                }
            }
        }
        flatten_child(tree, parent, i);
        i += 1;
    }
    if let (true, Some(cs)) = (is_choice, sym) {
        if !tree.syms[cs].optional {
            if let Some(p) = &tree.menus[parent].prompt {
                let e = and_opt(p.visible.clone(), Some(Expr::Sym(tree.sym_m())))
                    .unwrap_or(Expr::Sym(tree.sym_m()));
                let old = tree.syms[cs].rev_dep.take();
                tree.syms[cs].rev_dep = or_acc(old, e);
            }
        }
    }
}

/// kconfig's `rewrite_m`: in a dependency or a condition, the constant `m`
/// means `m && MODULES` (the modules symbol, or `n` when there is none), so
/// it is n when modules are disabled. Values (`default m`) are not touched.
struct RewriteM {
    m: SymId,
    modules: SymId,
}

impl RewriteM {
    fn of(tree: &Tree) -> RewriteM {
        RewriteM {
            m: tree.sym_m(),
            modules: tree.modules.unwrap_or(tree.sym_n()),
        }
    }

    fn apply(&self, e: Option<Expr>) -> Option<Expr> {
        e.map(|e| self.rewrite(e))
    }

    fn rewrite(&self, e: Expr) -> Expr {
        match e {
            Expr::Sym(s) if s == self.m => Expr::and(Expr::Sym(s), Expr::Sym(self.modules)),
            Expr::Not(a) => Expr::not(self.rewrite(Arc::unwrap_or_clone(a))),
            Expr::And(a, b) => Expr::and(
                self.rewrite(Arc::unwrap_or_clone(a)),
                self.rewrite(Arc::unwrap_or_clone(b)),
            ),
            Expr::Or(a, b) => Expr::or(
                self.rewrite(Arc::unwrap_or_clone(a)),
                self.rewrite(Arc::unwrap_or_clone(b)),
            ),
            other => other,
        }
    }
}

/// kconfig's `expr_transform`, as far as it changes values through
/// [`trans_bool`]: negations are pushed down (De Morgan, `!!a`, `!(a = x)`
/// into `a != x`, ...) and comparisons of bool symbols with n/m/y become
/// plain symbol tests. The result has the same value.
fn transform(tree: &Tree, e: Expr) -> Expr {
    let (n, m, y) = (tree.sym_n(), tree.sym_m(), tree.sym_y());
    let is_bool = |s: SymId| tree.syms[s].ty == SymType::Bool && !tree.syms[s].is_const;
    match e {
        Expr::And(a, b) => Expr::and(
            transform(tree, Arc::unwrap_or_clone(a)),
            transform(tree, Arc::unwrap_or_clone(b)),
        ),
        Expr::Or(a, b) => Expr::or(
            transform(tree, Arc::unwrap_or_clone(a)),
            transform(tree, Arc::unwrap_or_clone(b)),
        ),
        Expr::Cmp(CmpOp::Eq, l, r) if is_bool(l) && [n, m, y].contains(&r) => match r {
            r if r == n => Expr::not(Expr::Sym(l)),
            r if r == m => Expr::Sym(n),
            _ => Expr::Sym(l),
        },
        Expr::Cmp(CmpOp::Ne, l, r) if is_bool(l) && [n, m, y].contains(&r) => match r {
            r if r == n => Expr::Sym(l),
            r if r == m => Expr::Sym(y),
            _ => Expr::not(Expr::Sym(l)),
        },
        Expr::Not(a) => match transform(tree, Arc::unwrap_or_clone(a)) {
            Expr::Not(x) => transform(tree, Arc::unwrap_or_clone(x)),
            Expr::Cmp(op, l, r) => {
                let op = match op {
                    CmpOp::Eq => CmpOp::Ne,
                    CmpOp::Ne => CmpOp::Eq,
                    CmpOp::Le => CmpOp::Gt,
                    CmpOp::Ge => CmpOp::Lt,
                    CmpOp::Lt => CmpOp::Ge,
                    CmpOp::Gt => CmpOp::Le,
                };
                Expr::Cmp(op, l, r)
            }
            Expr::Or(a, b) => transform(
                tree,
                Expr::and(
                    Expr::not(Arc::unwrap_or_clone(a)),
                    Expr::not(Arc::unwrap_or_clone(b)),
                ),
            ),
            Expr::And(a, b) => transform(
                tree,
                Expr::or(
                    Expr::not(Arc::unwrap_or_clone(a)),
                    Expr::not(Arc::unwrap_or_clone(b)),
                ),
            ),
            Expr::Sym(s) if s == y => Expr::Sym(n),
            Expr::Sym(s) if s == n => Expr::Sym(y),
            Expr::Sym(s) if s == m => Expr::Sym(m),
            other => Expr::not(other),
        },
        other => other,
    }
}

/// Whether `e` compares a (non-constant) tristate symbol with something.
fn compares_tristate(tree: &Tree, e: &Expr) -> bool {
    match e {
        Expr::Sym(_) => false,
        Expr::Not(a) => compares_tristate(tree, a),
        Expr::And(a, b) | Expr::Or(a, b) => {
            compares_tristate(tree, a) || compares_tristate(tree, b)
        }
        Expr::Cmp(_, l, r) => [*l, *r]
            .iter()
            .any(|&x| tree.syms[x].ty == SymType::Tristate && !tree.syms[x].is_const),
    }
}

/// `e != n` in kconfig's normal form (`expr_trans_compare` to `!= n`, then
/// `expr_transform`, then duplicates removed), as menu_finalize() compares
/// conditions for automatic submenus. `None` is y.
fn normalize(tree: &Tree, e: Option<&Expr>) -> Expr {
    let e = trans_compare(tree, e, true, tree.sym_n());
    eliminate_dups(tree, transform(tree, e))
}

/// kconfig's `expr_trans_compare(e, ne ? E_UNEQUAL : E_EQUAL, sym)`.
fn trans_compare(tree: &Tree, e: Option<&Expr>, ne: bool, sym: SymId) -> Expr {
    let (n, m, y) = (tree.sym_n(), tree.sym_m(), tree.sym_y());
    let Some(e) = e else {
        let s = Expr::Sym(sym);
        return if ne { Expr::not(s) } else { s };
    };
    let neg = |x: Expr| if ne { Expr::not(x) } else { x };
    match e {
        Expr::And(a, b) | Expr::Or(a, b) => {
            let e1 = trans_compare(tree, Some(a), false, sym);
            let e2 = trans_compare(tree, Some(b), false, sym);
            let is_and = matches!(e, Expr::And(..));
            let joined = if (sym == y) == is_and {
                Expr::and(e1, e2)
            } else {
                Expr::or(e1, e2)
            };
            neg(joined)
        }
        Expr::Not(a) => trans_compare(tree, Some(a), !ne, sym),
        Expr::Cmp(..) => match (ne, sym) {
            (false, s) if s == y => e.clone(),
            (false, s) if s == m => Expr::Sym(n),
            (false, _) => Expr::not(e.clone()),
            (true, s) if s == y => Expr::not(e.clone()),
            (true, s) if s == m => Expr::Sym(y),
            (true, _) => e.clone(),
        },
        Expr::Sym(s) => Expr::Cmp(if ne { CmpOp::Ne } else { CmpOp::Eq }, *s, sym),
    }
}

/// Removes repeated terms of AND and OR chains (the part of kconfig's
/// `expr_eliminate_dups` that matters here).
fn eliminate_dups(tree: &Tree, e: Expr) -> Expr {
    match e {
        Expr::And(..) | Expr::Or(..) => {
            let is_and = matches!(e, Expr::And(..));
            let mut terms: Vec<Expr> = Vec::new();
            let flat = if is_and { e.and_terms() } else { e.or_terms() };
            for t in flat {
                let t = eliminate_dups(tree, t.clone());
                if !terms.iter().any(|x| expr_eq(tree, x, &t)) {
                    terms.push(t);
                }
            }
            let mut it = terms.into_iter();
            let first = it.next().expect("a chain has terms");
            it.fold(first, |acc, t| {
                if is_and {
                    Expr::and(acc, t)
                } else {
                    Expr::or(acc, t)
                }
            })
        }
        Expr::Not(a) => Expr::not(eliminate_dups(tree, Arc::unwrap_or_clone(a))),
        other => other,
    }
}

/// kconfig's `expr_eq`.
fn expr_eq(tree: &Tree, a: &Expr, b: &Expr) -> bool {
    match (a, b) {
        (Expr::Sym(x), Expr::Sym(y)) => x == y,
        (Expr::Cmp(o1, a1, b1), Expr::Cmp(o2, a2, b2)) => o1 == o2 && a1 == a2 && b1 == b2,
        (Expr::Not(x), Expr::Not(y)) => expr_eq(tree, x, y),
        (Expr::And(..), Expr::And(..)) | (Expr::Or(..), Expr::Or(..)) => {
            let (mut x, mut y) = (a.clone(), b.clone());
            eliminate_eq(tree, &mut x, &mut y);
            matches!((&x, &y), (Expr::Sym(p), Expr::Sym(q)) if p == q)
        }
        _ => false,
    }
}

/// kconfig's `expr_eliminate_eq`: terms found in both expressions (in
/// their AND or OR chains) are replaced by y (AND) or n (OR) in both,
/// which are then simplified.
fn eliminate_eq(tree: &Tree, e1: &mut Expr, e2: &mut Expr) {
    fn kind(e: &Expr) -> Option<bool> {
        match e {
            Expr::And(..) => Some(true),
            Expr::Or(..) => Some(false),
            _ => None,
        }
    }
    fn go(tree: &Tree, is_and: bool, e1: &mut Expr, e2: &mut Expr) {
        if kind(e1) == Some(is_and) {
            if let Expr::And(a, b) | Expr::Or(a, b) = e1 {
                go(tree, is_and, Arc::make_mut(a), e2);
                go(tree, is_and, Arc::make_mut(b), e2);
            }
            return;
        }
        if kind(e2) == Some(is_and) {
            if let Expr::And(a, b) | Expr::Or(a, b) = e2 {
                go(tree, is_and, e1, Arc::make_mut(a));
                go(tree, is_and, e1, Arc::make_mut(b));
            }
            return;
        }
        if let (Expr::Sym(x), Expr::Sym(y)) = (&*e1, &*e2) {
            if x == y && (*x == tree.sym_y() || *x == tree.sym_n()) {
                return;
            }
        }
        if !expr_eq(tree, e1, e2) {
            return;
        }
        let r = Expr::Sym(if is_and { tree.sym_y() } else { tree.sym_n() });
        *e1 = r.clone();
        *e2 = r;
    }
    if let Some(k) = kind(e1) {
        go(tree, k, e1, e2);
    }
    if kind(e1) != kind(e2) {
        if let Some(k) = kind(e2) {
            go(tree, k, e1, e2);
        }
    }
    *e1 = eliminate_yn(tree, std::mem::replace(e1, Expr::Sym(tree.sym_y())));
    *e2 = eliminate_yn(tree, std::mem::replace(e2, Expr::Sym(tree.sym_y())));
}

/// kconfig's `expr_eliminate_yn`: folds y and n out of AND and OR.
fn eliminate_yn(tree: &Tree, e: Expr) -> Expr {
    let (n, y) = (tree.sym_n(), tree.sym_y());
    match e {
        Expr::And(a, b) => {
            let (a, b) = (
                eliminate_yn(tree, Arc::unwrap_or_clone(a)),
                eliminate_yn(tree, Arc::unwrap_or_clone(b)),
            );
            match (&a, &b) {
                (Expr::Sym(s), _) if *s == n => a,
                (Expr::Sym(s), _) if *s == y => b,
                (_, Expr::Sym(s)) if *s == n => b,
                (_, Expr::Sym(s)) if *s == y => a,
                _ => Expr::and(a, b),
            }
        }
        Expr::Or(a, b) => {
            let (a, b) = (
                eliminate_yn(tree, Arc::unwrap_or_clone(a)),
                eliminate_yn(tree, Arc::unwrap_or_clone(b)),
            );
            match (&a, &b) {
                (Expr::Sym(s), _) if *s == n => b,
                (Expr::Sym(s), _) if *s == y => a,
                (_, Expr::Sym(s)) if *s == n => a,
                (_, Expr::Sym(s)) if *s == y => b,
                _ => Expr::or(a, b),
            }
        }
        other => other,
    }
}

/// kconfig's `expr_trans_bool`: `T != n` with a tristate T becomes `T`.
fn trans_bool(tree: &Tree, e: Expr) -> Expr {
    match e {
        Expr::And(a, b) => Expr::and(
            trans_bool(tree, Arc::unwrap_or_clone(a)),
            trans_bool(tree, Arc::unwrap_or_clone(b)),
        ),
        Expr::Or(a, b) => Expr::or(
            trans_bool(tree, Arc::unwrap_or_clone(a)),
            trans_bool(tree, Arc::unwrap_or_clone(b)),
        ),
        Expr::Not(a) => Expr::not(trans_bool(tree, Arc::unwrap_or_clone(a))),
        Expr::Cmp(CmpOp::Ne, l, r)
            if r == tree.sym_n()
                && tree.syms[l].ty == SymType::Tristate
                && !tree.syms[l].is_const =>
        {
            Expr::Sym(l)
        }
        other => other,
    }
}

/// A bool value of a tristate choice only makes sense when the choice is y
/// (kconfig's menu_finalize): `<choice> = y` is added to the entry's
/// dependencies and to the conditions of its prompt and of the defaults and
/// ranges defined there (not to its direct dependencies, nor to what it
/// selects, which were set up before).
fn require_choice_y(tree: &mut Tree, cs: SymId, vs: SymId, menu: MenuId) {
    let base = Expr::Cmp(CmpOp::Eq, cs, tree.sym_y());
    let dep = tree.menus[menu].dep.take();
    tree.menus[menu].dep = and_opt(Some(base.clone()), dep);
    if let Some(p) = tree.menus[menu].prompt.as_mut() {
        p.visible = and_opt(Some(base.clone()), p.visible.take());
    }
    let sym = &mut tree.syms[vs];
    for d in sym.defaults.iter_mut().filter(|d| d.menu == menu) {
        d.visible = and_opt(Some(base.clone()), d.visible.take());
    }
    for r in sym.ranges.iter_mut().filter(|r| r.menu == menu) {
        r.visible = and_opt(Some(base.clone()), r.visible.take());
    }
}

/// Moves the children of child `i` of `parent` up, right after it, when
/// that child has no prompt: `if` blocks, and automatic submenus below
/// promptless symbols, are flattened.
fn flatten_child(tree: &mut Tree, parent: MenuId, i: usize) {
    let c = tree.menus[parent].children[i];
    if tree.menus[c].children.is_empty() || tree.menus[c].prompt.is_some() {
        return;
    }
    let kids = std::mem::take(&mut tree.menus[c].children);
    for &k in &kids {
        tree.menus[k].parent = Some(parent);
    }
    let tail: Vec<MenuId> = tree.menus[parent].children.drain(i + 1..).collect();
    tree.menus[parent].children.extend(kids);
    tree.menus[parent].children.extend(tail);
}

/// Adds the entry's dependencies to the properties defined at this entry,
/// and records selects/implies on their targets.
fn propagate_props(tree: &mut Tree, s: SymId, menu: MenuId, basedep: &Option<Expr>) {
    let rm = RewriteM::of(tree);
    let mut sym = std::mem::replace(
        &mut tree.syms[s],
        super::tree::Symbol::new("", SymType::Unknown, true),
    );
    for d in sym.defaults.iter_mut().filter(|d| d.menu == menu) {
        d.visible = and_opt(basedep.clone(), rm.apply(d.visible.take()));
    }
    for r in sym.ranges.iter_mut().filter(|r| r.menu == menu) {
        r.visible = and_opt(basedep.clone(), rm.apply(r.visible.take()));
    }
    let mut reverse = Vec::new();
    for (is_select, list) in [(true, &mut sym.selects), (false, &mut sym.implies)] {
        for p in list.iter_mut().filter(|p| p.menu == menu) {
            p.visible = and_opt(basedep.clone(), rm.apply(p.visible.take()));
            reverse.push((is_select, p.target, p.visible.clone(), p.loc.clone()));
        }
    }
    let owner_tristate = sym.ty == SymType::Tristate;
    tree.syms[s] = sym;
    for (is_select, target, cond, loc) in reverse {
        // kconfig normalizes the conditions of a non-tristate symbol's
        // properties with expr_trans_bool(), which turns `T != n` (also
        // from `!(T = n)`) into plain `T`: for a tristate T at m, what such a
        // symbol selects or implies then gets m, not y.
        // transform() keeps values and trans_bool() only changes comparisons
        // of tristate symbols: without one (all of Buildroot), skip both.
        let cond = match cond {
            Some(c) if !owner_tristate && compares_tristate(tree, &c) => {
                Some(trans_bool(tree, transform(tree, c)))
            }
            c => c,
        };
        let e = and_opt(Some(Expr::Sym(s)), cond).unwrap_or(Expr::Sym(s));
        let t = &mut tree.syms[target];
        if is_select {
            t.rev_dep = or_acc(t.rev_dep.take(), e);
            t.selected_by.push((s, loc));
        } else {
            t.implied = or_acc(t.implied.take(), e);
            t.implied_by.push((s, loc));
        }
    }
}

/// Finalizes child `idx` of `parent`. A symbol entry then takes the
/// entries right after it that depend on it as its submenu (kconfig's
/// automatic submenus), finalizing each first so nesting works recursively.
fn finalize_child(tree: &mut Tree, parent: MenuId, idx: usize) {
    let c = tree.menus[parent].children[idx];
    let steal =
        matches!(tree.menus[c].kind, MenuKind::Symbol(_)) && tree.menus[c].children.is_empty();
    finalize_node(tree, c);
    let MenuKind::Symbol(s) = tree.menus[c].kind else {
        return;
    };
    if !steal {
        return;
    }
    // The symbol's own condition, normalized, for the "superset" test.
    let basedep = normalize(
        tree,
        tree.menus[c]
            .prompt
            .as_ref()
            .and_then(|p| p.visible.as_ref()),
    );
    let mut j = idx + 1;
    while j < tree.menus[parent].children.len() {
        let m = tree.menus[parent].children[j];
        let node = &tree.menus[m];
        let dep = match &node.prompt {
            Some(p) => p.visible.clone(),
            None => node.dep.clone(),
        };
        let Some(dep) = dep.filter(|d| d.contains(s)) else {
            break;
        };
        // An entry goes into the submenu when its condition needs the
        // symbol (`S`, `S != n`, `S = y`, ... in an AND), or contains it and
        // includes every term of the symbol's own condition (kconfig's
        // example: `(S || Q) && R` after an S that depends on R).
        if !eliminate_dups(tree, transform(tree, dep.clone())).depends_on(s, tree) {
            let mut d = normalize(tree, Some(&dep));
            let mut b = basedep.clone();
            eliminate_eq(tree, &mut d, &mut b);
            if b != Expr::Sym(tree.sym_y()) {
                break;
            }
        }
        finalize_child(tree, parent, j);
        j += 1;
    }
    if j == idx + 1 {
        return;
    }
    let moved: Vec<MenuId> = tree.menus[parent].children.drain(idx + 1..j).collect();
    for &m in &moved {
        tree.menus[m].parent = Some(c);
    }
    tree.menus[c].children = moved;
    // As kconfig's menu_finalize() does for the new submenu: an `if` taken
    // into it (or a promptless symbol with a submenu of its own) is
    // flattened, so its entries become entries of the submenu.
    let mut k = 0;
    while k < tree.menus[c].children.len() {
        flatten_child(tree, c, k);
        k += 1;
    }
}

fn check_choices(tree: &mut Tree) {
    let mut warnings = Vec::new();
    for (id, s) in tree.syms.iter().enumerate() {
        if s.is_choice {
            let m = s.menus.first().copied().unwrap_or(ROOT_MENU);
            if tree.menus[m].prompt.is_none() {
                warnings.push(Warning {
                    loc: Some(tree.menus[m].loc.clone()),
                    msg: "choice must have a prompt".into(),
                });
            }
            for d in &s.defaults {
                if let Expr::Sym(v) = d.value {
                    if tree.syms[v].choice != Some(id) {
                        warnings.push(Warning {
                            loc: Some(d.loc.clone()),
                            msg: format!(
                                "choice default symbol '{}' is not contained in the choice",
                                tree.sym_display_name(v)
                            ),
                        });
                    }
                }
            }
        } else if s.choice.is_some() && !s.defaults.is_empty() {
            warnings.push(Warning {
                loc: Some(s.defaults[0].loc.clone()),
                msg: "defaults for choice values not supported".into(),
            });
        }
    }
    tree.warnings.extend(warnings);
}

fn check_types(tree: &mut Tree) {
    let mut warnings = Vec::new();
    for s in &tree.syms {
        if s.is_const || s.is_choice || s.menus.is_empty() {
            continue;
        }
        if s.ty == SymType::Unknown {
            warnings.push(Warning {
                loc: Some(tree.menus[s.menus[0]].loc.clone()),
                msg: format!("config symbol '{}' defined without type", s.name),
            });
        }
        for p in s.selects.iter().chain(&s.implies) {
            let t = &tree.syms[p.target];
            if !t.ty.is_bool_like() && t.ty != SymType::Unknown {
                warnings.push(Warning {
                    loc: Some(p.loc.clone()),
                    msg: format!(
                        "'{}' selects or implies '{}' of type {}, which must be bool or tristate",
                        s.name,
                        t.name,
                        t.ty.name()
                    ),
                });
            }
        }
        if !s.ranges.is_empty() && !matches!(s.ty, SymType::Int | SymType::Hex) {
            warnings.push(Warning {
                loc: Some(s.ranges[0].loc.clone()),
                msg: "range is only allowed for int or hex symbols".into(),
            });
        }
    }
    tree.warnings.extend(warnings);
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Color {
    White,
    Grey,
    Black,
}

/// Rejects loops through `depends on`, `select`, `imply`, prompts' and
/// defaults' conditions and default values, naming every link of the loop.
fn check_cycles(tree: &Tree) -> Result<()> {
    let n = tree.syms.len();
    let mut edges: Vec<Vec<(SymId, &'static str)>> = vec![Vec::new(); n];
    for (id, s) in tree.syms.iter().enumerate() {
        if s.is_const {
            continue;
        }
        let e = &mut edges[id];
        let mut add = |x: &Option<Expr>, why: &'static str| {
            if let Some(x) = x {
                x.for_each_sym(&mut |t| {
                    if !tree.syms[t].is_const {
                        e.push((t, why));
                    }
                });
            }
        };
        add(&s.dir_dep, "depends on");
        add(&s.rev_dep, "is selected by");
        add(&s.implied, "is implied by");
        for &m in &s.menus {
            if let Some(p) = &tree.menus[m].prompt {
                add(&p.visible, "has a prompt that depends on");
            }
        }
        for d in &s.defaults {
            add(&d.visible, "has a default that depends on");
            if !s.is_choice {
                add(&Some(d.value.clone()), "defaults to");
            }
        }
        for r in &s.ranges {
            add(&r.visible, "has a range that depends on");
        }
    }
    let mut color = vec![Color::White; n];
    let mut path: Vec<(SymId, &'static str)> = Vec::new();
    for start in 0..n {
        if color[start] != Color::White || tree.syms[start].is_const {
            continue;
        }
        // Iterative DFS: stack of (node, next edge index).
        let mut stack: Vec<(SymId, usize)> = vec![(start, 0)];
        color[start] = Color::Grey;
        while let Some(&mut (node, ref mut ei)) = stack.last_mut() {
            if *ei < edges[node].len() {
                let (next, why) = edges[node][*ei];
                *ei += 1;
                match color[next] {
                    Color::White => {
                        color[next] = Color::Grey;
                        path.push((node, why));
                        stack.push((next, 0));
                    }
                    Color::Grey => {
                        path.push((node, why));
                        let from = path.iter().position(|(s, _)| *s == next).unwrap_or(0);
                        let cycle = &path[from..];
                        let mut text = String::new();
                        for (i, (s, why)) in cycle.iter().enumerate() {
                            let to = cycle.get(i + 1).map(|c| c.0).unwrap_or(next);
                            let loc = tree.syms[*s]
                                .menus
                                .first()
                                .map(|&m| tree.menus[m].loc.to_string())
                                .unwrap_or_default();
                            text.push_str(&format!(
                                "  {loc}: symbol {} {why} {}\n",
                                tree.sym_display_name(*s),
                                tree.sym_display_name(to)
                            ));
                        }
                        text.push_str("  hint: break the loop, e.g. turn a 'select' into 'depends on' (or the reverse)");
                        let loc = tree.syms[next]
                            .menus
                            .first()
                            .map(|&m| tree.menus[m].loc.clone())
                            .unwrap_or_else(|| tree.menus[ROOT_MENU].loc.clone());
                        return Err(Error::RecursiveDependency { loc, cycle: text });
                    }
                    Color::Black => {}
                }
            } else {
                color[node] = Color::Black;
                stack.pop();
                path.pop();
            }
        }
    }
    Ok(())
}

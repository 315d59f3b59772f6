//! Kconfig expressions: the data type, printing with kconfig's precedence,
//! and a few structural queries used by the menu builder.

use std::sync::Arc;

use super::tree::{SymId, Tree};

/// Comparison operators between two symbols (or constants).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// An expression over symbols. `None` where an `Option<Expr>` is used means "always y".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Expr {
    Sym(SymId),
    Not(Arc<Expr>),
    And(Arc<Expr>, Arc<Expr>),
    Or(Arc<Expr>, Arc<Expr>),
    Cmp(CmpOp, SymId, SymId),
}

impl Expr {
    pub fn and(a: Expr, b: Expr) -> Expr {
        Expr::And(Arc::new(a), Arc::new(b))
    }
    pub fn or(a: Expr, b: Expr) -> Expr {
        Expr::Or(Arc::new(a), Arc::new(b))
    }
    #[allow(clippy::should_implement_trait)]
    pub fn not(a: Expr) -> Expr {
        Expr::Not(Arc::new(a))
    }

    /// Calls `f` for every symbol the expression mentions.
    pub fn for_each_sym(&self, f: &mut impl FnMut(SymId)) {
        match self {
            Expr::Sym(s) => f(*s),
            Expr::Not(e) => e.for_each_sym(f),
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.for_each_sym(f);
                b.for_each_sym(f);
            }
            Expr::Cmp(_, a, b) => {
                f(*a);
                f(*b);
            }
        }
    }

    /// True when `sym` appears anywhere in the expression.
    pub fn contains(&self, sym: SymId) -> bool {
        let mut found = false;
        self.for_each_sym(&mut |s| found |= s == sym);
        found
    }

    /// True when the expression can only be true if `sym` is not n: `sym`,
    /// `sym != n`, `sym = y`, `sym = m`, or an AND with such a term
    /// (kconfig's `expr_depends_symbol`).
    pub fn depends_on(&self, sym: SymId, tree: &Tree) -> bool {
        match self {
            Expr::Sym(s) => *s == sym,
            Expr::And(a, b) => a.depends_on(sym, tree) || b.depends_on(sym, tree),
            Expr::Cmp(CmpOp::Eq, a, b) => *a == sym && (*b == tree.sym_y() || *b == tree.sym_m()),
            Expr::Cmp(CmpOp::Ne, a, b) => *a == sym && *b == tree.sym_n(),
            _ => false,
        }
    }

    /// The terms of a chain of ANDs, flattened.
    pub fn and_terms(&self) -> Vec<&Expr> {
        let mut out = Vec::new();
        fn walk<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
            match e {
                Expr::And(a, b) => {
                    walk(a, out);
                    walk(b, out);
                }
                other => out.push(other),
            }
        }
        walk(self, &mut out);
        out
    }

    /// The terms of a chain of ORs, flattened.
    pub fn or_terms(&self) -> Vec<&Expr> {
        let mut out = Vec::new();
        fn walk<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
            match e {
                Expr::Or(a, b) => {
                    walk(a, out);
                    walk(b, out);
                }
                other => out.push(other),
            }
        }
        walk(self, &mut out);
        out
    }

    /// Prints the expression the way kconfig does (`A && (B || !C)`).
    pub fn display<'a>(&'a self, tree: &'a Tree) -> ExprDisplay<'a> {
        ExprDisplay { expr: self, tree }
    }
}

/// ANDs two optional expressions (`None` = y).
pub fn and_opt(a: Option<Expr>, b: Option<Expr>) -> Option<Expr> {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some(a), Some(b)) => Some(Expr::and(a, b)),
    }
}

/// ORs two optional expressions where `None` means "nothing yet" (= n).
pub fn or_acc(acc: Option<Expr>, e: Expr) -> Option<Expr> {
    Some(match acc {
        None => e,
        Some(a) => Expr::or(a, e),
    })
}

pub struct ExprDisplay<'a> {
    expr: &'a Expr,
    tree: &'a Tree,
}

fn prec(e: &Expr) -> u8 {
    match e {
        Expr::Or(..) => 1,
        Expr::And(..) => 2,
        Expr::Not(..) => 3,
        Expr::Cmp(..) => 4,
        Expr::Sym(..) => 5,
    }
}

impl ExprDisplay<'_> {
    fn write(&self, e: &Expr, parent: u8, out: &mut String) {
        let p = prec(e);
        let paren = p < parent;
        if paren {
            out.push('(');
        }
        match e {
            Expr::Sym(s) => out.push_str(&self.tree.sym_display_name(*s)),
            Expr::Not(inner) => {
                out.push('!');
                self.write(inner, 3, out);
            }
            Expr::And(a, b) => {
                self.write(a, 2, out);
                out.push_str(" && ");
                self.write(b, 2, out);
            }
            Expr::Or(a, b) => {
                self.write(a, 1, out);
                out.push_str(" || ");
                self.write(b, 1, out);
            }
            Expr::Cmp(op, a, b) => {
                out.push_str(&self.tree.sym_display_name(*a));
                out.push_str(op.as_str());
                out.push_str(&self.tree.sym_display_name(*b));
            }
        }
        if paren {
            out.push(')');
        }
    }
}

impl std::fmt::Display for ExprDisplay<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = String::new();
        self.write(self.expr, 0, &mut s);
        f.write_str(&s)
    }
}

//! The parsed Kconfig tree: symbols, their properties and the menu structure.
//! Built once by the parser and the menu builder; read-only afterwards.

use rustc_hash::FxHashMap as HashMap;
use std::path::PathBuf;

use super::error::{Loc, Warning};
use super::expr::Expr;

pub type SymId = usize;
pub type MenuId = usize;

/// A symbol's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SymType {
    Unknown,
    Bool,
    Tristate,
    String,
    Int,
    Hex,
}

impl SymType {
    pub fn name(self) -> &'static str {
        match self {
            SymType::Unknown => "unknown",
            SymType::Bool => "bool",
            SymType::Tristate => "tristate",
            SymType::String => "string",
            SymType::Int => "int",
            SymType::Hex => "hex",
        }
    }
    pub fn is_bool_like(self) -> bool {
        matches!(self, SymType::Bool | SymType::Tristate)
    }
}

/// A `default` property.
#[derive(Debug, Clone)]
pub struct DefaultProp {
    pub value: Expr,
    /// Condition including the menu dependencies (after the menu builder ran).
    pub visible: Option<Expr>,
    pub menu: MenuId,
    pub loc: Loc,
}

/// A `select` or `imply` property.
#[derive(Debug, Clone)]
pub struct ReverseProp {
    pub target: SymId,
    pub visible: Option<Expr>,
    pub menu: MenuId,
    pub loc: Loc,
}

/// A `range` property.
#[derive(Debug, Clone)]
pub struct RangeProp {
    pub low: SymId,
    pub high: SymId,
    pub visible: Option<Expr>,
    pub menu: MenuId,
    pub loc: Loc,
}

/// A symbol: a `config`/`menuconfig` name, a choice, or a constant.
#[derive(Debug, Clone)]
pub struct Symbol {
    /// The name; empty for choices.
    pub name: String,
    pub ty: SymType,
    pub is_const: bool,
    pub is_choice: bool,
    /// For choice values: the choice symbol they belong to.
    pub choice: Option<SymId>,
    /// For choices: the values, in menu order.
    pub choice_values: Vec<SymId>,
    /// For choices: `optional`.
    pub optional: bool,
    /// Menu nodes defining the symbol, in the order they were parsed.
    pub menus: Vec<MenuId>,
    pub defaults: Vec<DefaultProp>,
    pub selects: Vec<ReverseProp>,
    pub implies: Vec<ReverseProp>,
    pub ranges: Vec<RangeProp>,
    /// OR of the dependencies of every definition (`dir_dep`).
    pub dir_dep: Option<Expr>,
    /// OR of `selector && condition` over every select of this symbol.
    pub rev_dep: Option<Expr>,
    /// OR of `implier && condition` over every imply of this symbol.
    pub implied: Option<Expr>,
    /// Symbols that select / imply this one, with the location of the select.
    pub selected_by: Vec<(SymId, Loc)>,
    pub implied_by: Vec<(SymId, Loc)>,
    /// `option env="VAR"` (kconfig <= 4.17): the environment variable.
    pub env: Option<String>,
    /// Never written to .config (`option env`, `transitional`).
    pub no_write: bool,
    pub transitional: bool,
    pub allnoconfig_y: bool,
}

impl Symbol {
    pub fn new(name: &str, ty: SymType, is_const: bool) -> Symbol {
        Symbol {
            name: name.to_string(),
            ty,
            is_const,
            is_choice: false,
            choice: None,
            choice_values: Vec::new(),
            optional: false,
            menus: Vec::new(),
            defaults: Vec::new(),
            selects: Vec::new(),
            implies: Vec::new(),
            ranges: Vec::new(),
            dir_dep: None,
            rev_dep: None,
            implied: None,
            selected_by: Vec::new(),
            implied_by: Vec::new(),
            env: None,
            no_write: false,
            transitional: false,
            allnoconfig_y: false,
        }
    }
}

/// What a menu node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MenuKind {
    Root,
    Menu,
    Comment,
    If,
    Symbol(SymId),
    Choice(SymId),
}

/// A prompt attached to a menu node.
#[derive(Debug, Clone)]
pub struct Prompt {
    pub text: String,
    /// `if` condition + `visible if` of enclosing menus + menu dependencies.
    pub visible: Option<Expr>,
    pub loc: Loc,
}

/// One entry of the menu tree.
#[derive(Debug, Clone)]
pub struct MenuNode {
    pub kind: MenuKind,
    pub parent: Option<MenuId>,
    pub children: Vec<MenuId>,
    pub prompt: Option<Prompt>,
    /// `depends on` of this entry; after the menu builder, ANDed with the parents'.
    pub dep: Option<Expr>,
    /// `visible if` of a `menu`.
    pub visibility: Option<Expr>,
    pub help: Option<String>,
    /// Declared with `menuconfig`.
    pub is_menuconfig: bool,
    pub loc: Loc,
}

impl MenuNode {
    /// An entry with no prompt, dependencies or children yet.
    pub(crate) fn new(kind: MenuKind, parent: Option<MenuId>, loc: Loc) -> MenuNode {
        MenuNode {
            kind,
            parent,
            children: Vec::new(),
            prompt: None,
            dep: None,
            visibility: None,
            help: None,
            is_menuconfig: false,
            loc,
        }
    }
}

/// A parsed tree.
#[derive(Debug, Clone)]
pub struct Tree {
    pub syms: Vec<Symbol>,
    pub menus: Vec<MenuNode>,
    pub(crate) by_name: HashMap<String, SymId>,
    pub(crate) consts: HashMap<String, SymId>,
    pub modules: Option<SymId>,
    pub defconfig_list: Option<SymId>,
    /// Every file read, in order (for dependency tracking).
    pub files: Vec<PathBuf>,
    /// Environment variables the tree read, with the value seen.
    pub env_used: Vec<(String, Option<String>)>,
    pub warnings: Vec<Warning>,
    /// True when the tree used kconfig <= 4.17 features (`option env`, `$VAR` paths):
    /// its .config is then written without `# end of` comments, as that kconfig did.
    pub legacy: bool,
}

pub const ROOT_MENU: MenuId = 0;
const SYM_N: SymId = 0;
const SYM_M: SymId = 1;
const SYM_Y: SymId = 2;
const SYM_EMPTY: SymId = 3;

impl Tree {
    pub(crate) fn new(root_loc: Loc) -> Tree {
        let mut t = Tree {
            syms: Vec::new(),
            menus: Vec::new(),
            by_name: HashMap::default(),
            consts: HashMap::default(),
            modules: None,
            defconfig_list: None,
            files: Vec::new(),
            env_used: Vec::new(),
            warnings: Vec::new(),
            legacy: false,
        };
        for name in ["n", "m", "y"] {
            let id = t.syms.len();
            t.syms.push(Symbol::new(name, SymType::Tristate, true));
            t.consts.insert(name.to_string(), id);
        }
        t.syms.push(Symbol::new("", SymType::Unknown, true));
        t.consts.insert(String::new(), SYM_EMPTY);
        t.menus.push(MenuNode::new(MenuKind::Root, None, root_loc));
        t
    }

    pub fn sym_n(&self) -> SymId {
        SYM_N
    }
    pub fn sym_m(&self) -> SymId {
        SYM_M
    }
    pub fn sym_y(&self) -> SymId {
        SYM_Y
    }

    /// The symbol with this name (not constants, not choices).
    pub fn find(&self, name: &str) -> Option<SymId> {
        self.by_name.get(name).copied()
    }

    /// The symbol `name`, created (untyped) when it does not exist yet.
    pub(crate) fn lookup(&mut self, name: &str) -> SymId {
        if let Some(&id) = self.by_name.get(name) {
            return id;
        }
        let id = self.syms.len();
        self.syms.push(Symbol::new(name, SymType::Unknown, false));
        self.by_name.insert(name.to_string(), id);
        id
    }

    /// The constant symbol for a literal (`"text"`, `y`, `m`, `n`).
    pub(crate) fn constant(&mut self, text: &str) -> SymId {
        if let Some(&id) = self.consts.get(text) {
            return id;
        }
        let id = self.syms.len();
        self.syms.push(Symbol::new(text, SymType::Unknown, true));
        self.consts.insert(text.to_string(), id);
        id
    }

    /// Symbols the user can see in `.config` files: named, typed, not constant.
    pub fn config_symbols(&self) -> impl Iterator<Item = SymId> + '_ {
        self.syms
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.is_const && !s.is_choice && s.ty != SymType::Unknown)
            .map(|(i, _)| i)
    }

    /// How a symbol is shown in expressions and messages.
    pub fn sym_display_name(&self, id: SymId) -> String {
        let s = &self.syms[id];
        if s.is_choice {
            return "<choice>".to_string();
        }
        if s.is_const && !matches!(id, SYM_N | SYM_M | SYM_Y) {
            return format!("\"{}\"", s.name);
        }
        s.name.clone()
    }

    /// The prompt text of the first definition of a symbol that has one.
    pub fn sym_prompt(&self, id: SymId) -> Option<&str> {
        self.syms[id]
            .menus
            .iter()
            .find_map(|&m| self.menus[m].prompt.as_ref().map(|p| p.text.as_str()))
    }

    /// The title of the tree (`mainmenu`).
    pub fn title(&self) -> &str {
        self.menus[ROOT_MENU]
            .prompt
            .as_ref()
            .map(|p| p.text.as_str())
            .unwrap_or("Main menu")
    }

    /// Number of named, typed symbols.
    pub fn symbol_count(&self) -> usize {
        self.config_symbols().count()
    }

    /// Depth-first walk of the menu tree from the root, in menu order.
    pub fn walk(&self) -> MenuWalk<'_> {
        MenuWalk {
            tree: self,
            stack: self.menus[ROOT_MENU]
                .children
                .iter()
                .rev()
                .copied()
                .collect(),
        }
    }

    /// The chain of menu prompts leading to a node ("Target options > Toolchain").
    pub fn menu_path(&self, mut id: MenuId) -> Vec<&str> {
        let mut out = Vec::new();
        while let Some(p) = self.menus[id].parent {
            if p == ROOT_MENU {
                break;
            }
            if let Some(pr) = &self.menus[p].prompt {
                out.push(pr.text.as_str());
            }
            id = p;
        }
        out.reverse();
        out
    }
}

/// Iterator for [`Tree::walk`].
pub struct MenuWalk<'a> {
    tree: &'a Tree,
    stack: Vec<MenuId>,
}

impl Iterator for MenuWalk<'_> {
    type Item = MenuId;
    fn next(&mut self) -> Option<MenuId> {
        let id = self.stack.pop()?;
        self.stack
            .extend(self.tree.menus[id].children.iter().rev().copied());
        Some(id)
    }
}

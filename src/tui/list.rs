//! Which entries a menu level shows, with their markers, the way mconf
//! lays them out: menus and `menuconfig` symbols are submenus (`--->`),
//! entries that depend on a plain `config` above them are listed right under
//! it, indented, a choice shows its selected value, comments read
//! `*** text ***`. Every value comes from the [`Config`].

use crate::kconfig::{Config, MenuId, MenuKind, SymId, SymType, Tri};

/// What activating an entry does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A `menu`: Enter opens it.
    Menu,
    /// A `comment`, or a prompt-only node: nothing to do.
    Comment,
    /// A bool or tristate symbol.
    Bool,
    /// A string, int or hex symbol: Enter edits it.
    Value,
    /// A choice: Enter opens the radio list.
    Choice,
}

/// One line of a menu level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub menu: MenuId,
    pub sym: Option<SymId>,
    pub kind: EntryKind,
    /// Extra indentation (auto-submenu children), in columns.
    pub indent: usize,
    /// `[*]`, `< >`, `{M}`, `-*-`, `(value)`, or blanks.
    pub marker: String,
    /// The prompt text (with the selected value for a choice).
    pub prompt: String,
    /// Byte index of the hotkey letter in `prompt`.
    pub hotkey: Option<usize>,
    /// `--->`, `----` (empty submenu) or nothing.
    pub submenu: Option<bool>,
    /// The symbol has no user value yet (mconf's `(NEW)`).
    pub new: bool,
    /// False for entries shown only because of show-all mode.
    pub visible: bool,
    /// The value differs from the last saved configuration.
    pub changed: bool,
    /// The user can change the value (bool/tristate symbols and optional choices).
    pub changeable: bool,
}

impl Entry {
    /// True when Enter opens a submenu.
    pub fn opens_submenu(&self) -> bool {
        self.submenu.is_some()
    }
}

/// The position of the hotkey letter in a prompt: its first letter outside
/// brackets that is not one of the command keys y, n, m, h.
pub fn hotkey_index(prompt: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in prompt.char_indices() {
        match c {
            '<' | '[' | '(' => depth += 1,
            '>' | ']' | ')' if depth > 0 => depth -= 1,
            _ => {}
        }
        if depth == 0 && c.is_ascii_alphabetic() && !"ynmhYNMH".contains(c) {
            return Some(i);
        }
    }
    None
}

/// A symbol's value as .config shows it, or `None` when it is not written.
pub fn written_value(cfg: &mut Config, sym: SymId) -> Option<String> {
    if cfg.is_written(sym) {
        Some(cfg.string_value(sym))
    } else {
        None
    }
}

/// Builds the entries of one menu level.
pub struct ListBuilder<'a> {
    pub cfg: &'a mut Config,
    /// The last saved configuration, for the "changed" marker.
    pub saved: &'a mut Config,
    pub show_all: bool,
    out: Vec<Entry>,
}

impl<'a> ListBuilder<'a> {
    pub fn new(cfg: &'a mut Config, saved: &'a mut Config, show_all: bool) -> Self {
        ListBuilder {
            cfg,
            saved,
            show_all,
            out: Vec::new(),
        }
    }

    /// The entries shown when `menu` is the current level.
    pub fn build(mut self, menu: MenuId) -> Vec<Entry> {
        let tree = self.cfg.tree_arc();
        if let MenuKind::Symbol(s) = tree.menus[menu].kind {
            // The menuconfig symbol this submenu belongs to, editable at the top.
            let visible = self.cfg.menu_visible(menu);
            let e = self.symbol_entry(menu, s, 0, visible);
            self.out.push(e);
        }
        for &c in &tree.menus[menu].children {
            self.add(c, 0);
        }
        self.out
    }

    fn changed(&mut self, sym: SymId) -> bool {
        written_value(self.cfg, sym) != written_value(self.saved, sym)
    }

    fn base(&mut self, menu: MenuId, sym: Option<SymId>, kind: EntryKind, indent: usize) -> Entry {
        let tree = self.cfg.tree_arc();
        let prompt = tree.menus[menu]
            .prompt
            .as_ref()
            .map(|p| p.text.clone())
            .unwrap_or_default();
        Entry {
            menu,
            sym,
            kind,
            indent,
            marker: String::new(),
            hotkey: hotkey_index(&prompt),
            prompt,
            submenu: None,
            new: false,
            visible: true,
            changed: false,
            changeable: false,
        }
    }

    fn tri_marker(&mut self, s: SymId) -> (String, bool) {
        let val = self.cfg.tri(s);
        let changeable = self.cfg.is_changeable(s);
        let ty = self.cfg.effective_type(s);
        let ch = match val {
            Tri::Yes => '*',
            Tri::Mod => 'M',
            Tri::No => ' ',
        };
        let m = if ty == SymType::Tristate {
            if !changeable {
                format!("-{ch}-")
            } else if self.cfg.rev_dep(s) == Tri::Mod {
                format!("{{{ch}}}")
            } else {
                format!("<{ch}>")
            }
        } else if changeable {
            format!("[{ch}]")
        } else {
            format!("-{ch}-")
        };
        (m, changeable)
    }

    fn symbol_entry(&mut self, m: MenuId, s: SymId, indent: usize, visible: bool) -> Entry {
        let tree = self.cfg.tree_arc();
        let ty = self.cfg.effective_type(s);
        let mut e = self.base(m, Some(s), EntryKind::Bool, indent);
        e.visible = visible;
        let changeable = self.cfg.is_changeable(s);
        e.new = !self.cfg.has_user_value(s) && changeable;
        e.changed = self.changed(s);
        match ty {
            SymType::Bool | SymType::Tristate => {
                if tree.syms[s].choice.is_some()
                    && self.cfg.tri(s) == Tri::Yes
                    && ty == SymType::Bool
                {
                    // A selected value inside a choice shown as a list (m mode).
                    e.marker = "   ".into();
                } else {
                    let (mk, ch) = self.tri_marker(s);
                    e.marker = mk;
                    e.changeable = ch;
                }
            }
            SymType::String | SymType::Int | SymType::Hex => {
                e.kind = EntryKind::Value;
                e.marker = format!("({})", self.cfg.string_value(s));
                e.changeable = visible;
            }
            SymType::Unknown => {
                e.kind = EntryKind::Comment;
                e.marker = "   ".into();
            }
        }
        e
    }

    fn add(&mut self, m: MenuId, indent: usize) {
        let tree = self.cfg.tree_arc();
        let node = &tree.menus[m];
        let visible = self.cfg.menu_visible(m);
        if self.show_all {
            if node.prompt.is_none() {
                // Prompt-less nodes were flattened; a bare symbol shows nothing.
                return;
            }
        } else if !visible {
            return;
        }
        match node.kind {
            MenuKind::Root => {}
            MenuKind::Menu => {
                let mut e = self.base(m, None, EntryKind::Menu, indent);
                e.visible = visible;
                e.marker = "   ".into();
                e.submenu = Some(self.is_empty(m));
                self.out.push(e);
            }
            MenuKind::Comment => {
                let mut e = self.base(m, None, EntryKind::Comment, indent);
                e.visible = visible;
                e.marker = "   ".into();
                e.hotkey = None;
                self.out.push(e);
                self.children(m, indent + 2);
            }
            MenuKind::If => self.children(m, indent),
            MenuKind::Choice(cs) => self.add_choice(m, cs, indent, visible),
            MenuKind::Symbol(s) => {
                let e = self.symbol_entry(m, s, indent, visible);
                if node.is_menuconfig {
                    let mut e = e;
                    e.submenu = Some(self.is_empty(m));
                    self.out.push(e);
                    return;
                }
                self.out.push(e);
                self.children(m, indent + 2);
            }
        }
    }

    fn children(&mut self, m: MenuId, indent: usize) {
        let tree = self.cfg.tree_arc();
        for &c in &tree.menus[m].children {
            self.add(c, indent);
        }
    }

    /// mconf's `menu_is_empty`: no child would be shown.
    fn is_empty(&mut self, m: MenuId) -> bool {
        let tree = self.cfg.tree_arc();
        !tree.menus[m]
            .children
            .iter()
            .any(|&c| self.cfg.menu_visible(c))
    }

    fn add_choice(&mut self, m: MenuId, cs: SymId, indent: usize, visible: bool) {
        let tree = self.cfg.tree_arc();
        let mut e = self.base(m, Some(cs), EntryKind::Choice, indent);
        e.visible = visible;
        let val = self.cfg.tri(cs);
        let changeable = self.cfg.is_changeable(cs);
        if changeable {
            let (mk, _) = self.tri_marker(cs);
            e.marker = mk;
            e.changeable = true;
        } else {
            e.marker = "   ".into();
        }
        let sel = self.cfg.choice_selection(cs);
        let def_menu = tree.menus[m].children.iter().copied().find(|&c| {
            matches!(tree.menus[c].kind, MenuKind::Symbol(v) if Some(v) == sel)
                && self.cfg.menu_visible(c)
        });
        e.changed = tree.syms[cs]
            .choice_values
            .clone()
            .into_iter()
            .any(|v| self.changed(v));
        if val == Tri::Yes {
            if let Some(d) = def_menu {
                if let Some(p) = &tree.menus[d].prompt {
                    e.prompt.push_str(&format!(" ({})", p.text));
                }
                e.submenu = Some(false);
                self.out.push(e);
                if !tree.menus[d].children.is_empty() {
                    self.children(d, indent + 2);
                }
                return;
            }
            self.out.push(e);
            return;
        }
        self.out.push(e);
        self.children(m, indent + 2);
    }
}

/// Whether a node is a level of its own (a menu or a menuconfig symbol) or the root.
pub fn is_level(cfg: &Config, m: MenuId) -> bool {
    let tree = cfg.tree();
    let n = &tree.menus[m];
    match n.kind {
        MenuKind::Root | MenuKind::Menu => true,
        MenuKind::Symbol(_) => n.is_menuconfig,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::hotkey_index;

    #[test]
    fn hotkeys_skip_command_letters_and_brackets() {
        assert_eq!(hotkey_index("Networking"), Some(1));
        assert_eq!(hotkey_index("(x86) Target"), Some(6));
        assert_eq!(hotkey_index("Yes no maybe"), Some(1));
        assert_eq!(hotkey_index("123"), None);
    }
}

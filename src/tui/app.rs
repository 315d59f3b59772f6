//! The menuconfig state and what every key does. Pure: no terminal here,
//! so tests drive it with key events and look at the state or at a
//! rendering into a test backend.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;

use crate::kconfig::explain::{self, main_menu_of, Report, ReportLine, Tone};
use crate::kconfig::{Config, MenuId, MenuKind, SymId, SymType, Tree, Tri, UserSnapshot};

use super::list::{is_level, written_value, Entry, EntryKind, ListBuilder};
use super::search::{Hit, Mode, SearchIndex};

/// One open menu level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    pub menu: MenuId,
    pub sel: usize,
    pub scroll: usize,
}

/// The buttons under the menu, as mconf has them.
pub const BUTTONS: [&str; 5] = ["Select", "Exit", "Help", "Save", "Load"];

/// A scrollable text (help, explanations, messages) with optional links.
#[derive(Debug, Clone)]
pub struct TextView {
    pub title: String,
    pub lines: Vec<ReportLine>,
    pub scroll: usize,
    /// Index into `lines` of the highlighted link (a line naming a symbol).
    pub link: Option<usize>,
}

/// The radio list of a choice.
#[derive(Debug, Clone)]
pub struct ChoiceDialog {
    pub choice: SymId,
    pub menu: MenuId,
    pub title: String,
    /// (menu node, symbol, prompt) of every visible value.
    pub items: Vec<(MenuId, SymId, String)>,
    pub sel: usize,
    pub scroll: usize,
    pub active: Option<SymId>,
}

/// What an input box edits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputKind {
    Value(SymId),
    SaveAs,
    Load,
}

/// A one-line text input with a cursor.
#[derive(Debug, Clone)]
pub struct InputDialog {
    pub kind: InputKind,
    pub title: String,
    pub text: String,
    pub buf: String,
    /// Cursor position in characters.
    pub cursor: usize,
    pub error: Option<String>,
}

/// A yes/no question.
#[derive(Debug, Clone)]
pub struct Confirm {
    pub text: String,
    pub yes: bool,
    /// Opened by Ctrl-C: a second Ctrl-C quits without saving.
    pub from_ctrl_c: bool,
}

/// The search screen.
#[derive(Debug, Clone)]
pub struct SearchDialog {
    pub query: String,
    pub cursor: usize,
    pub mode: Mode,
    pub hits: Vec<Hit>,
    pub sel: usize,
    pub scroll: usize,
    pub error: Option<String>,
    /// The query changed since the last search: search before the next frame.
    pub stale: bool,
}

/// One unsaved change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffRow {
    pub sym: SymId,
    pub name: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// The list of unsaved changes.
#[derive(Debug, Clone)]
pub struct DiffView {
    pub rows: Vec<DiffRow>,
    pub sel: usize,
    pub scroll: usize,
}

/// The dialog on top of the menu, if any.
#[derive(Debug, Clone)]
pub enum Dialog {
    Text(TextView),
    Choice(ChoiceDialog),
    Input(InputDialog),
    Confirm(Confirm),
    Search(SearchDialog),
    Diff(DiffView),
}

/// How the session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// Saved to this file on the way out.
    Saved(PathBuf),
    /// There were unsaved changes and the user chose not to save them.
    Discarded,
    /// Nothing to save.
    Unchanged,
}

enum Undo {
    Values {
        snap: UserSnapshot,
        what: String,
    },
    Whole {
        cfg: Box<Config>,
        saved: Box<Config>,
        path: PathBuf,
        extra: bool,
        what: String,
    },
}

/// Where the last frame put things, for mouse clicks.
#[derive(Debug, Clone, Default)]
pub struct Geometry {
    pub list: Rect,
    pub buttons: Vec<Rect>,
    /// Rows of a dialog's list (choice values, search hits, diff rows).
    pub dialog_list: Rect,
}

/// The most undo steps kept.
const UNDO_LIMIT: usize = 500;

/// The menuconfig session.
pub struct App {
    tree: Arc<Tree>,
    pub cfg: Config,
    /// The configuration as last saved (or loaded): the base of the change markers.
    pub saved: Config,
    /// True when the file on disk needs writing even without a change
    /// (missing, or normalized on reading).
    extra_unsaved: bool,
    pub config_path: PathBuf,
    pub show_all: bool,
    pub show_names: bool,
    pub stack: Vec<Level>,
    pub entries: Vec<Entry>,
    /// Focused button (0 = Select).
    pub button: usize,
    pub dialog: Option<Dialog>,
    /// Dialogs under the top one (help opened from the search, a choice...),
    /// shown again when it closes.
    pub dialogs_below: Vec<Dialog>,
    undo: Vec<Undo>,
    /// A one-line message for the status bar; cleared by the next key.
    pub message: Option<String>,
    pub exit: Option<Exit>,
    /// The file last written in this session, if any.
    last_saved: Option<PathBuf>,
    /// Rows of the menu list in the last frame.
    pub page: usize,
    pub geometry: Geometry,
    index: Option<SearchIndex>,
    changes: Option<usize>,
}

fn key_char(k: &KeyEvent) -> Option<char> {
    match k.code {
        KeyCode::Char(c)
            if !k
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
        {
            Some(c)
        }
        _ => None,
    }
}

fn ctrl(k: &KeyEvent, c: char) -> bool {
    k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char(c)
}

/// Moves `sel` by `delta` within `0..len`, keeping `scroll` so that `sel` shows in `page` rows.
fn step(sel: &mut usize, scroll: &mut usize, len: usize, page: usize, delta: isize) {
    if len == 0 {
        *sel = 0;
        *scroll = 0;
        return;
    }
    let n = (*sel as isize + delta).clamp(0, len as isize - 1);
    *sel = n as usize;
    keep_visible(*sel, scroll, page.max(1));
}

fn keep_visible(sel: usize, scroll: &mut usize, page: usize) {
    if sel < *scroll {
        *scroll = sel;
    } else if sel >= *scroll + page {
        *scroll = sel + 1 - page;
    }
}

/// Edits a one-line buffer; true when the key was an editing key.
fn edit_line(buf: &mut String, cursor: &mut usize, k: &KeyEvent) -> bool {
    let len = buf.chars().count();
    *cursor = (*cursor).min(len);
    let byte = |s: &str, i: usize| s.char_indices().nth(i).map(|(b, _)| b).unwrap_or(s.len());
    match k.code {
        KeyCode::Char('u') if k.modifiers.contains(KeyModifiers::CONTROL) => {
            buf.clear();
            *cursor = 0;
        }
        KeyCode::Char('a') if k.modifiers.contains(KeyModifiers::CONTROL) => *cursor = 0,
        KeyCode::Char('e') if k.modifiers.contains(KeyModifiers::CONTROL) => *cursor = len,
        KeyCode::Char(c)
            if !k
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
        {
            let b = byte(buf, *cursor);
            buf.insert(b, c);
            *cursor += 1;
        }
        KeyCode::Backspace => {
            if *cursor > 0 {
                let b = byte(buf, *cursor - 1);
                buf.remove(b);
                *cursor -= 1;
            }
        }
        KeyCode::Delete => {
            if *cursor < len {
                let b = byte(buf, *cursor);
                buf.remove(b);
            }
        }
        KeyCode::Left => *cursor = cursor.saturating_sub(1),
        KeyCode::Right => *cursor = (*cursor + 1).min(len),
        KeyCode::Home => *cursor = 0,
        KeyCode::End => *cursor = len,
        _ => return false,
    }
    true
}

impl App {
    /// Opens a session on `tree`, reading `config_path` when it exists.
    pub fn new(tree: Arc<Tree>, config_path: &Path, prefix: &str) -> crate::kconfig::Result<App> {
        let mut cfg = Config::new(tree.clone());
        cfg.prefix = prefix.to_string();
        let mut message = None;
        let extra = if config_path.exists() {
            let rep = cfg.read(config_path)?;
            if !cfg.warnings.is_empty() {
                message = Some(format!(
                    "{}: {} warning(s) while reading, e.g. {}",
                    config_path.display(),
                    cfg.warnings.len(),
                    cfg.warnings[0].msg.lines().next().unwrap_or("")
                ));
            }
            rep.unsaved > 0
        } else {
            message = Some(format!(
                "{} does not exist yet: showing defaults",
                config_path.display()
            ));
            true
        };
        cfg.warnings.clear();
        let saved = cfg.clone();
        let mut app = App {
            tree,
            cfg,
            saved,
            extra_unsaved: extra,
            config_path: config_path.to_path_buf(),
            show_all: false,
            show_names: false,
            stack: vec![Level {
                menu: crate::kconfig::ROOT_MENU,
                sel: 0,
                scroll: 0,
            }],
            entries: Vec::new(),
            button: 0,
            dialog: None,
            dialogs_below: Vec::new(),
            undo: Vec::new(),
            message,
            exit: None,
            last_saved: None,
            page: 10,
            geometry: Geometry::default(),
            index: None,
            changes: None,
        };
        app.refresh();
        Ok(app)
    }

    pub fn tree(&self) -> &Arc<Tree> {
        &self.tree
    }

    pub fn level(&self) -> &Level {
        // The stack always holds the root level.
        &self.stack[self.stack.len() - 1]
    }

    fn level_mut(&mut self) -> &mut Level {
        let n = self.stack.len() - 1;
        &mut self.stack[n]
    }

    /// The selected entry of the current level.
    pub fn selected(&self) -> Option<&Entry> {
        self.entries.get(self.level().sel)
    }

    /// Title of the current level (mconf: the menu's prompt, or "Main Menu").
    pub fn level_title(&self) -> String {
        let m = self.level().menu;
        if m == crate::kconfig::ROOT_MENU {
            return "Main Menu".into();
        }
        self.tree.menus[m]
            .prompt
            .as_ref()
            .map(|p| p.text.clone())
            .unwrap_or_else(|| "Main Menu".into())
    }

    /// The prompts of the open levels below the root.
    pub fn breadcrumb(&self) -> Vec<String> {
        self.stack
            .iter()
            .skip(1)
            .filter_map(|l| self.tree.menus[l.menu].prompt.as_ref())
            .map(|p| p.text.clone())
            .collect()
    }

    /// Rebuilds the entries of the current level, keeping the selection on the same node.
    pub fn refresh(&mut self) {
        let keep = self.selected().map(|e| e.menu);
        let menu = self.level().menu;
        self.entries = ListBuilder::new(&mut self.cfg, &mut self.saved, self.show_all).build(menu);
        let len = self.entries.len();
        let page = self.page;
        let pos = keep.and_then(|m| self.entries.iter().position(|e| e.menu == m));
        let lvl = self.level_mut();
        if let Some(p) = pos {
            lvl.sel = p;
        }
        lvl.sel = lvl.sel.min(len.saturating_sub(1));
        if lvl.scroll > lvl.sel {
            lvl.scroll = lvl.sel;
        }
        let (mut sel, mut scroll) = (lvl.sel, lvl.scroll);
        step(&mut sel, &mut scroll, len, page, 0);
        let lvl = self.level_mut();
        lvl.sel = sel;
        lvl.scroll = scroll;
    }

    /// The symbols whose `.config` value differs from the last save.
    pub fn diff(&mut self) -> Vec<DiffRow> {
        let tree = self.tree.clone();
        let mut rows = Vec::new();
        for id in tree.config_symbols() {
            let new = written_value(&mut self.cfg, id);
            let old = written_value(&mut self.saved, id);
            if new != old {
                rows.push(DiffRow {
                    sym: id,
                    name: tree.syms[id].name.clone(),
                    old,
                    new,
                });
            }
        }
        rows
    }

    /// How many values differ from the last save (cached until the next change).
    pub fn change_count(&mut self) -> usize {
        if let Some(n) = self.changes {
            return n;
        }
        let n = self.diff().len();
        self.changes = Some(n);
        n
    }

    /// The number of unsaved changes if it is known without computing it.
    pub fn change_count_cached(&self) -> Option<usize> {
        self.changes
    }

    /// Work left for when no key is waiting: counting the unsaved changes
    /// (a pass over every symbol, too slow to do on each key press of a big
    /// tree). Returns true when something was done and the screen should be redrawn.
    pub fn idle_work(&mut self) -> bool {
        if self.changes.is_none() {
            self.change_count();
            return true;
        }
        false
    }

    /// True when the status line may show something out of date.
    pub fn has_idle_work(&self) -> bool {
        self.changes.is_none()
    }

    /// The file on disk needs writing even without a change (it is missing,
    /// or reading it normalized some values).
    pub fn needs_save_without_changes(&self) -> bool {
        self.extra_unsaved
    }

    /// True when leaving now would lose something.
    pub fn is_dirty(&mut self) -> bool {
        self.extra_unsaved || self.change_count() > 0
    }

    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    fn changed(&mut self) {
        self.changes = None;
        self.refresh();
    }

    fn set_message(&mut self, m: impl Into<String>) {
        self.message = Some(m.into());
    }

    // ----- values -----

    /// Sets a bool/tristate as the user asked, with an undo step and an
    /// explanation when it is not possible.
    pub fn set_value(&mut self, sym: SymId, want: Tri) -> bool {
        let old = self.cfg.tri(sym);
        if old == want {
            return true;
        }
        let snap = self.cfg.user_snapshot(sym);
        if self.cfg.set_tri(sym, want) {
            let name = self.tree.sym_display_name(sym);
            self.push_undo(Undo::Values {
                snap,
                what: format!("{name} {old} -> {want}"),
            });
            self.changed();
            return true;
        }
        if want == Tri::Yes && self.cfg.set_tri(sym, Tri::Mod) {
            let name = self.tree.sym_display_name(sym);
            self.push_undo(Undo::Values {
                snap,
                what: format!("{name} {old} -> m"),
            });
            self.changed();
            self.set_message(format!(
                "{name} depends on something set to m, so it is built as a module (m)"
            ));
            return true;
        }
        let why = explain::why_not_short(&mut self.cfg, sym, want)
            .unwrap_or_else(|| "not allowed by its dependencies".into());
        self.set_message(format!(
            "can't set {} to {want}: {why}  (? for details)",
            self.tree.sym_display_name(sym)
        ));
        false
    }

    /// kconfig's `sym_toggle_tristate_value`: n -> m -> y -> n, skipping what is not allowed.
    pub fn toggle(&mut self, sym: SymId) {
        let old = self.cfg.tri(sym);
        let mut v = old;
        loop {
            v = match v {
                Tri::No => Tri::Mod,
                Tri::Mod => Tri::Yes,
                Tri::Yes => Tri::No,
            };
            if v == old {
                break;
            }
            if explain::can_set(&mut self.cfg, sym, v) {
                self.set_value(sym, v);
                return;
            }
        }
        let want = if old == Tri::No { Tri::Yes } else { Tri::No };
        self.set_value(sym, want);
    }

    /// Sets a string/int/hex value; `Err` says what is wrong with it.
    pub fn set_text(&mut self, sym: SymId, text: &str) -> Result<(), String> {
        let ty = self.tree.syms[sym].ty;
        let t = text.trim();
        let ok_format = match ty {
            SymType::Int => {
                let d = t.strip_prefix('-').unwrap_or(t);
                !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())
            }
            SymType::Hex => {
                let d = t
                    .strip_prefix("0x")
                    .or_else(|| t.strip_prefix("0X"))
                    .unwrap_or(t);
                !d.is_empty() && d.bytes().all(|b| b.is_ascii_hexdigit())
            }
            _ => true,
        };
        let value = if ty == SymType::String { text } else { t };
        if !ok_format {
            return Err(match ty {
                SymType::Int => format!("'{t}' is not a decimal number"),
                _ => format!("'{t}' is not a hexadecimal number"),
            });
        }
        if !self.cfg.string_within_range(sym, value) {
            if let Some((lo, hi)) = self.cfg.range_text(sym) {
                return Err(format!("'{t}' is out of range: {lo} to {hi}"));
            }
            return Err(format!("'{t}' is not a valid value"));
        }
        if self.cfg.visibility(sym) == Tri::No {
            return Err("this symbol cannot be changed now (its dependencies are not met)".into());
        }
        let old = self.cfg.string_value(sym);
        let snap = self.cfg.user_snapshot(sym);
        if !self.cfg.set_string(sym, value) {
            return Err(format!("'{t}' was refused"));
        }
        let new = self.cfg.string_value(sym);
        if old != new || !self.saved.has_user_value(sym) {
            let name = self.tree.sym_display_name(sym);
            self.push_undo(Undo::Values {
                snap,
                what: format!("{name} \"{old}\" -> \"{new}\""),
            });
        }
        self.changed();
        Ok(())
    }

    fn push_undo(&mut self, u: Undo) {
        self.undo.push(u);
        if self.undo.len() > UNDO_LIMIT {
            self.undo.remove(0);
        }
    }

    /// Takes back the last change.
    pub fn undo(&mut self) {
        match self.undo.pop() {
            None => self.set_message("nothing to undo"),
            Some(Undo::Values { snap, what }) => {
                self.cfg.restore_user_snapshot(&snap);
                self.set_message(format!("undone: {what}"));
                self.changed();
            }
            Some(Undo::Whole {
                cfg,
                saved,
                path,
                extra,
                what,
            }) => {
                self.cfg = *cfg;
                self.saved = *saved;
                self.config_path = path;
                self.extra_unsaved = extra;
                self.index = None;
                self.set_message(format!("undone: {what}"));
                self.changed();
            }
        }
    }

    // ----- files -----

    /// Writes the configuration to `path`, which becomes the current file.
    pub fn save_to(&mut self, path: &Path) -> bool {
        match self.cfg.write_config(path) {
            Ok(()) => {
                self.config_path = path.to_path_buf();
                self.last_saved = Some(path.to_path_buf());
                self.saved = self.cfg.clone();
                self.extra_unsaved = false;
                self.changes = Some(0);
                self.set_message(format!("configuration written to {}", path.display()));
                self.refresh();
                true
            }
            Err(e) => {
                self.dialog = Some(Dialog::Text(message_view(
                    "Error",
                    &format!("Nothing was saved.\n\n{e}"),
                )));
                false
            }
        }
    }

    /// Replaces the configuration with the one in `path` (mconf's Load).
    pub fn load_from(&mut self, path: &Path) -> bool {
        let mut cfg = Config::new(self.tree.clone());
        cfg.prefix = self.cfg.prefix.clone();
        match cfg.read(path) {
            Ok(rep) => {
                cfg.warnings.clear();
                let old_cfg = std::mem::replace(&mut self.cfg, cfg);
                let new_saved = self.cfg.clone();
                let old_saved = std::mem::replace(&mut self.saved, new_saved);
                let old_path = std::mem::replace(&mut self.config_path, path.to_path_buf());
                let old_extra = std::mem::replace(&mut self.extra_unsaved, rep.unsaved > 0);
                self.push_undo(Undo::Whole {
                    cfg: Box::new(old_cfg),
                    saved: Box::new(old_saved),
                    path: old_path,
                    extra: old_extra,
                    what: format!("load of {}", path.display()),
                });
                self.set_message(format!("loaded {}", path.display()));
                self.changed();
                true
            }
            Err(e) => {
                self.dialog = Some(Dialog::Text(message_view(
                    "Error",
                    &format!("File could not be loaded.\n\n{e}"),
                )));
                false
            }
        }
    }

    // ----- navigation -----

    fn move_sel(&mut self, delta: isize) {
        let len = self.entries.len();
        let page = self.page;
        let lvl = self.level_mut();
        step(&mut lvl.sel, &mut lvl.scroll, len, page, delta);
    }

    fn select_index(&mut self, i: usize) {
        let len = self.entries.len();
        if len == 0 {
            return;
        }
        let page = self.page;
        let lvl = self.level_mut();
        lvl.sel = i.min(len - 1);
        keep_visible(lvl.sel, &mut lvl.scroll, page.max(1));
    }

    fn enter_level(&mut self, menu: MenuId) {
        self.stack.push(Level {
            menu,
            sel: 0,
            scroll: 0,
        });
        self.refresh();
    }

    /// Esc: leaves the current level, or asks to exit at the top.
    pub fn back(&mut self) {
        if self.stack.len() > 1 {
            self.stack.pop();
            self.refresh();
        } else {
            self.request_exit(false);
        }
    }

    fn request_exit(&mut self, from_ctrl_c: bool) {
        if self.is_dirty() {
            self.dialog = Some(Dialog::Confirm(Confirm {
                text: "Do you wish to save your new configuration?".into(),
                yes: true,
                from_ctrl_c,
            }));
        } else {
            self.exit = Some(match &self.last_saved {
                Some(p) => Exit::Saved(p.clone()),
                None => Exit::Unchanged,
            });
        }
    }

    /// Opens the levels leading to menu node `target` and selects it.
    pub fn jump_to(&mut self, target: MenuId) {
        self.dialogs_below.clear();
        let tree = self.tree.clone();
        // The entry shown for a choice value is its choice.
        let (shown, value) = match tree.menus[target].parent {
            Some(p) if matches!(tree.menus[p].kind, MenuKind::Choice(_)) => {
                (p, tree.menus[target].kind)
            }
            _ => (target, MenuKind::Comment),
        };
        let mut levels = Vec::new();
        let mut p = tree.menus[shown].parent;
        while let Some(m) = p {
            if is_level(&self.cfg, m) {
                levels.push(m);
            }
            p = tree.menus[m].parent;
        }
        levels.reverse();
        if levels.first() != Some(&crate::kconfig::ROOT_MENU) {
            levels.insert(0, crate::kconfig::ROOT_MENU);
        }
        self.stack = levels
            .into_iter()
            .map(|menu| Level {
                menu,
                sel: 0,
                scroll: 0,
            })
            .collect();
        self.refresh();
        let mut pos = self.entries.iter().position(|e| e.menu == shown);
        if pos.is_none() && !self.show_all {
            self.show_all = true;
            self.refresh();
            pos = self.entries.iter().position(|e| e.menu == shown);
            if pos.is_some() {
                self.set_message("show-all turned on: the entry is not visible with the current values (z to turn off)");
            }
        }
        if let Some(i) = pos {
            self.select_index(i);
            // Show the target in the middle of the list, not at its edge.
            let half = self.page / 2;
            let len = self.entries.len();
            let page = self.page;
            let lvl = self.level_mut();
            lvl.scroll = i.saturating_sub(half).min(len.saturating_sub(page));
            if let (MenuKind::Symbol(v), MenuKind::Choice(cs)) = (value, tree.menus[shown].kind) {
                if self.cfg.tri(cs) == Tri::Yes {
                    self.open_choice(shown, cs);
                    if let Some(Dialog::Choice(d)) = &mut self.dialog {
                        if let Some(j) = d.items.iter().position(|it| it.1 == v) {
                            d.sel = j;
                        }
                    }
                }
            }
        }
    }

    /// Jumps to the main entry of a symbol.
    pub fn jump_to_sym(&mut self, sym: SymId) {
        if let Some(m) = main_menu_of(&self.tree, sym) {
            self.jump_to(m);
        }
    }

    // ----- dialogs -----

    fn open_choice(&mut self, menu: MenuId, cs: SymId) {
        let tree = self.tree.clone();
        let active = self.cfg.choice_selection(cs);
        let mut items = Vec::new();
        for &c in &tree.menus[menu].children {
            if let MenuKind::Symbol(v) = tree.menus[c].kind {
                if self.cfg.menu_visible(c) {
                    let p = tree.menus[c]
                        .prompt
                        .as_ref()
                        .map(|p| p.text.clone())
                        .unwrap_or_default();
                    items.push((c, v, p));
                }
            }
        }
        let sel = items
            .iter()
            .position(|it| Some(it.1) == active)
            .unwrap_or(0);
        self.dialog = Some(Dialog::Choice(ChoiceDialog {
            choice: cs,
            menu,
            title: tree.menus[menu]
                .prompt
                .as_ref()
                .map(|p| p.text.clone())
                .unwrap_or_default(),
            items,
            sel,
            scroll: 0,
            active,
        }));
    }

    fn open_input(&mut self, sym: SymId, menu: MenuId) {
        let ty = self.tree.syms[sym].ty;
        let mut text = match ty {
            SymType::Int => {
                "Please enter a decimal value. Fractions will not be accepted.".to_string()
            }
            SymType::Hex => "Please enter a hexadecimal value.".to_string(),
            _ => "Please enter a string value.".to_string(),
        };
        if let Some((lo, hi)) = self.cfg.range_text(sym) {
            text.push_str(&format!(" Range: {lo} to {hi}."));
        }
        let buf = self.cfg.string_value(sym);
        self.dialog = Some(Dialog::Input(InputDialog {
            kind: InputKind::Value(sym),
            title: self.tree.menus[menu]
                .prompt
                .as_ref()
                .map(|p| p.text.clone())
                .unwrap_or_else(|| self.tree.syms[sym].name.clone()),
            text,
            cursor: buf.chars().count(),
            buf,
            error: None,
        }));
    }

    fn open_file_input(&mut self, kind: InputKind) {
        let (title, text) = match kind {
            InputKind::Load => (
                "Load an Alternate Configuration",
                "Enter the name of the configuration file you wish to load.",
            ),
            _ => (
                "Save Configuration",
                "Enter a filename to which this configuration should be saved.",
            ),
        };
        let buf = self.config_path.display().to_string();
        self.dialog = Some(Dialog::Input(InputDialog {
            kind,
            title: title.into(),
            text: text.into(),
            cursor: buf.chars().count(),
            buf,
            error: None,
        }));
    }

    /// The help of a menu node.
    pub fn open_help(&mut self, menu: MenuId) {
        let report = explain::help_report(&mut self.cfg, menu);
        let title = self.tree.menus[menu]
            .prompt
            .as_ref()
            .map(|p| p.text.clone())
            .unwrap_or_else(|| "Help".into());
        self.dialog = Some(Dialog::Text(TextView {
            title,
            lines: report.lines,
            scroll: 0,
            link: None,
        }));
    }

    fn open_help_selected(&mut self) {
        match self.selected().map(|e| e.menu) {
            Some(m) => self.open_help(m),
            None => {
                self.dialog = Some(Dialog::Text(message_view("Keys", KEY_HELP)));
            }
        }
    }

    fn open_search(&mut self) {
        if self.index.is_none() {
            self.index = Some(SearchIndex::new(&self.tree));
        }
        self.dialog = Some(Dialog::Search(SearchDialog {
            query: String::new(),
            cursor: 0,
            mode: Mode::Fuzzy,
            hits: Vec::new(),
            sel: 0,
            scroll: 0,
            error: None,
            stale: false,
        }));
    }

    fn open_diff(&mut self) {
        let rows = self.diff();
        self.changes = Some(rows.len());
        self.dialog = Some(Dialog::Diff(DiffView {
            rows,
            sel: 0,
            scroll: 0,
        }));
    }

    fn toggle_show_all(&mut self) {
        self.show_all = !self.show_all;
        self.set_message(if self.show_all {
            "show all: entries hidden by their dependencies are shown greyed"
        } else {
            "show all: off"
        });
        self.refresh();
    }

    fn toggle_names(&mut self) {
        self.show_names = !self.show_names;
    }

    // ----- the menu's keys -----

    /// Enter / the Select button on the selected entry.
    pub fn activate(&mut self) {
        let Some(e) = self.selected().cloned() else {
            return;
        };
        if !e.visible {
            self.explain_entry(&e);
            return;
        }
        if e.opens_submenu() && e.kind != EntryKind::Choice {
            self.enter_level(e.menu);
            return;
        }
        match (e.kind, e.sym) {
            (EntryKind::Menu, _) => self.enter_level(e.menu),
            (EntryKind::Choice, Some(cs)) => {
                if self.cfg.tri(cs) == Tri::Yes {
                    self.open_choice(e.menu, cs);
                } else if e.changeable {
                    self.toggle(cs);
                }
            }
            (EntryKind::Bool, Some(s)) => self.toggle(s),
            (EntryKind::Value, Some(s)) => self.open_input(s, e.menu),
            _ => {}
        }
    }

    fn explain_entry(&mut self, e: &Entry) {
        let report = match e.sym {
            Some(s) if !self.tree.syms[s].is_choice => {
                let want = if self.cfg.tri(s) == Tri::No {
                    Tri::Yes
                } else {
                    Tri::No
                };
                explain::why_not(&mut self.cfg, s, want)
            }
            _ => None,
        };
        let report = report.unwrap_or_else(|| {
            let mut r = Report::default();
            let tree = self.tree.clone();
            let node = &tree.menus[e.menu];
            let deps = node
                .prompt
                .as_ref()
                .and_then(|p| p.visible.as_ref())
                .or(node.dep.as_ref());
            r.lines.push(ReportLine {
                indent: 0,
                text: format!("\"{}\" is not visible with the current values.", e.prompt),
                tone: Tone::Heading,
                sym: None,
            });
            if let Some(d) = deps {
                let text = explain::expr_with_values(&mut self.cfg, d);
                r.lines.push(ReportLine {
                    indent: 1,
                    text: format!("depends on {text}"),
                    tone: Tone::Unmet,
                    sym: None,
                });
            }
            r
        });
        self.dialog = Some(Dialog::Text(TextView {
            title: "Why is this not available?".into(),
            lines: report.lines,
            scroll: 0,
            link: None,
        }));
    }

    /// Space: mconf toggles a bool/tristate, opens menus.
    fn space(&mut self) {
        let Some(e) = self.selected().cloned() else {
            return;
        };
        if !e.visible {
            self.explain_entry(&e);
            return;
        }
        match (e.kind, e.sym) {
            (EntryKind::Bool, Some(s)) => self.toggle(s),
            (EntryKind::Choice, Some(cs)) => {
                if e.changeable {
                    self.toggle(cs)
                } else {
                    self.open_choice(e.menu, cs)
                }
            }
            (EntryKind::Value, Some(s)) => self.open_input(s, e.menu),
            (EntryKind::Menu, _) => self.enter_level(e.menu),
            _ => {}
        }
    }

    fn set_selected(&mut self, want: Tri) {
        let Some(e) = self.selected().cloned() else {
            return;
        };
        if let (EntryKind::Bool | EntryKind::Choice, Some(s)) = (e.kind, e.sym) {
            if e.kind == EntryKind::Choice && !e.changeable {
                return;
            }
            self.set_value(s, want);
        }
    }

    fn press_button(&mut self, b: usize) {
        match b {
            0 => self.activate(),
            1 => self.back(),
            2 => self.open_help_selected(),
            3 => self.open_file_input(InputKind::SaveAs),
            _ => self.open_file_input(InputKind::Load),
        }
    }

    fn hotkey(&mut self, c: char) -> bool {
        let c = c.to_ascii_lowercase();
        let n = self.entries.len();
        let start = self.level().sel;
        for k in 1..=n {
            let i = (start + k) % n;
            let e = &self.entries[i];
            if let Some(h) = e.hotkey {
                if e.prompt[h..].chars().next().map(|x| x.to_ascii_lowercase()) == Some(c) {
                    self.select_index(i);
                    return true;
                }
            }
        }
        false
    }

    /// Handles one key press.
    pub fn handle_key(&mut self, k: KeyEvent) {
        if self.dialog.is_some() {
            self.dialog_key(k);
            return;
        }
        self.message = None;
        if ctrl(&k, 'c') {
            self.request_exit(true);
            return;
        }
        if ctrl(&k, 'z') {
            self.undo();
            return;
        }
        if ctrl(&k, 's') {
            let p = self.config_path.clone();
            self.save_to(&p);
            return;
        }
        if ctrl(&k, 'o') {
            self.open_file_input(InputKind::Load);
            return;
        }
        if ctrl(&k, 'd') {
            self.open_diff();
            return;
        }
        if ctrl(&k, 'n') {
            self.toggle_names();
            return;
        }
        if ctrl(&k, 'f') {
            self.open_search();
            return;
        }
        let page = self.page.max(1) as isize;
        match k.code {
            KeyCode::Up => self.move_sel(-1),
            KeyCode::Down => self.move_sel(1),
            KeyCode::PageUp => self.move_sel(-page),
            KeyCode::PageDown => self.move_sel(page),
            KeyCode::Home => self.select_index(0),
            KeyCode::End => self.select_index(usize::MAX),
            KeyCode::Enter => {
                let b = self.button;
                self.press_button(b)
            }
            KeyCode::Tab | KeyCode::Right => self.button = (self.button + 1) % BUTTONS.len(),
            KeyCode::BackTab | KeyCode::Left => {
                self.button = (self.button + BUTTONS.len() - 1) % BUTTONS.len()
            }
            KeyCode::Esc | KeyCode::Backspace => self.back(),
            KeyCode::F(1) => self.open_help_selected(),
            KeyCode::F(2) => self.toggle_names(),
            KeyCode::F(3) => self.open_diff(),
            KeyCode::F(4) => self.toggle_show_all(),
            KeyCode::F(5) => self.undo(),
            KeyCode::F(6) => self.open_file_input(InputKind::SaveAs),
            KeyCode::F(7) => self.open_file_input(InputKind::Load),
            KeyCode::F(8) => self.open_search(),
            KeyCode::F(9) => self.request_exit(false),
            _ => {
                let Some(c) = key_char(&k) else {
                    return;
                };
                match c {
                    ' ' => self.space(),
                    '?' => self.open_help_selected(),
                    '/' => self.open_search(),
                    '-' => self.move_sel(-1),
                    '+' => self.move_sel(1),
                    c if c.is_ascii_alphabetic() => {
                        let l = c.to_ascii_lowercase();
                        match l {
                            'y' => self.set_selected(Tri::Yes),
                            'n' => self.set_selected(Tri::No),
                            'm' => self.set_selected(Tri::Mod),
                            'h' => self.open_help_selected(),
                            _ => {
                                if !self.hotkey(l) {
                                    match l {
                                        'z' => self.toggle_show_all(),
                                        's' => self.set_selected(Tri::Yes),
                                        'e' | 'x' => self.back(),
                                        _ => {}
                                    }
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    fn dialog_key(&mut self, k: KeyEvent) {
        let Some(d) = self.dialog.take() else {
            return;
        };
        let page = self.page.max(1);
        let keep = match d {
            Dialog::Text(mut v) => self.text_key(&mut v, k, page).then_some(Dialog::Text(v)),
            Dialog::Choice(mut c) => self
                .choice_key(&mut c, k, page)
                .then_some(Dialog::Choice(c)),
            Dialog::Input(mut i) => self.input_key(&mut i, k).then_some(Dialog::Input(i)),
            Dialog::Confirm(mut c) => self.confirm_key(&mut c, k).then_some(Dialog::Confirm(c)),
            Dialog::Search(mut s) => self
                .search_key(&mut s, k, page)
                .then_some(Dialog::Search(s)),
            Dialog::Diff(mut v) => self.diff_key(&mut v, k, page).then_some(Dialog::Diff(v)),
        };
        // A key handler may have opened another dialog (help, error) on top
        // of the one it kept, or closed it and every dialog (a jump).
        match (self.dialog.is_some(), keep) {
            (true, Some(k)) => self.dialogs_below.push(k),
            (true, None) => {}
            (false, Some(k)) => self.dialog = Some(k),
            (false, None) => self.dialog = self.dialogs_below.pop(),
        }
    }

    /// Returns false to close the view.
    fn text_key(&mut self, v: &mut TextView, k: KeyEvent, page: usize) -> bool {
        let links: Vec<usize> = v
            .lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.sym.is_some())
            .map(|(i, _)| i)
            .collect();
        // Rows, not lines, scroll: the renderer knows how lines wrap and
        // clamps `scroll` to the last page.
        let max = usize::MAX / 2;
        match k.code {
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('x') | KeyCode::Char('e') => false,
            KeyCode::Enter => {
                if let Some(l) = v.link {
                    if let Some(s) = v.lines.get(l).and_then(|l| l.sym) {
                        self.jump_to_sym(s);
                    }
                }
                false
            }
            KeyCode::Up | KeyCode::Char('k') => {
                v.scroll = v.scroll.saturating_sub(1);
                true
            }
            KeyCode::Down | KeyCode::Char('j') => {
                v.scroll = (v.scroll + 1).min(max);
                true
            }
            KeyCode::PageUp | KeyCode::Char('b') => {
                v.scroll = v.scroll.saturating_sub(page);
                true
            }
            KeyCode::PageDown | KeyCode::Char(' ') => {
                v.scroll = (v.scroll + page).min(max);
                true
            }
            KeyCode::Home | KeyCode::Char('g') => {
                v.scroll = 0;
                true
            }
            KeyCode::End | KeyCode::Char('G') => {
                v.scroll = max;
                true
            }
            KeyCode::Tab | KeyCode::BackTab => {
                if links.is_empty() {
                    return true;
                }
                let fwd = k.code == KeyCode::Tab;
                let cur = v.link.and_then(|l| links.iter().position(|&x| x == l));
                let next = match (cur, fwd) {
                    (None, true) => 0,
                    (None, false) => links.len() - 1,
                    (Some(i), true) => (i + 1) % links.len(),
                    (Some(i), false) => (i + links.len() - 1) % links.len(),
                };
                v.link = Some(links[next]);
                true
            }
            _ => true,
        }
    }

    fn choice_key(&mut self, c: &mut ChoiceDialog, k: KeyEvent, page: usize) -> bool {
        let n = c.items.len();
        match k.code {
            KeyCode::Esc => false,
            KeyCode::Up => {
                step(&mut c.sel, &mut c.scroll, n, page, -1);
                true
            }
            KeyCode::Down => {
                step(&mut c.sel, &mut c.scroll, n, page, 1);
                true
            }
            KeyCode::PageUp => {
                step(&mut c.sel, &mut c.scroll, n, page, -(page as isize));
                true
            }
            KeyCode::PageDown => {
                step(&mut c.sel, &mut c.scroll, n, page, page as isize);
                true
            }
            KeyCode::Home => {
                step(&mut c.sel, &mut c.scroll, n, page, -(n as isize));
                true
            }
            KeyCode::End => {
                step(&mut c.sel, &mut c.scroll, n, page, n as isize);
                true
            }
            KeyCode::Enter | KeyCode::Char(' ') | KeyCode::Char('s') | KeyCode::Char('y') => {
                if let Some(&(_, v, _)) = c.items.get(c.sel) {
                    self.set_value(v, Tri::Yes);
                }
                false
            }
            KeyCode::Char('?') | KeyCode::Char('h') | KeyCode::F(1) => {
                if let Some(&(m, _, _)) = c.items.get(c.sel) {
                    self.open_help(m);
                }
                true
            }
            KeyCode::Char(ch) if ch.is_ascii_alphanumeric() => {
                let l = ch.to_ascii_lowercase();
                for off in 1..=n {
                    let i = (c.sel + off) % n;
                    let p = &c.items[i].2;
                    if let Some(h) = super::list::hotkey_index(p) {
                        if p[h..].chars().next().map(|x| x.to_ascii_lowercase()) == Some(l) {
                            c.sel = i;
                            keep_visible(c.sel, &mut c.scroll, page);
                            break;
                        }
                    }
                }
                true
            }
            _ => true,
        }
    }

    fn input_key(&mut self, i: &mut InputDialog, k: KeyEvent) -> bool {
        match k.code {
            KeyCode::Esc => false,
            KeyCode::Enter => match i.kind.clone() {
                InputKind::Value(s) => match self.set_text(s, &i.buf) {
                    Ok(()) => false,
                    Err(e) => {
                        i.error = Some(e);
                        true
                    }
                },
                InputKind::SaveAs => {
                    let p = PathBuf::from(i.buf.trim());
                    if p.as_os_str().is_empty() {
                        i.error = Some("enter a file name".into());
                        return true;
                    }
                    self.save_to(&p);
                    false
                }
                InputKind::Load => {
                    let p = PathBuf::from(i.buf.trim());
                    if !p.is_file() {
                        i.error = Some(format!("{}: no such file", p.display()));
                        return true;
                    }
                    self.load_from(&p);
                    false
                }
            },
            KeyCode::F(1) => {
                if let InputKind::Value(s) = i.kind {
                    if let Some(m) = main_menu_of(&self.tree, s) {
                        self.open_help(m);
                    }
                }
                true
            }
            _ => {
                if edit_line(&mut i.buf, &mut i.cursor, &k) {
                    i.error = None;
                }
                true
            }
        }
    }

    fn confirm_key(&mut self, c: &mut Confirm, k: KeyEvent) -> bool {
        if ctrl(&k, 'c') {
            if c.from_ctrl_c {
                self.exit = Some(Exit::Discarded);
                return false;
            }
            c.from_ctrl_c = true;
            return true;
        }
        let answer = match k.code {
            KeyCode::Esc => return false,
            KeyCode::Left | KeyCode::Right | KeyCode::Tab | KeyCode::BackTab => {
                c.yes = !c.yes;
                return true;
            }
            KeyCode::Enter | KeyCode::Char(' ') => c.yes,
            KeyCode::Char('y') | KeyCode::Char('Y') => true,
            KeyCode::Char('n') | KeyCode::Char('N') => false,
            _ => return true,
        };
        if answer {
            let p = self.config_path.clone();
            if self.save_to(&p) {
                self.exit = Some(Exit::Saved(p));
            }
        } else {
            self.exit = Some(Exit::Discarded);
        }
        false
    }

    fn run_search(&mut self, s: &mut SearchDialog) {
        let tree = self.tree.clone();
        let index = self.index.get_or_insert_with(|| SearchIndex::new(&tree));
        match index.search(&tree, &s.query, s.mode) {
            Ok(h) => {
                s.hits = h;
                s.error = None;
            }
            Err(e) => {
                s.hits.clear();
                s.error = Some(
                    e.lines()
                        .last()
                        .unwrap_or("invalid regular expression")
                        .to_string(),
                );
            }
        }
        s.sel = 0;
        s.scroll = 0;
        s.stale = false;
    }

    /// Work a frame needs done first (a pending search).
    pub fn before_frame(&mut self) {
        match self.dialog.take() {
            Some(Dialog::Search(mut s)) => {
                if s.stale {
                    self.run_search(&mut s);
                }
                self.dialog = Some(Dialog::Search(s));
            }
            other => self.dialog = other,
        }
    }

    fn search_key(&mut self, s: &mut SearchDialog, k: KeyEvent, page: usize) -> bool {
        if s.stale && k.code != KeyCode::Esc {
            self.run_search(s);
        }
        let n = s.hits.len();
        match k.code {
            KeyCode::Esc => false,
            KeyCode::Enter => {
                if let Some(h) = s.hits.get(s.sel) {
                    let m = h.menu;
                    self.jump_to(m);
                    return false;
                }
                true
            }
            KeyCode::Tab => {
                s.mode = match s.mode {
                    Mode::Fuzzy => Mode::Regex,
                    Mode::Regex => Mode::Fuzzy,
                };
                self.run_search(s);
                true
            }
            KeyCode::Up => {
                step(&mut s.sel, &mut s.scroll, n, page, -1);
                true
            }
            KeyCode::Down => {
                step(&mut s.sel, &mut s.scroll, n, page, 1);
                true
            }
            KeyCode::PageUp => {
                step(&mut s.sel, &mut s.scroll, n, page, -(page as isize));
                true
            }
            KeyCode::PageDown => {
                step(&mut s.sel, &mut s.scroll, n, page, page as isize);
                true
            }
            KeyCode::F(1) => {
                if let Some(h) = s.hits.get(s.sel) {
                    let m = h.menu;
                    self.open_help(m);
                }
                true
            }
            _ => {
                // Searching waits for the frame, so a burst of typed keys
                // (or a paste) searches once.
                if edit_line(&mut s.query, &mut s.cursor, &k) {
                    s.stale = true;
                }
                true
            }
        }
    }

    fn diff_key(&mut self, v: &mut DiffView, k: KeyEvent, page: usize) -> bool {
        let n = v.rows.len();
        match k.code {
            KeyCode::Esc | KeyCode::Char('q') => false,
            KeyCode::Up => {
                step(&mut v.sel, &mut v.scroll, n, page, -1);
                true
            }
            KeyCode::Down => {
                step(&mut v.sel, &mut v.scroll, n, page, 1);
                true
            }
            KeyCode::PageUp => {
                step(&mut v.sel, &mut v.scroll, n, page, -(page as isize));
                true
            }
            KeyCode::PageDown => {
                step(&mut v.sel, &mut v.scroll, n, page, page as isize);
                true
            }
            KeyCode::Enter => {
                if let Some(r) = v.rows.get(v.sel) {
                    let s = r.sym;
                    self.jump_to_sym(s);
                }
                false
            }
            _ => true,
        }
    }

    // ----- mouse -----

    /// Handles a mouse event: the wheel scrolls, a click selects, a click
    /// on the selected entry activates it.
    pub fn handle_mouse(&mut self, m: MouseEvent) {
        let inside = |r: Rect| {
            m.column >= r.x && m.column < r.x + r.width && m.row >= r.y && m.row < r.y + r.height
        };
        if let Some(d) = &mut self.dialog {
            let list = self.geometry.dialog_list;
            let page = list.height.max(1) as usize;
            let (sel, scroll, n) = match d {
                Dialog::Choice(c) => (&mut c.sel, &mut c.scroll, c.items.len()),
                Dialog::Search(s) => (&mut s.sel, &mut s.scroll, s.hits.len()),
                Dialog::Diff(v) => (&mut v.sel, &mut v.scroll, v.rows.len()),
                Dialog::Text(v) => {
                    match m.kind {
                        MouseEventKind::ScrollUp => v.scroll = v.scroll.saturating_sub(3),
                        MouseEventKind::ScrollDown => v.scroll = v.scroll.saturating_add(3),
                        _ => {}
                    }
                    return;
                }
                _ => return,
            };
            match m.kind {
                MouseEventKind::ScrollUp => step(sel, scroll, n, page, -1),
                MouseEventKind::ScrollDown => step(sel, scroll, n, page, 1),
                MouseEventKind::Down(MouseButton::Left) if inside(list) => {
                    let i = *scroll + (m.row - list.y) as usize;
                    if i < n {
                        if *sel == i {
                            self.handle_key(KeyEvent::from(KeyCode::Enter));
                        } else {
                            *sel = i;
                        }
                    }
                }
                _ => {}
            }
            return;
        }
        match m.kind {
            MouseEventKind::ScrollUp => self.move_sel(-3),
            MouseEventKind::ScrollDown => self.move_sel(3),
            MouseEventKind::Down(MouseButton::Left) => {
                let list = self.geometry.list;
                if inside(list) {
                    let i = self.level().scroll + (m.row - list.y) as usize;
                    if i < self.entries.len() {
                        self.message = None;
                        if self.level().sel == i {
                            self.activate();
                        } else {
                            self.select_index(i);
                        }
                    }
                    return;
                }
                let hit = self.geometry.buttons.iter().position(|&r| inside(r));
                if let Some(b) = hit {
                    self.button = b;
                    self.press_button(b);
                }
            }
            MouseEventKind::Down(MouseButton::Right) => self.back(),
            _ => {}
        }
    }
}

/// A text view of a plain message.
pub fn message_view(title: &str, text: &str) -> TextView {
    TextView {
        title: title.into(),
        lines: text
            .lines()
            .map(|l| ReportLine {
                indent: 0,
                text: l.to_string(),
                tone: Tone::Text,
                sym: None,
            })
            .collect(),
        scroll: 0,
        link: None,
    }
}

/// The key map, as the help of an empty menu and docs/menuconfig.md show it.
pub const KEY_HELP: &str = "\
Up/Down, PgUp/PgDn, Home/End   move (also - and +, the mouse wheel)
letter                         jump to the next entry with that hotkey
Enter                          open a submenu or choice, edit a value,
                               toggle a bool; or press the focused button
Space                          toggle (n -> m -> y), open menus/inputs
y / n / m                      set to yes / no / module
Esc (Esc Esc), Backspace       back one level; at the top: exit
Tab, Left/Right                move between the buttons
? / h / F1                     help for the entry (and why it can't be set)
/ / F8 / Ctrl-F                search names and prompts (Tab: fuzzy/regex)
z / F4                         show all entries (hidden ones greyed)
F2 / Ctrl-N                    show symbol names
F3 / Ctrl-D                    unsaved changes (Enter jumps to one)
F5 / Ctrl-Z                    undo the last change
Ctrl-S                         save to the current file
F6 (Save button)               save as
F7 / Ctrl-O (Load button)      load an alternate file
F9 / Ctrl-C                    exit (asks to save changes)
mouse                          click selects, click again activates,
                               right click goes back";

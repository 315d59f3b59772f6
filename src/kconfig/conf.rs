//! The configuration actions of kconfig's `conf`: defconfig, olddefconfig,
//! alldefconfig, allnoconfig, allyesconfig, allmodconfig, randconfig,
//! listnewconfig and the line-based oldconfig.

use std::io::{BufRead, Write};

use rand::Rng;
use rand_chacha::rand_core::SeedableRng;

use super::error::{Error, Result};
use super::eval::Config;
use super::tree::{MenuId, MenuKind, SymId, SymType, ROOT_MENU};
use super::tri::Tri;

/// How `set_all_new` fills in symbols without a user value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewMode {
    Default,
    Yes,
    Mod,
    No,
    Random,
}

impl Config {
    /// kconfig's `conf_set_all_new_symbols`. `rng` is used for `Random`.
    pub fn set_all_new(&mut self, mode: NewMode, rng: &mut impl Rng) -> bool {
        let tree = self.tree.clone();
        let (pby, pty, ptm) = probabilities();
        let mut changed = false;
        for id in 0..tree.syms.len() {
            let s = &tree.syms[id];
            if s.is_const || self.st[id].user_set || self.st[id].valid && mode == NewMode::Default {
                continue;
            }
            if !self.effective_type(id).is_bool_like() {
                continue;
            }
            let v = match mode {
                NewMode::Yes => Tri::Yes,
                NewMode::Mod => Tri::Mod,
                NewMode::No => {
                    if s.allnoconfig_y {
                        Tri::Yes
                    } else {
                        Tri::No
                    }
                }
                NewMode::Random => {
                    let cnt = rng.gen_range(0..100u32);
                    if s.ty == SymType::Tristate {
                        if cnt < pty {
                            Tri::Yes
                        } else if cnt < pty + ptm {
                            Tri::Mod
                        } else {
                            Tri::No
                        }
                    } else if cnt < pby {
                        Tri::Yes
                    } else {
                        Tri::No
                    }
                }
                NewMode::Default => continue,
            };
            changed = true;
            self.st[id].user_tri = v;
            if !(s.is_choice && mode == NewMode::Random) {
                self.st[id].user_set = true;
            }
        }
        self.invalidate();
        if mode != NewMode::Random {
            for id in 0..tree.syms.len() {
                let s = &tree.syms[id];
                if (s.is_choice && !self.st[id].user_set) || s.choice.is_some() {
                    self.st[id].need_set_choice_values = true;
                }
            }
        }
        for id in choices_in_kconfig_order(&tree) {
            if self.st[id].user_set {
                continue;
            }
            self.calc(id);
            if mode == NewMode::Random {
                changed = self.randomize_choice(id, rng);
            } else {
                self.set_all_choice_values(id);
                changed = true;
            }
        }
        self.invalidate();
        changed
    }

    /// kconfig's `randomize_choice_values`.
    fn randomize_choice(&mut self, cs: SymId, rng: &mut impl Rng) -> bool {
        let tree = self.tree.clone();
        if self.st[cs].curr_tri != Tri::Yes {
            return false;
        }
        let vals: Vec<SymId> = tree.syms[cs]
            .choice_values
            .iter()
            .copied()
            .filter(|&v| self.st[v].visible != Tri::No)
            .collect();
        if vals.is_empty() {
            return false;
        }
        let pick = vals[rng.gen_range(0..vals.len())];
        for &v in &tree.syms[cs].choice_values {
            self.st[v].user_tri = if v == pick { Tri::Yes } else { Tri::No };
            self.st[v].user_set = true;
            self.st[v].valid = false;
        }
        self.st[cs].user_choice = Some(pick);
        self.st[cs].user_set = true;
        self.st[cs].valid = false;
        true
    }

    /// `listnewconfig`: one line per new symbol, `PREFIXNAME=value`, as
    /// kconfig's `check_conf` walks the menus: entries of visible menus
    /// whose symbol has no user value and can be changed (or is a choice
    /// that is y). Named choices are listed too, and a symbol defined in
    /// several visible places once per place, as kconfig does.
    pub fn listnewconfig(&mut self) -> String {
        let mut out = String::new();
        self.list_new(ROOT_MENU, &mut out);
        out
    }

    fn list_new(&mut self, m: MenuId, out: &mut String) {
        let tree = self.tree.clone();
        if m != ROOT_MENU && !self.menu_visible(m) {
            return;
        }
        if let MenuKind::Symbol(s) | MenuKind::Choice(s) = tree.menus[m].kind {
            self.calc(s);
            let sym = &tree.syms[s];
            if !self.st[s].user_set
                && (self.is_changeable(s) || (sym.is_choice && self.tri(s) == Tri::Yes))
                && !sym.name.is_empty()
            {
                let val = self.string_value(s);
                let val = if sym.ty == SymType::String {
                    super::confdata::escape_string(&val)
                } else {
                    val
                };
                out.push_str(&format!("{}{}={val}\n", self.prefix, sym.name));
            }
        }
        for &c in &tree.menus[m].children {
            self.list_new(c, out);
        }
    }

    /// Line-based `oldconfig`, as kconfig's `conf --oldconfig`: walks the
    /// menus (`check_conf`) and, for each entry that is new (no user value)
    /// and changeable, runs through the menu around it (`conf`), reading one
    /// answer line from `input` per new question: y/n/m (also "yes"/"no")
    /// for bool/tristate, a value for int/hex/string, a number for a choice;
    /// an empty line keeps the current value, `?` shows the help, anything
    /// invalid is asked again. Questions and the answers read (echoed, as
    /// kconfig does when stdin is not a terminal) go to `output`. Repeats
    /// until a pass finds nothing new. Returns the number of passes that
    /// asked something.
    pub fn oldconfig(&mut self, input: &mut dyn BufRead, output: &mut dyn Write) -> Result<usize> {
        let mut oc = OldConfig {
            input,
            output: String::new(),
            root_entry: ROOT_MENU,
            indent: 1,
            conf_cnt: 0,
            reads: 0,
            eof_reads: 0,
        };
        let mut passes = 0;
        let res = loop {
            oc.conf_cnt = 0;
            if let Err(e) = self.check_conf(&mut oc, ROOT_MENU) {
                break Err(e);
            }
            if oc.conf_cnt == 0 {
                break Ok(passes);
            }
            passes += 1;
        };
        output
            .write_all(oc.output.as_bytes())
            .and_then(|_| output.flush())
            .map_err(|e| Error::Config(format!("oldconfig: {e}")))?;
        res
    }

    /// kconfig's `menu_is_visible`, with the root always visible.
    fn oc_visible(&mut self, m: MenuId) -> bool {
        m == ROOT_MENU || self.menu_visible(m)
    }

    /// The prompt of a menu node (the root's is the tree's title).
    fn oc_prompt(&self, m: MenuId) -> String {
        if m == ROOT_MENU {
            return self.tree.title().to_string();
        }
        self.tree.menus[m]
            .prompt
            .as_ref()
            .map(|p| p.text.clone())
            .unwrap_or_default()
    }

    /// Whether a node's prompt is kconfig's P_MENU: the root, menus and
    /// menuconfig symbols.
    fn oc_is_p_menu(&self, m: MenuId) -> bool {
        let node = &self.tree.menus[m];
        m == ROOT_MENU
            || (node.prompt.is_some()
                && (node.kind == MenuKind::Menu
                    || (node.is_menuconfig && matches!(node.kind, MenuKind::Symbol(_)))))
    }

    /// kconfig's `menu_get_parent_menu`: the closest P_MENU at or above `m`.
    fn oc_parent_menu(&self, mut m: MenuId) -> MenuId {
        while m != ROOT_MENU && !self.oc_is_p_menu(m) {
            m = self.tree.menus[m].parent.unwrap_or(ROOT_MENU);
        }
        m
    }

    fn node_sym(&self, m: MenuId) -> Option<SymId> {
        match self.tree.menus[m].kind {
            MenuKind::Symbol(s) | MenuKind::Choice(s) => Some(s),
            _ => None,
        }
    }

    fn check_conf(&mut self, oc: &mut OldConfig, m: MenuId) -> Result<()> {
        if !self.oc_visible(m) {
            return Ok(());
        }
        if let Some(s) = self.node_sym(m) {
            self.calc(s);
            let is_choice = self.tree.syms[s].is_choice;
            if !self.st[s].user_set
                && (self.is_changeable(s) || (is_choice && self.tri(s) == Tri::Yes))
            {
                if oc.conf_cnt == 0 {
                    oc.output.push_str("*\n* Restart config...\n*\n");
                }
                oc.conf_cnt += 1;
                oc.root_entry = self.oc_parent_menu(m);
                self.conf(oc, oc.root_entry)?;
            }
        }
        let tree = self.tree.clone();
        for &c in &tree.menus[m].children {
            self.check_conf(oc, c)?;
        }
        Ok(())
    }

    fn conf(&mut self, oc: &mut OldConfig, m: MenuId) -> Result<()> {
        if !self.oc_visible(m) {
            return Ok(());
        }
        let tree = self.tree.clone();
        let node = &tree.menus[m];
        let sym = self.node_sym(m);
        if self.oc_is_p_menu(m) || node.kind == MenuKind::Comment {
            if self.oc_is_p_menu(m) && oc.root_entry != m {
                return self.check_conf(oc, m);
            }
            let i = oc.indent as usize;
            let p = self.oc_prompt(m);
            oc.output
                .push_str(&format!("{:>i$}\n{:>i$} {p}\n{:>i$}\n", '*', '*', '*'));
        }
        if let Some(s) = sym {
            if tree.syms[s].is_choice {
                self.conf_choice(oc, m)?;
                if self.st[s].curr_tri != Tri::Mod {
                    return Ok(());
                }
            } else if matches!(
                tree.syms[s].ty,
                SymType::Int | SymType::Hex | SymType::String
            ) {
                self.conf_string(oc, m)?;
            } else {
                self.conf_sym(oc, m)?;
            }
            oc.indent += 2;
        }
        for &c in &node.children {
            self.conf(oc, c)?;
        }
        if sym.is_some() {
            oc.indent -= 2;
        }
        Ok(())
    }

    /// kconfig's `conf_askvalue`: `None` when no answer is read (the value
    /// is not changeable or already set), else the line read (with its
    /// newline; "\n" at end of input).
    fn conf_askvalue(&mut self, oc: &mut OldConfig, s: SymId, def: &str) -> Result<Option<String>> {
        if !self.st[s].user_set {
            oc.output.push_str("(NEW) ");
        }
        if !self.is_changeable(s) || self.st[s].user_set {
            oc.output.push_str(&format!("{def}\n"));
            return Ok(None);
        }
        Ok(Some(oc.read_line("\n")?))
    }

    fn conf_sym(&mut self, oc: &mut OldConfig, m: MenuId) -> Result<()> {
        let s = self.node_sym(m).expect("symbol node");
        let tree = self.tree.clone();
        loop {
            oc.output.push_str(&format!(
                "{:w$}{} ",
                "",
                self.oc_prompt(m),
                w = oc.indent as usize - 1
            ));
            if !tree.syms[s].name.is_empty() {
                oc.output.push_str(&format!("({}) ", tree.syms[s].name));
            }
            let old = self.tri(s);
            let mut opts = String::from(match old {
                Tri::No => "N",
                Tri::Mod => "M",
                Tri::Yes => "Y",
            });
            for (v, t) in [(Tri::No, "/n"), (Tri::Mod, "/m"), (Tri::Yes, "/y")] {
                if old != v && self.tri_within_range(s, v) {
                    opts.push_str(t);
                }
            }
            oc.output.push_str(&format!("[{opts}/?] "));
            let def = self.string_value(s);
            let Some(line) = self.conf_askvalue(oc, s, &def)? else {
                return Ok(());
            };
            let ans = line.trim();
            let new = match ans.chars().next() {
                Some('n' | 'N') if ans.len() == 1 || &ans[1..] == "o" => Tri::No,
                Some('m' | 'M') if ans.len() == 1 => Tri::Mod,
                Some('y' | 'Y') if ans.len() == 1 || &ans[1..] == "es" => Tri::Yes,
                None => old,
                Some('?') => {
                    self.print_help(oc, m);
                    continue;
                }
                _ => continue,
            };
            if self.set_tri(s, new) {
                return Ok(());
            }
            self.print_help(oc, m);
        }
    }

    fn conf_string(&mut self, oc: &mut OldConfig, m: MenuId) -> Result<()> {
        let s = self.node_sym(m).expect("symbol node");
        let name = self.tree.syms[s].name.clone();
        loop {
            oc.output.push_str(&format!(
                "{:w$}{} ({name}) ",
                "",
                self.oc_prompt(m),
                w = oc.indent as usize - 1
            ));
            let def = self.string_value(s);
            oc.output.push_str(&format!("[{def}] "));
            let Some(line) = self.conf_askvalue(oc, s, &def)? else {
                return Ok(());
            };
            let value = if line == "\n" {
                def
            } else if line == "?\n" {
                self.print_help(oc, m);
                continue;
            } else {
                // kconfig drops only the newline: blanks are part of the value.
                line.strip_suffix('\n').unwrap_or(&line).to_string()
            };
            if self.set_string(s, &value) {
                return Ok(());
            }
        }
    }

    fn conf_choice(&mut self, oc: &mut OldConfig, m: MenuId) -> Result<()> {
        let cs = self.node_sym(m).expect("choice node");
        let tree = self.tree.clone();
        self.calc(cs);
        let is_new = !self.st[cs].user_set;
        if self.is_changeable(cs) {
            self.conf_sym(oc, m)?;
            self.calc(cs);
        }
        match self.tri(cs) {
            Tri::No => return Ok(()),
            Tri::Mod => {
                if !self.is_changeable(cs) {
                    let p = self.oc_prompt(m);
                    oc.output
                        .push_str(&format!("{:w$}{p}\n", "", w = oc.indent as usize - 1));
                }
                return Ok(());
            }
            Tri::Yes => {}
        }
        loop {
            let w = oc.indent as usize - 1;
            let i = oc.indent as usize;
            oc.output
                .push_str(&format!("{:w$}{}\n", "", self.oc_prompt(m)));
            let current = self.choice_selection(cs);
            let mut values = Vec::new();
            let mut def = 0;
            for &c in &tree.menus[m].children {
                if !self.oc_visible(c) {
                    continue;
                }
                let Some(v) = self.node_sym(c) else {
                    oc.output
                        .push_str(&format!("{:>i$} {}\n", '*', self.oc_prompt(c)));
                    continue;
                };
                values.push(c);
                let mark = if Some(v) == current {
                    def = values.len();
                    '>'
                } else {
                    ' '
                };
                oc.output.push_str(&format!(
                    "{mark:>i$} {}. {}",
                    values.len(),
                    self.oc_prompt(c)
                ));
                if !tree.syms[v].name.is_empty() {
                    oc.output.push_str(&format!(" ({})", tree.syms[v].name));
                }
                if !self.st[v].user_set {
                    oc.output.push_str(" (NEW)");
                }
                oc.output.push('\n');
            }
            oc.output.push_str(&format!("{:w$}choice", ""));
            let mut line = String::new();
            let pick = if values.len() == 1 {
                oc.output.push_str("[1]: 1\n");
                1
            } else {
                oc.output.push_str(&format!("[1-{}?]: ", values.len()));
                if !is_new {
                    oc.output.push_str(&format!("{def}\n"));
                    def
                } else {
                    line = oc.read_line("")?.trim().to_string();
                    if line.starts_with('?') {
                        self.print_help(oc, m);
                        continue;
                    }
                    if line.is_empty() {
                        def
                    } else if line.starts_with(|c: char| c.is_ascii_digit()) {
                        let digits: String =
                            line.chars().take_while(|c| c.is_ascii_digit()).collect();
                        digits.parse().unwrap_or(0)
                    } else {
                        continue;
                    }
                }
            };
            let Some(&chosen) = pick.checked_sub(1).and_then(|i| values.get(i)) else {
                continue;
            };
            if line.ends_with('?') {
                self.print_help(oc, chosen);
                continue;
            }
            let v = self.node_sym(chosen).expect("choice value");
            self.set_tri(v, Tri::Yes);
            for &c in &tree.menus[chosen].children {
                oc.indent += 2;
                self.conf(oc, c)?;
                oc.indent -= 2;
            }
            return Ok(());
        }
    }

    /// A short version of kconfig's help screen.
    fn print_help(&mut self, oc: &mut OldConfig, m: MenuId) {
        let tree = self.tree.clone();
        let node = &tree.menus[m];
        let sym = self.node_sym(m);
        let mut text = String::from("\n");
        match (&node.help, sym) {
            (Some(h), Some(s)) if !tree.syms[s].name.is_empty() => {
                text.push_str(&format!("{}{}:\n\n{h}\n", self.prefix, tree.syms[s].name));
            }
            (Some(h), _) => text.push_str(&format!("{h}\n")),
            (None, _) => text.push_str("There is no help available for this option.\n"),
        }
        if let Some(s) = sym.filter(|&s| !tree.syms[s].is_choice) {
            let val = self.string_value(s);
            text.push_str(&format!(
                "Symbol: {} [={val}]\nType  : {}\n",
                tree.syms[s].name,
                tree.syms[s].ty.name()
            ));
        }
        text.push('\n');
        oc.output.push_str(&text);
    }

    /// Menu nodes of a symbol that show a prompt right now.
    pub fn visible_prompts(&mut self, s: SymId) -> Vec<MenuId> {
        let tree = self.tree.clone();
        tree.syms[s]
            .menus
            .iter()
            .copied()
            .filter(|&m| self.prompt_visible(m) != Tri::No)
            .collect()
    }
}

/// The choices in the order kconfig's `for_all_symbols` visits them: by
/// hash bucket of the name (fnv32 modulo 9973), each bucket newest first.
/// Unnamed choices all sit in bucket 0, so they come first, the last one
/// defined first. Which choice gets its default first matters when a
/// choice's default depends on a value of another choice.
fn choices_in_kconfig_order(tree: &super::tree::Tree) -> Vec<SymId> {
    let bucket = |name: &str| -> u32 {
        if name.is_empty() {
            return 0;
        }
        let mut h: u32 = 2166136261;
        for b in name.bytes() {
            // C's `char` is signed: bytes >= 0x80 are sign-extended.
            h = (h ^ (b as i8 as i32 as u32)).wrapping_mul(0x0100_0193);
        }
        h % 9973
    };
    let mut ids: Vec<SymId> = (0..tree.syms.len())
        .filter(|&i| tree.syms[i].is_choice)
        .collect();
    ids.sort_by_key(|&i| (bucket(&tree.syms[i].name), std::cmp::Reverse(i)));
    ids
}

/// `KCONFIG_PROBABILITY` as kconfig reads it: `y`, `y:m` or `y:m:...`.
fn probabilities() -> (u32, u32, u32) {
    let (mut pby, mut pty, mut ptm) = (50, 33, 33);
    if let Ok(env) = std::env::var("KCONFIG_PROBABILITY") {
        let p: Vec<u32> = env.split(':').filter_map(|x| x.parse().ok()).collect();
        match p.len() {
            1 => {
                pby = p[0];
                ptm = pby / 2;
                pty = pby - ptm;
            }
            2 => {
                pty = p[0];
                ptm = p[1];
                pby = pty + ptm;
            }
            n if n >= 3 => {
                pby = p[0];
                pty = p[1];
                ptm = p[2];
            }
            _ => {}
        }
        if pby > 100 || pty + ptm > 100 {
            (pby, pty, ptm) = (50, 33, 33);
        }
    }
    (pby, pty, ptm)
}

/// The random generator for `randconfig`: seeded from `KCONFIG_SEED` when
/// set, else from the clock; returns the seed used so it can be shown.
pub fn randconfig_rng() -> (rand_chacha::ChaCha8Rng, u64) {
    let seed = std::env::var("KCONFIG_SEED")
        .ok()
        .and_then(|s| {
            let s = s.trim();
            if let Some(h) = s.strip_prefix("0x") {
                u64::from_str_radix(h, 16).ok()
            } else {
                s.parse().ok()
            }
        })
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64 ^ std::process::id() as u64)
                .unwrap_or(1)
        });
    (rand_chacha::ChaCha8Rng::seed_from_u64(seed), seed)
}

/// State of one `oldconfig` run (kconfig's globals `rootEntry`, `indent`,
/// `conf_cnt`).
struct OldConfig<'a> {
    input: &'a mut dyn BufRead,
    output: String,
    root_entry: MenuId,
    indent: i32,
    conf_cnt: usize,
    reads: usize,
    eof_reads: usize,
}

impl OldConfig<'_> {
    /// kconfig's `xfgets`: one line, echoed; `eof` (what the buffer held)
    /// at the end of the input.
    fn read_line(&mut self, eof: &str) -> Result<String> {
        self.reads += 1;
        if self.reads > 1_000_000 {
            return Err(Error::Config("oldconfig: too many questions".into()));
        }
        let mut line = String::new();
        let n = self
            .input
            .read_line(&mut line)
            .map_err(|e| Error::Config(format!("oldconfig: {e}")))?;
        if n == 0 {
            // kconfig keeps asking at the end of the input (forever, when the
            // current value is not acceptable); give up instead.
            self.eof_reads += 1;
            if self.eof_reads > 100 {
                return Err(Error::Config(
                    "oldconfig: end of input, and the current value is not accepted".into(),
                ));
            }
            line = eof.to_string();
        }
        self.output.push_str(&line);
        Ok(line)
    }
}

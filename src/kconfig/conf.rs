//! The configuration actions of kconfig's `conf`: defconfig, olddefconfig,
//! alldefconfig, allnoconfig, allyesconfig, allmodconfig, randconfig,
//! listnewconfig and the line-based oldconfig.

use std::io::{BufRead, Write};

use rand::Rng;
use rand_chacha::rand_core::SeedableRng;

use super::error::{Error, Result};
use super::eval::Config;
use super::tree::{MenuId, MenuKind, SymId, SymType};
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
        for id in 0..tree.syms.len() {
            if !tree.syms[id].is_choice || self.st[id].user_set {
                continue;
            }
            self.calc(id);
            if mode == NewMode::Random {
                changed = self.randomize_choice(id, rng);
            } else {
                self.set_choice_values_now(id);
                changed = true;
            }
        }
        self.invalidate();
        changed
    }

    fn set_choice_values_now(&mut self, cs: SymId) {
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

    /// Symbols that are visible and have no user value: what `oldconfig` would ask.
    pub fn new_symbols(&mut self) -> Vec<SymId> {
        let tree = self.tree.clone();
        let mut out = Vec::new();
        let mut seen = vec![false; tree.syms.len()];
        for m in tree.walk() {
            let s = match tree.menus[m].kind {
                MenuKind::Symbol(s) => s,
                _ => continue,
            };
            if seen[s] {
                continue;
            }
            self.calc(s);
            if self.st[s].user_set || self.st[s].visible == Tri::No {
                continue;
            }
            if let Some(cs) = tree.syms[s].choice {
                if self.st[cs].user_set {
                    continue;
                }
            }
            seen[s] = true;
            if tree.syms[s].choice.is_none() || !out.contains(&s) {
                out.push(s);
            }
        }
        out
    }

    /// `listnewconfig`: one line per new symbol, `PREFIXNAME=value`, as
    /// kconfig's `check_conf` walks the menus: entries of visible menus
    /// whose symbol has no user value and can be changed (or is a choice
    /// that is y). Named choices are listed too, and a symbol defined in
    /// several visible places once per place, as kconfig does.
    pub fn listnewconfig(&mut self) -> String {
        let mut out = String::new();
        self.list_new(super::tree::ROOT_MENU, &mut out);
        out
    }

    fn list_new(&mut self, m: MenuId, out: &mut String) {
        let tree = self.tree.clone();
        if m != super::tree::ROOT_MENU && !self.menu_visible(m) {
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

    /// Line-based `oldconfig`: asks for every new visible symbol on `input`,
    /// writing prompts to `output`. An empty answer keeps the default; `?`
    /// shows the help. Returns the number of questions asked.
    pub fn oldconfig(&mut self, input: &mut dyn BufRead, output: &mut dyn Write) -> Result<usize> {
        let io = |e: std::io::Error| Error::Config(format!("oldconfig: {e}"));
        let mut asked = 0;
        loop {
            let news = self.new_symbols();
            let Some(&s) = news.first() else { break };
            asked += 1;
            let tree = self.tree.clone();
            let sym = &tree.syms[s];
            let menu = sym.menus[0];
            let prompt = tree.sym_prompt(s).unwrap_or(&sym.name).to_string();
            loop {
                let cur = self.string_value(s);
                let choices = match self.effective_type(s) {
                    SymType::Bool => {
                        if cur == "y" {
                            "Y/n"
                        } else {
                            "N/y"
                        }
                    }
                    SymType::Tristate => match cur.as_str() {
                        "y" => "Y/m/n",
                        "m" => "M/n/y",
                        _ => "N/m/y",
                    },
                    _ => "",
                };
                if choices.is_empty() {
                    write!(
                        output,
                        "{prompt} ({}{}) [{cur}] (NEW) ",
                        self.prefix, sym.name
                    )
                    .map_err(io)?;
                } else {
                    write!(
                        output,
                        "{prompt} ({}{}) [{choices}/?] (NEW) ",
                        self.prefix, sym.name
                    )
                    .map_err(io)?;
                }
                output.flush().map_err(io)?;
                let mut line = String::new();
                let n = input.read_line(&mut line).map_err(io)?;
                let ans = line.trim();
                if n == 0 {
                    writeln!(output).map_err(io)?;
                }
                if ans.is_empty() {
                    // Keep the default: record it as the user's value.
                    let ok = if sym.ty.is_bool_like() {
                        let t = self.tri(s);
                        self.set_tri(s, t)
                    } else {
                        self.set_string(s, &cur)
                    };
                    if !ok {
                        self.st[s].user_set = true;
                    }
                    break;
                }
                if ans == "?" {
                    let help = tree.menus[menu]
                        .help
                        .clone()
                        .unwrap_or_else(|| "There is no help available for this option.".into());
                    writeln!(output, "\n{}{}:\n\n{}", self.prefix, sym.name, help).map_err(io)?;
                    continue;
                }
                if self.set_string(s, ans) {
                    break;
                }
                writeln!(output, "invalid value '{ans}'").map_err(io)?;
            }
            if asked > 100_000 {
                return Err(Error::Config("oldconfig: too many questions".into()));
            }
        }
        Ok(asked)
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

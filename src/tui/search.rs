//! Symbol search: over symbol names and prompts, as a case-insensitive
//! regular expression (mconf's `/`) or fuzzily, ranked as you type.

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Matcher, Utf32Str};

use crate::kconfig::explain::location;
use crate::kconfig::{MenuId, MenuKind, SymId, Tree};

/// How the query is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Fuzzy,
    Regex,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Fuzzy => "fuzzy",
            Mode::Regex => "regex",
        }
    }
}

/// One searchable entry: a symbol (at its first prompted definition) or a menu.
#[derive(Debug, Clone)]
struct Item {
    menu: MenuId,
    sym: Option<SymId>,
    name: String,
    prompt: String,
}

/// One result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub menu: MenuId,
    pub sym: Option<SymId>,
    pub name: String,
    pub prompt: String,
    /// The menu path of the entry (`A > B > prompt`).
    pub location: String,
}

/// The most results a search returns.
pub const MAX_HITS: usize = 1000;

/// Everything searchable in a tree, built once.
pub struct SearchIndex {
    items: Vec<Item>,
    matcher: Matcher,
}

impl SearchIndex {
    pub fn new(tree: &Tree) -> SearchIndex {
        let mut items = Vec::new();
        let mut seen = vec![false; tree.syms.len()];
        for m in tree.walk() {
            let node = &tree.menus[m];
            match node.kind {
                MenuKind::Symbol(s) | MenuKind::Choice(s) => {
                    let sym = &tree.syms[s];
                    if seen[s] || (sym.is_choice && node.prompt.is_none()) {
                        continue;
                    }
                    // Prefer the first definition with a prompt.
                    let menu = sym
                        .menus
                        .iter()
                        .copied()
                        .find(|&x| tree.menus[x].prompt.is_some())
                        .unwrap_or(m);
                    seen[s] = true;
                    items.push(Item {
                        menu,
                        sym: Some(s),
                        name: if sym.is_choice {
                            String::new()
                        } else {
                            sym.name.clone()
                        },
                        prompt: tree.menus[menu]
                            .prompt
                            .as_ref()
                            .map(|p| p.text.clone())
                            .unwrap_or_default(),
                    });
                }
                MenuKind::Menu => {
                    if let Some(p) = &node.prompt {
                        items.push(Item {
                            menu: m,
                            sym: None,
                            name: String::new(),
                            prompt: p.text.clone(),
                        });
                    }
                }
                _ => {}
            }
        }
        SearchIndex {
            items,
            matcher: Matcher::new(nucleo_matcher::Config::DEFAULT),
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn hit(tree: &Tree, it: &Item) -> Hit {
        Hit {
            menu: it.menu,
            sym: it.sym,
            name: it.name.clone(),
            prompt: it.prompt.clone(),
            location: location(tree, it.menu),
        }
    }

    /// Runs a query. An invalid regular expression is an error with the
    /// regex crate's message.
    pub fn search(&mut self, tree: &Tree, query: &str, mode: Mode) -> Result<Vec<Hit>, String> {
        let q = query.trim();
        if q.is_empty() {
            return Ok(Vec::new());
        }
        match mode {
            Mode::Regex => {
                let re = regex::RegexBuilder::new(q)
                    .case_insensitive(true)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| e.to_string())?;
                Ok(self
                    .items
                    .iter()
                    .filter(|it| re.is_match(&it.name) || re.is_match(&it.prompt))
                    .take(MAX_HITS)
                    .map(|it| Self::hit(tree, it))
                    .collect())
            }
            Mode::Fuzzy => {
                let pat = Pattern::parse(q, CaseMatching::Ignore, Normalization::Smart);
                let mut buf = Vec::new();
                let mut scored: Vec<(u32, usize)> = Vec::new();
                let upper = q.to_ascii_uppercase();
                let lower = q.to_lowercase();
                for (i, it) in self.items.iter().enumerate() {
                    let sn = pat.score(Utf32Str::new(&it.name, &mut buf), &mut self.matcher);
                    let sp = pat.score(Utf32Str::new(&it.prompt, &mut buf), &mut self.matcher);
                    let best = match (sn, sp) {
                        (None, None) => continue,
                        (a, b) => a.unwrap_or(0).max(b.unwrap_or(0)),
                    };
                    // Exact names and name prefixes first.
                    let bonus = if it.name == upper {
                        10_000
                    } else if it.name.starts_with(&upper) {
                        1_000
                    } else if it.name.contains(&upper) || it.prompt.to_lowercase().contains(&lower)
                    {
                        // The query as typed, not just its letters in order.
                        500
                    } else {
                        0
                    };
                    scored.push((best + bonus, i));
                }
                scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
                Ok(scored
                    .into_iter()
                    .take(MAX_HITS)
                    .map(|(_, i)| Self::hit(tree, &self.items[i]))
                    .collect())
            }
        }
    }
}

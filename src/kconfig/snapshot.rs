//! Saving and putting back the user values of a few symbols, so a front end
//! can undo a change without copying the whole [`Config`].

use super::eval::Config;
use super::tree::SymId;
use super::tri::Tri;

#[derive(Debug, Clone, PartialEq, Eq)]
struct UserState {
    user_set: bool,
    user_tri: Tri,
    user_val: String,
    user_choice: Option<SymId>,
    need_set_choice_values: bool,
}

/// The user values of a group of symbols at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSnapshot {
    entries: Vec<(SymId, UserState)>,
}

impl UserSnapshot {
    /// The symbols the snapshot covers.
    pub fn symbols(&self) -> impl Iterator<Item = SymId> + '_ {
        self.entries.iter().map(|(id, _)| *id)
    }
}

impl Config {
    /// The user values of `id` and of every symbol a change of `id` can
    /// touch ([`Config::set_tri`] on a choice value also sets its choice and
    /// the choice's other values).
    pub fn user_snapshot(&self, id: SymId) -> UserSnapshot {
        let tree = &self.tree;
        let mut ids = vec![id];
        let cs = if tree.syms[id].is_choice {
            Some(id)
        } else {
            tree.syms[id].choice
        };
        if let Some(cs) = cs {
            ids.push(cs);
            ids.extend(tree.syms[cs].choice_values.iter().copied());
        }
        ids.sort_unstable();
        ids.dedup();
        UserSnapshot {
            entries: ids
                .into_iter()
                .map(|i| {
                    let st = &self.st[i];
                    (
                        i,
                        UserState {
                            user_set: st.user_set,
                            user_tri: st.user_tri,
                            user_val: st.user_val.clone(),
                            user_choice: st.user_choice,
                            need_set_choice_values: st.need_set_choice_values,
                        },
                    )
                })
                .collect(),
        }
    }

    /// Puts back the user values recorded by [`Config::user_snapshot`].
    pub fn restore_user_snapshot(&mut self, snap: &UserSnapshot) {
        for (i, u) in &snap.entries {
            let st = &mut self.st[*i];
            st.user_set = u.user_set;
            st.user_tri = u.user_tri;
            st.user_val = u.user_val.clone();
            st.user_choice = u.user_choice;
            st.need_set_choice_values = u.need_set_choice_values;
        }
        self.invalidate();
    }
}

#[cfg(test)]
mod tests {
    use super::super::{load, Config, LoadOptions, Tri};
    use std::io::Write;

    #[test]
    fn undo_restores_choice_and_values() {
        let dir = tempfile::tempdir().unwrap();
        let k = dir.path().join("Kconfig");
        let mut f = std::fs::File::create(&k).unwrap();
        write!(
            f,
            "config A\n\tbool \"a\"\nchoice\n\tprompt \"c\"\nconfig C1\n\tbool \"c1\"\nconfig C2\n\tbool \"c2\"\nendchoice\nconfig S\n\tstring \"s\"\n\tdefault \"x\"\n"
        )
        .unwrap();
        let tree = load(&k, &LoadOptions::default()).unwrap();
        let mut cfg = Config::new(tree.clone());
        let (a, c1, c2, s) = (
            tree.find("A").unwrap(),
            tree.find("C1").unwrap(),
            tree.find("C2").unwrap(),
            tree.find("S").unwrap(),
        );
        let before = cfg.dotconfig();
        let snap = cfg.user_snapshot(a);
        assert!(cfg.set_tri(a, Tri::Yes));
        cfg.restore_user_snapshot(&snap);
        assert_eq!(cfg.tri(a), Tri::No);
        let snap = cfg.user_snapshot(c2);
        assert!(cfg.set_tri(c2, Tri::Yes));
        assert_eq!(cfg.tri(c1), Tri::No);
        cfg.restore_user_snapshot(&snap);
        assert_eq!(cfg.tri(c1), Tri::Yes);
        assert_eq!(cfg.tri(c2), Tri::No);
        let snap = cfg.user_snapshot(s);
        assert!(cfg.set_string(s, "hello"));
        cfg.restore_user_snapshot(&snap);
        assert_eq!(cfg.string_value(s), "x");
        assert_eq!(cfg.dotconfig(), before);
    }
}

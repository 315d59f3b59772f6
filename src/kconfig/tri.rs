//! Tristate logic: `n < m < y`, with Kconfig's AND (min), OR (max) and NOT (2 - x).

use std::fmt;

/// A Kconfig tristate value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Tri {
    #[default]
    No = 0,
    Mod = 1,
    Yes = 2,
}

impl Tri {
    pub fn and(self, other: Tri) -> Tri {
        self.min(other)
    }
    pub fn or(self, other: Tri) -> Tri {
        self.max(other)
    }
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Tri {
        match self {
            Tri::No => Tri::Yes,
            Tri::Mod => Tri::Mod,
            Tri::Yes => Tri::No,
        }
    }
    /// The letter kconfig uses for the value: `n`, `m` or `y`.
    pub fn as_str(self) -> &'static str {
        match self {
            Tri::No => "n",
            Tri::Mod => "m",
            Tri::Yes => "y",
        }
    }
    /// Parses kconfig's letters (either case), as `sym_string_valid` accepts them.
    pub fn parse(s: &str) -> Option<Tri> {
        match s.as_bytes().first() {
            Some(b'y' | b'Y') => Some(Tri::Yes),
            Some(b'm' | b'M') => Some(Tri::Mod),
            Some(b'n' | b'N') => Some(Tri::No),
            _ => None,
        }
    }
}

impl fmt::Display for Tri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Tri::*;

    #[test]
    fn truth_tables() {
        assert_eq!(Yes.and(Mod), Mod);
        assert_eq!(No.or(Mod), Mod);
        assert_eq!(Mod.not(), Mod);
        assert_eq!(Yes.not(), No);
        assert_eq!(No.not(), Yes);
        assert_eq!(Yes.or(No), Yes);
        assert_eq!(No.and(Yes), No);
    }
}

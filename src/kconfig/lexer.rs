//! Splits Kconfig files into logical lines and lines into tokens.
//! Kconfig is line-oriented: every statement fits on one logical line
//! (with `\` continuations), except help texts, which the parser reads raw.

use std::borrow::Cow;

use super::error::{Error, Loc, Result};
use super::macros::{matching_paren, Macros};

/// One token of a statement line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok<'a> {
    /// An unquoted word: keyword, symbol name, number.
    Word(Cow<'a, str>),
    /// A quoted string, escapes resolved, macros expanded.
    Str(Cow<'a, str>),
    Op(Op),
}

impl Tok<'_> {
    /// True for the unquoted word `w`.
    pub fn is_word(&self, w: &str) -> bool {
        matches!(self, Tok::Word(x) if x == w)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    And,
    Or,
    Not,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    LParen,
    RParen,
}

/// The physical lines of one file, read without copying.
pub struct Lines<'a> {
    text: &'a str,
    /// Byte offset of the next line.
    pos: usize,
    /// Number of the next line (1-based).
    lineno: u32,
}

impl<'a> Lines<'a> {
    pub fn new(text: &'a str) -> Lines<'a> {
        Lines {
            text,
            pos: 0,
            lineno: 1,
        }
    }

    /// The next physical line without its newline (and without a `\r` before it).
    fn take_line(&mut self) -> Option<&'a str> {
        if self.pos >= self.text.len() {
            return None;
        }
        let rest = &self.text[self.pos..];
        let (line, adv) = match memchr_nl(rest) {
            Some(i) => (&rest[..i], i + 1),
            None => (rest, rest.len()),
        };
        self.pos += adv;
        self.lineno += 1;
        Some(line.strip_suffix('\r').unwrap_or(line))
    }

    /// The next logical line, with its first line number; `\` at the end of
    /// a line joins the next one.
    pub fn next_logical(&mut self) -> Option<(u32, Cow<'a, str>)> {
        let first = self.lineno;
        let line = self.take_line()?;
        if !continues(line) {
            return Some((first, Cow::Borrowed(line)));
        }
        let mut out = line[..line.len() - 1].to_string();
        while let Some(next) = self.take_line() {
            if continues(next) {
                out.push_str(&next[..next.len() - 1]);
            } else {
                out.push_str(next);
                break;
            }
        }
        Some((first, Cow::Owned(out)))
    }

    /// Whether the line just consumed ended with a newline (all but
    /// possibly the file's last line do).
    pub fn has_newline_before_next(&self) -> bool {
        self.pos < self.text.len() || self.text.ends_with('\n')
    }

    /// Peeks at the next physical line.
    pub fn peek_raw(&self) -> Option<&'a str> {
        let mut copy = Lines {
            text: self.text,
            pos: self.pos,
            lineno: self.lineno,
        };
        copy.take_line()
    }

    /// Consumes the next physical line.
    pub fn next_raw(&mut self) -> Option<&'a str> {
        self.take_line()
    }
}

fn memchr_nl(s: &str) -> Option<usize> {
    memchr::memchr(b'\n', s.as_bytes())
}

/// Whether a physical line ends with a `\` that escapes its newline: one
/// outside strings, comments and `$(...)` references.
fn continues(line: &str) -> bool {
    if !line.ends_with('\\') {
        return false;
    }
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'#' => return false,
            q @ (b'"' | b'\'') => {
                i += 1;
                while i < b.len() && b[i] != q {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                if i >= b.len() {
                    // kconfig ends an unterminated string at the newline.
                    return false;
                }
            }
            b'$' if b.get(i + 1) == Some(&b'(') => match matching_paren(line, i + 2) {
                Some(end) => i = end,
                None => return false,
            },
            b'\\' if i + 1 == b.len() => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

/// Width of leading blanks, tabs counting to the next multiple of 8.
pub fn indent_width(line: &str) -> (usize, usize) {
    let mut ts = 0;
    let mut bytes = 0;
    for c in line.chars() {
        match c {
            '\t' => ts = (ts & !7) + 8,
            ' ' => ts += 1,
            _ => break,
        }
        bytes += 1;
    }
    (ts, bytes)
}

/// Reads a help text from `lines` as kconfig's lexer does (its `HELP`
/// state): the first text line sets the indentation (tabs count to the next
/// multiple of 8); deeper lines keep their extra indentation as spaces and
/// lose trailing blanks; blank lines are kept, also leading and trailing
/// ones. The text ends before the first text line indented less, which is
/// parsed again, or at a line that starts in column 0: then the newline
/// before that line is not part of the text.
pub fn read_help(lines: &mut Lines) -> String {
    let mut text = String::new();
    let mut first_ts: Option<usize> = None;
    // Whether the line after the current one starts in column 0 with text:
    // kconfig's `[ \t]*\n/[^ \t\n]` rule, which ends the help.
    let next_ends = |lines: &Lines| {
        lines
            .peek_raw()
            .and_then(|l| l.chars().next())
            .is_some_and(|c| !matches!(c, ' ' | '\t' | '\r'))
    };
    while let Some(raw) = lines.peek_raw() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let (ts, nbytes) = indent_width(raw);
        let body = raw[nbytes..].trim_end_matches([' ', '\t']);
        if body.is_empty() {
            lines.next_raw();
            if next_ends(lines) {
                break;
            }
            if lines.has_newline_before_next() {
                text.push('\n');
            }
            continue;
        }
        if ts == 0 {
            break;
        }
        match first_ts {
            None => first_ts = Some(ts),
            Some(f) if ts < f => break,
            _ => {}
        }
        for _ in 0..ts - first_ts.unwrap_or(ts) {
            text.push(' ');
        }
        text.push_str(body);
        lines.next_raw();
        if next_ends(lines) {
            break;
        }
        if lines.has_newline_before_next() {
            text.push('\n');
        }
    }
    text
}

/// Bytes that may appear in an unquoted word.
const WORD: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'/' || c == b'.';
        i += 1;
    }
    t
};

fn is_word_char(c: char) -> bool {
    (c as u32) < 256 && WORD[c as usize]
}

/// Tokenizes one logical statement line. `macros` is `None` for legacy
/// (kconfig <= 4.17) trees, where `$(` has no special meaning.
pub fn tokenize<'a>(
    line: &'a str,
    loc: &Loc,
    mut macros: Option<&mut Macros>,
) -> Result<Vec<Tok<'a>>> {
    let mut toks = Vec::new();
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i] as char;
        match c {
            ' ' | '\t' | '\r' => i += 1,
            '#' => break,
            '"' | '\'' => {
                let (s, next) = read_string(line, i, loc, macros.as_deref_mut())?;
                toks.push(Tok::Str(s));
                i = next;
            }
            '&' if b.get(i + 1) == Some(&b'&') => {
                toks.push(Tok::Op(Op::And));
                i += 2;
            }
            '|' if b.get(i + 1) == Some(&b'|') => {
                toks.push(Tok::Op(Op::Or));
                i += 2;
            }
            '!' if b.get(i + 1) == Some(&b'=') => {
                toks.push(Tok::Op(Op::Ne));
                i += 2;
            }
            '!' => {
                toks.push(Tok::Op(Op::Not));
                i += 1;
            }
            '=' => {
                toks.push(Tok::Op(Op::Eq));
                i += 1;
            }
            '<' if b.get(i + 1) == Some(&b'=') => {
                toks.push(Tok::Op(Op::Le));
                i += 2;
            }
            '<' => {
                toks.push(Tok::Op(Op::Lt));
                i += 1;
            }
            '>' if b.get(i + 1) == Some(&b'=') => {
                toks.push(Tok::Op(Op::Ge));
                i += 2;
            }
            '>' => {
                toks.push(Tok::Op(Op::Gt));
                i += 1;
            }
            '(' => {
                toks.push(Tok::Op(Op::LParen));
                i += 1;
            }
            ')' => {
                toks.push(Tok::Op(Op::RParen));
                i += 1;
            }
            '$' if macros.is_some() && b.get(i + 1) == Some(&b'(') => {
                let (w, next) = read_word(line, i, loc, macros.as_deref_mut())?;
                if !w.is_empty() {
                    toks.push(Tok::Word(w));
                }
                i = next;
            }
            c if is_word_char(c) || c == '$' => {
                let (w, next) = read_word(line, i, loc, macros.as_deref_mut())?;
                toks.push(Tok::Word(w));
                i = next;
            }
            _ => {
                let ch = line[i..].chars().next().unwrap_or(' ');
                return Err(Error::syntax_hint(
                    loc,
                    format!("unexpected character '{ch}'"),
                    "Kconfig statements use words, \"strings\" and the operators && || ! = != < <= > >= ( )",
                ));
            }
        }
    }
    Ok(toks)
}

/// A word, possibly containing `$(...)` references (expanded when `macros` is given).
fn read_word<'a>(
    line: &'a str,
    start: usize,
    loc: &Loc,
    macros: Option<&mut Macros>,
) -> Result<(Cow<'a, str>, usize)> {
    let b = line.as_bytes();
    let mut i = start;
    let mut has_macro = false;
    while i < b.len() && WORD[b[i] as usize] {
        i += 1;
    }
    while i < b.len() {
        let c = b[i] as char;
        if c == '$' && b.get(i + 1) == Some(&b'(') && macros.is_some() {
            let end = matching_paren(line, i + 2)
                .ok_or_else(|| Error::syntax(loc, "unterminated reference to '$('".to_string()))?;
            has_macro = true;
            i = end + 1;
        } else if is_word_char(c) || c == '$' {
            i += 1;
        } else {
            break;
        }
    }
    let raw = &line[start..i];
    let word = match macros {
        Some(m) if has_macro => {
            m.loc = Some(loc.clone());
            Cow::Owned(m.expand(raw)?)
        }
        _ => Cow::Borrowed(raw),
    };
    Ok((word, i))
}

/// A quoted string starting at `start` (which holds the quote).
fn read_string<'a>(
    line: &'a str,
    start: usize,
    loc: &Loc,
    mut macros: Option<&mut Macros>,
) -> Result<(Cow<'a, str>, usize)> {
    let b = line.as_bytes();
    let quote = b[start];
    // Fast path: no escapes or macros before the closing quote.
    if let Some(end) =
        line[start + 1..].find(|c: char| c as u32 == quote as u32 || c == '\\' || c == '$')
    {
        let end = start + 1 + end;
        if b[end] == quote {
            return Ok((Cow::Borrowed(&line[start + 1..end]), end + 1));
        }
    }
    let mut out = String::new();
    let mut i = start + 1;
    let mut seg_start = i;
    while i < b.len() {
        let c = b[i];
        if c == quote {
            out.push_str(&line[seg_start..i]);
            return Ok((Cow::Owned(out), i + 1));
        }
        if c == b'\\' {
            out.push_str(&line[seg_start..i]);
            i += 1;
            if i < b.len() {
                let ch_len = line[i..].chars().next().map(|c| c.len_utf8()).unwrap_or(1);
                out.push_str(&line[i..i + ch_len]);
                i += ch_len;
            }
            seg_start = i;
            continue;
        }
        if c == b'$' && b.get(i + 1) == Some(&b'(') {
            if let Some(m) = macros.as_deref_mut() {
                out.push_str(&line[seg_start..i]);
                let end = matching_paren(line, i + 2).ok_or_else(|| {
                    Error::syntax(loc, "unterminated reference to '$('".to_string())
                })?;
                m.loc = Some(loc.clone());
                out.push_str(&m.expand(&line[i..=end])?);
                i = end + 1;
                seg_start = i;
                continue;
            }
        }
        i += 1;
    }
    Err(Error::syntax_hint(
        loc,
        "unterminated string",
        format!("close the string with {}", quote as char),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok<'_>> {
        tokenize(s, &Loc::new("t", 1), None).unwrap()
    }

    #[test]
    fn statement_tokens() {
        assert_eq!(
            toks("depends on A && !(B || C=\"x y\") # comment"),
            vec![
                Tok::Word("depends".into()),
                Tok::Word("on".into()),
                Tok::Word("A".into()),
                Tok::Op(Op::And),
                Tok::Op(Op::Not),
                Tok::Op(Op::LParen),
                Tok::Word("B".into()),
                Tok::Op(Op::Or),
                Tok::Word("C".into()),
                Tok::Op(Op::Eq),
                Tok::Str("x y".into()),
                Tok::Op(Op::RParen),
            ]
        );
    }

    #[test]
    fn string_escapes() {
        assert_eq!(
            toks(r#"prompt "a \"b\" \\ c" 'it''s'"#),
            vec![
                Tok::Word("prompt".into()),
                Tok::Str("a \"b\" \\ c".into()),
                Tok::Str("it".into()),
                Tok::Str("s".into()),
            ]
        );
    }

    #[test]
    fn help_indentation() {
        let mut l = Lines::new("\t  first\n\t    deeper\n\n\t  after blank\n\nconfig X\n");
        assert_eq!(read_help(&mut l), "first\n  deeper\n\nafter blank\n");
        assert_eq!(l.peek_raw(), Some("config X"));
        // A column-0 line right after the text: kconfig keeps no final newline.
        let mut l = Lines::new("\t  text\nconfig X\n");
        assert_eq!(read_help(&mut l), "text");
        // Blank lines before a less indented line are kept.
        let mut l = Lines::new("\n\t  text\n\n\tdefault y\n");
        assert_eq!(read_help(&mut l), "\ntext\n\n");
        assert_eq!(l.peek_raw(), Some("\tdefault y"));
    }

    #[test]
    fn help_ends_at_smaller_indent() {
        let mut l = Lines::new("\t  text\n\tdefault y\n");
        assert_eq!(read_help(&mut l), "text\n");
        assert_eq!(l.peek_raw(), Some("\tdefault y"));
    }

    #[test]
    fn no_continuation_in_comments_and_strings() {
        let mut l = Lines::new("# comment \\\nconfig A\n\tdefault \"x \\\ny\"\n");
        assert_eq!(l.next_logical(), Some((1, "# comment \\".into())));
        assert_eq!(l.next_logical(), Some((2, "config A".into())));
        assert_eq!(l.next_logical(), Some((3, "\tdefault \"x \\".into())));
    }

    #[test]
    fn continuation() {
        let mut l = Lines::new("depends on A && \\\n   B\nX\n");
        assert_eq!(
            l.next_logical(),
            Some((1, Cow::Borrowed("depends on A &&    B")))
        );
        assert_eq!(l.next_logical(), Some((3, Cow::Borrowed("X"))));
    }
}

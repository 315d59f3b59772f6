//! The two table formats Buildroot users know, parsed with file:line errors
//! and applied to a [`Manifest`]:
//!
//! * device/permission tables (makedevs format), ten blank-separated fields
//!   `name type mode uid gid major minor start inc count`;
//! * users tables (makeusers format), nine fields
//!   `username uid group gid password home shell groups comment`.
//!
//! Both are described in `docs/rootfs.md`.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use super::accounts::{Accounts, Home, RootLogin};
use super::manifest::{display_path, normalize, Entry, EntryKind, Manifest};
use super::{Error, Result};

/// Where the lines of a table come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableSource {
    /// A table file (`board/common/device_table.txt`).
    File(PathBuf),
    /// Lines given in memory, e.g. a package's `users` or `permissions`
    /// from its recipe; `name` appears in messages in place of a file name.
    Inline { name: String, text: String },
}

impl TableSource {
    /// In-memory lines.
    pub fn inline(name: impl Into<String>, lines: &[String]) -> Self {
        TableSource::Inline {
            name: name.into(),
            text: lines.join("\n"),
        }
    }

    /// The name used in messages and the text.
    pub fn read(&self) -> Result<(String, String)> {
        match self {
            TableSource::File(path) => {
                let text = fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
                Ok((path.display().to_string(), text))
            }
            TableSource::Inline { name, text } => Ok((name.clone(), text.clone())),
        }
    }
}

/// The meaningful lines of a table: number and blank-separated fields
/// (blank lines and `#` comments skipped).
fn table_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().filter_map(|(i, l)| {
        let t = l.trim();
        (!t.is_empty() && !t.starts_with('#')).then_some((i + 1, t))
    })
}

/// An owner in a device table: a number or a name looked up in the
/// target's `etc/passwd` / `etc/group`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    Id(u32),
    Name(String),
}

/// The type field of a device table line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    /// `f`: an existing regular file.
    File,
    /// `d`: a directory, created when missing.
    Dir,
    /// `r`: an existing directory and everything below it.
    DirRecursive,
    /// `c`: a character device.
    Char,
    /// `b`: a block device.
    Block,
    /// `p`: a FIFO.
    Fifo,
}

/// One line of a device/permission table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceEntry {
    pub line: usize,
    /// Normalised path inside the root (`dev/console`).
    pub path: PathBuf,
    pub kind: DeviceKind,
    /// `None` for `-` or `-1`: keep the mode (0755 for a new directory).
    pub mode: Option<u32>,
    pub uid: Owner,
    pub gid: Owner,
    pub major: u32,
    pub minor: u32,
    pub start: u32,
    pub inc: u32,
    /// With `c`/`b` and `count > 0`, `count` nodes named `<name><start>`,
    /// `<name><start+1>`, ... with minors `minor`, `minor+inc`, ...
    pub count: u32,
}

/// A parsed device/permission table (makedevs format).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceTable {
    /// The file name (or source name) for messages.
    pub file: String,
    pub entries: Vec<DeviceEntry>,
}

fn parse_mode(s: &str) -> std::result::Result<Option<u32>, String> {
    if s == "-" || s == "-1" {
        return Ok(None);
    }
    match u32::from_str_radix(s, 8) {
        Ok(m) if m <= 0o7777 && !s.starts_with('+') => Ok(Some(m)),
        _ => Err(format!(
            "mode {s:?} is not an octal mode such as 755, 1777 or 4755 (or -1 to keep it)"
        )),
    }
}

fn parse_number(s: &str, what: &str) -> std::result::Result<Option<u32>, String> {
    if s == "-" {
        return Ok(None);
    }
    s.parse::<u32>()
        .map(Some)
        .map_err(|_| format!("{what} {s:?} is not a number (or - when unused)"))
}

fn valid_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '$'))
}

fn parse_owner(s: &str, what: &str) -> std::result::Result<Owner, String> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse::<u32>()
            .map(Owner::Id)
            .map_err(|_| format!("{what} {s} is too large"));
    }
    if valid_name(s) {
        Ok(Owner::Name(s.to_string()))
    } else {
        Err(format!("{what} {s:?} is neither a number nor a name"))
    }
}

impl DeviceTable {
    /// Reads a table from its source.
    pub fn load(source: &TableSource) -> Result<Self> {
        let (name, text) = source.read()?;
        Self::parse(&name, &text)
    }

    /// Parses the text of a table; `file` names it in messages.
    pub fn parse(file: &str, text: &str) -> Result<Self> {
        let mut entries = Vec::new();
        for (line, l) in table_lines(text) {
            let err = |m: String| Error::table(file, line, m);
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() != 10 {
                return Err(err(format!(
                    "expected 10 fields (name type mode uid gid major minor start inc count, \
                     - for unused ones), found {}",
                    f.len()
                )));
            }
            if !f[0].starts_with('/') {
                return Err(err(format!(
                    "name {:?} must be an absolute path inside the root filesystem, such as /dev/console",
                    f[0]
                )));
            }
            let path = normalize(Path::new(f[0]))
                .map_err(|_| err(format!("name {:?} must not contain '..'", f[0])))?;
            let kind = match f[1] {
                "f" => DeviceKind::File,
                "d" => DeviceKind::Dir,
                "r" => DeviceKind::DirRecursive,
                "c" => DeviceKind::Char,
                "b" => DeviceKind::Block,
                "p" => DeviceKind::Fifo,
                other => {
                    return Err(err(format!(
                        "unknown type {other:?}: use f (file), d (directory), r (directory tree), \
                         c (character device), b (block device) or p (FIFO)"
                    )))
                }
            };
            let mode = parse_mode(f[2]).map_err(err)?;
            let uid = parse_owner(f[3], "uid").map_err(err)?;
            let gid = parse_owner(f[4], "gid").map_err(err)?;
            let major = parse_number(f[5], "major").map_err(err)?;
            let minor = parse_number(f[6], "minor").map_err(err)?;
            let start = parse_number(f[7], "start").map_err(err)?.unwrap_or(0);
            let inc = parse_number(f[8], "inc").map_err(err)?.unwrap_or(0);
            let count = parse_number(f[9], "count").map_err(err)?.unwrap_or(0);
            let device = matches!(kind, DeviceKind::Char | DeviceKind::Block);
            if path.as_os_str().is_empty()
                && kind != DeviceKind::Dir
                && kind != DeviceKind::DirRecursive
            {
                return Err(err("the root can only take a d or r entry".to_string()));
            }
            if device && (major.is_none() || minor.is_none()) {
                return Err(err(format!(
                    "a {} device needs major and minor numbers",
                    if kind == DeviceKind::Char {
                        "character"
                    } else {
                        "block"
                    }
                )));
            }
            if (device || kind == DeviceKind::Fifo) && mode.is_none() {
                return Err(err(
                    "a device node or FIFO needs a mode such as 660".to_string()
                ));
            }
            if count > 0 && !device {
                return Err(err(
                    "start/inc/count series only apply to c and b entries; use - for the others"
                        .to_string(),
                ));
            }
            if count > 0 && start.checked_add(count).is_none() {
                return Err(err("start + count is too large".to_string()));
            }
            entries.push(DeviceEntry {
                line,
                path,
                kind,
                mode,
                uid,
                gid,
                major: major.unwrap_or(0),
                minor: minor.unwrap_or(0),
                start,
                inc,
                count,
            });
        }
        Ok(DeviceTable {
            file: file.to_string(),
            entries,
        })
    }

    /// Applies the table to a Manifest, line by line:
    ///
    /// * `f` sets mode and owner of an existing regular file;
    /// * `d` creates the directory (and missing parents) or changes it;
    /// * `r` sets the owner (and the mode, unless `-1`) of an existing
    ///   directory and of everything below it;
    /// * `c`, `b`, `p` create device nodes and FIFOs, replacing what was
    ///   there (missing parents are created).
    ///
    /// Symbolic links in the path are followed inside the Manifest. Names
    /// in the uid/gid fields are looked up in the Manifest's `etc/passwd`
    /// and `etc/group`.
    pub fn apply(&self, manifest: &mut Manifest) -> Result<()> {
        let mut accounts: Option<Accounts> = None;
        for e in &self.entries {
            let err = |m: String| Error::table(&self.file, e.line, m);
            let uid = resolve_owner(manifest, &mut accounts, &e.uid, true).map_err(err)?;
            let gid = resolve_owner(manifest, &mut accounts, &e.gid, false).map_err(err)?;
            let shown = display_path(&e.path).display().to_string();
            match e.kind {
                DeviceKind::File => {
                    let mut real = manifest
                        .resolve(&e.path, true)
                        .map_err(|x| err(x.to_string()))?;
                    if let Some(Entry {
                        kind: EntryKind::HardLink(target),
                        ..
                    }) = manifest.get(&real)
                    {
                        real = target.clone();
                    }
                    match manifest.get_mut(&real) {
                        Some(entry) if matches!(entry.kind, EntryKind::File(_)) => {
                            set_attributes(entry, e.mode, uid, gid);
                        }
                        Some(_) => {
                            return Err(err(format!(
                                "{shown} is not a regular file (use d or r for directories)"
                            )))
                        }
                        None => {
                            return Err(err(format!(
                                "{shown} does not exist; f entries only change existing files \
                                 (install the file from a package, an overlay or a post-build script)"
                            )))
                        }
                    }
                }
                DeviceKind::Dir => {
                    let real = manifest
                        .resolve(&e.path, true)
                        .map_err(|x| err(x.to_string()))?;
                    match manifest.get_mut(&real) {
                        Some(entry) if entry.is_dir() => set_attributes(entry, e.mode, uid, gid),
                        Some(_) => {
                            return Err(err(format!("{shown} exists and is not a directory")))
                        }
                        None => {
                            let real = manifest
                                .create_dir_all(&real, e.mode.unwrap_or(0o755), uid, gid)
                                .map_err(|x| err(x.to_string()))?;
                            if let Some(entry) = manifest.get_mut(&real) {
                                set_attributes(entry, e.mode, uid, gid);
                            }
                        }
                    }
                }
                DeviceKind::DirRecursive => {
                    let real = manifest
                        .resolve(&e.path, true)
                        .map_err(|x| err(x.to_string()))?;
                    match manifest.get(&real) {
                        Some(entry) if entry.is_dir() => {
                            manifest.set_tree_attributes(&real, uid, gid, e.mode);
                        }
                        Some(_) => return Err(err(format!("{shown} is not a directory"))),
                        None => {
                            return Err(err(format!(
                                "{shown} does not exist; r entries only change existing directories"
                            )))
                        }
                    }
                }
                DeviceKind::Char | DeviceKind::Block | DeviceKind::Fifo => {
                    let mode = e.mode.unwrap_or(0o600);
                    for (path, minor) in series(e) {
                        let real = manifest
                            .resolve(&path, false)
                            .map_err(|x| err(x.to_string()))?;
                        if let Some(parent) = real.parent() {
                            manifest
                                .create_dir_all(parent, 0o755, 0, 0)
                                .map_err(|x| err(x.to_string()))?;
                        }
                        if manifest.get(&real).is_some_and(Entry::is_dir) {
                            return Err(err(format!(
                                "{} is a directory; a device node cannot replace it",
                                display_path(&real).display()
                            )));
                        }
                        let kind = match e.kind {
                            DeviceKind::Char => EntryKind::CharDevice {
                                major: e.major,
                                minor,
                            },
                            DeviceKind::Block => EntryKind::BlockDevice {
                                major: e.major,
                                minor,
                            },
                            _ => EntryKind::Fifo,
                        };
                        let now = manifest.creation_time();
                        manifest
                            .insert(
                                &real,
                                Entry::new(kind, mode).with_owner(uid, gid).with_mtime(now),
                            )
                            .map_err(|x| err(x.to_string()))?;
                    }
                }
            }
        }
        Ok(())
    }
}

fn set_attributes(entry: &mut Entry, mode: Option<u32>, uid: u32, gid: u32) {
    if let Some(mode) = mode {
        entry.mode = mode & 0o7777;
    }
    entry.uid = uid;
    entry.gid = gid;
}

/// The nodes of one device line: `(path, minor)` pairs.
fn series(e: &DeviceEntry) -> Vec<(PathBuf, u32)> {
    if e.count == 0 {
        return vec![(e.path.clone(), e.minor)];
    }
    (e.start..e.start + e.count)
        .map(|i| {
            let mut name = OsString::from(e.path.as_os_str());
            name.push(i.to_string());
            let minor = e.minor.wrapping_add((i - e.start).wrapping_mul(e.inc));
            (PathBuf::from(name), minor)
        })
        .collect()
}

fn load_accounts(manifest: &Manifest) -> Result<Accounts> {
    let read = |p: &str| -> Result<Option<String>> {
        Ok(manifest
            .read_file(p)?
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    };
    Accounts::parse(
        read("etc/passwd")?.as_deref(),
        read("etc/group")?.as_deref(),
        read("etc/shadow")?.as_deref(),
    )
}

fn resolve_owner(
    manifest: &Manifest,
    cache: &mut Option<Accounts>,
    owner: &Owner,
    user: bool,
) -> std::result::Result<u32, String> {
    let name = match owner {
        Owner::Id(id) => return Ok(*id),
        Owner::Name(name) => name,
    };
    if cache.is_none() {
        *cache = Some(load_accounts(manifest).map_err(|e| e.to_string())?);
    }
    let Some(acc) = cache.as_ref() else {
        return Err("cannot read the account files".to_string());
    };
    let found = if user {
        acc.uid_of(name)
    } else {
        acc.gid_of(name)
    };
    found.ok_or_else(|| {
        if user {
            format!("unknown user {name:?}: it is not in the target's /etc/passwd")
        } else {
            format!("unknown group {name:?}: it is not in the target's /etc/group")
        }
    })
}

/// How a users table line gives an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdSpec {
    Fixed(u32),
    /// `-1`: a free system id in 100..=999.
    AutoSystem,
    /// `-2`: a free regular id in 1000..=1999.
    AutoUser,
}

/// The password field of a users table line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Password {
    /// Stored as given: an already hashed crypt(3) value, or `!...` (locked).
    Encrypted(String),
    /// `=text` (or `!=text`, locked): hashed at build time.
    Plain { text: String, locked: bool },
    /// `*`: no password login possible.
    NoLogin,
    /// `-`: the field is left empty (no password).
    Empty,
}

/// One line of a users table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserEntry {
    pub line: usize,
    /// `None` for `-`: the line only creates a group.
    pub name: Option<String>,
    /// `None` only when `name` is `None`.
    pub uid: Option<IdSpec>,
    pub group: String,
    pub gid: IdSpec,
    pub password: Password,
    /// `None` for `-`: no home directory (`/` in `etc/passwd`).
    pub home: Option<PathBuf>,
    /// `None` for `-`: `/bin/false`.
    pub shell: Option<String>,
    pub groups: Vec<String>,
    pub comment: String,
}

/// A parsed users table (makeusers format).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsersTable {
    pub file: String,
    pub entries: Vec<UserEntry>,
}

/// Splits off the first `n` blank-separated fields; the rest of the line
/// (trimmed) comes last.
fn split_fields(line: &str, n: usize) -> (Vec<&str>, &str) {
    let mut fields = Vec::new();
    let mut rest = line.trim_start();
    while fields.len() < n && !rest.is_empty() {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        fields.push(&rest[..end]);
        rest = rest[end..].trim_start();
    }
    (fields, rest.trim_end())
}

fn parse_id_spec(s: &str, what: &str) -> std::result::Result<IdSpec, String> {
    match s {
        "-1" => Ok(IdSpec::AutoSystem),
        "-2" => Ok(IdSpec::AutoUser),
        _ => match s.parse::<u32>() {
            Ok(0) => Err(format!(
                "{what} 0 belongs to root; give another number, or -1 / -2 to have one picked"
            )),
            Ok(n) => Ok(IdSpec::Fixed(n)),
            Err(_) => Err(format!(
                "{what} {s:?} must be a number, -1 (system id picked in 100-999) or -2 (picked in 1000-1999)"
            )),
        },
    }
}

impl UsersTable {
    /// Reads a table from its source.
    pub fn load(source: &TableSource) -> Result<Self> {
        let (name, text) = source.read()?;
        Self::parse(&name, &text)
    }

    /// Parses the text of a table; `file` names it in messages.
    pub fn parse(file: &str, text: &str) -> Result<Self> {
        let mut entries = Vec::new();
        for (line, l) in table_lines(text) {
            let err = |m: String| Error::table(file, line, m);
            let (f, comment) = split_fields(l, 8);
            if f.len() < 8 || comment.is_empty() {
                let found = f.len() + usize::from(!comment.is_empty());
                return Err(err(format!(
                    "expected 9 fields (username uid group gid password home shell groups comment, \
                     - for empty ones), found {found}"
                )));
            }
            if let Some(bad) = f
                .iter()
                .chain(std::iter::once(&comment))
                .find(|s| s.contains(':'))
            {
                return Err(err(format!("{bad:?}: fields cannot contain ':'")));
            }
            let name = match f[0] {
                "-" => None,
                "root" => {
                    return Err(err(
                        "root cannot be declared in a users table; it comes from the skeleton"
                            .to_string(),
                    ))
                }
                n if valid_name(n) => Some(n.to_string()),
                n => {
                    return Err(err(format!(
                        "user name {n:?} must start with a letter or _ and contain only letters, \
                         digits, _, -, . (and a final $)"
                    )))
                }
            };
            let uid = match (&name, f[1]) {
                (None, "-") => None,
                (None, _) => {
                    return Err(err(
                        "a line with username - only creates a group; its uid must be -"
                            .to_string(),
                    ))
                }
                (Some(_), s) => Some(parse_id_spec(s, "uid").map_err(err)?),
            };
            let group = match f[2] {
                "root" => {
                    return Err(err(
                        "root cannot be a primary group in a users table".to_string()
                    ))
                }
                g if valid_name(g) => g.to_string(),
                g => return Err(err(format!("group name {g:?} is not valid"))),
            };
            let gid = parse_id_spec(f[3], "gid").map_err(err)?;
            let password = match f[4] {
                "*" => Password::NoLogin,
                "-" => Password::Empty,
                p => {
                    if let Some(text) = p.strip_prefix("!=") {
                        Password::Plain {
                            text: text.to_string(),
                            locked: true,
                        }
                    } else if let Some(text) = p.strip_prefix('=') {
                        Password::Plain {
                            text: text.to_string(),
                            locked: false,
                        }
                    } else {
                        Password::Encrypted(p.to_string())
                    }
                }
            };
            let home = match f[5] {
                "-" => None,
                "/" => {
                    return Err(err(
                        "home / is not allowed; use - for a user without a home directory"
                            .to_string(),
                    ))
                }
                h if h.starts_with('/') => Some(
                    normalize(Path::new(h))
                        .map(|p| Path::new("/").join(p))
                        .map_err(|_| err(format!("home {h:?} must not contain '..'")))?,
                ),
                h => return Err(err(format!("home {h:?} must be an absolute path or -"))),
            };
            let shell = match f[6] {
                "-" => None,
                s => Some(s.to_string()),
            };
            let groups = match f[7] {
                "-" => Vec::new(),
                g => {
                    let list: Vec<String> = g
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect();
                    if let Some(bad) = list.iter().find(|s| !valid_name(s)) {
                        return Err(err(format!("supplementary group {bad:?} is not valid")));
                    }
                    list
                }
            };
            let comment = if comment == "-" {
                String::new()
            } else {
                comment.to_string()
            };
            entries.push(UserEntry {
                line,
                name,
                uid,
                group,
                gid,
                password,
                home,
                shell,
                groups,
                comment,
            });
        }
        Ok(UsersTable {
            file: file.to_string(),
            entries,
        })
    }
}

/// Applies users tables and the root login setting to a Manifest: the
/// account files are read from it (skeleton lines kept), updated and
/// stored back as inline content (`etc/shadow` created with mode 0600), and
/// each home directory is created when missing (mode 0755) and given, with
/// everything below it, to its user. Returns the home directories.
///
/// Nothing happens when there are no tables, the root login is
/// [`RootLogin::Keep`] or the Manifest has no account files at all.
pub fn apply_users(
    manifest: &mut Manifest,
    tables: &[UsersTable],
    root_login: &RootLogin,
    salt_seed: &[u8],
) -> Result<Vec<Home>> {
    let no_tables = tables.iter().all(|t| t.entries.is_empty());
    if no_tables && *root_login == RootLogin::Keep {
        return Ok(Vec::new());
    }
    let read = |p: &str| -> Result<Option<String>> {
        Ok(manifest
            .read_file(p)?
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    };
    let (passwd, group, shadow) = (read("etc/passwd")?, read("etc/group")?, read("etc/shadow")?);
    if no_tables && passwd.is_none() && group.is_none() && shadow.is_none() {
        return Ok(Vec::new());
    }
    let mut acc = Accounts::parse(passwd.as_deref(), group.as_deref(), shadow.as_deref())?;
    acc.set_root_login(root_login, salt_seed)?;
    let homes = acc.add_tables(tables, salt_seed)?;
    manifest.write_file("etc/passwd", acc.render_passwd(), 0o644)?;
    manifest.write_file("etc/group", acc.render_group(), 0o644)?;
    manifest.write_file("etc/shadow", acc.render_shadow(), 0o600)?;
    for h in &homes {
        give_home(manifest, h)?;
    }
    Ok(homes)
}

/// Creates a home directory in the Manifest when missing and gives it, with
/// everything below it, to its user.
pub(crate) fn give_home(manifest: &mut Manifest, home: &Home) -> Result<()> {
    let real = manifest.create_dir_all(&home.path, 0o755, home.uid, home.gid)?;
    manifest.set_tree_attributes(&real, home.uid, home.gid, None);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_names_and_minors() {
        let t = DeviceTable::parse("t", "/dev/ttyS c 660 0 5 4 64 1 2 3\n").unwrap();
        let s = series(&t.entries[0]);
        let got: Vec<_> = s
            .iter()
            .map(|(p, m)| (p.display().to_string(), *m))
            .collect();
        assert_eq!(
            got,
            [
                ("dev/ttyS1".to_string(), 64),
                ("dev/ttyS2".to_string(), 66),
                ("dev/ttyS3".to_string(), 68)
            ]
        );
    }

    #[test]
    fn comment_takes_rest_of_line() {
        let t = UsersTable::parse(
            "u",
            "alice -2 alice -2 =pw /home/alice /bin/sh wheel,tty Alice  Example  \n",
        )
        .unwrap();
        assert_eq!(t.entries[0].comment, "Alice  Example");
        assert_eq!(t.entries[0].groups, ["wheel", "tty"]);
    }
}

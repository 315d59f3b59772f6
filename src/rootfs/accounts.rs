//! The account files of the target (`etc/passwd`, `etc/group`,
//! `etc/shadow`): reading them, adding the users of users tables, setting
//! root's password, writing them back with every existing line kept.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::tables::{IdSpec, Password, UserEntry, UsersTable};
use super::{Error, Result};

/// What to do with root's password field in `etc/shadow`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RootLogin {
    /// Leave the field as the skeleton or an overlay has it.
    #[default]
    Keep,
    /// Root login disabled (`BBSDK_TARGET_ENABLE_ROOT_LOGIN` off): the field
    /// is `*`, so no password is ever accepted for root.
    Disabled,
    /// Root login with this plain-text password, stored as a SHA-512 crypt
    /// hash. The empty string means no password at all: the field is left
    /// empty and root logs in without being asked.
    Password(String),
}

/// A line of `etc/passwd`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub password: String,
    pub uid: u32,
    pub gid: u32,
    pub gecos: String,
    pub home: String,
    pub shell: String,
}

/// A line of `etc/group`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub password: String,
    pub gid: u32,
    pub members: Vec<String>,
}

/// A line of `etc/shadow`: the name and the fields after it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shadow {
    name: String,
    fields: Vec<String>,
}

/// A line kept as it was (blank or comment) or an account.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Line<T> {
    Entry(T),
    Other(String),
}

/// A home directory a users table asks for, with its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    pub path: PathBuf,
    pub uid: u32,
    pub gid: u32,
}

/// The three account files of a root filesystem.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accounts {
    users: Vec<Line<User>>,
    groups: Vec<Line<Group>>,
    shadow: Vec<Line<Shadow>>,
}

/// Range of ids picked for `-1` (system accounts).
const SYSTEM_IDS: (u32, u32) = (100, 999);
/// Range of ids picked for `-2` (regular accounts).
const USER_IDS: (u32, u32) = (1000, 1999);

fn is_other(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

fn parse_id(file: &str, line: usize, what: &str, s: &str) -> Result<u32> {
    s.parse::<u32>()
        .map_err(|_| Error::table(file, line, format!("{what} {s:?} is not a number")))
}

impl Accounts {
    /// Reads the three files (`None` = missing, treated as empty).
    pub fn parse(passwd: Option<&str>, group: Option<&str>, shadow: Option<&str>) -> Result<Self> {
        let mut acc = Accounts::default();
        for (i, l) in passwd.unwrap_or("").lines().enumerate() {
            let file = "etc/passwd";
            if is_other(l) {
                acc.users.push(Line::Other(l.to_string()));
                continue;
            }
            let f: Vec<&str> = l.split(':').collect();
            if f.len() != 7 {
                return Err(Error::table(
                    file,
                    i + 1,
                    format!(
                        "expected 7 fields name:password:uid:gid:comment:home:shell, found {}",
                        f.len()
                    ),
                ));
            }
            acc.users.push(Line::Entry(User {
                name: f[0].to_string(),
                password: f[1].to_string(),
                uid: parse_id(file, i + 1, "uid", f[2])?,
                gid: parse_id(file, i + 1, "gid", f[3])?,
                gecos: f[4].to_string(),
                home: f[5].to_string(),
                shell: f[6].to_string(),
            }));
        }
        for (i, l) in group.unwrap_or("").lines().enumerate() {
            let file = "etc/group";
            if is_other(l) {
                acc.groups.push(Line::Other(l.to_string()));
                continue;
            }
            let f: Vec<&str> = l.split(':').collect();
            if f.len() != 4 {
                return Err(Error::table(
                    file,
                    i + 1,
                    format!(
                        "expected 4 fields name:password:gid:members, found {}",
                        f.len()
                    ),
                ));
            }
            acc.groups.push(Line::Entry(Group {
                name: f[0].to_string(),
                password: f[1].to_string(),
                gid: parse_id(file, i + 1, "gid", f[2])?,
                members: f[3]
                    .split(',')
                    .filter(|m| !m.is_empty())
                    .map(str::to_string)
                    .collect(),
            }));
        }
        for (i, l) in shadow.unwrap_or("").lines().enumerate() {
            if is_other(l) {
                acc.shadow.push(Line::Other(l.to_string()));
                continue;
            }
            let mut f = l.split(':');
            let name = f.next().unwrap_or("").to_string();
            let fields: Vec<String> = f.map(str::to_string).collect();
            if name.is_empty() || fields.is_empty() {
                return Err(Error::table(
                    "etc/shadow",
                    i + 1,
                    "expected name:password:... (9 fields)",
                ));
            }
            acc.shadow.push(Line::Entry(Shadow { name, fields }));
        }
        Ok(acc)
    }

    /// The users of `etc/passwd`, in file order.
    pub fn users(&self) -> impl Iterator<Item = &User> {
        self.users.iter().filter_map(|l| match l {
            Line::Entry(u) => Some(u),
            Line::Other(_) => None,
        })
    }

    /// The groups of `etc/group`, in file order.
    pub fn groups(&self) -> impl Iterator<Item = &Group> {
        self.groups.iter().filter_map(|l| match l {
            Line::Entry(g) => Some(g),
            Line::Other(_) => None,
        })
    }

    fn user_mut(&mut self, name: &str) -> Option<&mut User> {
        self.users.iter_mut().find_map(|l| match l {
            Line::Entry(u) if u.name == name => Some(u),
            _ => None,
        })
    }

    fn group_mut(&mut self, name: &str) -> Option<&mut Group> {
        self.groups.iter_mut().find_map(|l| match l {
            Line::Entry(g) if g.name == name => Some(g),
            _ => None,
        })
    }

    /// The uid of the user `name`.
    pub fn uid_of(&self, name: &str) -> Option<u32> {
        self.users().find(|u| u.name == name).map(|u| u.uid)
    }

    /// The gid of the group `name`.
    pub fn gid_of(&self, name: &str) -> Option<u32> {
        self.groups().find(|g| g.name == name).map(|g| g.gid)
    }

    /// The password field of `name` in `etc/shadow`.
    pub fn shadow_password(&self, name: &str) -> Option<&str> {
        self.shadow.iter().find_map(|l| match l {
            Line::Entry(s) if s.name == name => s.fields.first().map(String::as_str),
            _ => None,
        })
    }

    fn set_shadow_password(&mut self, name: &str, password: String) {
        for l in &mut self.shadow {
            if let Line::Entry(s) = l {
                if s.name == name {
                    match s.fields.first_mut() {
                        Some(f) => *f = password,
                        None => s.fields.push(password),
                    }
                    return;
                }
            }
        }
        let mut fields = vec![password];
        fields.extend((0..7).map(|_| String::new()));
        self.shadow.push(Line::Entry(Shadow {
            name: name.to_string(),
            fields,
        }));
    }

    /// Sets root's password field in `etc/shadow` (adding root's line there
    /// when it is missing). Root must be in `etc/passwd`.
    pub fn set_root_login(&mut self, login: &RootLogin, salt_seed: &[u8]) -> Result<()> {
        let field = match login {
            RootLogin::Keep => return Ok(()),
            RootLogin::Disabled => "*".to_string(),
            RootLogin::Password(p) if p.is_empty() => String::new(),
            RootLogin::Password(p) => hash_password(p, "root", salt_seed)?,
        };
        if self.uid_of("root").is_none() {
            return Err(Error::tree(
                "/etc/passwd",
                "has no root user, so root's password cannot be set; \
                 add root to the skeleton's etc/passwd",
            ));
        }
        self.set_shadow_password("root", field);
        Ok(())
    }

    fn free_id(used: impl Iterator<Item = u32> + Clone, range: (u32, u32)) -> Option<u32> {
        (range.0..=range.1).find(|id| !used.clone().any(|u| u == *id))
    }

    fn add_group(&mut self, name: &str, gid: u32) {
        self.groups.push(Line::Entry(Group {
            name: name.to_string(),
            password: "x".to_string(),
            gid,
            members: Vec::new(),
        }));
    }

    fn new_gid(&self, spec: IdSpec) -> Option<u32> {
        let range = match spec {
            IdSpec::AutoUser => USER_IDS,
            _ => SYSTEM_IDS,
        };
        let gids: Vec<u32> = self.groups().map(|g| g.gid).collect();
        Self::free_id(gids.iter().copied(), range)
    }

    /// Adds the accounts of the users tables, in Buildroot's order: groups
    /// with a fixed gid, groups with an automatic gid, supplementary groups,
    /// users with a fixed uid, users with an automatic uid, then group
    /// memberships. Existing accounts of the same name are updated when
    /// their ids agree. Returns the home directories to create.
    pub fn add_tables(&mut self, tables: &[UsersTable], salt_seed: &[u8]) -> Result<Vec<Home>> {
        let all: Vec<(&str, &UserEntry)> = tables
            .iter()
            .flat_map(|t| t.entries.iter().map(move |e| (t.file.as_str(), e)))
            .collect();

        for (file, e) in &all {
            if let IdSpec::Fixed(gid) = e.gid {
                match self.gid_of(&e.group) {
                    Some(old) if old != gid => {
                        return Err(Error::table(
                            file,
                            e.line,
                            format!("group {} already exists with gid {old}, not {gid}", e.group),
                        ))
                    }
                    Some(_) => {}
                    None => {
                        if let Some(other) = self.groups().find(|g| g.gid == gid) {
                            return Err(Error::table(
                                file,
                                e.line,
                                format!("gid {gid} is already used by group {}", other.name),
                            ));
                        }
                        self.add_group(&e.group, gid);
                    }
                }
            }
        }
        for (file, e) in &all {
            if !matches!(e.gid, IdSpec::Fixed(_)) && self.gid_of(&e.group).is_none() {
                let gid = self.new_gid(e.gid).ok_or_else(|| {
                    Error::table(
                        file,
                        e.line,
                        format!("no free gid left for group {}", e.group),
                    )
                })?;
                self.add_group(&e.group, gid);
            }
        }
        for (file, e) in &all {
            for g in &e.groups {
                if self.gid_of(g).is_none() {
                    let gid = self.new_gid(IdSpec::AutoSystem).ok_or_else(|| {
                        Error::table(file, e.line, format!("no free gid left for group {g}"))
                    })?;
                    self.add_group(g, gid);
                }
            }
        }
        for fixed_pass in [true, false] {
            for (file, e) in &all {
                let (Some(name), Some(uid)) = (&e.name, e.uid) else {
                    continue;
                };
                if matches!(uid, IdSpec::Fixed(_)) != fixed_pass {
                    continue;
                }
                self.upsert_user(file, e, name, uid, salt_seed)?;
            }
        }
        let mut homes = Vec::new();
        for (_, e) in &all {
            let Some(name) = &e.name else { continue };
            for g in &e.groups {
                if *g == e.group {
                    continue;
                }
                if let Some(group) = self.group_mut(g) {
                    if !group.members.iter().any(|m| m == name) {
                        group.members.push(name.clone());
                    }
                }
            }
            if let (Some(home), Some(uid), Some(gid)) =
                (&e.home, self.uid_of(name), self.gid_of(&e.group))
            {
                homes.push(Home {
                    path: home.clone(),
                    uid,
                    gid,
                });
            }
        }
        Ok(homes)
    }

    fn upsert_user(
        &mut self,
        file: &str,
        e: &UserEntry,
        name: &str,
        uid: IdSpec,
        salt_seed: &[u8],
    ) -> Result<()> {
        let existing = self.uid_of(name);
        let uid = match (uid, existing) {
            (IdSpec::Fixed(uid), Some(old)) if old != uid => {
                return Err(Error::table(
                    file,
                    e.line,
                    format!("user {name} already exists with uid {old}, not {uid}"),
                ))
            }
            (IdSpec::Fixed(uid), Some(_)) => uid,
            (IdSpec::Fixed(uid), None) => {
                if let Some(other) = self.users().find(|u| u.uid == uid) {
                    return Err(Error::table(
                        file,
                        e.line,
                        format!("uid {uid} is already used by user {}", other.name),
                    ));
                }
                uid
            }
            (_, Some(old)) => old,
            (spec, None) => {
                let range = if spec == IdSpec::AutoUser {
                    USER_IDS
                } else {
                    SYSTEM_IDS
                };
                let uids: Vec<u32> = self.users().map(|u| u.uid).collect();
                Self::free_id(uids.iter().copied(), range).ok_or_else(|| {
                    Error::table(file, e.line, format!("no free uid left for user {name}"))
                })?
            }
        };
        let gid = self.gid_of(&e.group).ok_or_else(|| {
            Error::table(file, e.line, format!("group {} was not created", e.group))
        })?;
        let user = User {
            name: name.to_string(),
            password: "x".to_string(),
            uid,
            gid,
            gecos: e.comment.clone(),
            home: e
                .home
                .as_ref()
                .map_or("/".to_string(), |h| h.display().to_string()),
            shell: e.shell.clone().unwrap_or_else(|| "/bin/false".to_string()),
        };
        match self.user_mut(name) {
            Some(u) => *u = user,
            None => self.users.push(Line::Entry(user)),
        }
        let field = match &e.password {
            Password::Encrypted(s) => s.clone(),
            Password::Plain { text, locked } => {
                let hash = hash_password(text, name, salt_seed)?;
                if *locked {
                    format!("!{hash}")
                } else {
                    hash
                }
            }
            Password::NoLogin => "*".to_string(),
            Password::Empty => String::new(),
        };
        self.set_shadow_password(name, field);
        Ok(())
    }

    /// The text of `etc/passwd`.
    pub fn render_passwd(&self) -> String {
        render(&self.users, |u| {
            format!(
                "{}:{}:{}:{}:{}:{}:{}",
                u.name, u.password, u.uid, u.gid, u.gecos, u.home, u.shell
            )
        })
    }

    /// The text of `etc/group`.
    pub fn render_group(&self) -> String {
        render(&self.groups, |g| {
            format!(
                "{}:{}:{}:{}",
                g.name,
                g.password,
                g.gid,
                g.members.join(",")
            )
        })
    }

    /// The text of `etc/shadow`.
    pub fn render_shadow(&self) -> String {
        render(&self.shadow, |s| {
            format!("{}:{}", s.name, s.fields.join(":"))
        })
    }
}

fn render<T>(lines: &[Line<T>], f: impl Fn(&T) -> String) -> String {
    let mut out = String::new();
    for l in lines {
        match l {
            Line::Entry(e) => out.push_str(&f(e)),
            Line::Other(s) => out.push_str(s),
        }
        out.push('\n');
    }
    out
}

/// The alphabet of crypt(3) salts and hashes.
const CRYPT_ALPHABET: &[u8; 64] =
    b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The 16-character salt used for `user`'s password: derived from the seed
/// (the configuration) and the user name, so a rebuild gives the same hash
/// while two users with the same password get different ones.
pub fn password_salt(user: &str, salt_seed: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(b"bbsdk password salt\0");
    h.update(salt_seed);
    h.update(b"\0");
    h.update(user.as_bytes());
    h.finalize()
        .iter()
        .take(16)
        .map(|b| CRYPT_ALPHABET[usize::from(b & 63)] as char)
        .collect()
}

/// SHA-512 crypt (`$6$salt$hash`, 5000 rounds) of `plain` for `user`, with
/// the salt of [`password_salt`].
pub fn hash_password(plain: &str, user: &str, salt_seed: &[u8]) -> Result<String> {
    let salt = password_salt(user, salt_seed);
    let fail = |message: String| Error::Password {
        user: user.to_string(),
        message,
    };
    let params = sha_crypt::Sha512Params::new(sha_crypt::ROUNDS_DEFAULT)
        .map_err(|e| fail(format!("{e:?}")))?;
    let hash = sha_crypt::sha512_crypt_b64(plain.as_bytes(), salt.as_bytes(), &params)
        .map_err(|e| fail(format!("{e:?}")))?;
    Ok(format!("$6${salt}${hash}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_lines_and_sets_root() {
        let mut acc = Accounts::parse(
            Some("root:x:0:0:root:/root:/bin/sh\n# comment\n"),
            Some("root:x:0:\n"),
            Some("root:*:::::::\n"),
        )
        .unwrap();
        acc.set_root_login(&RootLogin::Password(String::new()), b"s")
            .unwrap();
        assert_eq!(acc.render_shadow(), "root::::::::\n");
        assert_eq!(
            acc.render_passwd(),
            "root:x:0:0:root:/root:/bin/sh\n# comment\n"
        );
        acc.set_root_login(&RootLogin::Disabled, b"s").unwrap();
        assert_eq!(acc.shadow_password("root"), Some("*"));
    }

    #[test]
    fn salt_is_stable_and_per_user() {
        assert_eq!(password_salt("root", b"a"), password_salt("root", b"a"));
        assert_ne!(password_salt("root", b"a"), password_salt("root", b"b"));
        assert_ne!(password_salt("root", b"a"), password_salt("alice", b"a"));
        assert_eq!(password_salt("root", b"a").len(), 16);
    }
}

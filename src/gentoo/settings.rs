//! The Gentoo menu (`package/Config.gentoo.in`) as plain data. Every error
//! names the `.config` line of the symbol and says what to write instead.

use std::path::{Path, PathBuf};

use super::{GentooError, Result, Values};

/// One ebuild repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    /// Its name (`profiles/repo_name`).
    pub name: String,
    pub location: PathBuf,
}

/// The settings of the Gentoo step.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub portage_version: String,
    /// The main repository first, then overlays (later ones take precedence).
    pub repositories: Vec<Repository>,
    /// Relative to the main repository's `profiles/`; empty: our own.
    pub profile: String,
    pub atoms: Vec<String>,
    pub use_flags: String,
    /// `package.use` lines.
    pub package_use: Vec<String>,
    pub accept_keywords: String,
    pub features: String,
    pub patches_dir: Option<PathBuf>,
    /// GENTOO_MIRRORS, in order.
    pub mirrors: Vec<String>,
}

/// Where a symbol is set: `<config>:<line>: SYMBOL`, or the symbol alone.
pub(crate) fn locate(config: &Path, symbol: &str) -> String {
    let prefix = format!("{symbol}=");
    if let Ok(text) = std::fs::read_to_string(config) {
        if let Some(n) = text.lines().position(|l| l.starts_with(&prefix)) {
            return format!("{}:{}: {symbol}", config.display(), n + 1);
        }
    }
    format!("{}: {symbol}", config.display())
}

impl Settings {
    /// `None` when `BBSDK_GENTOO` is off. `config` is the `.config` file
    /// (for messages), `top` the bbsdk tree relative paths start from.
    pub fn from_values(values: &Values, config: &Path, top: &Path) -> Result<Option<Settings>> {
        let v = |k: &str| values.get(k).map(String::as_str).unwrap_or("").trim();
        if v("BBSDK_GENTOO") != "y" {
            return Ok(None);
        }
        let err = |symbol: &str, msg: String, hint: &str| GentooError::Config {
            at: locate(config, symbol),
            msg,
            hint: hint.to_string(),
        };
        let version = v("BBSDK_GENTOO_PORTAGE_VERSION");
        if version.is_empty()
            || !version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.')
        {
            return Err(err(
                "BBSDK_GENTOO_PORTAGE_VERSION",
                format!("{version:?} is not a Portage version"),
                "give a release on PyPI, e.g. \"3.0.83\" (`pip index versions portage` lists them)",
            ));
        }
        let repositories = parse_repositories(v("BBSDK_GENTOO_REPOSITORIES"), top)
            .map_err(|(msg, hint)| err("BBSDK_GENTOO_REPOSITORIES", msg, &hint))?;
        let package_use = parse_package_use(v("BBSDK_GENTOO_PACKAGE_USE"))
            .map_err(|msg| {
                err(
                    "BBSDK_GENTOO_PACKAGE_USE",
                    msg,
                    "write entries as \"ATOM FLAG...\" separated by \";\", e.g. \"net-misc/curl -http2 ssl; app-misc/jq -oniguruma\"",
                )
            })?;
        let patches_dir = match v("BBSDK_GENTOO_PATCHES_DIR") {
            "" => None,
            p => {
                let dir = top.join(p);
                if !dir.is_dir() {
                    return Err(err(
                        "BBSDK_GENTOO_PATCHES_DIR",
                        format!("{} is not a directory", dir.display()),
                        "give a directory laid out as CATEGORY/PACKAGE[-VERSION]/*.patch, relative to the bbsdk tree, or leave it empty",
                    ));
                }
                Some(dir)
            }
        };
        let profile = v("BBSDK_GENTOO_PROFILE").trim_matches('/').to_string();
        if let (false, Some(main)) = (profile.is_empty(), repositories.first()) {
            let dir = main.location.join("profiles").join(&profile);
            if !dir.is_dir() {
                return Err(err(
                    "BBSDK_GENTOO_PROFILE",
                    format!("no profile {} in repository {}", profile, main.name),
                    "give a directory below the main repository's profiles/, e.g. \"default/linux/arm64/23.0\", or leave it empty for bbsdk's own profile",
                ));
            }
        }
        let mut mirrors = Vec::new();
        for k in ["BBSDK_PRIMARY_SITE", "BBSDK_BACKUP_SITE"] {
            if !v(k).is_empty() {
                mirrors.push(v(k).trim_end_matches('/').to_string());
            }
        }
        mirrors.extend(
            v("BBSDK_GENTOO_MIRRORS")
                .split_whitespace()
                .map(str::to_string),
        );
        Ok(Some(Settings {
            portage_version: version.to_string(),
            repositories,
            profile,
            atoms: v("BBSDK_GENTOO_ATOMS")
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            use_flags: v("BBSDK_GENTOO_USE").to_string(),
            package_use,
            accept_keywords: v("BBSDK_GENTOO_ACCEPT_KEYWORDS").to_string(),
            features: v("BBSDK_GENTOO_FEATURES").to_string(),
            patches_dir,
            mirrors,
        }))
    }
}

/// `NAME=LOCATION ...` into repositories; errors are (message, hint).
pub(crate) fn parse_repositories(
    s: &str,
    top: &Path,
) -> std::result::Result<Vec<Repository>, (String, String)> {
    let mut out: Vec<Repository> = Vec::new();
    for word in s.split_whitespace() {
        let Some((name, loc)) = word.split_once('=') else {
            return Err((
                format!("{word:?} is not NAME=LOCATION"),
                "write e.g. \"gentoo=/var/db/repos/gentoo local=board/myboard/overlay\"".into(),
            ));
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
        {
            return Err((
                format!("{name:?} is not a repository name"),
                "use the name in the repository's profiles/repo_name (letters, digits, - and _)"
                    .into(),
            ));
        }
        if loc.contains("://") || loc.starts_with("git+") {
            return Err((
                format!("{loc:?}: bbsdk does not fetch repositories"),
                format!(
                    "clone it yourself and give its path, e.g. `git clone --depth 1 https://github.com/gentoo/gentoo.git /var/db/repos/{name}` then {name}=/var/db/repos/{name} (see docs/gentoo.md)"
                ),
            ));
        }
        let location = top.join(loc);
        let repo_name = location.join("profiles").join("repo_name");
        let actual = std::fs::read_to_string(&repo_name).map_err(|e| {
            (
                format!("{}: {e}", repo_name.display()),
                format!(
                    "{} must be an ebuild repository (with profiles/repo_name); for the Gentoo repository see docs/gentoo.md",
                    location.display()
                ),
            )
        })?;
        if actual.trim() != name {
            return Err((
                format!(
                    "{} is named {:?} (profiles/repo_name), not {name:?}",
                    location.display(),
                    actual.trim()
                ),
                format!("write {}={loc}", actual.trim()),
            ));
        }
        if out.iter().any(|r| r.name == name) {
            return Err((
                format!("repository {name:?} is listed twice"),
                "list each repository once".into(),
            ));
        }
        out.push(Repository {
            name: name.to_string(),
            location,
        });
    }
    if out.is_empty() {
        return Err((
            "no repository is configured".into(),
            "give at least the main repository, e.g. \"gentoo=/var/db/repos/gentoo\"".into(),
        ));
    }
    Ok(out)
}

/// `ATOM FLAG...; ATOM FLAG...` into package.use lines.
pub(crate) fn parse_package_use(s: &str) -> std::result::Result<Vec<String>, String> {
    let mut out = Vec::new();
    for entry in s.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let words: Vec<&str> = entry.split_whitespace().collect();
        if words.len() < 2 {
            return Err(format!("{entry:?} has an atom but no USE flag"));
        }
        if !words[0].contains('/') {
            return Err(format!("{:?} is not a CATEGORY/PACKAGE atom", words[0]));
        }
        out.push(words.join(" "));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_use_lines() {
        assert_eq!(
            parse_package_use("net-misc/curl -http2 ssl; ; app-misc/jq  -oniguruma ").unwrap(),
            vec!["net-misc/curl -http2 ssl", "app-misc/jq -oniguruma"]
        );
        assert!(parse_package_use("net-misc/curl")
            .unwrap_err()
            .contains("no USE flag"));
        assert!(parse_package_use("curl ssl")
            .unwrap_err()
            .contains("CATEGORY/PACKAGE"));
    }

    #[test]
    fn repositories_are_checked() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("ov/profiles")).unwrap();
        std::fs::write(d.path().join("ov/profiles/repo_name"), "mine\n").unwrap();
        let r = parse_repositories("mine=ov", d.path()).unwrap();
        assert_eq!(r[0].name, "mine");
        assert_eq!(r[0].location, d.path().join("ov"));
        let (m, h) = parse_repositories("other=ov", d.path()).unwrap_err();
        assert!(
            m.contains("named \"mine\"") && h.contains("mine=ov"),
            "{m} {h}"
        );
        let (m, h) = parse_repositories("gentoo=git+https://x/y.git", d.path()).unwrap_err();
        assert!(
            m.contains("does not fetch") && h.contains("git clone"),
            "{m} {h}"
        );
        let (m, _) = parse_repositories("gentoo=/nonexistent", d.path()).unwrap_err();
        assert!(m.contains("/nonexistent/profiles/repo_name"), "{m}");
        assert!(parse_repositories("", d.path()).is_err());
        assert!(parse_repositories("mine=ov mine=ov", d.path()).is_err());
    }

    #[test]
    fn errors_name_the_config_line() {
        let d = tempfile::tempdir().unwrap();
        let cfg = d.path().join(".config");
        std::fs::write(
            &cfg,
            "BBSDK_GENTOO=y\nBBSDK_GENTOO_PORTAGE_VERSION=\"3.0.83\"\nBBSDK_GENTOO_REPOSITORIES=\"x\"\n",
        )
        .unwrap();
        let values: Values = [
            ("BBSDK_GENTOO", "y"),
            ("BBSDK_GENTOO_PORTAGE_VERSION", "3.0.83"),
            ("BBSDK_GENTOO_REPOSITORIES", "x"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let e = Settings::from_values(&values, &cfg, d.path())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&format!("{}:3: BBSDK_GENTOO_REPOSITORIES", cfg.display()))
                && e.contains("hint:"),
            "{e}"
        );
        let off: Values = Values::new();
        assert!(Settings::from_values(&off, &cfg, d.path())
            .unwrap()
            .is_none());
    }
}

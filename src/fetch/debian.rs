//! The Debian source-package backend: `apt-get source --download-only`
//! through the host's own apt configuration, in a temporary directory.

use std::fs;
use std::io;
use std::path::Path;
use std::process::{Command, Stdio};

use super::{check_part, sha256_file, DebianSource, Fetcher, MirrorFailure};

/// `package` or `package=version`, as apt-get takes it.
pub(super) fn spec(deb: &DebianSource) -> String {
    match &deb.version {
        Some(v) => format!("{}={}", deb.package, v),
        None => deb.package.clone(),
    }
}

impl Fetcher {
    /// Downloads the source package and moves the wanted file, checked, to `part`.
    pub(super) fn fetch_debian(
        &self,
        deb: &DebianSource,
        file_name: &str,
        part: &Path,
        expected: &str,
    ) -> Result<(), MirrorFailure> {
        let fail = |m: String| MirrorFailure::Debian(m);
        if deb.package.is_empty() || deb.package.starts_with('-') {
            return Err(fail(format!("bad source package name {:?}", deb.package)));
        }
        if deb.version.as_deref().is_some_and(str::is_empty) {
            return Err(fail("empty Debian version".into()));
        }
        // In the download directory, so the chosen file is renamed, not copied.
        let tmp = tempfile::Builder::new()
            .prefix(".debian-src-")
            .tempdir_in(&self.dl_dir)
            .map_err(|e| MirrorFailure::Io(format!("{}: {e}", self.dl_dir.display())))?;
        let spec = spec(deb);
        let apt_get = &self.options.apt_get;
        let output = Command::new(apt_get)
            .args(["source", "--download-only", "--only-source", "-q"])
            .arg(&spec)
            .current_dir(tmp.path())
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| {
                if e.kind() == io::ErrorKind::NotFound {
                    fail(format!(
                        "{} not found: the Debian backend needs apt",
                        apt_get.display()
                    ))
                } else {
                    fail(format!("cannot run {}: {e}", apt_get.display()))
                }
            })?;
        let files = list_files(tmp.path()).map_err(|e| MirrorFailure::Io(e.to_string()))?;
        // apt-get fails when any file of the source package is missing from
        // the archive (a mirror may lack a newer .debian.tar while serving
        // the .orig); the file asked for is still good if it came, and its
        // checksum is checked below like any download.
        let arrived = choose(&files, file_name, deb.file.as_deref()).is_ok();
        if !output.status.success() && !arrived {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("E:")).collect();
            let detail = if errors.is_empty() {
                stderr.trim().to_string()
            } else {
                errors.join(" ")
            };
            let hint = if stderr.contains("deb-src")
                || stderr.contains("Unable to find a source package")
            {
                " (are deb-src entries configured in apt's sources and `apt-get update` run? \
                 scripts/setup-debian-src.sh sets them up)"
            } else {
                ""
            };
            return Err(fail(format!(
                "apt-get source {spec} failed ({}): {detail}{hint}",
                output.status
            )));
        }

        let chosen = choose(&files, file_name, deb.file.as_deref()).map_err(fail)?;
        let chosen_path = tmp.path().join(chosen);
        let actual = sha256_file(&chosen_path).map_err(|e| MirrorFailure::Io(e.to_string()))?;
        fs::rename(&chosen_path, part)
            .map_err(|e| MirrorFailure::Io(format!("{}: {e}", part.display())))?;
        check_part(part, expected, actual)
    }
}

/// Names of the regular files in `dir`, sorted.
fn list_files(dir: &Path) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            if let Ok(name) = entry.file_name().into_string() {
                names.push(name);
            }
        }
    }
    names.sort();
    Ok(names)
}

/// The file of the source package to use: the one matching `pattern` if
/// given, else the one named `file_name`, else the only `*.orig.tar.*`
/// tarball (not its `.asc` signature, not an `.orig-<component>` tarball).
fn choose<'a>(
    files: &'a [String],
    file_name: &str,
    pattern: Option<&str>,
) -> Result<&'a str, String> {
    let matching: Vec<&String> = match pattern {
        Some(p) => files.iter().filter(|f| glob_match(p, f)).collect(),
        None => match files.iter().find(|f| *f == file_name) {
            Some(f) => vec![f],
            None => files
                .iter()
                .filter(|f| f.contains(".orig.tar.") && !f.ends_with(".asc"))
                .collect(),
        },
    };
    let wanted = || match pattern {
        Some(p) => format!("a file matching {p:?}"),
        None => format!("{file_name} or a single .orig tarball"),
    };
    match matching.as_slice() {
        [one] => Ok(one.as_str()),
        [] => Err(format!(
            "the source package has no {}; it has: {}",
            wanted(),
            files.join(", ")
        )),
        many => Err(format!(
            "the source package has several candidates for {}: {}",
            wanted(),
            many.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Shell-style match of `name` against `pattern` with `*` (any run) and `?`
/// (any one character).
fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    // Position of the last `*` and where in `name` it started matching.
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("hello_*.orig.tar.*", "hello_2.10.orig.tar.gz"));
        assert!(!glob_match(
            "hello_*.orig.tar.*",
            "hello_2.10-3.debian.tar.xz"
        ));
        assert!(glob_match("*", ""));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a?c", "ac"));
        assert!(glob_match("*.tar.gz", "x.tar.gz.tar.gz"));
        assert!(!glob_match("*.tar.gz", "x.tar.gz.asc"));
    }

    #[test]
    fn chooses_the_orig_tarball() {
        let files: Vec<String> = [
            "hello_2.10-3.debian.tar.xz",
            "hello_2.10-3.dsc",
            "hello_2.10.orig.tar.gz",
            "hello_2.10.orig.tar.gz.asc",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            choose(&files, "hello-2.10.tar.gz", None),
            Ok("hello_2.10.orig.tar.gz")
        );
        assert_eq!(
            choose(&files, "hello_2.10-3.dsc", None),
            Ok("hello_2.10-3.dsc")
        );
        assert_eq!(
            choose(&files, "x", Some("*.debian.tar.*")),
            Ok("hello_2.10-3.debian.tar.xz")
        );
        assert!(choose(&files, "x", Some("*.tar.*")).is_err());
        assert!(choose(&files, "x", Some("nothing*")).is_err());
    }

    #[test]
    fn spec_has_the_version() {
        let mut d = DebianSource {
            package: "hello".into(),
            ..Default::default()
        };
        assert_eq!(spec(&d), "hello");
        d.version = Some("2.10-3".into());
        assert_eq!(spec(&d), "hello=2.10-3");
    }
}

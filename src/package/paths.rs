//! Every recipe value that becomes part of a path, checked when the recipe
//! is loaded: a version, a file name, a sub-directory or a license file can
//! never name something outside the directory it is joined to (no `/` where
//! a single name goes, no `..`, no absolute path), and a Debian package name
//! can never be read by apt-get as an option. Patches must be files inside
//! the package directory.

use std::ops::Range;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::{line_of, PackageError};

/// The path-like values of a recipe, with where they are in the file (the
/// recipe is parsed a second time into this view; other fields are ignored).
#[derive(Deserialize)]
struct View {
    name: Spanned<String>,
    version: Spanned<String>,
    #[serde(default)]
    license_files: Vec<Spanned<String>>,
    #[serde(default, rename = "source")]
    sources: Vec<SourceView>,
    build: BuildView,
}

#[derive(Deserialize)]
struct SourceView {
    file: Spanned<String>,
    #[serde(default)]
    debian: Option<Spanned<DebianView>>,
}

#[derive(Deserialize)]
struct DebianView {
    package: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    file: Option<String>,
}

#[derive(Deserialize)]
struct BuildView {
    #[serde(default)]
    subdir: Option<Spanned<String>>,
    #[serde(default)]
    kconfig: Option<KconfigView>,
}

#[derive(Deserialize)]
struct KconfigView {
    #[serde(default)]
    kconfig_file: Option<Spanned<String>>,
}

/// Why `s` is not a plain name (one path component of ours), if it is not.
fn plain_name(s: &str, extra: &str) -> Result<(), String> {
    let Some(first) = s.chars().next() else {
        return Err("it is empty".into());
    };
    if !first.is_ascii_alphanumeric() {
        return Err(format!("it starts with {first:?}, not a letter or digit"));
    }
    match s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || extra.contains(*c)))
    {
        Some('/') => Err("it contains a `/`".into()),
        Some(c) => Err(format!("it contains {c:?}")),
        None => Ok(()),
    }
}

/// Why `s` is not a relative path that stays below the directory it is
/// joined to, if it is not.
fn relative_path(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("it is empty".into());
    }
    if s.chars().any(char::is_control) {
        return Err("it contains a control character".into());
    }
    for c in Path::new(s).components() {
        match c {
            Component::Normal(_) => {}
            Component::RootDir | Component::Prefix(_) => return Err("it is absolute".into()),
            Component::ParentDir => return Err("it has a `..` component".into()),
            Component::CurDir => return Err("it has a `.` component".into()),
        }
    }
    Ok(())
}

/// A file name in the download directory (the fetcher's rule, plus no
/// control characters).
fn file_name(s: &str) -> Result<(), String> {
    if s.is_empty() || s == "." || s == ".." {
        return Err("it is not a file name".into());
    }
    if s.contains('/') || s.contains('\\') {
        return Err("it contains a path separator".into());
    }
    if s.chars().any(char::is_control) {
        return Err("it contains a control character".into());
    }
    Ok(())
}

/// Checks the recipe `text` of `file`.
pub(super) fn check(text: &str, file: &Path) -> Result<(), PackageError> {
    let view: View = match toml::from_str(text) {
        Ok(v) => v,
        // The recipe's own parse reports syntax and type errors.
        Err(_) => return Ok(()),
    };
    let bad = |span: Range<usize>, field: &str, value: &str, why: String, hint: &str| {
        PackageError::Invalid {
            file: file.to_path_buf(),
            line: line_of(text, span.start),
            msg: format!("field `{field}`: {value:?} cannot be used: {why}"),
            hint: hint.to_string(),
        }
    };
    let check = |v: &Spanned<String>,
                 field: &str,
                 rule: &dyn Fn(&str) -> Result<(), String>,
                 hint: &str| {
        rule(v.get_ref()).map_err(|why| bad(v.span(), field, v.get_ref(), why, hint))
    };
    let name_rule = |s: &str| {
        plain_name(s, "._+-")?;
        if s.starts_with("host-") {
            return Err("`host-` names the host variant of a package".into());
        }
        Ok(())
    };
    check(
        &view.name,
        "name",
        &name_rule,
        "a package name is letters, digits and . _ + - (it names package/<name>/ and per-package/<name>/)",
    )?;
    check(
        &view.version,
        "version",
        &|s| plain_name(s, "._+~:-"),
        "a version is letters, digits and . _ + ~ : - (it names build/<name>-<version>/), e.g. \"1.3.1\"",
    )?;
    for lf in &view.license_files {
        check(
            lf,
            "license_files",
            &relative_path,
            "license files are paths inside the package's source tree, e.g. \"COPYING\" or \"doc/LICENSE\"",
        )?;
    }
    for s in &view.sources {
        check(
            &s.file,
            "source.file",
            &file_name,
            "the name of the file in the download directory, without a directory, e.g. \"zlib-1.3.1.tar.xz\"",
        )?;
        if let Some(d) = &s.debian {
            debian(d, &bad)?;
        }
    }
    if let Some(sub) = view
        .build
        .subdir
        .as_ref()
        .filter(|s| !s.get_ref().is_empty())
    {
        check(
            sub,
            "build.subdir",
            &relative_path,
            "a directory below the top of the extracted sources, e.g. \"src\"",
        )?;
    }
    if let Some(kf) = view
        .build
        .kconfig
        .as_ref()
        .and_then(|k| k.kconfig_file.as_ref())
    {
        check(
            kf,
            "build.kconfig.kconfig_file",
            &relative_path,
            "the package's top Kconfig file, relative to its sources, e.g. \"Config.in\"",
        )?;
    }
    Ok(())
}

type Bad<'a> = dyn Fn(Range<usize>, &str, &str, String, &str) -> PackageError + 'a;

/// A Debian source package's name, version and file glob: what apt-get
/// gets as arguments (never an option) and a file name (never a path).
fn debian(d: &Spanned<DebianView>, bad: &Bad<'_>) -> Result<(), PackageError> {
    let v = d.get_ref();
    let hint = "as `apt-cache showsrc` spells them: a package like \"zlib\", a version like \"1:1.2.13.dfsg-1\"";
    let name_ok = v.package.len() >= 2
        && v.package
            .starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && v.package
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+.-".contains(c));
    if !name_ok {
        let why = "a Debian package name is lower-case letters, digits and + . - (at least two, the first a letter or digit)";
        return Err(bad(
            d.span(),
            "source.debian.package",
            &v.package,
            why.into(),
            hint,
        ));
    }
    if let Some(ver) = &v.version {
        plain_name(ver, ".+~:-")
            .map_err(|why| bad(d.span(), "source.debian.version", ver, why, hint))?;
    }
    if let Some(f) = &v.file {
        file_name(f).map_err(|why| {
            bad(
                d.span(),
                "source.debian.file",
                f,
                why,
                "a glob of a file name of the source package, e.g. \"zlib_*.orig.tar.gz\"",
            )
        })?;
    }
    Ok(())
}

/// Checks that every patch is a regular file inside `dir` (a symlink may
/// point within the package directory, never out of it).
pub(super) fn check_patches(dir: &Path, patches: &[PathBuf]) -> Result<(), PackageError> {
    let real_dir = dir.canonicalize().map_err(|e| PackageError::Io {
        path: dir.to_path_buf(),
        source: e,
    })?;
    for p in patches {
        let inside = p
            .canonicalize()
            .is_ok_and(|real| real.starts_with(&real_dir) && real.is_file());
        if !inside {
            return Err(PackageError::Invalid {
                file: p.clone(),
                line: 1,
                msg: "this patch is not a file inside its package directory (a dangling symlink, or one pointing outside)".into(),
                hint: "put the patch itself in the package directory".into(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths() {
        assert!(plain_name("1.2.13", "._+~:-").is_ok());
        assert!(plain_name("1:1.2.13.dfsg-1", "._+~:-").is_ok());
        for bad in ["", "x/../../../victim", "../x", ".1", "1 2", "a\nb", "/abs"] {
            assert!(plain_name(bad, "._+~:-").is_err(), "{bad:?}");
        }
        assert!(relative_path("COPYING").is_ok());
        assert!(relative_path("doc/LICENSE").is_ok());
        for bad in ["", "/etc/passwd", "../../x", "a/../b", "./a", "a\0b"] {
            assert!(relative_path(bad).is_err(), "{bad:?}");
        }
        for bad in ["", ".", "..", "a/b", "a\\b", "a\nb"] {
            assert!(file_name(bad).is_err(), "{bad:?}");
        }
    }
}

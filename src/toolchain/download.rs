//! A prebuilt toolchain tarball (`BBSDK_TOOLCHAIN_EXTERNAL_DOWNLOAD`):
//! fetched like any source (download directory, mirrors, sha256 check),
//! unpacked once into the cache directory under its checksum, and then
//! used as a toolchain directory.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::bbsdk_libc::{cached_build, io_err};
use super::ToolchainError;
use crate::fetch::Fetcher;

/// The archive's file name: the last segment of the URL's path.
fn file_name(url: &str) -> Option<String> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let name = path.rsplit('/').next()?;
    (!name.is_empty() && name != "." && name != "..").then(|| name.to_string())
}

/// The source the configuration describes (`BBSDK_TOOLCHAIN_EXTERNAL_URL`,
/// `BBSDK_TOOLCHAIN_EXTERNAL_SHA256`).
pub fn source(values: &BTreeMap<String, String>) -> Result<crate::fetch::Source, ToolchainError> {
    let v = |k: &str| values.get(k).map(String::as_str).unwrap_or("").trim();
    let url = v("BBSDK_TOOLCHAIN_EXTERNAL_URL");
    let sha256 = v("BBSDK_TOOLCHAIN_EXTERNAL_SHA256").to_ascii_lowercase();
    let missing = |what: &str, symbol: &str| {
        ToolchainError::Probe(format!(
            "{symbol} is empty: a downloaded toolchain needs its {what}\n  hint: set it in menuconfig (Toolchain > Toolchain URL / Toolchain archive SHA-256)"
        ))
    };
    if url.is_empty() {
        return Err(missing("URL", "BBSDK_TOOLCHAIN_EXTERNAL_URL"));
    }
    if sha256.is_empty() {
        return Err(missing("checksum", "BBSDK_TOOLCHAIN_EXTERNAL_SHA256"));
    }
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ToolchainError::Probe(format!(
            "BBSDK_TOOLCHAIN_EXTERNAL_SHA256 {sha256:?} is not a SHA-256 checksum\n  hint: give the 64 hexadecimal digits \"sha256sum FILE\" prints"
        )));
    }
    let file_name = file_name(url).ok_or_else(|| {
        ToolchainError::Probe(format!(
            "BBSDK_TOOLCHAIN_EXTERNAL_URL {url:?} names no file\n  hint: give the URL of the archive itself, e.g. https://example.org/aarch64-linux-musl-cross.tgz"
        ))
    })?;
    Ok(crate::fetch::Source {
        file_name,
        urls: vec![url.to_string()],
        sha256,
        debian: None,
    })
}

/// The toolchain's top directory (the one holding `bin/`): the archive's
/// top, or its single top-level directory.
fn top_dir(tree: &Path) -> Option<PathBuf> {
    if tree.join("bin").is_dir() {
        return Some(tree.to_path_buf());
    }
    let mut dirs = fs::read_dir(tree).ok()?.filter_map(Result::ok);
    let only = dirs.next()?;
    if dirs.next().is_some() {
        return None;
    }
    let p = only.path();
    p.join("bin").is_dir().then_some(p)
}

/// The unpacked toolchain of `source`, from the cache or fetched and
/// unpacked now into `<cache>/toolchains/download-<sha256 prefix>/`.
pub fn unpacked(
    source: &crate::fetch::Source,
    fetcher: &Fetcher,
    cache_dir: &Path,
) -> Result<PathBuf, ToolchainError> {
    let dir = cache_dir.join("toolchains");
    let name = format!("download-{}", &source.sha256[..16]);
    let what = &source.file_name;
    let (path, _) = cached_build(&dir, &name, |out| {
        let archive = fetcher
            .fetch(source)
            .map_err(|e| ToolchainError::Probe(format!("toolchain archive: {e}")))?;
        let tree = out.join("tree");
        crate::fetch::extract(&archive, &tree, 0)
            .map_err(|e| ToolchainError::Probe(format!("toolchain archive {what}: {e}")))?;
        if top_dir(&tree).is_none() {
            return Err(ToolchainError::Probe(format!(
                "toolchain archive {what} has no bin/ directory, neither at its top nor in a single top-level directory\n  hint: BBSDK_TOOLCHAIN_EXTERNAL_URL must name a toolchain archive (bin/<prefix>-gcc inside)"
            )));
        }
        Ok(())
    })?;
    let tree = path.join("tree");
    top_dir(&tree).ok_or_else(|| {
        io_err(
            "no bin/ directory in",
            &tree,
            std::io::Error::from(std::io::ErrorKind::NotFound),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(url: &str, sha: &str) -> BTreeMap<String, String> {
        [
            ("BBSDK_TOOLCHAIN_EXTERNAL_URL", url),
            ("BBSDK_TOOLCHAIN_EXTERNAL_SHA256", sha),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .into()
    }

    #[test]
    fn the_source_comes_from_url_and_checksum() {
        let sha = "AB".repeat(32);
        let s = source(&values("https://example.org/x/tc-1.0.tar.xz?dl=1", &sha)).unwrap();
        assert_eq!(s.file_name, "tc-1.0.tar.xz");
        assert_eq!(s.sha256, "ab".repeat(32));
        assert_eq!(s.urls, ["https://example.org/x/tc-1.0.tar.xz?dl=1"]);
    }

    #[test]
    fn bad_settings_are_named() {
        let e = |u: &str, s: &str| source(&values(u, s)).unwrap_err().to_string();
        let sha = "0".repeat(64);
        assert!(e("", &sha).contains("BBSDK_TOOLCHAIN_EXTERNAL_URL is empty"));
        assert!(e("http://h/t.tgz", "").contains("BBSDK_TOOLCHAIN_EXTERNAL_SHA256 is empty"));
        assert!(e("http://h/t.tgz", "123").contains("not a SHA-256"));
        assert!(e("http://h/", &sha).contains("names no file"));
    }

    #[test]
    fn the_top_is_found_in_a_single_directory() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(top_dir(d.path()), None);
        fs::create_dir_all(d.path().join("tc-1/bin")).unwrap();
        assert_eq!(top_dir(d.path()), Some(d.path().join("tc-1")));
        fs::create_dir_all(d.path().join("other")).unwrap();
        assert_eq!(top_dir(d.path()), None);
        fs::create_dir_all(d.path().join("bin")).unwrap();
        assert_eq!(top_dir(d.path()), Some(d.path().to_path_buf()));
    }
}

//! Answers of slow questions (running a compiler, asking git) remembered on
//! disk next to the key they were computed for, so a no-op `bbsdk make`
//! asks nothing twice. A missing, unreadable or stale record is recomputed;
//! records are written atomically and a failed write only costs the next
//! run the question again.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// `compute()`, or the answer recorded in `file` for the same `key`.
/// Without a key nothing is read or recorded.
pub fn remember<T: serde::Serialize + serde::de::DeserializeOwned, E>(
    key: Option<String>,
    file: &Path,
    compute: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    if let Some(v) = key.as_ref().and_then(|k| read(file, k)) {
        return Ok(v);
    }
    let v = compute()?;
    if let Some(k) = key {
        let text = serde_json::json!({ "key": k, "value": v }).to_string();
        if let Some(dir) = file.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = crate::kconfig::write_atomic(file, text.as_bytes(), false);
    }
    Ok(v)
}

fn read<T: serde::de::DeserializeOwned>(path: &Path, key: &str) -> Option<T> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    if v.get("key")?.as_str()? != key {
        return None;
    }
    serde_json::from_value(v.get("value")?.clone()).ok()
}

/// A key for the answer of `program args`: the program as found (through
/// `PATH` for a bare name) with its inode, size and modification time, the
/// arguments, and `PATH` itself (which wrapper scripts such as musl-gcc
/// search). `None` when the program cannot be found.
pub fn program_key(program: &Path, args: &[String]) -> Option<String> {
    let found = if program.components().count() > 1 {
        program.to_path_buf()
    } else {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .map(|d| d.join(program))
            .find(|p| p.is_file())?
    };
    let real = std::fs::canonicalize(found).ok()?;
    let m = std::fs::metadata(&real).ok()?;
    Some(format!(
        "{}\n{} {} {}.{}\n{}\n{}",
        real.display(),
        m.ino(),
        m.len(),
        m.mtime(),
        m.mtime_nsec(),
        args.join("\u{1f}"),
        std::env::var("PATH").unwrap_or_default()
    ))
}

/// The commit a git work tree's `HEAD` points at, read from the files
/// (`.git` directory or `gitdir:` file, loose or packed refs) without
/// running git. `None` when it cannot be told this way.
pub fn git_head(top: &Path) -> Option<String> {
    let dot = top.join(".git");
    let git_dir = if dot.is_dir() {
        dot
    } else {
        let text = std::fs::read_to_string(&dot).ok()?;
        let p = Path::new(text.strip_prefix("gitdir:")?.trim());
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            top.join(p)
        }
    };
    // A linked work tree keeps its refs in the main repository.
    let common = std::fs::read_to_string(git_dir.join("commondir"))
        .ok()
        .map(|c| git_dir.join(c.trim()))
        .unwrap_or_else(|| git_dir.clone());
    let head = std::fs::read_to_string(git_dir.join("HEAD")).ok()?;
    let head = head.trim();
    let Some(name) = head.strip_prefix("ref:").map(str::trim) else {
        return Some(head.to_string());
    };
    for dir in [&git_dir, &common] {
        if let Ok(id) = std::fs::read_to_string(dir.join(name)) {
            return Some(id.trim().to_string());
        }
    }
    let packed = std::fs::read_to_string(common.join("packed-refs")).ok()?;
    packed.lines().find_map(|l| {
        let (id, r) = l.split_once(' ')?;
        (r == name).then(|| id.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn remembered_until_the_key_changes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sub/answer.json");
        let calls = std::cell::Cell::new(0);
        let ask = |key: &str| {
            remember(Some(key.to_string()), &file, || {
                calls.set(calls.get() + 1);
                Ok::<_, String>(format!("answer for {key}"))
            })
            .unwrap()
        };
        assert_eq!(ask("a"), "answer for a");
        assert_eq!(ask("a"), "answer for a");
        assert_eq!(ask("b"), "answer for b");
        assert_eq!(calls.get(), 2);
        let none: Result<u32, String> = remember(None, &file, || Ok(7));
        assert_eq!(none.unwrap(), 7);
        let e: Result<u32, String> = remember(Some("c".into()), &file, || Err("no".into()));
        assert_eq!(e.unwrap_err(), "no");
    }

    fn git(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.name=t", "-c", "user.email=t@t"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    #[test]
    fn git_head_agrees_with_git() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        git(d, &["init", "-q", "-b", "main"]);
        assert_eq!(git_head(d), None, "no commit yet");
        git(d, &["commit", "-q", "--allow-empty", "-m", "one"]);
        assert_eq!(
            git_head(d).as_deref(),
            Some(git(d, &["rev-parse", "HEAD"]).as_str())
        );
        git(d, &["pack-refs", "--all"]);
        assert_eq!(
            git_head(d).as_deref(),
            Some(git(d, &["rev-parse", "HEAD"]).as_str())
        );
        let wt = d.join("wt");
        git(
            d,
            &["worktree", "add", "-q", "-b", "other", wt.to_str().unwrap()],
        );
        git(&wt, &["commit", "-q", "--allow-empty", "-m", "two"]);
        assert_eq!(
            git_head(&wt).as_deref(),
            Some(git(&wt, &["rev-parse", "HEAD"]).as_str())
        );
        assert_ne!(git_head(&wt), git_head(d));
        git(d, &["checkout", "-q", "--detach"]);
        assert_eq!(
            git_head(d).as_deref(),
            Some(git(d, &["rev-parse", "HEAD"]).as_str())
        );
    }
}

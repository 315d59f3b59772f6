//! The target root Portage installed into, made into a tree for the root
//! filesystem: Portage's own state (installed-package database, caches, its
//! configuration, env-update's output) left out, and the owners Portage gave
//! files (`fowners`, only possible when bbsdk runs as root) as device-table
//! lines, so they reach the Manifest. Everything else belongs to root in the
//! image, as for bbsdk's own packages.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::{GentooError, Result};

/// Paths of the target root that are Portage's state, not the packages'.
pub const EXCLUDED: [&str; 11] = [
    "var/db/pkg",
    "var/cache/edb",
    "var/lib/portage",
    "var/tmp",
    "tmp",
    "etc/portage",
    "etc/env.d",
    "etc/profile.env",
    "etc/csh.env",
    "etc/environment.d/10-gentoo-env.conf",
    "etc/ld.so.conf",
];

/// Links `root` into `image` (replacing it) without [`EXCLUDED`]; returns
/// device-table lines for entries owned by someone else than root.
pub fn image(root: &Path, image: &Path) -> Result<Vec<String>> {
    let io = |p: &Path, e| GentooError::io(p, e);
    let tmp = image.with_file_name(".image.bbsdk-tmp");
    let _ = crate::build::tree::remove_all(&tmp);
    let mut modes = Vec::new();
    crate::build::tree::link_tree(root, &tmp, &mut modes).map_err(|e| io(root, e))?;
    for rel in EXCLUDED {
        let p = tmp.join(rel);
        crate::build::tree::remove_all(&p).map_err(|e| io(&p, e))?;
    }
    // Directories left empty by the exclusions (var/db, var/cache, ...).
    for rel in [
        "var/db",
        "var/cache",
        "var/lib",
        "etc/environment.d",
        "var",
        "etc",
    ] {
        let _ = std::fs::remove_dir(tmp.join(rel));
    }
    crate::build::tree::apply_modes(&modes).map_err(|e| io(&tmp, e))?;
    let lines = owners(&tmp, current_uid()).map_err(|e| io(&tmp, e))?;
    let _ = crate::build::tree::remove_all(image);
    std::fs::rename(&tmp, image).map_err(|e| io(image, e))?;
    Ok(lines)
}

fn current_uid() -> u32 {
    rustix::process::getuid().as_raw()
}

/// Device-table lines (`/path f|d MODE UID GID - - - - -`) for entries not
/// owned by root nor by `builder` (files an unprivileged build owns belong
/// to root in the image).
pub fn owners(tree: &Path, builder: u32) -> std::io::Result<Vec<String>> {
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(tree).sort_by_file_name().min_depth(1) {
        let e = e.map_err(std::io::Error::other)?;
        let m = e.path().symlink_metadata()?;
        if m.file_type().is_symlink()
            || (m.uid() == 0 && m.gid() == 0)
            || m.uid() == builder && builder != 0
        {
            continue;
        }
        let kind = if m.is_dir() { "d" } else { "f" };
        let rel = e.path().strip_prefix(tree).unwrap_or(e.path());
        out.push(format!(
            "/{} {kind} {:o} {} {} - - - - -",
            rel.display(),
            m.mode() & 0o7777,
            m.uid(),
            m.gid()
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_portage_state_out() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("root");
        for f in [
            "usr/bin/hello",
            "var/db/pkg/app-misc/hello-1.0/CONTENTS",
            "etc/profile.env",
            "var/lib/portage/world",
        ] {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, "x").unwrap();
        }
        let img = d.path().join("image");
        image(&root, &img).unwrap();
        assert!(img.join("usr/bin/hello").is_file());
        assert!(
            !img.join("var").exists(),
            "var/db, var/lib left empty are removed"
        );
        assert!(!img.join("etc").exists());
        // Again: the previous image is replaced.
        std::fs::remove_file(root.join("usr/bin/hello")).unwrap();
        image(&root, &img).unwrap();
        assert!(!img.join("usr/bin/hello").exists());
    }

    #[test]
    fn owners_of_others_become_table_lines() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("usr/bin/x");
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(&f, "x").unwrap();
        let me = current_uid();
        let m = f.metadata().unwrap();
        // Owned by the builder (or root): nothing to record.
        assert!(owners(d.path(), me).unwrap().is_empty() || me == 0 && m.uid() != 0);
        // Seen from another builder, a file of `me` (unless root) is recorded.
        if me != 0 {
            let lines = owners(d.path(), me + 1).unwrap();
            assert!(
                lines.iter().any(|l| l.starts_with("/usr/bin/x f 644 ")),
                "{lines:?}"
            );
        } else {
            rustix::fs::chown(
                &f,
                Some(rustix::process::Uid::from_raw(123)),
                Some(rustix::process::Gid::from_raw(45)),
            )
            .unwrap();
            let lines = owners(d.path(), me).unwrap();
            assert_eq!(lines, vec!["/usr/bin/x f 644 123 45 - - - - -"]);
        }
    }
}

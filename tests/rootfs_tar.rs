//! rootfs.tar from a Manifest, checked with the host's GNU tar, unpacked and
//! run under bwrap, and written twice to compare bytes.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use bbsdk::image::tar::{write_tar, Compression, TarError, TarOptions};
use bbsdk::rootfs::{Content, Entry, EntryKind, Manifest};
use sha2::{Digest, Sha256};

const EPOCH: u64 = 1_700_000_000; // 2023-11-14 22:13:20 UTC

fn write(path: &Path, content: &[u8], mode: u32) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn long_dir() -> PathBuf {
    PathBuf::from(format!(
        "usr/share/{}/{}",
        "a-rather-long-directory-name".repeat(2),
        "another-long-component-to-pass-one-hundred-bytes".repeat(2)
    ))
}

/// A source tree with every kind of entry a directory can hold.
fn source_tree(dir: &Path) {
    write(&dir.join("etc/hostname"), b"box\n", 0o644);
    write(&dir.join("usr/bin/suid"), b"#!/bin/sh\n", 0o4755);
    write(&dir.join("usr/bin/sgid"), b"#!/bin/sh\n", 0o2711);
    write(&dir.join("usr/bin/a"), b"same inode\n", 0o644);
    fs::hard_link(dir.join("usr/bin/a"), dir.join("usr/bin/b")).unwrap();
    symlink("a", dir.join("usr/bin/c")).unwrap();
    fs::create_dir_all(dir.join("tmp")).unwrap();
    fs::set_permissions(dir.join("tmp"), fs::Permissions::from_mode(0o1777)).unwrap();
    let long = dir.join(long_dir());
    write(&long.join("file-with-a-long-name.txt"), b"long\n", 0o644);
    symlink(
        Path::new("/")
            .join(long_dir())
            .join("file-with-a-long-name.txt"),
        dir.join("usr/long-link"),
    )
    .unwrap();
    write(&dir.join("data/big"), &vec![7u8; 100_000], 0o600);
}

/// The Manifest of `source_tree` plus device nodes, a FIFO and owners.
fn manifest_of(dir: &Path) -> Manifest {
    let mut m = Manifest::from_dir(dir).unwrap();
    m.insert("dev", Entry::dir(0o755)).unwrap();
    m.insert(
        "dev/console",
        Entry::new(EntryKind::CharDevice { major: 5, minor: 1 }, 0o600),
    )
    .unwrap();
    m.insert(
        "dev/sda",
        Entry::new(EntryKind::BlockDevice { major: 8, minor: 0 }, 0o660).with_owner(0, 6),
    )
    .unwrap();
    m.insert("dev/initctl", Entry::new(EntryKind::Fifo, 0o600))
        .unwrap();
    m.get_mut("data/big").unwrap().uid = 1000;
    m.get_mut("data/big").unwrap().gid = 100;
    m.insert(
        "etc/generated",
        Entry::inline_file("inline content\n", 0o640).with_mtime(EPOCH - 100),
    )
    .unwrap();
    m
}

fn sha256(path: &Path) -> String {
    Sha256::digest(fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn host_tar(args: &[&str]) -> String {
    let out = Command::new("tar")
        .args(args)
        .env("TZ", "UTC")
        .output()
        .expect("run tar");
    assert!(
        out.status.success(),
        "tar {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The listing line of `name`, with runs of blanks made single.
fn line_for(listing: &str, name: &str) -> String {
    listing
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .find(|l| l.ends_with(&format!(" {name}")) || l.contains(&format!(" {name} ")))
        .unwrap_or_else(|| panic!("{name} not in listing:\n{listing}"))
}

#[test]
fn every_compression_lists_with_numeric_owners_modes_and_devices() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    source_tree(&src);
    let m = manifest_of(&src);
    let images = dir.path().join("images");
    fs::create_dir_all(&images).unwrap();
    for compression in Compression::ALL {
        let dest = images.join(format!("rootfs.tar{}", compression.extension()));
        let options = TarOptions {
            compression,
            source_date_epoch: Some(EPOCH),
        };
        write_tar(&m, &dest, &options).unwrap();
        assert_eq!(
            fs::metadata(&dest).unwrap().permissions().mode() & 0o777,
            0o644
        );
        let d = dest.to_str().unwrap();
        let listing = host_tar(&["--numeric-owner", "--full-time", "-tvf", d]);
        // Without --numeric-owner tar still shows numbers: no names stored.
        assert_eq!(host_tar(&["--full-time", "-tvf", d]), listing);

        let names = host_tar(&["-tf", d]);
        let names: Vec<&str> = names.lines().collect();
        assert_eq!(names[0], "./");
        assert_eq!(names.len(), m.len(), "{compression:?}");
        let mut sorted = names[1..].to_vec();
        sorted.sort_by(|a, b| Path::new(a).cmp(Path::new(b)));
        assert_eq!(names[1..], sorted[..]);

        let l = line_for(&listing, "dev/console");
        assert!(l.starts_with("crw------- 0/0 5,1 "), "{l}");
        let l = line_for(&listing, "dev/sda");
        assert!(l.starts_with("brw-rw---- 0/6 8,0 "), "{l}");
        let l = line_for(&listing, "dev/initctl");
        assert!(l.starts_with("prw------- 0/0 "), "{l}");
        let l = line_for(&listing, "usr/bin/suid");
        assert!(l.starts_with("-rwsr-xr-x 0/0 10 "), "{l}");
        let l = line_for(&listing, "usr/bin/sgid");
        assert!(l.starts_with("-rwx--s--x 0/0 "), "{l}");
        let l = line_for(&listing, "tmp/");
        assert!(l.starts_with("drwxrwxrwt 0/0 "), "{l}");
        let l = line_for(&listing, "usr/bin/b");
        assert!(l.starts_with("hrw-r--r-- 0/0 "), "{l}");
        assert!(l.ends_with("usr/bin/b link to usr/bin/a"), "{l}");
        let l = line_for(&listing, "usr/bin/c");
        assert!(l.starts_with("lrwxrwxrwx 0/0 "), "{l}");
        assert!(l.ends_with("usr/bin/c -> a"), "{l}");
        let l = line_for(&listing, "data/big");
        assert!(l.starts_with("-rw------- 1000/100 100000 "), "{l}");
        // Clamped to SOURCE_DATE_EPOCH, older times kept.
        assert!(l.contains(" 2023-11-14 22:13:20 "), "{l}");
        let l = line_for(&listing, "etc/generated");
        assert!(
            l.starts_with("-rw-r----- 0/0 15 2023-11-14 22:11:40 "),
            "{l}"
        );
        // Long names and long link targets survive whole.
        let long = long_dir().join("file-with-a-long-name.txt");
        assert!(long.as_os_str().len() > 100);
        line_for(&listing, long.to_str().unwrap());
        let l = line_for(&listing, "usr/long-link");
        assert!(l.ends_with(&format!("-> /{}", long.display())), "{l}");
    }
}

#[test]
fn same_manifest_same_bytes_and_mtimes_clamped() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    source_tree(&a);
    source_tree(&b);
    // Different times in the two source trees, all after the epoch.
    for (tree, date) in [(&a, "2030-01-01 00:00:00"), (&b, "2031-06-15 12:34:56")] {
        let st = Command::new("find")
            .arg(tree)
            .args(["-exec", "touch", "-h", "-d", date, "{}", "+"])
            .status()
            .unwrap();
        assert!(st.success());
    }
    let (ma, mb) = (manifest_of(&a), manifest_of(&b));
    assert_ne!(
        ma.get("etc/hostname").unwrap().mtime,
        mb.get("etc/hostname").unwrap().mtime
    );
    let out = dir.path().join("out");
    fs::create_dir_all(&out).unwrap();
    for compression in Compression::ALL {
        let options = TarOptions {
            compression,
            source_date_epoch: Some(EPOCH),
        };
        let ext = compression.extension();
        let paths: Vec<PathBuf> = ["a1", "a2", "b"]
            .iter()
            .map(|n| out.join(format!("{n}.tar{ext}")))
            .collect();
        write_tar(&ma, &paths[0], &options).unwrap();
        write_tar(&ma, &paths[1], &options).unwrap();
        write_tar(&mb, &paths[2], &options).unwrap();
        let sums: Vec<String> = paths.iter().map(|p| sha256(p)).collect();
        assert_eq!(sums[0], sums[1], "{compression:?}: two runs differ");
        assert_eq!(sums[0], sums[2], "{compression:?}: source times leak");
    }
    // Without a clamp the times are the sources' own.
    let options = TarOptions::default();
    write_tar(&ma, &out.join("a.tar"), &options).unwrap();
    write_tar(&mb, &out.join("b.tar"), &options).unwrap();
    assert_ne!(sha256(&out.join("a.tar")), sha256(&out.join("b.tar")));
    let listing = host_tar(&["--full-time", "-tvf", out.join("a.tar").to_str().unwrap()]);
    assert!(line_for(&listing, "etc/hostname").contains(" 2030-01-01 00:00:00 "));
}

#[test]
fn gzip_header_has_no_name_and_no_time() {
    let dir = tempfile::tempdir().unwrap();
    let m = Manifest::new(EPOCH);
    let dest = dir.path().join("rootfs.tar.gz");
    let options = TarOptions {
        compression: Compression::Gzip,
        source_date_epoch: Some(EPOCH),
    };
    write_tar(&m, &dest, &options).unwrap();
    let bytes = fs::read(&dest).unwrap();
    assert_eq!(&bytes[..3], &[0x1f, 0x8b, 8]);
    assert_eq!(bytes[3], 0, "no FNAME or other optional fields");
    assert_eq!(&bytes[4..8], &[0, 0, 0, 0], "MTIME is 0");
    let listing = host_tar(&["-tvzf", dest.to_str().unwrap()]);
    assert_eq!(listing.lines().count(), 1);
}

#[test]
fn a_failed_write_leaves_no_partial_image() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    write(&src.join("a"), b"a\n", 0o644);
    write(&src.join("z"), b"z\n", 0o644);
    let m = Manifest::from_dir(&src).unwrap();
    let images = dir.path().join("images");
    fs::create_dir_all(&images).unwrap();
    let dest = images.join("rootfs.tar");
    fs::write(&dest, b"previous image").unwrap();

    // A file removed after the manifest was made.
    fs::remove_file(src.join("z")).unwrap();
    let err = write_tar(&m, &dest, &TarOptions::default()).unwrap_err();
    assert!(matches!(err, TarError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("/src/z"), "{err}");
    assert_eq!(fs::read(&dest).unwrap(), b"previous image");
    let left: Vec<_> = fs::read_dir(&images).unwrap().collect();
    assert_eq!(left.len(), 1, "temporary files left behind: {left:?}");

    // A file whose size changed.
    write(&src.join("z"), b"longer than before\n", 0o644);
    let err = write_tar(&m, &dest, &TarOptions::default()).unwrap_err();
    match &err {
        TarError::Changed {
            entry,
            expected,
            found,
            ..
        } => {
            assert_eq!(entry, Path::new("z"));
            assert_eq!((*expected, *found), (2, 19));
        }
        other => panic!("expected Changed, got {other:?}"),
    }
    assert_eq!(fs::read(&dest).unwrap(), b"previous image");
    assert_eq!(fs::read_dir(&images).unwrap().count(), 1);

    // A directory that does not exist.
    let err = write_tar(
        &m,
        &dir.path().join("no/such/dir/r.tar"),
        &TarOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("no/such/dir"), "{err}");
}

#[test]
fn static_binary_unpacked_from_the_tar_runs_under_bwrap() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("hello.c");
    fs::write(
        &src,
        "#include <stdio.h>\n#include <unistd.h>\n\
         int main(void) { printf(\"hello from the image, uid %d\\n\", (int)getuid());\n\
         FILE *f = fopen(\"/etc/hostname\", \"r\"); char b[64] = {0};\n\
         if (!f || !fgets(b, sizeof b, f)) return 2; printf(\"hostname %s\", b); return 0; }\n",
    )
    .unwrap();
    let root = dir.path().join("root");
    fs::create_dir_all(root.join("bin")).unwrap();
    let out = Command::new("gcc")
        .args(["-static", "-O2", "-o"])
        .arg(root.join("bin/hello"))
        .arg(&src)
        .output()
        .expect("run gcc");
    assert!(
        out.status.success(),
        "gcc -static: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut m = Manifest::from_dir(&root).unwrap();
    m.write_file("etc/hostname", "image\n", 0o644).unwrap();
    m.get_mut("bin/hello").unwrap().mode = 0o755;
    assert!(matches!(
        m.get("bin/hello").unwrap().kind,
        EntryKind::File(Content::Disk { .. })
    ));
    let tarball = dir.path().join("rootfs.tar.gz");
    let options = TarOptions {
        compression: Compression::Gzip,
        source_date_epoch: Some(EPOCH),
    };
    write_tar(&m, &tarball, &options).unwrap();

    let unpacked = dir.path().join("unpacked");
    fs::create_dir_all(&unpacked).unwrap();
    host_tar(&[
        "-xzf",
        tarball.to_str().unwrap(),
        "-C",
        unpacked.to_str().unwrap(),
    ]);
    let out = Command::new("bwrap")
        .arg("--bind")
        .arg(&unpacked)
        .args(["/", "/bin/hello"])
        .output()
        .expect("bwrap is not installed (scripts/setup-host.sh installs it)");
    assert!(
        out.status.success(),
        "bwrap could not run the image (namespaces unavailable?): {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("hello from the image, uid "), "{stdout}");
    assert!(stdout.ends_with("hostname image\n"), "{stdout}");
}

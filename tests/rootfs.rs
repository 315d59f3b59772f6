//! Root filesystem assembly with real files, real scripts, the host's gcc
//! and strip, and the repository's own skeleton and device tables.

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use bbsdk::rootfs::{
    apply_users, assemble, hash_password, password_salt, AssembleSettings, Content, DeviceKind,
    DeviceTable, EntryKind, Error, Getty, IdSpec, InitSystem, Manifest, Owner, Password, RootLogin,
    ScriptEnv, TableSource, UsersTable,
};

// ---------------------------------------------------------------------------
// helpers

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn write(path: &Path, content: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
}

fn write_mode(path: &Path, content: &str, mode: u32) {
    write(path, content);
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn text(m: &Manifest, path: &str) -> String {
    let bytes = m
        .read_file(path)
        .unwrap()
        .unwrap_or_else(|| panic!("{path} missing from the manifest"));
    String::from_utf8(bytes).unwrap()
}

/// Output directories under `out`, like bbsdk's output/.
fn env_in(out: &Path) -> ScriptEnv {
    let env = ScriptEnv {
        config: out.join(".config"),
        base_dir: out.to_path_buf(),
        build_dir: out.join("build"),
        host_dir: out.join("host"),
        staging_dir: out.join("staging"),
        target_dir: out.join("target"),
        binaries_dir: out.join("images"),
        work_dir: repo(),
        log: None,
        extra: Vec::new(),
    };
    fs::create_dir_all(&env.binaries_dir).unwrap();
    env
}

fn gcc(args: &[&str]) {
    let out = Command::new("gcc").args(args).output().expect("run gcc");
    assert!(
        out.status.success(),
        "gcc {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn table_err(result: Result<impl std::fmt::Debug, Error>) -> String {
    match result {
        Err(e @ Error::Table { .. }) => e.to_string(),
        other => panic!("expected a table error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// tables

#[test]
fn device_tables_of_the_repository_parse() {
    let t = DeviceTable::load(&TableSource::File(
        repo().join("board/common/device_table.txt"),
    ))
    .unwrap();
    let tmp = t
        .entries
        .iter()
        .find(|e| e.path == Path::new("tmp"))
        .unwrap();
    assert_eq!(tmp.kind, DeviceKind::Dir);
    assert_eq!(tmp.mode, Some(0o1777));
    let shadow = t.entries.last().unwrap();
    assert_eq!(shadow.path, Path::new("etc/shadow"));
    assert_eq!((shadow.kind, shadow.mode), (DeviceKind::File, Some(0o600)));

    let dev = DeviceTable::load(&TableSource::File(
        repo().join("board/common/device_table_dev.txt"),
    ))
    .unwrap();
    let tty = dev
        .entries
        .iter()
        .find(|e| e.path == Path::new("dev/ttyS0"))
        .unwrap();
    assert_eq!(
        (tty.kind, tty.major, tty.minor, tty.gid.clone()),
        (DeviceKind::Char, 4, 64, Owner::Id(5))
    );
}

#[test]
fn device_table_fields() {
    let t = DeviceTable::parse(
        "perm.txt",
        "# comment\n\n\
         /dev/hda b 640 root disk 3 1 1 1 15\n\
         /var/lib/app r -1 app app - - - - -\n\
         /run/fifo p 600 0 0 - - - - -\n",
    )
    .unwrap();
    assert_eq!(t.entries.len(), 3);
    let hda = &t.entries[0];
    assert_eq!(hda.line, 3);
    assert_eq!(hda.kind, DeviceKind::Block);
    assert_eq!((hda.start, hda.inc, hda.count), (1, 1, 15));
    assert_eq!(hda.uid, Owner::Name("root".into()));
    assert_eq!(t.entries[1].mode, None);
    assert_eq!(t.entries[2].kind, DeviceKind::Fifo);
}

#[test]
fn device_table_errors_name_file_and_line() {
    let cases = [
        ("/dev/x c 600 0 0 5\n", "expected 10 fields"),
        ("dev/x c 600 0 0 5 1 - - -\n", "absolute path"),
        ("/dev/../x d 755 0 0 - - - - -\n", "'..'"),
        ("/dev/x q 600 0 0 5 1 - - -\n", "unknown type \"q\""),
        ("/dev/x c 900 0 0 5 1 - - -\n", "octal mode"),
        ("/dev/x c 600 0 0 - 1 - - -\n", "major and minor"),
        ("/dev/x c -1 0 0 5 1 - - -\n", "needs a mode"),
        ("/dev/x d 755 0 0 - - 0 1 4\n", "only apply to c and b"),
        (
            "/dev/x d 755 0 :bad - - - - -\n",
            "neither a number nor a name",
        ),
        ("/x f 644 0 0 - - - - x\n", "not a number"),
    ];
    for (line, want) in cases {
        let text = format!("# header\n{line}");
        let msg = table_err(DeviceTable::parse("board/x/perm.txt", &text));
        assert!(msg.starts_with("board/x/perm.txt:2: "), "{msg}");
        assert!(msg.contains(want), "{line:?} -> {msg}");
    }
}

#[test]
fn users_table_example_of_the_repository_parses() {
    // The example lines of board/common/users.table.example, uncommented.
    let example = fs::read_to_string(repo().join("board/common/users.table.example")).unwrap();
    let lines: Vec<String> = example
        .lines()
        .filter_map(|l| l.strip_prefix("# "))
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() >= 9 && (f[1] == "-" || f[1].parse::<i64>().is_ok())
        })
        .map(str::to_string)
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    let t = UsersTable::load(&TableSource::inline("example", &lines)).unwrap();
    let www = &t.entries[0];
    assert_eq!(www.name.as_deref(), Some("www"));
    assert_eq!(www.uid, Some(IdSpec::AutoSystem));
    assert_eq!(www.password, Password::NoLogin);
    assert_eq!(www.home.as_deref(), Some(Path::new("/var/www")));
    assert_eq!(www.comment, "Web server");
    let alice = &t.entries[1];
    assert_eq!(
        alice.password,
        Password::Plain {
            text: "changeme".into(),
            locked: false
        }
    );
    assert_eq!(alice.groups, ["wheel", "tty"]);
    assert_eq!(alice.comment, "Alice Example");
    let video = &t.entries[2];
    assert_eq!(video.name, None);
    assert_eq!(
        (video.group.as_str(), video.gid),
        ("video", IdSpec::Fixed(44))
    );
}

#[test]
fn users_table_passwords_and_dashes() {
    let t = UsersTable::parse(
        "u",
        "a 10 a 10 !=pw - - - -\n\
         b 11 b 11 !$6$x$y - - - -\n\
         c 12 c 12 - - - - -\n\
         d -2 d -2 $6$s$h /home/d /bin/sh - Dee\n",
    )
    .unwrap();
    let e = &t.entries;
    assert_eq!(
        e[0].password,
        Password::Plain {
            text: "pw".into(),
            locked: true
        }
    );
    assert_eq!(e[1].password, Password::Encrypted("!$6$x$y".into()));
    assert_eq!(e[2].password, Password::Empty);
    assert_eq!((e[2].home.clone(), e[2].shell.clone()), (None, None));
    assert_eq!(e[2].comment, "");
    assert_eq!(e[3].uid, Some(IdSpec::AutoUser));
    assert_eq!(e[3].password, Password::Encrypted("$6$s$h".into()));
}

#[test]
fn users_table_errors_name_file_and_line() {
    let cases = [
        (
            "alice 1000 alice 1000 * /home/alice /bin/sh -\n",
            "expected 9 fields",
        ),
        (
            "root 0 root 0 * /root /bin/sh - root\n",
            "root cannot be declared",
        ),
        ("bob 0 bob 10 * - - - Bob\n", "uid 0 belongs to root"),
        ("bob 10 root 10 * - - - Bob\n", "primary group"),
        ("bob x bob 10 * - - - Bob\n", "must be a number, -1"),
        ("bob 10 bob -3 * - - - Bob\n", "gid \"-3\""),
        ("bob 10 bob 10 * / - - Bob\n", "home / is not allowed"),
        ("bob 10 bob 10 * home - - Bob\n", "absolute path"),
        ("- 10 video 44 - - - - -\n", "only creates a group"),
        ("b:ob 10 bob 10 * - - - Bob\n", "cannot contain ':'"),
        ("9bob 10 bob 10 * - - - Bob\n", "must start with a letter"),
        ("bob 10 bob 10 * - - a,b!c Bob\n", "supplementary group"),
    ];
    for (line, want) in cases {
        let text = format!("\n# accounts\n{line}");
        let msg = table_err(UsersTable::parse("board/x/users.table", &text));
        assert!(msg.starts_with("board/x/users.table:3: "), "{msg}");
        assert!(msg.contains(want), "{line:?} -> {msg}");
    }
}

#[test]
fn table_application_errors_name_file_and_line() {
    let mut m = Manifest::new(0);
    m.insert("etc", bbsdk::rootfs::Entry::dir(0o755)).unwrap();
    m.insert("etc/x", bbsdk::rootfs::Entry::inline_file("x", 0o644))
        .unwrap();
    m.insert(
        "etc/passwd",
        bbsdk::rootfs::Entry::inline_file("root:x:0:0:root:/root:/bin/sh\n", 0o644),
    )
    .unwrap();
    m.insert(
        "etc/group",
        bbsdk::rootfs::Entry::inline_file("root:x:0:\n", 0o644),
    )
    .unwrap();
    let cases = [
        ("/etc/missing f 600 0 0 - - - - -", "does not exist"),
        ("/etc d 600 nobody 0 - - - - -", "unknown user \"nobody\""),
        ("/etc d 600 0 wheel - - - - -", "unknown group \"wheel\""),
        ("/etc f 600 0 0 - - - - -", "not a regular file"),
        ("/etc/x d 755 0 0 - - - - -", "not a directory"),
        ("/etc/x/y d 755 0 0 - - - - -", "not a directory"),
        ("/nope r -1 0 0 - - - - -", "does not exist"),
        ("/etc c 600 0 0 1 3 - - -", "cannot replace it"),
    ];
    for (line, want) in cases {
        let t = DeviceTable::parse("perm.txt", &format!("{line}\n")).unwrap();
        let msg = table_err(t.apply(&mut m.clone()));
        assert!(msg.starts_with("perm.txt:1: "), "{msg}");
        assert!(msg.contains(want), "{line:?} -> {msg}");
    }
    // Names that exist are looked up in the manifest's own account files.
    let t = DeviceTable::parse("perm.txt", "/etc/x f 4755 root root - - - - -\n").unwrap();
    t.apply(&mut m).unwrap();
    assert_eq!(m.get("etc/x").unwrap().mode, 0o4755);
}

// ---------------------------------------------------------------------------
// assembly

const POST_BUILD: &str = r#"#!/bin/sh
set -e
[ "$1" = "$TARGET_DIR" ] || { echo "first argument is not TARGET_DIR" >&2; exit 3; }
shift
printf '%s\n' "$@" > "$BINARIES_DIR/args.txt"
env | grep -E '^(TARGET_DIR|BINARIES_DIR|BBSDK_CONFIG|HOST_DIR|STAGING_DIR|BUILD_DIR|BASE_DIR)=' \
    | sort > "$BINARIES_DIR/env.txt"
pwd > "$BINARIES_DIR/pwd.txt"
# The script sees the users and the directories of the tables.
grep -q '^alice:x:1000:' "$TARGET_DIR/etc/passwd"
[ -d "$TARGET_DIR/tmp" ] && [ -d "$TARGET_DIR/home/alice" ]
echo "edited by post-build" >> "$TARGET_DIR/etc/motd"
mkdir -p "$TARGET_DIR/usr/share/generated"
echo generated > "$TARGET_DIR/usr/share/generated/file"
rm "$TARGET_DIR/usr/sbin/unwanted"
"#;

/// Skeleton (the repository's), two package trees, an overlay, tables and
/// a post-build script; returns the settings.
fn full_setup(dir: &Path) -> AssembleSettings {
    let pkg1 = dir.join("pkg1");
    write_mode(&pkg1.join("usr/bin/tool"), "#!/bin/sh\necho tool\n", 0o755);
    write(&pkg1.join("usr/include/tool.h"), "int tool(void);\n");
    write(&pkg1.join("usr/lib/libtool.a"), "!<arch>\n");
    write(&pkg1.join("usr/lib/libtool.la"), "# libtool\n");
    write(&pkg1.join("usr/lib/libtool.so.1"), "not really a library\n");
    symlink("libtool.so.1", pkg1.join("usr/lib/libtool.so")).unwrap();
    write(&pkg1.join("usr/lib/pkgconfig/tool.pc"), "Name: tool\n");
    write(
        &pkg1.join("usr/lib/cmake/Tool/ToolConfig.cmake"),
        "# cmake\n",
    );
    write(&pkg1.join("usr/share/man/man1/tool.1"), ".TH TOOL 1\n");
    write(&pkg1.join("usr/share/doc/tool/README"), "read me\n");
    write(&pkg1.join("usr/share/aclocal/tool.m4"), "dnl\n");
    write(&pkg1.join("etc/tool.conf"), "pkg1\n");
    write_mode(&pkg1.join("usr/bin/hl1"), "#!/bin/sh\n", 0o755);
    fs::hard_link(pkg1.join("usr/bin/hl1"), pkg1.join("usr/bin/hl2")).unwrap();
    fs::create_dir_all(pkg1.join("var/lib/tool")).unwrap();
    fs::set_permissions(pkg1.join("var/lib/tool"), fs::Permissions::from_mode(0o500)).unwrap();

    let pkg2 = dir.join("pkg2");
    write(&pkg2.join("etc/tool.conf"), "pkg2\n");
    write(&pkg2.join("usr/share/tool/data"), "data\n");
    write_mode(&pkg2.join("usr/sbin/unwanted"), "#!/bin/sh\n", 0o755);
    write_mode(&pkg2.join("usr/sbin/daemon"), "#!/bin/sh\n", 0o700);

    let overlay = dir.join("overlay");
    write(&overlay.join("etc/motd"), "hello\n");
    write(&overlay.join("etc/tool.conf"), "overlay\n");
    write(&overlay.join("usr/lib/pkgconfig/kept.pc"), "Name: kept\n");
    // var/run is a symlink to ../run in the skeleton: this lands in run/.
    write(&overlay.join("var/run/overlay.pid"), "1\n");

    let board = dir.join("board");
    write(
        &board.join("users.table"),
        "# the users of the test board\n\
         alice 1000 alice 1000 =secret /home/alice /bin/sh wheel,tty Alice Example\n\
         www -1 www -1 * /var/www - - Web server\n\
         - - video 44 - - - - -\n",
    );
    write(
        &board.join("permissions.txt"),
        "/usr/bin/tool f 4755 0 0 - - - - -\n\
         /dev/console c 600 0 0 5 1 - - -\n\
         /dev/ttyS c 660 root tty 4 64 0 1 4\n\
         /var/www r -1 www www - - - - -\n\
         /run/fifo p 620 alice video - - - - -\n\
         /var/log/app d 750 www www - - - - -\n",
    );
    write_mode(&board.join("post-build.sh"), POST_BUILD, 0o755);

    let mut s = AssembleSettings::new(env_in(&dir.join("output")));
    s.skeleton = Some(repo().join("board/common/skeleton"));
    s.package_trees = vec![pkg1, pkg2];
    s.overlays = vec![overlay];
    s.hostname = "testhost".into();
    s.issue = "Welcome to the test".into();
    s.root_login = RootLogin::Password("rootpw".into());
    s.init = InitSystem::Busybox {
        getty: Some(Getty::default()),
    };
    s.users_tables = vec![TableSource::File(board.join("users.table"))];
    s.device_tables = vec![
        TableSource::File(repo().join("board/common/device_table.txt")),
        TableSource::inline(
            "package tool",
            &["/etc/tool.conf f 640 0 alice - - - - -".to_string()],
        ),
        TableSource::File(board.join("permissions.txt")),
    ];
    s.post_build_scripts = vec![board.join("post-build.sh")];
    s.script_args = vec!["one".into(), "two words".into()];
    s.salt_seed = b"test configuration".to_vec();
    s
}

#[test]
fn assembles_skeleton_packages_overlay_tables_and_script() {
    let dir = tempfile::tempdir().unwrap();
    let s = full_setup(dir.path());
    let m = assemble(&s).unwrap();
    let target = &s.env.target_dir;

    // Layers: later ones win, the overlay last.
    assert_eq!(text(&m, "etc/tool.conf"), "overlay\n");
    assert_eq!(text(&m, "usr/share/tool/data"), "data\n");
    assert_eq!(
        text(&m, "etc/os-release").lines().next(),
        Some("NAME=bbsdk")
    );
    // The skeleton's symlinks are kept; the overlay went through var/run.
    assert_eq!(
        m.get("var/run").unwrap().kind,
        EntryKind::Symlink("../run".into())
    );
    assert_eq!(text(&m, "run/overlay.pid"), "1\n");
    // Hard links within a package tree stay hard links.
    assert_eq!(
        m.get("usr/bin/hl2").unwrap().kind,
        EntryKind::HardLink("usr/bin/hl1".into())
    );
    // A read-only directory keeps its mode in the manifest (not on disk).
    assert_eq!(m.get("var/lib/tool").unwrap().mode, 0o500);
    assert_eq!(
        fs::metadata(target.join("var/lib/tool")).unwrap().mode() & 0o777,
        0o700
    );

    // Runtime-only: development files of the packages never reach it...
    for gone in [
        "usr/include",
        "usr/lib/libtool.a",
        "usr/lib/libtool.la",
        "usr/lib/pkgconfig/tool.pc",
        "usr/lib/cmake",
        "usr/share/man",
        "usr/share/doc",
        "usr/share/aclocal",
    ] {
        assert!(!m.contains(gone), "{gone} should have been left out");
        assert!(!target.join(gone).exists(), "{gone} is on disk");
    }
    assert!(m.contains("usr/lib/libtool.so.1"));
    assert_eq!(
        m.get("usr/lib/libtool.so").unwrap().kind,
        EntryKind::Symlink("libtool.so.1".into())
    );
    // ...but what an overlay brings is the user's choice.
    assert!(m.contains("usr/lib/pkgconfig/kept.pc"));

    // Generated system files.
    assert_eq!(text(&m, "etc/hostname"), "testhost\n");
    let hosts = text(&m, "etc/hosts");
    assert!(hosts.starts_with("127.0.0.1\tlocalhost\n"), "{hosts}");
    assert!(hosts.ends_with("127.0.1.1\ttesthost\n"), "{hosts}");
    assert_eq!(text(&m, "etc/issue"), "Welcome to the test\n");
    let inittab = text(&m, "etc/inittab");
    assert!(inittab.contains("console::respawn:/sbin/getty -L console 0 vt100\n"));

    // The post-build script: arguments, environment, edits.
    let images = &s.env.binaries_dir;
    assert_eq!(
        fs::read_to_string(images.join("args.txt")).unwrap(),
        "one\ntwo words\n"
    );
    let env = fs::read_to_string(images.join("env.txt")).unwrap();
    let out = dir.path().join("output");
    for (k, v) in [
        ("BASE_DIR", out.clone()),
        ("BBSDK_CONFIG", out.join(".config")),
        ("BINARIES_DIR", out.join("images")),
        ("BUILD_DIR", out.join("build")),
        ("HOST_DIR", out.join("host")),
        ("STAGING_DIR", out.join("staging")),
        ("TARGET_DIR", out.join("target")),
    ] {
        assert!(
            env.lines().any(|l| l == format!("{k}={}", v.display())),
            "{k} missing or wrong in:\n{env}"
        );
    }
    assert_eq!(
        fs::read_to_string(images.join("pwd.txt")).unwrap().trim(),
        repo().display().to_string()
    );
    assert_eq!(text(&m, "etc/motd"), "hello\nedited by post-build\n");
    assert_eq!(text(&m, "usr/share/generated/file"), "generated\n");
    assert!(!m.contains("usr/sbin/unwanted"));

    // Users, groups, passwords.
    let passwd = text(&m, "etc/passwd");
    assert!(
        passwd.starts_with("root:x:0:0:root:/root:/bin/sh\n"),
        "{passwd}"
    );
    assert!(passwd.contains("\nalice:x:1000:1000:Alice Example:/home/alice:/bin/sh\n"));
    assert!(passwd.contains("\nwww:x:100:100:Web server:/var/www:/bin/false\n"));
    let group = text(&m, "etc/group");
    for line in [
        "root:x:0:",
        "tty:x:5:alice",
        "alice:x:1000:",
        "video:x:44:",
        "www:x:100:",
        "wheel:x:101:alice",
    ] {
        assert!(group.lines().any(|l| l == line), "{line} not in\n{group}");
    }
    let shadow = text(&m, "etc/shadow");
    let field = |user: &str| -> String {
        shadow
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{user}:")))
            .unwrap_or_else(|| panic!("{user} not in shadow"))
            .split(':')
            .next()
            .unwrap()
            .to_string()
    };
    sha_crypt::sha512_check("secret", &field("alice")).unwrap();
    sha_crypt::sha512_check("rootpw", &field("root")).unwrap();
    assert_eq!(field("www"), "*");
    assert_eq!(field("daemon"), "*");
    assert!(shadow.contains("\nalice:$6$"));
    assert!(
        shadow.lines().all(|l| l.split(':').count() == 9),
        "{shadow}"
    );

    // Owners and modes from the tables and the users.
    let get = |p: &str| {
        m.get(p)
            .unwrap_or_else(|| panic!("{p} missing from the manifest"))
            .clone()
    };
    let home = get("home/alice");
    assert_eq!((home.uid, home.gid, home.mode), (1000, 1000, 0o755));
    assert!(home.is_dir());
    let www = get("var/www");
    assert_eq!((www.uid, www.gid), (100, 100));
    let log = get("var/log/app");
    assert_eq!((log.uid, log.gid, log.mode), (100, 100, 0o750));
    assert_eq!(get("usr/bin/tool").mode, 0o4755);
    assert_eq!(get("tmp").mode, 0o1777);
    assert_eq!(get("proc").mode, 0o555);
    assert_eq!(get("root").mode, 0o700);
    let shadow_entry = get("etc/shadow");
    assert_eq!((shadow_entry.mode, shadow_entry.uid), (0o600, 0));
    let conf = get("etc/tool.conf");
    assert_eq!((conf.mode, conf.uid, conf.gid), (0o640, 0, 1000));
    assert_eq!(get("usr/sbin/daemon").mode, 0o700);
    let console = get("dev/console");
    assert_eq!(console.kind, EntryKind::CharDevice { major: 5, minor: 1 });
    assert_eq!(console.mode, 0o600);
    for i in 0..4u32 {
        let tty = get(&format!("dev/ttyS{i}"));
        assert_eq!(
            tty.kind,
            EntryKind::CharDevice {
                major: 4,
                minor: 64 + i
            }
        );
        assert_eq!((tty.mode, tty.uid, tty.gid), (0o660, 0, 5));
    }
    assert!(!m.contains("dev/ttyS4"));
    let fifo = get("run/fifo");
    assert_eq!(fifo.kind, EntryKind::Fifo);
    assert_eq!((fifo.mode, fifo.uid, fifo.gid), (0o620, 1000, 44));
    // Device nodes exist only in the manifest.
    assert!(!target.join("dev/console").exists());
    // Everything else belongs to root.
    assert_eq!((get("etc/motd").uid, get("etc/motd").gid), (0, 0));
    assert_eq!(get("").mode, 0o755);

    // Sorted, parents first, every parent a directory.
    let paths: Vec<&Path> = m.iter().map(|(p, _)| p).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted);
    for (p, _) in m.iter() {
        if let Some(parent) = p.parent() {
            assert!(m.get(parent).unwrap().is_dir(), "parent of {}", p.display());
        }
    }
    // Sizes agree with the content.
    for (p, e) in m.iter() {
        if let EntryKind::File(Content::Disk { path, size }) = &e.kind {
            assert_eq!(fs::metadata(path).unwrap().len(), *size, "{}", p.display());
        }
    }

    // A second assembly into the same output replaces the first.
    let again = assemble(&s).unwrap();
    assert_eq!(again.len(), m.len());
}

#[test]
fn runtime_only_off_keeps_development_files() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("pkg");
    write(&pkg.join("usr/include/x.h"), "\n");
    write(&pkg.join("usr/lib/libx.a"), "\n");
    let mut s = AssembleSettings::new(env_in(&dir.path().join("out")));
    s.package_trees = vec![pkg];
    s.runtime_only = false;
    let m = assemble(&s).unwrap();
    assert!(m.contains("usr/include/x.h"));
    assert!(m.contains("usr/lib/libx.a"));
}

#[test]
fn symlinks_in_the_target_never_lead_to_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let skel = dir.path().join("skel");
    fs::create_dir_all(skel.join("usr/lib")).unwrap();
    fs::create_dir_all(skel.join("etc")).unwrap();
    // Absolute links, as a merged-/usr skeleton has them.
    symlink("/usr/lib", skel.join("lib")).unwrap();
    symlink(
        "/nonexistent-bbsdk-host-dir/hostname",
        skel.join("etc/hostname"),
    )
    .unwrap();
    let overlay = dir.path().join("overlay");
    write(&overlay.join("lib/bbsdk-overlay-test"), "inside\n");
    let mut s = AssembleSettings::new(env_in(&dir.path().join("out")));
    s.skeleton = Some(skel);
    s.overlays = vec![overlay];
    s.hostname = "box".into();
    let m = assemble(&s).unwrap();
    assert!(!Path::new("/usr/lib/bbsdk-overlay-test").exists());
    assert!(!Path::new("/nonexistent-bbsdk-host-dir").exists());
    assert_eq!(text(&m, "usr/lib/bbsdk-overlay-test"), "inside\n");
    assert_eq!(text(&m, "nonexistent-bbsdk-host-dir/hostname"), "box\n");
    assert_eq!(
        m.get("lib").unwrap().kind,
        EntryKind::Symlink("/usr/lib".into())
    );
}

#[test]
fn a_file_cannot_replace_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    write(&a.join("etc/conf.d/x"), "x\n");
    let b = dir.path().join("b");
    write(&b.join("etc/conf.d"), "file\n");
    let mut s = AssembleSettings::new(env_in(&dir.path().join("out")));
    s.package_trees = vec![a, b];
    match assemble(&s) {
        Err(e @ Error::Tree { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("etc/conf.d"), "{msg}");
            assert!(msg.contains("would replace the directory"), "{msg}");
        }
        other => panic!("expected a tree error, got {other:?}"),
    }
}

#[test]
fn refuses_to_empty_a_target_that_holds_a_source() {
    let dir = tempfile::tempdir().unwrap();
    let overlay = dir.path().join("out/target/overlay");
    write(&overlay.join("etc/motd"), "keep me\n");
    let mut s = AssembleSettings::new(env_in(&dir.path().join("out")));
    s.overlays = vec![overlay.clone()];
    let msg = assemble(&s).unwrap_err().to_string();
    assert!(msg.contains("holds the source"), "{msg}");
    assert!(overlay.join("etc/motd").exists());
    s.overlays.clear();
    s.env.target_dir = PathBuf::from("/");
    let msg = assemble(&s).unwrap_err().to_string();
    assert!(msg.contains("cannot be /"), "{msg}");
}

// ---------------------------------------------------------------------------
// stripping

#[test]
fn strips_real_binaries_and_keeps_them_working() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("pkg");
    let src = dir.path().join("src");
    write(
        &src.join("hello.c"),
        "#include <stdio.h>\nint helper(int x) { return x * 2; }\n\
         int main(void) { printf(\"hello %d\\n\", helper(21)); return 0; }\n",
    );
    write(&src.join("lib.c"), "int answer(void) { return 42; }\n");
    fs::create_dir_all(pkg.join("usr/bin")).unwrap();
    fs::create_dir_all(pkg.join("usr/lib")).unwrap();
    let hello = pkg.join("usr/bin/hello");
    let lib = pkg.join("usr/lib/libanswer.so");
    let obj = pkg.join("usr/lib/answer.o");
    gcc(&[
        "-g",
        "-O0",
        "-o",
        hello.to_str().unwrap(),
        src.join("hello.c").to_str().unwrap(),
    ]);
    gcc(&[
        "-g",
        "-shared",
        "-fPIC",
        "-o",
        lib.to_str().unwrap(),
        src.join("lib.c").to_str().unwrap(),
    ]);
    gcc(&[
        "-g",
        "-c",
        "-o",
        obj.to_str().unwrap(),
        src.join("lib.c").to_str().unwrap(),
    ]);
    fs::set_permissions(&hello, fs::Permissions::from_mode(0o4755)).unwrap();
    write_mode(&pkg.join("usr/bin/script"), "#!/bin/sh\necho hi\n", 0o555);
    // Firmware may be ELF for another processor: never touched.
    fs::create_dir_all(pkg.join("lib/firmware")).unwrap();
    fs::copy(&lib, pkg.join("lib/firmware/blob.so")).unwrap();
    let size = |p: &Path| fs::metadata(p).unwrap().len();
    let (hello_before, lib_before, obj_before) = (size(&hello), size(&lib), size(&obj));

    let mut s = AssembleSettings::new(env_in(&dir.path().join("out")));
    s.package_trees = vec![pkg.clone()];
    s.strip = Some(PathBuf::from("strip"));
    let m = assemble(&s).unwrap();
    let t = &s.env.target_dir;
    let hello_after = size(&t.join("usr/bin/hello"));
    assert!(
        hello_after < hello_before,
        "hello: {hello_before} -> {hello_after}"
    );
    assert!(size(&t.join("usr/lib/libanswer.so")) < lib_before);
    assert_eq!(size(&t.join("usr/lib/answer.o")), obj_before);
    assert_eq!(size(&t.join("lib/firmware/blob.so")), lib_before);
    assert_eq!(
        fs::read_to_string(t.join("usr/bin/script")).unwrap(),
        "#!/bin/sh\necho hi\n"
    );
    assert_eq!(m.get("usr/bin/hello").unwrap().size(), hello_after);
    assert_eq!(m.get("usr/bin/hello").unwrap().mode, 0o4755);
    assert_eq!(m.get("usr/bin/script").unwrap().mode, 0o555);
    // The package tree itself is untouched.
    assert_eq!(size(&hello), hello_before);
    // Still runs, without symbols.
    let out = Command::new(t.join("usr/bin/hello")).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello 42\n");
    let nm = Command::new("nm")
        .arg(t.join("usr/bin/hello"))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&nm.stderr).contains("no symbols"),
        "{}",
        String::from_utf8_lossy(&nm.stdout)
    );
}

#[test]
fn strip_failure_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("pkg");
    let mut broken = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0".to_vec();
    broken.extend_from_slice(&[0xAB; 64]);
    fs::create_dir_all(pkg.join("usr/bin")).unwrap();
    fs::write(pkg.join("usr/bin/broken"), broken).unwrap();
    let mut s = AssembleSettings::new(env_in(&dir.path().join("out")));
    s.package_trees = vec![pkg];
    s.strip = Some(PathBuf::from("strip"));
    match assemble(&s) {
        Err(e @ Error::Strip { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("usr/bin/broken"), "{msg}");
            assert!(msg.contains("strip failed"), "{msg}");
        }
        other => panic!("expected a strip error, got {other:?}"),
    }
    s.strip = Some(PathBuf::from("no-such-strip-program"));
    let msg = assemble(&s).unwrap_err().to_string();
    assert!(msg.contains("cannot run no-such-strip-program"), "{msg}");
}

// ---------------------------------------------------------------------------
// root password

fn root_field(seed: &[u8], login: RootLogin) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut s = AssembleSettings::new(env_in(&dir.path().join("out")));
    s.skeleton = Some(repo().join("board/common/skeleton"));
    s.root_login = login;
    s.salt_seed = seed.to_vec();
    let m = assemble(&s).unwrap();
    let shadow = text(&m, "etc/shadow");
    let root = shadow
        .lines()
        .find(|l| l.starts_with("root:"))
        .unwrap()
        .to_string();
    assert_eq!(root.split(':').count(), 9, "{root}");
    root.split(':').nth(1).unwrap().to_string()
}

#[test]
fn root_password_hash_verifies_and_is_stable() {
    let a = root_field(b"config A", RootLogin::Password("s3cret pass".into()));
    let b = root_field(b"config A", RootLogin::Password("s3cret pass".into()));
    let c = root_field(b"config B", RootLogin::Password("s3cret pass".into()));
    assert_eq!(a, b, "same configuration, same hash");
    assert_ne!(a, c, "another configuration, another salt");
    assert!(a.starts_with(&format!("$6${}$", password_salt("root", b"config A"))));
    sha_crypt::sha512_check("s3cret pass", &a).unwrap();
    assert!(sha_crypt::sha512_check("wrong", &a).is_err());
    assert_eq!(
        a,
        hash_password("s3cret pass", "root", b"config A").unwrap()
    );

    // The host's crypt implementation (OpenSSL) agrees.
    let salt = password_salt("root", b"config A");
    let out = Command::new("openssl")
        .args(["passwd", "-6", "-salt", &salt, "s3cret pass"])
        .output()
        .expect("run openssl");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), a);

    // Empty = no password at all; disabled login = locked.
    assert_eq!(root_field(b"x", RootLogin::Password(String::new())), "");
    assert_eq!(root_field(b"x", RootLogin::Disabled), "*");
    assert_eq!(root_field(b"x", RootLogin::Keep), "*");
}

#[test]
fn users_applied_to_a_manifest() {
    let mut m = Manifest::new(1234);
    m.write_file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0o644)
        .unwrap();
    m.write_file("etc/group", "root:x:0:\n", 0o644).unwrap();
    m.create_dir_all("srv/data/sub", 0o755, 0, 0).unwrap();
    m.write_file("srv/data/sub/f", "x", 0o644).unwrap();
    let t = UsersTable::parse(
        "pkg",
        "svc -1 svc -1 !=pw /srv/data /bin/sh - Service\n\
         bob -2 bob -2 - /home/bob /bin/sh svc -\n",
    )
    .unwrap();
    let homes = apply_users(&mut m, &[t], &RootLogin::Disabled, b"seed").unwrap();
    assert_eq!(homes.len(), 2);
    assert_eq!(
        text(&m, "etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\n\
         svc:x:100:100:Service:/srv/data:/bin/sh\n\
         bob:x:1000:1000::/home/bob:/bin/sh\n"
    );
    assert_eq!(
        text(&m, "etc/group"),
        "root:x:0:\nsvc:x:100:bob\nbob:x:1000:\n"
    );
    let shadow = text(&m, "etc/shadow");
    assert!(shadow.starts_with("root:*:::::::\nsvc:!$6$"), "{shadow}");
    assert!(shadow.ends_with("\nbob::::::::\n"), "{shadow}");
    assert_eq!(m.get("etc/shadow").unwrap().mode, 0o600);
    let f = m.get("srv/data/sub/f").unwrap();
    assert_eq!((f.uid, f.gid), (100, 100));
    let bob = m.get("home/bob").unwrap();
    assert_eq!(
        (bob.uid, bob.gid, bob.mode, bob.mtime),
        (1000, 1000, 0o755, 1234)
    );
    assert_eq!(m.get("home").unwrap().uid, 0);

    // Conflicting ids are refused with the table line.
    let bad = UsersTable::parse("pkg2", "\nbob 1001 bob 1000 - - - - -\n").unwrap();
    let msg = table_err(apply_users(&mut m, &[bad], &RootLogin::Keep, b""));
    assert_eq!(
        msg,
        "pkg2:2: user bob already exists with uid 1000, not 1001"
    );
    let bad = UsersTable::parse("pkg3", "carol 1000 carol 2000 - - - - -\n").unwrap();
    let msg = table_err(apply_users(&mut m, &[bad], &RootLogin::Keep, b""));
    assert_eq!(msg, "pkg3:1: uid 1000 is already used by user bob");
}

// ---------------------------------------------------------------------------
// scripts

#[test]
fn post_build_failure_names_the_script_and_status() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("fail.sh");
    write_mode(&script, "#!/bin/sh\necho failing >&2\nexit 7\n", 0o755);
    let mut s = AssembleSettings::new(env_in(&dir.path().join("out")));
    s.env.log = Some(dir.path().join("out/build/post-build.log"));
    s.post_build_scripts = vec![script.clone()];
    match assemble(&s) {
        Err(e @ Error::ScriptFailed { .. }) => {
            let msg = e.to_string();
            assert!(msg.starts_with("post-build script "), "{msg}");
            assert!(msg.contains("fail.sh"), "{msg}");
            assert!(msg.contains("exit status: 7"), "{msg}");
            assert!(msg.contains("post-build.log"), "{msg}");
        }
        other => panic!("expected a script failure, got {other:?}"),
    }
    let log = fs::read_to_string(dir.path().join("out/build/post-build.log")).unwrap();
    assert_eq!(log, "failing\n");

    fs::set_permissions(&script, fs::Permissions::from_mode(0o644)).unwrap();
    match assemble(&s) {
        Err(e @ Error::ScriptSpawn { .. }) => {
            assert!(e.to_string().contains("chmod +x"), "{e}");
        }
        other => panic!("expected a spawn failure, got {other:?}"),
    }
}

#[test]
fn post_image_scripts_get_the_images_directory() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_in(&dir.path().join("out"));
    let script = dir.path().join("post-image.sh");
    write_mode(
        &script,
        "#!/bin/sh\n[ \"$1\" = \"$BINARIES_DIR\" ] || exit 1\n\
         echo \"$2 $TARGET_DIR\" > \"$1/post-image.txt\"\n",
        0o755,
    );
    bbsdk::rootfs::run_post_image_scripts(&[script], &["arg".to_string()], &env).unwrap();
    assert_eq!(
        fs::read_to_string(env.binaries_dir.join("post-image.txt")).unwrap(),
        format!("arg {}\n", env.target_dir.display())
    );
}

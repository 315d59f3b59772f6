//! The build executor, for real: packages made here (a C library built by
//! the autotools infrastructure with a hand-written `configure`, a program
//! built by the make infrastructure against it, a generic package using the
//! library's host tool, and a trivial generic one), their sources packed as
//! tar.gz files served by `file://` URLs, built with the host's gcc.
//!
//! The plan has `libgreet`, `host-libgreet`, `hello`, `motd`, `lonely`.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Instant;

use bbsdk::build::{self, BuildError, Executor, OutputLock, Step, ToolchainEnv};
use bbsdk::package::Registry;
use bbsdk::plan::Plan;

use common::{read, run, sorted, World};

const LIB_CONFIGURE: &str = r#"#!/bin/sh
# A hand-written configure: --prefix, --host, --build, --enable-loud; writes Makefile.
prefix=/usr/local host= build= loud=0
for arg in "$@"; do
    case "$arg" in
        --prefix=*) prefix=${arg#--prefix=} ;;
        --host=*) host=${arg#--host=} ;;
        --build=*) build=${arg#--build=} ;;
        --enable-loud) loud=1 ;;
    esac
done
srcdir=$(cd "$(dirname "$0")" && pwd)
echo "configure: prefix=$prefix host=$host build=$build loud=$loud"
sed -e "s|@prefix@|$prefix|g" -e "s|@loud@|$loud|g" -e "s|@srcdir@|$srcdir|g" "$srcdir/Makefile.in" > Makefile
"#;

const LIB_MAKEFILE_IN: &str = "prefix = @prefix@
LOUD = @loud@
VPATH = @srcdir@
DEFS = -DPREFIX='\"$(prefix)\"' -DLOUD=$(LOUD) -I@srcdir@

all: libgreet.a greet-tool
greet.o: greet.c greet.h
\t$(CC) $(CFLAGS) $(DEFS) -c @srcdir@/greet.c -o greet.o
libgreet.a: greet.o
\t$(AR) rcs $@ greet.o
greet-tool: tool.c libgreet.a
\t$(CC) $(CFLAGS) $(DEFS) @srcdir@/tool.c libgreet.a -o $@ $(LDFLAGS)
install: all
\tinstall -d $(DESTDIR)$(prefix)/include $(DESTDIR)$(prefix)/lib $(DESTDIR)$(prefix)/bin $(DESTDIR)$(prefix)/share/greet
\tinstall -m 644 @srcdir@/greet.h $(DESTDIR)$(prefix)/include/
\tinstall -m 644 libgreet.a $(DESTDIR)$(prefix)/lib/
\tinstall -m 755 greet-tool $(DESTDIR)$(prefix)/bin/
\techo world > $(DESTDIR)$(prefix)/share/greet/word
";

const LIB_H: &str = "const char *greeting(void);\n";
const LIB_C: &str = "#include \"greet.h\"\nconst char *greeting(void)\n{\n\treturn LOUD ? \"HELLO\" : \"hello\";\n}\n";
/// Reads its word from its install prefix: works only where it was installed.
const LIB_TOOL: &str = r#"#include <stdio.h>
#include "greet.h"
int main(void)
{
	char w[64];
	FILE *f = fopen(PREFIX "/share/greet/word", "r");
	if (!f) { perror(PREFIX "/share/greet/word"); return 1; }
	if (fscanf(f, "%63s", w) != 1) return 1;
	printf("%s %s\n", greeting(), w);
	return 0;
}
"#;
/// Applied by the patch step: the greeting names the patch.
const LIB_PATCH: &str = "--- a/greet.c
+++ b/greet.c
@@ -1,5 +1,5 @@
 #include \"greet.h\"
 const char *greeting(void)
 {
-\treturn LOUD ? \"HELLO\" : \"hello\";
+\treturn LOUD ? \"HELLO, PATCHED\" : \"hello, patched\";
 }
";

const HELLO_MAKEFILE: &str = "PREFIX ?= /usr/local
all: hello
hello: hello.c
\t$(CC) $(CPPFLAGS) $(CFLAGS) $(EXTRA) hello.c -o hello $(LDFLAGS) -lgreet
install: hello
\tinstall -D -m 755 hello $(DESTDIR)$(PREFIX)/bin/hello
";
const HELLO_C: &str = "#include <stdio.h>\n#include <greet.h>\n#ifdef SHOUT\n#define END \"!\"\n#else\n#define END \"\"\n#endif\nint main(void)\n{\n\tprintf(\"%s from hello%s\\n\", greeting(), END);\n\treturn 0;\n}\n";

fn world() -> World {
    let w = World::empty();
    let lib = w.source(
        "libgreet-1.0",
        &[
            ("configure", LIB_CONFIGURE, 0o755),
            ("Makefile.in", LIB_MAKEFILE_IN, 0o644),
            ("greet.h", LIB_H, 0o644),
            ("greet.c", LIB_C, 0o644),
            ("tool.c", LIB_TOOL, 0o644),
        ],
    );
    w.recipe(
        "libgreet",
        &format!(
            "variants = [\"target\", \"host\"]\n{lib}\n[build]\nsystem = \"autotools\"\n\n[build.options]\nBBSDK_PACKAGE_LIBGREET_LOUD = [\"--enable-loud\"]\n"
        ),
    );
    w.file("libgreet/0001-patched-greeting.patch", LIB_PATCH);
    let hello = w.source(
        "hello-1.0",
        &[
            ("Makefile", HELLO_MAKEFILE, 0o644),
            ("hello.c", HELLO_C, 0o644),
        ],
    );
    w.recipe(
        "hello",
        &format!(
            "{hello}\n[dependencies]\nbuild = [\"libgreet\"]\n\n[build]\nsystem = \"make\"\n\n[build.options]\nBBSDK_PACKAGE_HELLO_SHOUT = [\"EXTRA=-DSHOUT\"]\n"
        ),
    );
    w.recipe(
        "motd",
        "[dependencies]\nbuild = [\"host-libgreet\"]\n\n[build]\nsystem = \"generic\"\n\n[build.steps]\nbuild = \"greet-tool > motd.txt\"\ninstall_target = \"install -D -m 644 motd.txt \\\"$TARGET_DIR/etc/motd\\\"\"\n",
    );
    w.recipe(
        "lonely",
        // Also a symlink and a read-only directory, which the cache must keep.
        "[build]\nsystem = \"generic\"\n\n[build.steps]\ninstall_target = '''\ncd \"$TARGET_DIR\"\nmkdir -p etc usr/share/ro\necho lonely > etc/lonely\necho ro > usr/share/ro/file\nchmod 555 usr/share/ro\nln -s ro/file usr/share/link\n'''\n",
    );
    w
}

/// `hello`, `motd` and `lonely` selected.
fn default_plan(w: &World, reg: &Registry) -> Plan {
    w.plan(
        reg,
        &[
            "BBSDK_PACKAGE_HELLO",
            "BBSDK_PACKAGE_MOTD",
            "BBSDK_PACKAGE_LONELY",
        ],
        &[],
    )
}

const ALL: [&str; 5] = ["hello", "host-libgreet", "libgreet", "lonely", "motd"];

#[test]
fn builds_installs_logs_and_isolates_packages() {
    let w = world();
    let reg = w.registry();
    let p = default_plan(&w, &reg);
    let r = w.build(&reg, &p).unwrap();
    assert_eq!(sorted(&r.built), ALL);
    assert!(r.from_cache.is_empty() && r.skipped.is_empty() && r.merged);
    assert_eq!(r.durations.len(), 5);
    let out = &w.out;

    // The program links the library through its staging view, and the patch was applied.
    assert_eq!(
        run(&out.join("target/usr/bin/hello")),
        "hello, patched from hello\n"
    );
    assert!(out.join("staging/usr/include/greet.h").is_file());
    assert!(out.join("staging/usr/lib/libgreet.a").is_file());
    // The host tool runs from host/ and finds its data under its prefix.
    assert_eq!(
        run(&out.join("host/bin/greet-tool")),
        "hello, patched world\n"
    );
    assert_eq!(read(&out.join("host/share/greet/word")), "world\n");
    // motd ran the host tool during its build (found on PATH through its view).
    assert_eq!(read(&out.join("target/etc/motd")), "hello, patched world\n");
    assert_eq!(read(&out.join("target/etc/lonely")), "lonely\n");

    // Per-package directories hold only the package's own files.
    let pp = out.join("per-package");
    assert_eq!(
        read(&pp.join("hello/files.txt")),
        "staging/usr/bin/hello\ntarget/usr/bin/hello\n"
    );
    assert!(!pp.join("hello/staging/usr/include/greet.h").exists());
    assert!(pp.join("libgreet/staging/usr/include/greet.h").is_file());
    assert!(pp.join("host-libgreet/host/bin/greet-tool").is_file());
    assert!(!pp.join("host-libgreet/target/usr").exists());
    assert_eq!(read(&pp.join("motd/files.txt")), "target/etc/motd\n");
    for n in &p.nodes {
        assert_eq!(read(&pp.join(&n.name).join("identity")).trim(), n.identity);
    }

    // Logs, per package, with the infrastructures' commands.
    let lib_log = read(&out.join("build/libgreet-1.0/build.log"));
    assert!(lib_log.contains("patch -p1"), "{lib_log}");
    assert!(lib_log.contains("0001-patched-greeting.patch"));
    let tuple = ToolchainEnv::host_gcc().unwrap().target_tuple;
    assert!(lib_log.contains(&format!(
        "configure: prefix=/usr host={tuple} build={tuple}"
    )));
    assert!(lib_log.contains("make DESTDIR="));
    let host_log = read(&out.join("build/host-libgreet-1.0/build.log"));
    assert!(host_log.contains(&format!("configure: prefix={}/host ", out.display())));
    let hello_log = read(&out.join("build/hello-1.0/build.log"));
    assert!(hello_log.contains("-lgreet"), "{hello_log}");
    assert!(hello_log.contains(">>> hello 1.0 Building"));

    // A package that does not declare libgreet cannot see its header, even
    // though <output>/staging has it.
    let src = w.source(
        "sneaky-1.0",
        &[
            ("Makefile", HELLO_MAKEFILE, 0o644),
            ("hello.c", HELLO_C, 0o644),
        ],
    );
    w.recipe("sneaky", &format!("{src}\n[build]\nsystem = \"make\"\n"));
    let reg = w.registry();
    let p = w.plan(&reg, &["BBSDK_PACKAGE_SNEAKY"], &[]);
    let e = w.build(&reg, &p).unwrap_err();
    match &e {
        BuildError::Command {
            package,
            step,
            tail,
            ..
        } => {
            assert_eq!((package.as_str(), *step), ("sneaky", Step::Build));
            assert!(tail.iter().any(|l| l.contains("greet.h")), "{e}");
        }
        other => panic!("unexpected error: {other}"),
    }
}

#[test]
fn failures_name_the_step_status_log_and_merge_nothing() {
    let w = world();
    w.recipe(
        "broken",
        "[build]\nsystem = \"generic\"\n\n[build.steps]\nconfigure = \"echo configured\"\nbuild = \"for i in $(seq 1 30); do echo line $i; done; echo 'error: broken on purpose' >&2; exit 3\"\ninstall_target = \"true\"\n",
    );
    let reg = w.registry();
    let p = w.plan(&reg, &["BBSDK_PACKAGE_LONELY", "BBSDK_PACKAGE_BROKEN"], &[]);
    let e = w.build(&reg, &p).unwrap_err();
    let msg = e.to_string();
    match &e {
        BuildError::Command {
            package,
            step,
            status,
            log,
            tail,
            ..
        } => {
            assert_eq!(package, "broken");
            assert_eq!(*step, Step::Build);
            assert_eq!(status, "exited with status 3");
            assert_eq!(log, &w.out.join("build/broken-1.0/build.log"));
            assert_eq!(tail.len(), 20);
            assert!(tail.iter().any(|l| l == "line 30"));
            assert!(tail.iter().any(|l| l == "error: broken on purpose"));
        }
        other => panic!("unexpected error: {other}"),
    }
    assert!(msg.contains("broken: build failed"), "{msg}");
    assert!(
        msg.contains("build.log") && msg.contains("error: broken on purpose"),
        "{msg}"
    );
    // Nothing merged, no stamp for the failed package.
    assert!(!w.out.join("target").exists());
    assert!(!w.out.join(".bbsdk-merged").exists());
    assert!(!w.out.join("per-package/broken/identity").exists());

    // A build after a good one: the failure leaves the previous target as it was.
    let p1 = w.plan(&reg, &["BBSDK_PACKAGE_LONELY"], &[]);
    w.build(&reg, &p1).unwrap();
    assert!(w.build(&reg, &p).is_err());
    assert!(w.out.join("target/etc/lonely").is_file());
    assert!(!w.out.join("target/broken").exists());
    assert!(!w.out.join("per-package/broken/target/usr").exists());

    // A patch that does not apply names the patch.
    w.file(
        "lonely/0001-nonsense.patch",
        "--- a/nothing.c\n+++ b/nothing.c\n@@ -1 +1 @@\n-a\n+b\n",
    );
    let reg = w.registry();
    let p = w.plan(&reg, &["BBSDK_PACKAGE_LONELY"], &[]);
    let e = w.build(&reg, &p).unwrap_err();
    assert!(matches!(e, BuildError::Patch { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("0001-nonsense.patch") && msg.contains("does not apply"),
        "{msg}"
    );
}

#[test]
fn a_second_build_does_nothing() {
    let w = world();
    let reg = w.registry();
    let p = default_plan(&w, &reg);
    w.build(&reg, &p).unwrap();
    let t0 = Instant::now();
    let r = w.build(&reg, &p).unwrap();
    let dt = t0.elapsed();
    assert!(r.built.is_empty() && r.from_cache.is_empty(), "{r:?}");
    assert_eq!(sorted(&r.skipped), ALL);
    assert!(!r.merged);
    eprintln!("no-op build of 5 packages: {dt:?}");
    // Removing a merged directory by hand makes the next run re-assemble it.
    std::fs::remove_dir_all(w.out.join("target")).unwrap();
    let r = w.build(&reg, &p).unwrap();
    assert!(r.merged && r.built.is_empty());
    assert!(w.out.join("target/usr/bin/hello").is_file());
}

#[test]
fn clean_then_build_comes_from_the_binary_cache() {
    let w = world();
    let reg = w.registry();
    let p = default_plan(&w, &reg);
    w.build(&reg, &p).unwrap();
    std::fs::write(w.out.join(".config"), "BBSDK_ARCH_X86_64=y\n").unwrap();
    build::clean(&w.out).unwrap();
    assert!(!w.out.join("build").exists() && !w.out.join("target").exists());
    assert!(
        w.out.join(".config").is_file(),
        "clean keeps the configuration"
    );
    let r = w.build(&reg, &p).unwrap();
    assert!(r.built.is_empty(), "{r:?}");
    assert_eq!(sorted(&r.from_cache), ALL);
    assert_eq!(
        run(&w.out.join("target/usr/bin/hello")),
        "hello, patched from hello\n"
    );
    assert_eq!(
        run(&w.out.join("host/bin/greet-tool")),
        "hello, patched world\n"
    );
    let share = w.out.join("per-package/lonely/target/usr/share");
    assert_eq!(
        std::fs::read_link(share.join("link")).unwrap(),
        Path::new("ro/file")
    );
    let mode = std::fs::metadata(share.join("ro"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o555);
    let merged = std::fs::metadata(w.out.join("target/usr/share/ro")).unwrap();
    assert_eq!(merged.permissions().mode() & 0o777, 0o555);
    assert_eq!(read(&w.out.join("target/usr/share/link")), "ro\n");
    assert_eq!(
        read(&w.out.join("per-package/hello/files.txt")),
        "staging/usr/bin/hello\ntarget/usr/bin/hello\n"
    );

    // Another output directory shares the target packages' entries; host
    // packages are built for their own prefix (<output>/host).
    let out2 = w.root.join("out2");
    let r = Executor::new(w.settings(&out2), &reg, &p, &w.fetcher)
        .build_all()
        .unwrap();
    assert_eq!(sorted(&r.built), ["host-libgreet"]);
    assert_eq!(
        sorted(&r.from_cache),
        ["hello", "libgreet", "lonely", "motd"]
    );
    assert_eq!(
        run(&out2.join("host/bin/greet-tool")),
        "hello, patched world\n"
    );

    // A corrupt entry is dropped and the package rebuilt (and stored again).
    let hello = p.get("hello").unwrap();
    let entry = w.cache.join(format!("entries/{}.json", hello.identity));
    let d: serde_json::Value = serde_json::from_str(&read(&entry)).unwrap();
    let hex = d["digest"]
        .as_str()
        .unwrap()
        .strip_prefix("sha256:")
        .unwrap();
    let blob = w.cache.join("blobs/sha256").join(hex);
    std::fs::write(&blob, b"this is not a zstd archive").unwrap();
    build::distclean(&w.out).unwrap();
    assert!(!w.out.join(".config").exists());
    let r = w.build(&reg, &p).unwrap();
    assert_eq!(sorted(&r.built), ["hello"]);
    assert_eq!(
        sorted(&r.from_cache),
        ["host-libgreet", "libgreet", "lonely", "motd"]
    );
    assert_eq!(
        run(&w.out.join("target/usr/bin/hello")),
        "hello, patched from hello\n"
    );
    // Stored again: an archive that matches its recorded digest.
    let d: serde_json::Value = serde_json::from_str(&read(&entry)).unwrap();
    let hex = d["digest"]
        .as_str()
        .unwrap()
        .strip_prefix("sha256:")
        .unwrap();
    let blob = w.cache.join("blobs/sha256").join(hex);
    assert_eq!(bbsdk::fetch::sha256_file(&blob).unwrap(), hex);
    assert!(std::fs::metadata(&blob).unwrap().len() > 100);
}

#[test]
fn an_identity_change_rebuilds_the_package_and_its_dependents() {
    let w = world();
    let reg = w.registry();
    let base = [
        "BBSDK_PACKAGE_HELLO",
        "BBSDK_PACKAGE_MOTD",
        "BBSDK_PACKAGE_LONELY",
    ];
    w.build(&reg, &w.plan(&reg, &base, &[])).unwrap();

    // An option of hello: hello only.
    let p = w.plan(&reg, &base, &["BBSDK_PACKAGE_HELLO_SHOUT"]);
    let r = w.build(&reg, &p).unwrap();
    assert_eq!(sorted(&r.built), ["hello"]);
    assert_eq!(
        sorted(&r.skipped),
        ["host-libgreet", "libgreet", "lonely", "motd"]
    );
    assert_eq!(
        run(&w.out.join("target/usr/bin/hello")),
        "hello, patched from hello!\n"
    );

    // An option of libgreet: both its variants and everything built with them.
    let p = w.plan(
        &reg,
        &base,
        &["BBSDK_PACKAGE_HELLO_SHOUT", "BBSDK_PACKAGE_LIBGREET_LOUD"],
    );
    let r = w.build(&reg, &p).unwrap();
    assert_eq!(
        sorted(&r.built),
        ["hello", "host-libgreet", "libgreet", "motd"]
    );
    assert_eq!(sorted(&r.skipped), ["lonely"]);
    assert_eq!(
        run(&w.out.join("target/usr/bin/hello")),
        "HELLO, PATCHED from hello!\n"
    );
    assert_eq!(
        read(&w.out.join("target/etc/motd")),
        "HELLO, PATCHED world\n"
    );

    // Back to the first configuration: everything comes from the cache.
    let r = w.build(&reg, &w.plan(&reg, &base, &[])).unwrap();
    assert!(r.built.is_empty(), "{r:?}");
    assert_eq!(
        sorted(&r.from_cache),
        ["hello", "host-libgreet", "libgreet", "motd"]
    );
    assert_eq!(
        run(&w.out.join("target/usr/bin/hello")),
        "hello, patched from hello\n"
    );
}

#[test]
fn removing_a_package_removes_its_files() {
    let w = world();
    let reg = w.registry();
    w.build(&reg, &default_plan(&w, &reg)).unwrap();
    assert!(w.out.join("target/etc/motd").is_file());
    let p = w.plan(&reg, &["BBSDK_PACKAGE_HELLO", "BBSDK_PACKAGE_LONELY"], &[]);
    let r = w.build(&reg, &p).unwrap();
    assert!(
        r.built.is_empty() && r.from_cache.is_empty() && r.merged,
        "{r:?}"
    );
    assert!(!w.out.join("target/etc/motd").exists());
    // host-libgreet was only there for motd.
    assert!(!w.out.join("host/bin/greet-tool").exists());
    assert!(w.out.join("target/usr/bin/hello").is_file());
    assert!(w.out.join("target/etc/lonely").is_file());
    assert_eq!(
        read(&w.out.join(".bbsdk-merged")).lines().count(),
        3,
        "libgreet, hello, lonely"
    );
}

#[test]
fn the_output_lock_stops_a_second_build() {
    let w = world();
    let reg = w.registry();
    let p = w.plan(&reg, &["BBSDK_PACKAGE_LONELY"], &[]);
    let lock = OutputLock::acquire(&w.out).unwrap();
    let e = w.build(&reg, &p).unwrap_err();
    assert!(matches!(e, BuildError::Locked { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains(&w.out.join(".bbsdk.lock").display().to_string()),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("(pid {})", std::process::id())),
        "{msg}"
    );
    assert!(matches!(
        build::clean(&w.out),
        Err(BuildError::Locked { .. })
    ));
    drop(lock);
    assert_eq!(w.build(&reg, &p).unwrap().built, ["lonely"]);
}

#[test]
fn rebuild_reconfigure_and_dirclean() {
    let w = world();
    let reg = w.registry();
    let p = default_plan(&w, &reg);
    w.build(&reg, &p).unwrap();
    let exec = Executor::new(w.settings(&w.out), &reg, &p, &w.fetcher);
    let log = w.out.join("build/libgreet-1.0/build.log");
    let last_run = || {
        let text = read(&log);
        let i = text.rfind("==== bbsdk:").unwrap();
        let j = text[..i].rfind("==== bbsdk:").unwrap();
        text[j..].to_string()
    };

    let r = exec.rebuild("libgreet").unwrap();
    assert_eq!(r.built, ["libgreet"]);
    assert!(r.merged);
    let run1 = last_run();
    assert!(run1.contains("rebuild of libgreet"), "{run1}");
    assert!(
        run1.contains("Building") && !run1.contains("Configuring") && !run1.contains("Extracting")
    );

    let r = exec.reconfigure("libgreet").unwrap();
    assert_eq!(r.built, ["libgreet"]);
    let run2 = last_run();
    assert!(
        run2.contains("Configuring") && run2.contains("Building") && !run2.contains("Extracting")
    );

    exec.dirclean("hello").unwrap();
    assert!(!w.out.join("build/hello-1.0").exists());
    assert!(!w.out.join("per-package/hello").exists());
    let r = exec.build(&["hello".to_string()]).unwrap();
    assert_eq!(r.from_cache, ["hello"]);
    assert_eq!(sorted(&r.skipped), ["libgreet"]);
    assert!(r.merged);

    let e = exec.rebuild("nope").unwrap_err().to_string();
    assert!(e.contains("\"nope\" is not part of the build plan"), "{e}");
}

#[test]
fn builds_see_a_clean_documented_environment() {
    let w = world();
    w.recipe(
        "envdump",
        "[dependencies]\nbuild = [\"libgreet\"]\n\n[build]\nsystem = \"generic\"\n\n[build.env]\nGREETING = \"from ${PKG_NAME}\"\n\n[build.steps]\ninstall_target = \"mkdir -p \\\"$TARGET_DIR\\\" && env | sort > \\\"$TARGET_DIR/env.txt\\\" && echo \\\"DESTDIR_IN_STEP=$DESTDIR\\\" >> \\\"$TARGET_DIR/env.txt\\\"\"\n",
    );
    let reg = w.registry();
    let p = w.plan(&reg, &["BBSDK_PACKAGE_ENVDUMP"], &[]);
    // SAFETY-free in this test binary: no other test reads this variable.
    std::env::set_var("BBSDK_TEST_LEAK", "leaked");
    w.build(&reg, &p).unwrap();
    let env = read(&w.out.join("target/env.txt"));
    let var = |k: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("{k} missing from:\n{env}"))
            .to_string()
    };
    assert!(!env.contains("BBSDK_TEST_LEAK"), "{env}");
    let out = w.out.display().to_string();
    let tuple = ToolchainEnv::host_gcc().unwrap().target_tuple;
    assert_eq!(var("LANG"), "C");
    assert_eq!(var("PKG_NAME"), "envdump");
    assert_eq!(var("PKG_VERSION"), "1.0");
    assert_eq!(var("BBSDK_OUTPUT"), out);
    assert_eq!(
        var("STAGING_DIR"),
        format!("{out}/build/envdump-1.0/.bbsdk-view/staging")
    );
    assert_eq!(
        var("TARGET_DIR"),
        format!("{out}/per-package/envdump/target")
    );
    assert_eq!(
        var("DESTDIR_IN_STEP"),
        format!("{out}/per-package/envdump/target")
    );
    assert_eq!(var("HOST_DIR"), format!("{out}/host"));
    assert_eq!(var("SRC_DIR"), format!("{out}/build/envdump-1.0"));
    assert_eq!(var("BUILD_DIR"), var("SRC_DIR"));
    assert_eq!(var("TARGET_TUPLE"), tuple);
    assert_eq!(var("JOBS"), "2");
    assert_eq!(var("CC"), "gcc");
    assert_eq!(var("HOSTCC"), "gcc");
    assert_eq!(var("PREFIX"), "/usr");
    assert_eq!(var("GREETING"), "from envdump");
    assert!(var("CFLAGS").contains(&format!(
        "-I{out}/build/envdump-1.0/.bbsdk-view/staging/usr/include"
    )));
    assert!(var("LDFLAGS").contains("/.bbsdk-view/staging/usr/lib"));
    assert!(var("PKG_CONFIG_SYSROOT_DIR").ends_with("/.bbsdk-view/staging"));
    assert!(var("MAKEFLAGS").contains("--jobserver-auth="), "{env}");
    assert!(var("PATH").starts_with(&format!("{out}/build/envdump-1.0/.bbsdk-view/host/bin:")));
    // The view holds the declared dependency's staging files.
    assert!(w
        .out
        .join("build/envdump-1.0/.bbsdk-view/staging/usr/include/greet.h")
        .is_file());
}

//! The cmake, meson and kconfig infrastructures and the jobserver, with the
//! real tools (cmake, meson and ninja come from scripts/setup-host.sh).
//!
//! `cgreet` is a CMake library with a host tool (target and host variants);
//! `mprog` is a Meson program that links it through its staging view and
//! runs `cgreet-tool` from `host-cgreet` at build time; `kbox` uses the
//! kconfig infrastructure with a config file and a fragment named by
//! configuration symbols.

mod common;

use std::process::Command;

use bbsdk::build::{BuildError, Executor, Step};

use common::{read, run, sorted, World};

const CGREET_CMAKE: &str = "cmake_minimum_required(VERSION 3.13)
project(cgreet C)
add_library(cgreet STATIC cgreet.c)
add_executable(cgreet-tool tool.c)
install(TARGETS cgreet ARCHIVE DESTINATION lib)
install(TARGETS cgreet-tool RUNTIME DESTINATION bin)
install(FILES cgreet.h DESTINATION include)
";
const CGREET_H: &str = "const char *cgreet(void);\n";
const CGREET_C: &str =
    "#include \"cgreet.h\"\nconst char *cgreet(void) { return \"cgreet says hi\"; }\n";
const CGREET_TOOL: &str = r##"#include <stdio.h>
int main(int argc, char **argv)
{
	FILE *f;
	if (argc != 2 || !(f = fopen(argv[1], "w"))) return 1;
	fprintf(f, "#define MSG \"made by cgreet-tool\"\n");
	return fclose(f) != 0;
}
"##;

const MPROG_MESON: &str = "project('mprog', 'c')
cc = meson.get_compiler('c')
greet = cc.find_library('cgreet', required: true)
assert(cc.has_header('cgreet.h'), 'cgreet.h is not in the staging view')
tool = find_program('cgreet-tool', native: true)
msg = custom_target('msg', output: 'msg.h', command: [tool, '@OUTPUT@'])
executable('mprog', 'mprog.c', msg, dependencies: greet, install: true)
";
const MPROG_C: &str = "#include <stdio.h>\n#include <cgreet.h>\n#include \"msg.h\"\nint main(void)\n{\n\tprintf(\"%s; %s\\n\", cgreet(), MSG);\n\treturn 0;\n}\n";

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn require(tools: &[&str]) {
    for t in tools {
        assert!(
            have(t),
            "{t} is not installed: run scripts/setup-host.sh (it installs cmake, meson and ninja-build)"
        );
    }
}

#[test]
fn cmake_and_meson_packages_cross_and_host() {
    require(&["cmake", "meson", "ninja"]);
    let w = World::empty();
    let src = w.source(
        "cgreet-1.0",
        &[
            ("CMakeLists.txt", CGREET_CMAKE, 0o644),
            ("cgreet.h", CGREET_H, 0o644),
            ("cgreet.c", CGREET_C, 0o644),
            ("tool.c", CGREET_TOOL, 0o644),
        ],
    );
    w.recipe(
        "cgreet",
        &format!("variants = [\"target\", \"host\"]\n{src}\n[build]\nsystem = \"cmake\"\n"),
    );
    let src = w.source(
        "mprog-1.0",
        &[
            ("meson.build", MPROG_MESON, 0o644),
            ("mprog.c", MPROG_C, 0o644),
        ],
    );
    w.recipe(
        "mprog",
        &format!("{src}\n[dependencies]\nbuild = [\"cgreet\", \"host-cgreet\"]\n\n[build]\nsystem = \"meson\"\n"),
    );
    let reg = w.registry();
    let p = w.plan(&reg, &["BBSDK_PACKAGE_MPROG"], &[]);
    let r = match w.build(&reg, &p) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(sorted(&r.built), ["cgreet", "host-cgreet", "mprog"]);
    let out = &w.out;
    assert_eq!(
        run(&out.join("target/usr/bin/mprog")),
        "cgreet says hi; made by cgreet-tool\n"
    );
    assert!(out.join("staging/usr/include/cgreet.h").is_file());
    assert!(out.join("staging/usr/lib/libcgreet.a").is_file());
    assert!(out.join("host/bin/cgreet-tool").is_file());
    assert!(out.join("host/lib/libcgreet.a").is_file());
    // Cross builds get a generated toolchain/cross file; out-of-tree build dirs.
    let tc = read(&out.join("build/cgreet-1.0/.bbsdk-toolchain.cmake"));
    assert!(tc.contains("set(CMAKE_SYSTEM_NAME Linux)") && tc.contains("CMAKE_FIND_ROOT_PATH"));
    assert!(out
        .join("build/cgreet-1.0/bbsdk-build/CMakeCache.txt")
        .is_file());
    assert!(!out
        .join("build/host-cgreet-1.0/.bbsdk-toolchain.cmake")
        .exists());
    let cross = read(&out.join("build/mprog-1.0/.bbsdk-cross.ini"));
    assert!(cross.contains("[host_machine]") && cross.contains("cpu_family = 'x86_64'"));
    let log = read(&out.join("build/host-cgreet-1.0/build.log"));
    assert!(log.contains(&format!("-DCMAKE_INSTALL_PREFIX={}/host", out.display())));
    let log = read(&out.join("build/mprog-1.0/build.log"));
    assert!(log.contains("meson setup") && log.contains("meson install"));
}

const KBOX_MAKEFILE: &str = "all:
\t. ./.config && echo \"$$CONFIG_GREETING $$CONFIG_EXTRA $$CONFIG_SHOUT\" > greeting.txt
install:
\tinstall -D -m 644 greeting.txt $(DESTDIR)/etc/greeting
";

/// kbox's own Kconfig tree: bbsdk's engine runs olddefconfig over it.
const KBOX_KCONFIG: &str = "config GREETING
\tstring \"Greeting\"
\tdefault \"default\"

config EXTRA
\tstring \"Extra words\"
\tdefault \"\"

config SHOUT
\tbool \"Shout\"
\tdefault y
";

#[test]
fn kconfig_packages_get_their_config_file_and_fragments() {
    let w = World::empty();
    let src = w.source(
        "kbox-1.0",
        &[
            ("Makefile", KBOX_MAKEFILE, 0o644),
            ("Config.in", KBOX_KCONFIG, 0o644),
        ],
    );
    w.recipe(
        "kbox",
        &format!("{src}\n[build]\nsystem = \"kconfig\"\n\n[build.kconfig]\nconfig_symbol = \"BBSDK_PACKAGE_KBOX_CONFIG\"\nfragments_symbol = \"BBSDK_PACKAGE_KBOX_FRAGMENTS\"\n"),
    );
    std::fs::create_dir_all(w.root.join("board")).unwrap();
    std::fs::write(
        w.root.join("board/kbox.config"),
        "CONFIG_GREETING=\"from-config\"\n",
    )
    .unwrap();
    std::fs::write(
        w.root.join("board/extra.fragment"),
        "CONFIG_EXTRA=\"and-fragment\"",
    )
    .unwrap();
    let reg = w.registry();
    let p = w.plan_values(
        &reg,
        &[
            ("BBSDK_PACKAGE_KBOX", "y"),
            ("BBSDK_PACKAGE_KBOX_CONFIG", "board/kbox.config"),
            ("BBSDK_PACKAGE_KBOX_FRAGMENTS", "board/extra.fragment"),
        ],
    );
    let r = w.build(&reg, &p).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.built, ["kbox"]);
    // The file and the fragment, and SHOUT's default from olddefconfig.
    assert_eq!(
        read(&w.out.join("target/etc/greeting")),
        "from-config and-fragment y\n"
    );
    let config = read(&w.out.join("build/kbox-1.0/.config"));
    assert!(config.contains("CONFIG_SHOUT=y\n"), "{config}");

    // No configuration file: a recipe error that says which symbol.
    let p = w.plan_values(&reg, &[("BBSDK_PACKAGE_KBOX", "y")]);
    let e = w.build(&reg, &p).unwrap_err().to_string();
    assert!(
        e.contains("BBSDK_PACKAGE_KBOX_CONFIG names no configuration file"),
        "{e}"
    );
}

/// Two make targets that only finish when both run at the same time.
const RENDEZVOUS: &str = "all: a b
a:
\ttouch a.started; for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do [ -e b.started ] && exit 0; sleep 0.1; done; echo 'b never ran alongside a'; exit 1
b:
\ttouch b.started; for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do [ -e a.started ] && exit 0; sleep 0.1; done; echo 'a never ran alongside b'; exit 1
install:
\tmkdir -p $(DESTDIR)/etc && echo ok > $(DESTDIR)/etc/rendezvous
";

#[test]
fn sub_makes_share_the_jobserver_tokens() {
    let w = World::empty();
    let src = w.source("rdv-1.0", &[("Makefile", RENDEZVOUS, 0o644)]);
    w.recipe("rdv", &format!("{src}\n[build]\nsystem = \"make\"\n"));
    let reg = w.registry();
    let p = w.plan(&reg, &["BBSDK_PACKAGE_RDV"], &[]);

    // One token: the package holds it, make gets no second job.
    let mut s = w.settings(&w.out);
    s.jobs = 1;
    s.cache_dir = None;
    let e = Executor::new(s, &reg, &p, &w.fetcher)
        .build_all()
        .unwrap_err();
    match &e {
        BuildError::Command { step, tail, .. } => {
            assert_eq!(*step, Step::Build);
            assert!(
                tail.iter().any(|l| l.contains("never ran alongside")),
                "{e}"
            );
        }
        other => panic!("unexpected error: {other}"),
    }

    // Two tokens: make takes the second one from the executor's jobserver.
    let mut s = w.settings(&w.out);
    s.jobs = 2;
    s.cache_dir = None;
    let r = Executor::new(s, &reg, &p, &w.fetcher)
        .build_all()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.built, ["rdv"]);
    let log = read(&w.out.join("build/rdv-1.0/build.log"));
    assert!(!log.contains("jobserver unavailable"), "{log}");
}

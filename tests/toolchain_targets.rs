//! The toolchain layer for the six container targets: from each
//! `configs/container_*_defconfig` to a compiler wrapper that builds
//! working static and dynamic C programs. Real compilers, a real musl built
//! from source (aarch64, armv7), programs run natively (x86_64) or through
//! qemu-user via binfmt_misc (aarch64, armv7), dynamic programs in a chroot
//! holding only what `rootfs::install_runtime_libs` copied.
//!
//! Needs scripts/setup-host.sh (cross gcc, musl-tools, kernel headers,
//! qemu-user-static with binfmt_misc) and root (chroot). The musl sysroots
//! are cached in `$CARGO_TARGET_TMPDIR/toolchain-cache`, shared by the tests
//! and later runs: built once per target directory. Building the kernel
//! headers from the Linux source is opt-in: `BBSDK_TEST_KERNEL_SOURCE=1`
//! (README.md, "Slow tests").

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bbsdk::defconfig::{apply_defconfig, Paths};
use bbsdk::fetch::{Fetcher, Mirrors};
use bbsdk::project::Project;
use bbsdk::rootfs::{dynamic_needs, install_runtime_libs};
use bbsdk::toolchain::{prepare, Kind, Prepared, Setup};

#[path = "support/http.rs"]
mod http;
#[path = "support/opt_in.rs"]
mod opt_in;

const HELLO: &str = r#"#include <stdio.h>
#include <pthread.h>
#include <linux/version.h>
static void *twice(void *p) { return (void *)((long)p * 2); }
int main(void) {
    pthread_t t; void *r;
    if (pthread_create(&t, 0, twice, (void *)21) || pthread_join(t, &r)) return 1;
    printf("hello %ld linux>=%d\n", (long)r, LINUX_VERSION_CODE >= KERNEL_VERSION(4, 0, 0));
    return 0;
}
"#;

fn shared(dir: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(dir)
}

/// A configured output directory for `defconfig`, and its toolchain.
fn prepared(defconfig: &str, output: &Path) -> (Project, Prepared) {
    let (project, p) = prepared_with_cache(defconfig, output, &shared("toolchain-cache"));
    let p = p.unwrap_or_else(|e| panic!("{defconfig}: {e}\n(run scripts/setup-host.sh)"));
    (project, p)
}

/// [`prepared`] with another cache directory, the error left to the caller.
fn prepared_with_cache(
    defconfig: &str,
    output: &Path,
    cache: &Path,
) -> (Project, Result<Prepared, bbsdk::toolchain::ToolchainError>) {
    let paths = Paths {
        top: PathBuf::from(env!("CARGO_MANIFEST_DIR")),
        output: output.to_path_buf(),
    };
    apply_defconfig(&paths, defconfig).unwrap_or_else(|e| panic!("{defconfig}: {e}"));
    let project = Project::open(paths).unwrap();
    let fetcher = Fetcher::new(shared("dl"), Mirrors::default()).unwrap();
    let p = prepare(&Setup {
        target: &project.target,
        values: &project.values,
        top: &project.paths.top,
        output: &project.paths.output,
        cache_dir: cache,
        fetcher: &fetcher,
        jobs: 2,
    });
    (project, p)
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn ok(o: &Output, what: &str) -> String {
    assert!(
        o.status.success(),
        "{what}: {}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn elf_machine(bytes: &[u8]) -> u16 {
    use object::Object;
    let f = object::File::parse(bytes).unwrap();
    match f.architecture() {
        object::Architecture::X86_64 => 62,
        object::Architecture::Aarch64 => 183,
        object::Architecture::Arm => 40,
        a => panic!("unexpected architecture {a:?}"),
    }
}

/// Compiles HELLO static and dynamic with the wrapper, runs both (the
/// dynamic one in a chroot with only the runtime libraries bbsdk copied),
/// and checks the ELF files. Returns the real compiler the wrapper runs.
fn check_target(defconfig: &str, kind: Kind, machine: u16, loader: &str, libs: &[&str]) -> PathBuf {
    let out = tempfile::tempdir().unwrap();
    let (project, p) = prepared(defconfig, out.path());
    assert_eq!(p.kind, kind, "{defconfig}");
    let cc = &p.toolchain.cc;
    assert!(
        cc.starts_with(out.path().join("toolchain/bin")),
        "{defconfig}: CC is the wrapper: {}",
        cc.display()
    );
    let env = p.toolchain.env();
    assert_eq!(env["CC"], cc.display().to_string());
    let work = out.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let src = work.join("hello.c");
    std::fs::write(&src, HELLO).unwrap();
    let want = "hello 42 linux>=1\n";

    // Static.
    let st = work.join("hello-static");
    ok(
        &run(Command::new(cc)
            .args(&p.toolchain.cflags)
            .arg("-static")
            .arg(&src)
            .arg("-o")
            .arg(&st)
            .arg("-lpthread")),
        &format!("{defconfig}: static link"),
    );
    let bytes = std::fs::read(&st).unwrap();
    assert_eq!(elf_machine(&bytes), machine, "{defconfig}");
    let needs = dynamic_needs(&bytes).unwrap();
    assert_eq!(needs.interpreter, None, "{defconfig}: static has no loader");
    assert!(needs.needed.is_empty(), "{defconfig}: {:?}", needs.needed);
    assert_eq!(ok(&run(&mut Command::new(&st)), defconfig), want);

    // Dynamic, run in a root holding only the program and what it needs.
    let root = work.join("root");
    std::fs::create_dir_all(root.join("usr/bin")).unwrap();
    let dy = root.join("usr/bin/hello");
    ok(
        &run(Command::new(cc)
            .args(&p.toolchain.cflags)
            .arg(&src)
            .arg("-o")
            .arg(&dy)
            .arg("-lpthread")),
        &format!("{defconfig}: dynamic link"),
    );
    let bytes = std::fs::read(&dy).unwrap();
    assert_eq!(elf_machine(&bytes), machine, "{defconfig}");
    let needs = dynamic_needs(&bytes).unwrap();
    assert_eq!(needs.interpreter.as_deref(), Some(loader), "{defconfig}");
    let copied = install_runtime_libs(&root, &p.runtime_lib_dirs).unwrap();
    let copied: BTreeSet<String> = copied.iter().map(|c| c.display().to_string()).collect();
    let expected: BTreeSet<String> = libs.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        copied, expected,
        "{defconfig}: exactly the runtime libraries"
    );
    let o = run(Command::new("chroot").arg(&root).arg("/usr/bin/hello"));
    assert_eq!(
        ok(
            &o,
            &format!("{defconfig}: dynamic program in a chroot (needs root)")
        ),
        want
    );
    drop(project);
    p.real_cc
}

#[test]
fn x86_64_glibc() {
    check_target(
        "container_x86_64_glibc_defconfig",
        Kind::External,
        62,
        "/lib64/ld-linux-x86-64.so.2",
        &["lib/libc.so.6", "lib64/ld-linux-x86-64.so.2"],
    );
}

#[test]
fn x86_64_musl() {
    check_target(
        "container_x86_64_musl_defconfig",
        Kind::External,
        62,
        "/lib/ld-musl-x86_64.so.1",
        &["lib/libc.so", "lib/ld-musl-x86_64.so.1"],
    );
}

#[test]
fn aarch64_glibc() {
    check_target(
        "container_aarch64_glibc_defconfig",
        Kind::External,
        183,
        "/lib/ld-linux-aarch64.so.1",
        &["lib/libc.so.6", "lib/ld-linux-aarch64.so.1"],
    );
}

#[test]
fn armv7_glibc() {
    check_target(
        "container_armv7_glibc_defconfig",
        Kind::External,
        40,
        "/lib/ld-linux-armhf.so.3",
        &["lib/libc.so.6", "lib/ld-linux-armhf.so.3"],
    );
}

#[test]
fn aarch64_musl_built_by_bbsdk() {
    check_target(
        "container_aarch64_musl_defconfig",
        Kind::BbsdkLibc,
        183,
        "/lib/ld-musl-aarch64.so.1",
        &["lib/libc.so", "lib/ld-musl-aarch64.so.1"],
    );
}

/// armv7 musl: a second musl sysroot, built when cold.
#[test]
fn armv7_musl_built_by_bbsdk() {
    check_target(
        "container_armv7_musl_defconfig",
        Kind::BbsdkLibc,
        40,
        "/lib/ld-musl-armhf.so.1",
        &["lib/libc.so", "lib/ld-musl-armhf.so.1"],
    );
}

/// A second output directory reuses the cached sysroot: nothing is built.
#[test]
fn musl_sysroot_is_built_once_and_reused() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let (_, first) = prepared("container_aarch64_musl_defconfig", a.path());
    let (_, second) = prepared("container_aarch64_musl_defconfig", b.path());
    assert_eq!(first.cached.len(), 2, "kernel headers and musl");
    for (x, y) in first.cached.iter().zip(&second.cached) {
        assert_eq!(x.path, y.path);
        assert_eq!(x.identity, y.identity);
        assert!(y.reused, "{} was built again", y.path.display());
    }
    let sysroot = &second.cached[1].path;
    // Built by bbsdk: its build log is kept beside it.
    let log = std::fs::read_to_string(sysroot.parent().unwrap().join("build.log")).unwrap();
    assert!(
        log.contains("--disable-wrapper") && log.contains("make install"),
        "{log}"
    );
    for f in [
        "usr/lib/libc.a",
        "usr/lib/crt1.o",
        "usr/include/linux/version.h",
    ] {
        assert!(sysroot.join(f).is_file(), "{f}");
    }
    assert_eq!(
        std::fs::read_link(sysroot.join("lib/ld-musl-aarch64.so.1")).unwrap(),
        Path::new("../usr/lib/libc.so")
    );
    // Same toolchain, other output directory: same identity for the packages.
    assert_eq!(first.identity(), second.identity());
}

#[test]
fn wrapper_rejects_host_paths() {
    let out = tempfile::tempdir().unwrap();
    let (_, p) = prepared("container_x86_64_glibc_defconfig", out.path());
    let src = out.path().join("t.c");
    std::fs::write(&src, "int main(void) { return 0; }\n").unwrap();
    for bad in [
        vec!["-I/usr/include"],
        vec!["-I", "/usr/include/x86_64-linux-gnu"],
        vec!["-L/usr/lib"],
        vec!["-L", "/lib"],
        vec!["-isystem/usr/local/include"],
    ] {
        let o = run(Command::new(&p.toolchain.cc)
            .args(&bad)
            .arg(&src)
            .arg("-o")
            .arg(out.path().join("t"))
            .env_remove("BBSDK_COMPILER_PARANOID_UNSAFE_PATH"));
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{bad:?} accepted");
        assert!(
            e.contains("error: unsafe host path in")
                && e.contains(bad.last().unwrap())
                && e.contains("(BBSDK_COMPILER_PARANOID_UNSAFE_PATH)")
                && e.contains("hint:"),
            "{bad:?}: {e}"
        );
    }
    // Relaxed by the environment: a warning, and the compile goes on.
    let o = run(Command::new(&p.toolchain.cc)
        .arg("-I/usr/include")
        .arg(&src)
        .arg("-o")
        .arg(out.path().join("t"))
        .env("BBSDK_COMPILER_PARANOID_UNSAFE_PATH", "warn"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("warning: unsafe host path"));
    // Paths that only start like a host directory, and the output's own, pass.
    let o = run(Command::new(&p.toolchain.cc)
        .arg("-I/usr/includefoo")
        .arg(format!("-L{}", out.path().display()))
        .arg(&src)
        .arg("-o")
        .arg(out.path().join("t")));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// A library the target already has is used, not copied; one found
/// nowhere is an error naming it. Shared libraries get no loader.
#[test]
fn runtime_libraries_come_from_the_target_first() {
    let out = tempfile::tempdir().unwrap();
    let (_, p) = prepared("container_aarch64_musl_defconfig", out.path());
    let cc = &p.toolchain.cc;
    let work = out.path().join("work");
    let root = work.join("root");
    std::fs::create_dir_all(root.join("usr/lib")).unwrap();
    std::fs::create_dir_all(root.join("usr/bin")).unwrap();
    std::fs::write(
        work.join("foo.c"),
        "#include <stdlib.h>\nint foo(void) { return atoi(\"42\"); }\n",
    )
    .unwrap();
    std::fs::write(
        work.join("main.c"),
        "#include <stdio.h>\nint foo(void);\nint main(void) { printf(\"foo %d\\n\", foo()); return 0; }\n",
    )
    .unwrap();
    let lib = root.join("usr/lib/libfoo.so");
    ok(
        &run(Command::new(cc)
            .args(["-shared", "-fPIC", "-o"])
            .arg(&lib)
            .arg(work.join("foo.c"))),
        "shared library",
    );
    let needs = dynamic_needs(&std::fs::read(&lib).unwrap()).unwrap();
    assert_eq!(needs.interpreter, None, "a shared library has no loader");
    assert_eq!(needs.needed, vec!["libc.so".to_string()]);
    let prog = root.join("usr/bin/foo");
    ok(
        &run(Command::new(cc)
            .arg(work.join("main.c"))
            .arg(format!("-L{}", root.join("usr/lib").display()))
            .arg("-lfoo")
            .arg("-o")
            .arg(&prog)),
        "program using libfoo",
    );
    // Without libfoo in the target: an error naming it and the program.
    std::fs::rename(&lib, work.join("libfoo.so")).unwrap();
    let e = install_runtime_libs(&root, &p.runtime_lib_dirs)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("usr/bin/foo") && e.contains("needs libfoo.so") && e.contains("hint:"),
        "{e}"
    );
    // With it: only libc and the loader are copied, libfoo is the target's.
    std::fs::rename(work.join("libfoo.so"), &lib).unwrap();
    let _ = std::fs::remove_dir_all(root.join("lib"));
    let copied = install_runtime_libs(&root, &p.runtime_lib_dirs).unwrap();
    assert_eq!(
        copied,
        vec![
            PathBuf::from("lib/ld-musl-aarch64.so.1"),
            PathBuf::from("lib/libc.so")
        ]
    );
    let o = run(Command::new("chroot").arg(&root).arg("/usr/bin/foo"));
    assert_eq!(ok(&o, "foo in a chroot"), "foo 42\n");
}

/// `bbsdk source` also fetches what the toolchain builds from.
#[test]
fn source_fetches_the_musl_source() {
    let out = tempfile::tempdir().unwrap();
    let bbsdk = |args: &[&str]| {
        run(Command::new(env!("CARGO_BIN_EXE_bbsdk"))
            .arg("-O")
            .arg(out.path())
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("BBSDK_DL_DIR", shared("dl")))
    };
    ok(
        &bbsdk(&["make", "container_armv7_musl_defconfig"]),
        "defconfig",
    );
    let listed = ok(&bbsdk(&["source"]), "bbsdk source");
    assert!(listed.contains("musl-1.2.3.tar.gz"), "{listed}");
    assert!(shared("dl").join("musl-1.2.3.tar.gz").is_file());
}

/// What `bbsdk source` fetches for the internal toolchain (listed only:
/// the gcc source alone is 87 MB): binutils', gcc's and musl's releases
/// from the lists, with their checksums.
#[test]
fn internal_toolchain_sources_are_listed_for_bbsdk_source() {
    let out = tempfile::tempdir().unwrap();
    let paths = Paths {
        top: PathBuf::from(env!("CARGO_MANIFEST_DIR")),
        output: out.path().to_path_buf(),
    };
    apply_defconfig(&paths, "container_aarch64_musl_internal_defconfig").unwrap();
    let project = Project::open(paths).unwrap();
    let files: Vec<(String, usize)> =
        bbsdk::toolchain::sources(&project.values, &project.paths.top)
            .unwrap()
            .into_iter()
            .map(|s| (s.file_name, s.sha256.len()))
            .collect();
    assert_eq!(
        files,
        [
            ("binutils_2.40.orig.tar.xz".to_string(), 64),
            ("gcc-12_12.2.0.orig.tar.gz".to_string(), 64),
            ("musl-1.2.3.tar.gz".to_string(), 64),
        ]
    );
}

/// Opt-in (a 137 MB download and `make headers_install`): the kernel
/// headers built from Debian's Linux 6.1.4 source equal, file for file, the
/// ones Debian's linux-libc-dev-arm64-cross 6.1.4 package ships.
#[test]
fn kernel_headers_from_source_match_debians() {
    use bbsdk::target::{Arch, Libc, Target};
    use bbsdk::toolchain::bbsdk_libc::{kernel_headers, linux_source, HeadersFrom};
    if !opt_in::opted_in(
        "BBSDK_TEST_KERNEL_SOURCE",
        "kernel_headers_from_source_match_debians",
        "downloads and unpacks the Linux source",
    ) {
        return;
    }
    let target = Target {
        arch: Arch::Aarch64,
        libc: Libc::Musl,
        hard_float: true,
    };
    let top = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cache = shared("toolchain-cache");
    let fetcher = Fetcher::new(shared("dl"), Mirrors::default()).unwrap();
    let source = linux_source(top, "6.1.4").unwrap();
    let from = HeadersFrom::Source {
        source: &source,
        fetcher: &fetcher,
        jobs: 2,
    };
    let built = kernel_headers(&target, &cache, &from).unwrap();
    let again = kernel_headers(&target, &cache, &from).unwrap();
    assert!(again.reused && again.path == built.path);
    let debian = kernel_headers(&target, &cache, &HeadersFrom::Debian).unwrap();
    let files = |root: &Path| -> BTreeSet<String> {
        walkdir::WalkDir::new(root)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .map(|e| e.path().strip_prefix(root).unwrap().display().to_string())
            .collect()
    };
    let a = files(&built.path.join("usr/include"));
    let b = files(&debian.path.join("usr/include"));
    assert!(a.len() > 800, "{} headers", a.len());
    assert_eq!(a, b, "same files");
    for f in &a {
        assert_eq!(
            std::fs::read(built.path.join("usr/include").join(f)).unwrap(),
            std::fs::read(debian.path.join("usr/include").join(f)).unwrap(),
            "{f}"
        );
    }
}

/// Debian's aarch64 cross toolchain, relocated into a tarball the way
/// prebuilt toolchains are shipped (`<top>/bin/aarch64-linux-gnu-gcc`,
/// gcc's own files and the target's C library beside it), served over
/// local HTTP and configured by URL and checksum.
fn downloadable_toolchain(dir: &Path) -> (PathBuf, String) {
    use sha2::{Digest, Sha256};
    let archive = dir.join("aarch64-linux-gnu-toolchain.tar.gz");
    let f = std::fs::File::create(&archive).unwrap();
    let gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    tar.follow_symlinks(false);
    let top = Path::new("aarch64-linux-gnu-toolchain");
    for e in std::fs::read_dir("/usr/bin").unwrap() {
        let e = e.unwrap();
        let name = e.file_name().into_string().unwrap();
        if name.starts_with("aarch64-linux-gnu-") {
            tar.append_path_with_name(e.path(), top.join("bin").join(&name))
                .unwrap();
        }
    }
    tar.append_dir_all(
        top.join("lib/gcc-cross/aarch64-linux-gnu"),
        "/usr/lib/gcc-cross/aarch64-linux-gnu",
    )
    .unwrap();
    tar.append_dir_all(top.join("aarch64-linux-gnu"), "/usr/aarch64-linux-gnu")
        .unwrap();
    tar.into_inner().unwrap().finish().unwrap();
    let sha = hex::encode(Sha256::digest(std::fs::read(&archive).unwrap()));
    (archive, sha)
}

fn download_defconfig(dir: &Path, url: &str, sha256: &str) -> PathBuf {
    let d = dir.join("download_defconfig");
    std::fs::write(
        &d,
        format!(
            "BBSDK_ARCH_AARCH64=y\nBBSDK_LIBC_GLIBC=y\nBBSDK_TOOLCHAIN_EXTERNAL_DOWNLOAD=y\nBBSDK_TOOLCHAIN_EXTERNAL_URL=\"{url}\"\nBBSDK_TOOLCHAIN_EXTERNAL_SHA256=\"{sha256}\"\nBBSDK_TOOLCHAIN_EXTERNAL_PREFIX=\"aarch64-linux-gnu\"\n"
        ),
    )
    .unwrap();
    d
}

/// `BBSDK_TOOLCHAIN_EXTERNAL_DOWNLOAD`: the archive is fetched, checked,
/// unpacked into the cache and used: the wrapper runs the unpacked gcc,
/// whose programs run (static, and dynamic with the runtime libraries
/// copied from the unpacked tree). A wrong checksum is refused and
/// leaves nothing in the cache.
#[test]
fn aarch64_glibc_from_a_downloaded_toolchain() {
    let dir = tempfile::tempdir().unwrap();
    let (archive, sha) = downloadable_toolchain(dir.path());
    let server = http::TestServer::start();
    let path = "/toolchains/aarch64-linux-gnu-toolchain.tar.gz";
    server.serve(path, &std::fs::read(&archive).unwrap());
    let url = server.url(path);

    // A wrong checksum: an error naming it, nothing unpacked.
    let cache = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let bad = download_defconfig(dir.path(), &url, &"0".repeat(64));
    let (_, p) = prepared_with_cache(bad.to_str().unwrap(), out.path(), cache.path());
    let e = p.expect_err("a wrong checksum is refused").to_string();
    assert!(e.contains("sha256") || e.contains("checksum"), "{e}");
    let left: Vec<_> = std::fs::read_dir(cache.path().join("toolchains"))
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(
        !left.iter().any(|p| p.is_dir()),
        "nothing unpacked: {left:?}"
    );

    let good = download_defconfig(dir.path(), &url, &sha);
    let real = check_target(
        good.to_str().unwrap(),
        Kind::External,
        183,
        "/lib/ld-linux-aarch64.so.1",
        &["lib/libc.so.6", "lib/ld-linux-aarch64.so.1"],
    );
    let unpacked = shared("toolchain-cache")
        .join("toolchains")
        .join(format!("download-{}", &sha[..16]))
        .join("tree/aarch64-linux-gnu-toolchain/bin/aarch64-linux-gnu-gcc");
    assert_eq!(real, unpacked, "the wrapper runs the downloaded gcc");
    assert!(!server.requests(path).is_empty());
}

const HELLO_CXX: &str = r#"#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>
int main() {
    std::vector<std::string> words{"hello", "from", "c++"};
    std::map<std::string, int> lengths;
    for (const auto &w : words) lengths[w] = static_cast<int>(w.size());
    try {
        throw std::runtime_error("caught");
    } catch (const std::exception &e) {
        std::cout << words[0] << ' ' << lengths["from"] << ' ' << e.what() << '\n';
    }
    return 0;
}
"#;

/// Opt-in (`BBSDK_TEST_INTERNAL_TOOLCHAIN=1`, README.md "Slow tests"): the
/// internal toolchain for ARMv7 (hard float, Thumb-2: the architecture
/// flags become gcc's defaults) with C++, built into this file's cache.
/// C programs link and run static and dynamic like every other target's;
/// a C++ program using the standard library and exceptions links static
/// through the `g++` wrapper and runs through qemu-user.
#[test]
fn armv7_musl_internal_toolchain_with_cxx() {
    if !opt_in::internal_toolchain("armv7_musl_internal_toolchain_with_cxx") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let defconfig = dir.path().join("armv7_musl_internal_cxx_defconfig");
    std::fs::write(
        &defconfig,
        "BBSDK_ARCH_ARMV7=y\nBBSDK_TOOLCHAIN_INTERNAL=y\nBBSDK_TOOLCHAIN_INTERNAL_CXX=y\n",
    )
    .unwrap();
    let defconfig = defconfig.to_str().unwrap();
    let real = check_target(
        defconfig,
        Kind::Internal,
        40,
        "/lib/ld-musl-armhf.so.1",
        &["lib/libc.so", "lib/ld-musl-armhf.so.1"],
    );
    assert!(
        real.ends_with("bin/arm-bbsdk-linux-musleabihf-gcc"),
        "{}",
        real.display()
    );

    let out = tempfile::tempdir().unwrap();
    let (_project, p) = prepared(defconfig, out.path());
    let cxx = p.toolchain.cxx.clone().expect("a g++ wrapper");
    assert_eq!(p.toolchain.env()["CXX"], cxx.display().to_string());
    let src = out.path().join("hello.cc");
    std::fs::write(&src, HELLO_CXX).unwrap();
    let prog = out.path().join("hello-cxx");
    ok(
        &run(Command::new(&cxx)
            .args(&p.toolchain.cflags)
            .arg("-static")
            .arg(&src)
            .arg("-o")
            .arg(&prog)),
        "g++ static link",
    );
    let bytes = std::fs::read(&prog).unwrap();
    assert_eq!(elf_machine(&bytes), 40);
    assert!(dynamic_needs(&bytes).unwrap().needed.is_empty());
    assert_eq!(
        ok(&run(&mut Command::new(&prog)), "C++ program"),
        "hello 4 caught\n"
    );
}

//! Gentoo ebuilds in the image: `bbsdk make` with the test repository
//! (tests/gentoo/overlay: a shared library with a .pc file and a program
//! linking it through pkg-config), real Portage from PyPI installed by bbsdk
//! itself, sources fetched by Portage from a local HTTP server, real cross
//! compilers, and the program run inside the image (bwrap; qemu through
//! binfmt for aarch64).
//!
//! Two cases: aarch64 glibc and x86_64 musl.

#[path = "support/http.rs"]
mod http;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha512};

#[path = "support/bbsdk.rs"]
mod run;
use run::shared_cache_home;

const TOP: &str = env!("CARGO_MANIFEST_DIR");
const SOURCES: [&str; 2] = ["libhello-1.0", "hello-1.0"];

/// The two scenarios share the download directory's Gentoo distfiles, which
/// each removes to see Portage fetch them: one at a time.
static SCENARIO: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn bbsdk(out: &Path, args: &[&str]) -> Output {
    run::run(out, args)
}

fn ok(o: Output, what: &str) -> String {
    let text =
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{what} failed:\n{text}");
    text
}

/// A deterministic tarball of `tests/gentoo/src/<name>` (fixed owners,
/// modes and times, sorted), so the repository's Manifest can pin it.
fn tarball(name: &str) -> Vec<u8> {
    let src = Path::new(TOP).join("tests/gentoo/src").join(name);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut b = tar::Builder::new(Vec::new());
    let mut dir = tar::Header::new_ustar();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_path(format!("{name}/")).unwrap();
    dir.set_mode(0o755);
    dir.set_mtime(1_700_000_000);
    dir.set_size(0);
    dir.set_cksum();
    b.append(&dir, std::io::empty()).unwrap();
    for f in files {
        let data = std::fs::read(&f).unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_path(format!(
            "{name}/{}",
            f.file_name().unwrap().to_string_lossy()
        ))
        .unwrap();
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        h.set_size(data.len() as u64);
        h.set_cksum();
        b.append(&h, &data[..]).unwrap();
    }
    b.into_inner().unwrap()
}

/// Checks the tarball against the Manifest of the repository, so a change
/// of the sources fails here with the line to write rather than in Portage.
fn check_manifest(overlay: &Path, dir: &str, file: &str, data: &[u8]) {
    let manifest = std::fs::read_to_string(overlay.join(dir).join("Manifest")).unwrap();
    let sha512: String = Sha512::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let want = format!("DIST {file} {} ", data.len());
    let line = manifest.lines().find(|l| l.starts_with(&want));
    assert!(
        line.is_some_and(|l| l.contains(&format!("SHA512 {sha512}"))),
        "tests/gentoo/overlay/{dir}/Manifest does not match {file} (size {}, SHA512 {sha512}); \
         tests/gentoo/src changed: write the DIST line again (BLAKE2B and SHA512, python3 hashlib)",
        data.len()
    );
}

/// Runs `/usr/bin/hello` inside the image (rootfs.tar extracted).
fn run_in_image(out: &Path) -> String {
    let root = out.join("image-root");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let st = Command::new("tar")
        .arg("-xf")
        .arg(out.join("images/rootfs.tar"))
        .arg("-C")
        .arg(&root)
        .arg("--no-same-owner")
        .status()
        .unwrap();
    assert!(st.success());
    let o = Command::new("bwrap")
        .arg("--bind")
        .arg(&root)
        .arg("/")
        .args([
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--clearenv",
            "/usr/bin/hello",
        ])
        .output()
        .expect("bwrap is needed to run the image (scripts/setup-host.sh installs bubblewrap)");
    assert!(
        o.status.success(),
        "hello in the image: {}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn tar_list(out: &Path) -> String {
    let o = Command::new("tar")
        .arg("-tf")
        .arg(out.join("images/rootfs.tar"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The build and install passes of the last `bbsdk make`.
fn emerge_log(out: &Path, pass: &str) -> String {
    std::fs::read_to_string(
        out.join("build/gentoo/logs")
            .join(format!("emerge-{pass}.log")),
    )
    .unwrap_or_default()
}

fn scenario(defconfig: &str, check_failure: bool) {
    let _one_at_a_time = SCENARIO.lock().unwrap_or_else(|e| e.into_inner());
    let distdir = shared_cache_home().join("bbsdk/dl/gentoo");
    for name in SOURCES {
        let _ = std::fs::remove_file(distdir.join(format!("{name}.tar")));
    }
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    // The test repository, copied: egencache writes its metadata cache.
    let overlay = d.path().join("overlay");
    let o = Command::new("cp")
        .arg("-a")
        .arg(Path::new(TOP).join("tests/gentoo/overlay"))
        .arg(&overlay)
        .status()
        .unwrap();
    assert!(o.success());
    let server = http::TestServer::start();
    for (name, dir) in SOURCES.iter().zip(["dev-libs/libhello", "app-misc/hello"]) {
        let file = format!("{name}.tar");
        let data = tarball(name);
        check_manifest(&overlay, dir, &file, &data);
        server.serve(&format!("/distfiles/{file}"), &data);
    }

    ok(bbsdk(&out, &[defconfig]), "defconfig");
    let extra = format!(
        "BBSDK_GENTOO=y\n\
         BBSDK_GENTOO_REPOSITORIES=\"bbsdk-test={}\"\n\
         BBSDK_GENTOO_ATOMS=\"app-misc/hello\"\n\
         BBSDK_GENTOO_MIRRORS=\"\"\n\
         BBSDK_GENTOO_PATCHES_DIR=\"tests/gentoo/patches\"\n\
         BBSDK_PRIMARY_SITE=\"{}\"\n",
        overlay.display(),
        server.url(""),
    );
    let cfg = out.join(".config");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str(&extra);
    std::fs::write(&cfg, text).unwrap();
    ok(bbsdk(&out, &["olddefconfig"]), "olddefconfig");

    // First build: Portage from PyPI, sources fetched by Portage, compiled.
    let first = ok(bbsdk(&out, &["make"]), "bbsdk make");
    assert!(
        shared_cache_home()
            .join("bbsdk/cache/portage-3.0.83/lib/portage/bin/emerge")
            .is_file(),
        "Portage installed (by this or an earlier run) into the cache directory:\n{first}"
    );
    for name in SOURCES {
        assert_eq!(
            server.hits(&format!("/distfiles/{name}.tar")),
            1,
            "{name} fetched once by Portage"
        );
    }
    let build = emerge_log(&out, "build");
    assert!(
        build.contains(">>> Emerging (1 of 2) dev-libs/libhello-1.0::bbsdk-test")
            && build.contains(">>> Emerging (2 of 2) app-misc/hello-1.0::bbsdk-test"),
        "both ebuilds compiled:\n{build}"
    );
    assert!(
        build.contains("Applying greeting.patch"),
        "user patch applied:\n{build}"
    );
    let install = emerge_log(&out, "install");
    assert!(
        install.contains(">>> Emerging binary (1 of 2) dev-libs/libhello-1.0")
            && install.contains(">>> Emerging binary (2 of 2) app-misc/hello-1.0"),
        "the target root gets the binary packages:\n{install}"
    );

    // Development files in the sysroot, not in the image.
    let sysroot = out.join("build/gentoo/sysroot");
    for f in [
        "usr/include/hello.h",
        "usr/lib/pkgconfig/hello.pc",
        "usr/lib/libhello.so.1",
    ] {
        assert!(sysroot.join(f).is_file(), "{f} in the sysroot");
    }
    let list = tar_list(&out);
    for f in ["usr/bin/hello", "usr/lib/libhello.so.1"] {
        assert!(list.lines().any(|l| l == f), "{f} in rootfs.tar:\n{list}");
    }
    for f in ["hello.h", "hello.pc", "var/db/pkg", "etc/portage"] {
        assert!(!list.contains(f), "{f} must not be in rootfs.tar:\n{list}");
    }
    // bbsdk's libc is known to Portage (soname dependencies were checked
    // against it in the install pass: --ignore-soname-deps=n).
    let vdb = out.join("build/gentoo/root/var/db/pkg");
    let requires = std::fs::read_to_string(vdb.join("app-misc/hello-1.0/REQUIRES")).unwrap();
    assert!(requires.contains("libhello.so.1"), "{requires}");
    let libc: Vec<_> = std::fs::read_dir(vdb.join("sys-libs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(libc.len(), 1, "one C library entry: {libc:?}");
    let provides = std::fs::read_to_string(libc[0].join("PROVIDES")).unwrap();
    assert!(provides.contains(" libc.so"), "{provides}");
    // busybox, built by bbsdk, is an installed package to Portage.
    let bb = vdb.join("sys-apps/busybox-1.35.0");
    let contents = std::fs::read_to_string(bb.join("CONTENTS")).unwrap_or_default();
    assert!(
        contents.contains("obj /bin/busybox "),
        "{}: {contents}",
        bb.display()
    );
    assert_eq!(
        std::fs::read_to_string(libc[0].join("repository")).unwrap(),
        "bbsdk\n"
    );

    // The toolchain's runtime (loader, libc) is deployed by bbsdk's root
    // assembly from the programs' DT_NEEDED.
    assert!(list.lines().any(|l| l.starts_with("lib/ld-")), "{list}");
    // `bbsdk emerge`: emerge with the generated setup, exit code passed on.
    let info = ok(bbsdk(&out, &["emerge", "--info"]), "bbsdk emerge --info");
    assert!(
        info.contains("CHOST=\"") && info.contains("-bbsdk-linux-") && info.contains("bbsdk-test"),
        "{info}"
    );
    let pretend = ok(
        bbsdk(&out, &["emerge", "-p", "--usepkg", "app-misc/hello"]),
        "bbsdk emerge -p",
    );
    assert!(pretend.contains("app-misc/hello-1.0"), "{pretend}");
    let missing = bbsdk(&out, &["emerge", "-p", "app-misc/no-such-package"]);
    assert!(
        !missing.status.success(),
        "emerge's failure is bbsdk emerge's"
    );

    let said = run_in_image(&out);
    assert_eq!(said.trim(), "hello from libhello (user patch) 1.0");

    // After clean: the binary packages are reused, nothing is compiled.
    ok(bbsdk(&out, &["make", "clean"]), "make clean");
    assert!(!sysroot.exists());
    let again = ok(bbsdk(&out, &["make"]), "second bbsdk make");
    let build = emerge_log(&out, "build");
    assert!(
        build.contains(">>> Emerging binary (1 of 2) dev-libs/libhello-1.0")
            && build.contains(">>> Emerging binary (2 of 2) app-misc/hello-1.0")
            && !build.contains(">>> Emerging (")
            && !build.contains("Compiling source"),
        "second build from the binary packages:\n{build}\n{again}"
    );
    assert!(sysroot.join("usr/include/hello.h").is_file());
    assert_eq!(
        run_in_image(&out).trim(),
        "hello from libhello (user patch) 1.0"
    );

    if !check_failure {
        return;
    }
    // An ebuild that fails: the error names the package, the phase, the
    // build log and shows its last lines.
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "BBSDK_GENTOO_ATOMS=\"app-misc/hello\"",
        "BBSDK_GENTOO_ATOMS=\"app-misc/hello app-misc/broken\"",
    );
    assert!(text.contains("app-misc/broken"));
    std::fs::write(&cfg, text).unwrap();
    let o = bbsdk(&out, &["make"]);
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("emerge failed in the build pass: app-misc/broken-1.0 (compile phase)")
            && e.contains("build log: ")
            && e.contains("compiling the broken test package")
            && e.contains("broken on purpose")
            && e.contains("hint:"),
        "{e}"
    );

    // An atom removed from the configuration leaves the image.
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "BBSDK_GENTOO_ATOMS=\"app-misc/hello app-misc/broken\"",
        "BBSDK_GENTOO_ATOMS=\"dev-libs/libhello\"",
    );
    std::fs::write(&cfg, text).unwrap();
    ok(bbsdk(&out, &["make"]), "make with dev-libs/libhello only");
    let list = tar_list(&out);
    assert!(list.lines().any(|l| l == "usr/lib/libhello.so.1"), "{list}");
    assert!(!list.contains("usr/bin/hello"), "{list}");
}

#[test]
fn aarch64_glibc_container_with_two_ebuilds() {
    scenario("container_aarch64_glibc_defconfig", true);
}

#[test]
fn x86_64_musl_container_with_two_ebuilds() {
    scenario("container_x86_64_musl_defconfig", false);
}

#[test]
fn bad_repository_is_reported_with_its_config_line() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    ok(
        bbsdk(&out, &["container_x86_64_musl_defconfig"]),
        "defconfig",
    );
    // Gentoo off: `bbsdk emerge` says how to turn it on.
    let o = bbsdk(&out, &["emerge", "--info"]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && e.contains("BBSDK_GENTOO is not set") && e.contains("hint:"),
        "{e}"
    );
    let cfg = out.join(".config");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str("BBSDK_GENTOO=y\nBBSDK_GENTOO_REPOSITORIES=\"gentoo=git+https://github.com/gentoo/gentoo.git\"\nBBSDK_GENTOO_ATOMS=\"app-misc/jq\"\n");
    std::fs::write(&cfg, text).unwrap();
    ok(bbsdk(&out, &["olddefconfig"]), "olddefconfig");
    let o = bbsdk(&out, &["make"]);
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    let line = std::fs::read_to_string(&cfg)
        .unwrap()
        .lines()
        .position(|l| l.starts_with("BBSDK_GENTOO_REPOSITORIES="))
        .unwrap()
        + 1;
    assert!(
        e.contains(&format!(".config:{line}: BBSDK_GENTOO_REPOSITORIES"))
            && e.contains("does not fetch")
            && e.contains("hint: clone it yourself"),
        "{e}"
    );
}

//! The six container defconfigs, end to end: `bbsdk make <defconfig> all`
//! from a clean output directory (one command), then the root filesystem
//! runs: x86_64 in bubblewrap and in runc, aarch64 and armv7 in bubblewrap
//! through binfmt_misc (qemu-user). Each run checks a shell, `ls /`,
//! `wget --help` and applets that fork (command substitution, pipelines).
//!
//! All six run in the default suite (about 3 minutes cold on an idle 2-core
//! machine, seconds from the binary cache), with the embedded defconfig's
//! check. All tests share one download directory and one binary cache
//! under `CARGO_TARGET_TMPDIR`, so each busybox is compiled once per
//! machine until its identity changes.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "support/opt_in.rs"]
mod opt_in;
#[path = "support/bbsdk.rs"]
mod run;
use run::shared_cache_home;

fn bbsdk(out: &Path, cache_home: &Path, args: &[&str]) -> Output {
    run::run_with_cache(out, cache_home, args)
}

/// `bbsdk make <defconfig> all` in `out`; returns `images/rootfs.tar`.
fn build(defconfig: &str, out: &Path, cache_home: &Path) -> PathBuf {
    let r = bbsdk(out, cache_home, &["make", defconfig, "all"]);
    assert!(
        r.status.success(),
        "bbsdk make {defconfig} all failed:\n{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let tar = out.join("images/rootfs.tar");
    assert!(tar.is_file(), "{} was not written", tar.display());
    tar
}

fn unpack(tar: &Path, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let st = Command::new("tar")
        .args(["--numeric-owner", "-xpf"])
        .arg(tar)
        .arg("-C")
        .arg(dir)
        .status()
        .expect("run tar");
    assert!(st.success(), "tar -xf {} failed", tar.display());
}

/// What runs in every root, and what it must print.
const SCRIPT: &str = "echo ok; ls /; wget --help 2>&1; \
                      x=$(echo hi | tr a-z A-Z); echo \"subst:$x\"; \
                      echo a b c | awk '{print $2}' | sed s/b/pipe-B/; \
                      seq 1 3 | xargs echo xargs:; \
                      echo hello > /tmp/f && gzip /tmp/f && zcat /tmp/f.gz | wc -c";

fn check_output(how: &str, out: &Output) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{how}: the script failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    let lines: Vec<&str> = stdout.lines().map(str::trim).collect();
    for want in [
        "ok",
        "bin",
        "etc",
        "usr",
        "proc",
        "tmp",
        "subst:HI",
        "pipe-B",
        "xargs: 1 2 3",
        "6",
    ] {
        assert!(
            lines.contains(&want),
            "{how}: no line `{want}` in the output:\n{stdout}\nstderr:\n{stderr}"
        );
    }
    assert!(
        stdout.contains("Usage: wget"),
        "{how}: `wget --help` printed no usage:\n{stdout}"
    );
}

fn need_tool(tool: &str) {
    let ok = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "{tool} is required for this test but was not found\n  hint: run scripts/setup-host.sh"
    );
}

fn run_bwrap(root: &Path) -> Output {
    need_tool("bwrap");
    Command::new("bwrap")
        .arg("--bind")
        .arg(root)
        .arg("/")
        .args(["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"])
        .args(["--unshare-all", "--die-with-parent", "--clearenv"])
        .args(["--setenv", "PATH", "/bin:/sbin:/usr/bin:/usr/sbin"])
        .args(["/bin/sh", "-c", SCRIPT])
        .output()
        .expect("run bwrap")
}

/// An OCI bundle (`runc spec`, edited) around an unpacked root, run by runc
/// with its state in the bundle.
fn run_runc(bundle: &Path, name: &str) -> Output {
    need_tool("runc");
    let st = Command::new("runc")
        .arg("spec")
        .current_dir(bundle)
        .status()
        .expect("run runc spec");
    assert!(st.success(), "runc spec failed");
    let path = bundle.join("config.json");
    let mut spec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    spec["root"]["path"] = "rootfs".into();
    spec["root"]["readonly"] = false.into();
    spec["process"]["terminal"] = false.into();
    spec["process"]["args"] = serde_json::json!(["/bin/sh", "-c", SCRIPT]);
    spec["hostname"] = name.into();
    std::fs::write(&path, serde_json::to_vec_pretty(&spec).unwrap()).unwrap();
    let id = format!("bbsdk-test-{name}-{}", std::process::id());
    Command::new("runc")
        .arg("--root")
        .arg(bundle.join("state"))
        .args(["run", "--bundle"])
        .arg(bundle)
        .arg(&id)
        .output()
        .expect("run runc")
}

/// e_machine of an ELF file and whether it has a PT_INTERP (is dynamic).
fn elf_info(path: &Path) -> (u16, bool) {
    let mut f = std::fs::File::open(path).unwrap();
    let mut b = Vec::new();
    f.read_to_end(&mut b).unwrap();
    assert_eq!(&b[..4], b"\x7fELF", "{} is not ELF", path.display());
    assert_eq!(b[5], 1, "little-endian targets only");
    let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
    let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
    let machine = u16_at(18);
    let (phoff, phentsize, phnum) = if b[4] == 2 {
        (
            u64_at(32) as usize,
            u16_at(54) as usize,
            u16_at(56) as usize,
        )
    } else {
        (
            u32_at(28) as usize,
            u16_at(42) as usize,
            u16_at(44) as usize,
        )
    };
    let interp = (0..phnum).any(|i| u32_at(phoff + i * phentsize) == 3);
    (machine, interp)
}

/// The size of the tar compressed as `gzip -9` would.
fn gzip_size(tar: &Path) -> usize {
    let bytes = std::fs::read(tar).unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut enc, &bytes).unwrap();
    enc.finish().unwrap().len()
}

const EM_X86_64: u16 = 62;
const EM_ARM: u16 = 40;
const EM_AARCH64: u16 = 183;

fn container(defconfig: &str, machine: u16, qemu: Option<&str>) -> (tempfile::TempDir, PathBuf) {
    if let Some(q) = qemu {
        let reg = Path::new("/proc/sys/fs/binfmt_misc").join(format!("qemu-{q}"));
        assert!(
            reg.exists(),
            "{} is missing: {q} binaries cannot run here\n  hint: run scripts/setup-host.sh (registers qemu-user-static with binfmt_misc)",
            reg.display()
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("output");
    let tar = build(defconfig, &out, &shared_cache_home());
    let root = tmp.path().join("bundle/rootfs");
    unpack(&tar, &root);
    let (m, dynamic) = elf_info(&root.join("bin/busybox"));
    assert_eq!(
        m, machine,
        "{defconfig}: bin/busybox is for the wrong machine"
    );
    assert!(!dynamic, "{defconfig}: bin/busybox should be static");
    let sh = std::fs::read_link(root.join("bin/sh")).expect("bin/sh is a symlink");
    assert_eq!(sh, Path::new("busybox"), "{defconfig}: bin/sh");
    check_output(&format!("{defconfig} in bwrap"), &run_bwrap(&root));
    (tmp, tar)
}

#[test]
fn container_x86_64_musl() {
    let (tmp, tar) = container("container_x86_64_musl_defconfig", EM_X86_64, None);
    check_output(
        "container_x86_64_musl in runc",
        &run_runc(&tmp.path().join("bundle"), "x86-64-musl"),
    );
    // The target: the default container root under 700 KB gzipped.
    let gz = gzip_size(&tar);
    assert!(gz < 700_000, "rootfs.tar.gz is {gz} bytes, not < 700,000");
}

#[test]
fn container_x86_64_glibc() {
    let (tmp, _) = container("container_x86_64_glibc_defconfig", EM_X86_64, None);
    check_output(
        "container_x86_64_glibc in runc",
        &run_runc(&tmp.path().join("bundle"), "x86-64-glibc"),
    );
}

#[test]
fn container_aarch64_musl() {
    container(
        "container_aarch64_musl_defconfig",
        EM_AARCH64,
        Some("aarch64"),
    );
}

#[test]
fn container_aarch64_glibc() {
    container(
        "container_aarch64_glibc_defconfig",
        EM_AARCH64,
        Some("aarch64"),
    );
}

#[test]
fn container_armv7_musl() {
    container("container_armv7_musl_defconfig", EM_ARM, Some("arm"));
}

#[test]
fn container_armv7_glibc() {
    container("container_armv7_glibc_defconfig", EM_ARM, Some("arm"));
}

/// The embedded defconfig: BusyBox init
/// with the inittab bbsdk writes, and
/// every program that inittab starts present in the root and provided by
/// the busybox that was built (its applet list, asked in bwrap).
#[test]
fn embedded_x86_64_musl_has_busybox_init_and_what_its_inittab_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("output");
    let tar = build("embedded_x86_64_musl_defconfig", &out, &shared_cache_home());
    let root = tmp.path().join("root");
    unpack(&tar, &root);
    assert_eq!(
        std::fs::read_link(root.join("sbin/init")).expect("sbin/init is a symlink"),
        Path::new("../bin/busybox")
    );
    let inittab = std::fs::read_to_string(root.join("etc/inittab")).expect("etc/inittab");
    assert!(inittab.contains("::sysinit:"), "{inittab}");
    assert!(
        inittab.contains("/sbin/getty"),
        "a getty by default:\n{inittab}"
    );

    // Every program the inittab names, directly or inside `sh -c '...'`.
    let mut programs = std::collections::BTreeSet::new();
    for line in inittab
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains(':'))
    {
        let command = line.splitn(4, ':').nth(3).unwrap_or("");
        for part in command.split(['\'', '|', ';', '[', ']']) {
            let first = part.split_whitespace().next().unwrap_or("");
            let first = first.trim_start_matches('!');
            if first.is_empty() || first == "-x" || first.starts_with("/etc/") {
                continue;
            }
            programs.insert(first.rsplit('/').next().unwrap_or(first).to_string());
        }
    }
    for p in [
        "sh",
        "init",
        "mount",
        "mountpoint",
        "mkdir",
        "hostname",
        "getty",
        "swapoff",
        "umount",
        "reboot",
    ] {
        assert!(
            programs.contains(p),
            "inittab parse: {p} not in {programs:?}"
        );
    }
    need_tool("bwrap");
    let list = Command::new("bwrap")
        .arg("--bind")
        .arg(&root)
        .arg("/")
        .args([
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--unshare-all",
            "--clearenv",
        ])
        .args(["/bin/busybox", "--list-full"])
        .output()
        .expect("run bwrap");
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    let list = String::from_utf8_lossy(&list.stdout);
    let applets: std::collections::BTreeSet<&str> = list
        .lines()
        .map(|l| l.rsplit('/').next().unwrap_or(l))
        .collect();
    let embedded = ["mdev", "login", "udhcpc", "ifconfig", "ip", "syslogd"];
    for p in programs.iter().map(String::as_str).chain(embedded) {
        assert!(applets.contains(p), "busybox has no applet {p}");
        let path = list
            .lines()
            .find(|l| l.rsplit('/').next() == Some(p))
            .unwrap();
        assert!(
            root.join(path).symlink_metadata().is_ok(),
            "{path} is missing from the root"
        );
    }
}

/// The `.comment` section of an ELF file: the compilers that built it.
fn elf_comment(path: &Path) -> String {
    use object::{Object, ObjectSection};
    let data = std::fs::read(path).unwrap();
    let f = object::File::parse(&*data).unwrap();
    let s = f.section_by_name(".comment").expect(".comment section");
    String::from_utf8_lossy(s.data().unwrap()).into_owned()
}

/// Opt-in: `configs/container_aarch64_musl_internal_defconfig`, the
/// aarch64 musl container built with the internal toolchain
/// (binutils 2.40, gcc 12.2.0 and musl from source). The root runs like the
/// others, busybox was compiled by the built gcc (not Debian's), a second
/// output directory reuses the cached toolchain, and the toolchain tree is
/// relocatable: packed into a tarball and served over HTTP, it builds the
/// same container again as a downloaded external toolchain.
#[test]
fn container_aarch64_musl_internal_toolchain() {
    if !opt_in::internal_toolchain("container_aarch64_musl_internal_toolchain") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let defconfig = "container_aarch64_musl_internal_defconfig";
    let (tmp, _) = container(defconfig, EM_AARCH64, Some("aarch64"));
    // The unstripped link in the build directory still has the compilers'
    // notes (the first build of this busybox: its identity is new).
    let comment = elf_comment(
        &tmp.path()
            .join("output/build/busybox-1.35.0/busybox_unstripped"),
    );
    assert!(
        comment.contains("GCC: (GNU) 12.2.0") && !comment.contains("Debian"),
        "busybox was built by another compiler: {comment:?}"
    );
    let tree = std::fs::read_link(tmp.path().join("output/toolchain/sysroot"))
        .expect("output/toolchain/sysroot links into the toolchain tree");
    let tree = tree.parent().and_then(Path::parent).unwrap().to_path_buf();
    assert!(
        tree.join("bin/aarch64-bbsdk-linux-musl-gcc").is_file(),
        "{}",
        tree.display()
    );

    // A second output directory: the toolchain comes from the cache.
    let again = tempfile::tempdir().unwrap();
    let r = bbsdk(
        &again.path().join("output"),
        &shared_cache_home(),
        &["make", defconfig, "all"],
    );
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert!(
        !stderr.contains(">>> internal toolchain"),
        "the toolchain was built again:\n{stderr}"
    );

    // Relocated: the same tree as a downloaded toolchain.
    #[path = "support/http.rs"]
    mod http;
    let archive = dir.path().join("aarch64-bbsdk-linux-musl.tar.gz");
    let st = Command::new("tar")
        .arg("-czf")
        .arg(&archive)
        .arg("-C")
        .arg(tree.parent().unwrap())
        .arg("--exclude=build.log")
        .arg(tree.file_name().unwrap())
        .status()
        .expect("run tar");
    assert!(st.success());
    let bytes = std::fs::read(&archive).unwrap();
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&bytes))
    };
    let server = http::TestServer::start();
    server.serve("/aarch64-bbsdk-linux-musl.tar.gz", &bytes);
    let download = dir.path().join("aarch64_musl_download_defconfig");
    std::fs::write(
        &download,
        format!(
            "BBSDK_ARCH_AARCH64=y\nBBSDK_TOOLCHAIN_EXTERNAL=y\nBBSDK_TOOLCHAIN_EXTERNAL_DOWNLOAD=y\nBBSDK_TOOLCHAIN_EXTERNAL_URL=\"{}\"\nBBSDK_TOOLCHAIN_EXTERNAL_SHA256=\"{sha}\"\nBBSDK_TOOLCHAIN_EXTERNAL_PREFIX=\"aarch64-bbsdk-linux-musl\"\nBBSDK_IMAGE_TAG=\"aarch64-musl-downloaded\"\n",
            server.url("/aarch64-bbsdk-linux-musl.tar.gz")
        ),
    )
    .unwrap();
    let (tmp2, _) = container(download.to_str().unwrap(), EM_AARCH64, Some("aarch64"));
    let wrapper = std::fs::read_to_string(
        tmp2.path()
            .join("output/toolchain/bin/aarch64-bbsdk-linux-musl-gcc"),
    )
    .unwrap();
    assert!(
        wrapper.contains(&format!("toolchains/download-{}", &sha[..16])),
        "the wrapper runs the downloaded gcc:\n{wrapper}"
    );
}

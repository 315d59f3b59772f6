//! The image writers, checked with tools nobody here wrote: umoci + runc
//! run the OCI layout, skopeo reads and converts it, docker loads, runs and
//! builds, cpio lists the initramfs, Debian's docker-registry receives
//! `bbsdk push`. The roots are built with `bbsdk make` from a rootfs
//! overlay holding a small static C program compiled here (for x86_64 with
//! gcc, for ARMv7 with arm-linux-gnueabihf-gcc, run through binfmt/qemu).
//!
//! Every tool is required: a missing one fails the test, it never skips.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "support/bbsdk.rs"]
mod run;

const EPOCH: &str = "1700000000";

fn run(cmd: &mut Command) -> Output {
    let name = format!("{cmd:?}");
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {name}: {e} (scripts/setup-host.sh installs it)"));
    assert!(
        out.status.success(),
        "{name} failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(cmd: &mut Command) -> String {
    String::from_utf8_lossy(&run(cmd).stdout).into_owned()
}

fn json(cmd: &mut Command) -> Value {
    let s = stdout(cmd);
    serde_json::from_str(&s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

/// The Docker engine must be there: `docker info` failing fails the test.
fn docker() -> Command {
    static CHECKED: OnceLock<()> = OnceLock::new();
    CHECKED.get_or_init(|| {
        let ok = Command::new("docker")
            .args(["info", "--format", "{{.ServerVersion}}"])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            ok,
            "these tests need a running Docker engine (`docker info` failed); scripts/setup-host.sh installs docker.io"
        );
    });
    Command::new("docker")
}

/// A static test program: prints "hello from bbsdk", $GREETING, its
/// arguments, and the first line of /etc/app.conf when there is one.
fn program(dir: &Path, compiler: &str) -> PathBuf {
    let src = dir.join("hello.c");
    std::fs::write(
        &src,
        r#"#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
    const char *g = getenv("GREETING");
    printf("hello from bbsdk");
    if (g) printf(" %s", g);
    for (int i = 1; i < argc; i++) printf(" %s", argv[i]);
    FILE *f = fopen("/etc/app.conf", "r");
    char line[128];
    if (f && fgets(line, sizeof line, f)) printf(" conf=%s", line);
    else printf("\n");
    return 0;
}
"#,
    )
    .unwrap();
    let exe = dir.join(format!("hello-{compiler}"));
    run(Command::new(compiler)
        .args(["-static", "-O2", "-o"])
        .arg(&exe)
        .arg(&src));
    exe
}

/// An overlay directory with `files` (path, source file or content).
fn overlay(dir: &Path, exe: &Path, extra: &[(&str, &str)]) -> PathBuf {
    let o = dir.join("overlay");
    std::fs::create_dir_all(o.join("usr/bin")).unwrap();
    std::fs::copy(exe, o.join("usr/bin/hello")).unwrap();
    for (p, content) in extra {
        let p = o.join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    o
}

fn bbsdk(out: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bbsdk"))
        .arg("-O")
        .arg(out)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .env("BBSDK_DL_DIR", out.join("dl"))
        .env_remove("BR2_CONFIG")
        .env_remove("KCONFIG_CONFIG")
        .output()
        .expect("run bbsdk")
}

/// `bbsdk defconfig` of `config` then `bbsdk make`; returns the output dir.
fn build(dir: &Path, name: &str, config: &str) -> PathBuf {
    let out = dir.join(name);
    let def = dir.join(format!("{name}_defconfig"));
    std::fs::write(&def, config).unwrap();
    let r = bbsdk(&out, &["defconfig", def.to_str().unwrap()]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let r = bbsdk(&out, &["make"]);
    assert!(
        r.status.success(),
        "bbsdk make failed:\n{}",
        String::from_utf8_lossy(&r.stderr)
    );
    out
}

fn x86_config(overlay: &Path, tag: &str, extra: &str) -> String {
    format!(
        "BBSDK_ARCH_X86_64=y\nBBSDK_LIBC_GLIBC=y\n# BBSDK_PACKAGE_BUSYBOX is not set\nBBSDK_ROOTFS_OVERLAY=\"{}\"\nBBSDK_IMAGE_NAME=\"bbsdk-test/hello\"\nBBSDK_IMAGE_TAG=\"{tag}\"\nBBSDK_IMAGE_ENTRYPOINT=\"/usr/bin/hello\"\nBBSDK_IMAGE_CMD=\"'a b' c\"\nBBSDK_IMAGE_ENV=\"PATH=/usr/bin:/bin \\\"GREETING=big world\\\"\"\n{extra}",
        overlay.display()
    )
}

fn arm_config(overlay: &Path, tag: &str, extra: &str) -> String {
    format!(
        "BBSDK_ARCH_ARMV7=y\nBBSDK_LIBC_GLIBC=y\n# BBSDK_PACKAGE_BUSYBOX is not set\nBBSDK_ROOTFS_OVERLAY=\"{}\"\nBBSDK_IMAGE_NAME=\"bbsdk-test/hello\"\nBBSDK_IMAGE_TAG=\"{tag}\"\nBBSDK_IMAGE_ENTRYPOINT=\"/usr/bin/hello\"\nBBSDK_IMAGE_CMD=\"armv7\"\n{extra}",
        overlay.display()
    )
}

/// A unique tag, so parallel test runs and old images never collide.
fn unique(tag: &str) -> String {
    format!("{tag}-{}", std::process::id())
}

/// umoci unpack of `image` (DIR:TAG), then runc run; returns stdout.
fn umoci_runc(dir: &Path, image: &str, id: &str) -> String {
    let bundle = dir.join(format!("bundle-{id}"));
    run(Command::new("umoci")
        .args(["unpack", "--image", image])
        .arg(&bundle));
    let cfg_path = bundle.join("config.json");
    let mut cfg: Value = serde_json::from_slice(&std::fs::read(&cfg_path).unwrap()).unwrap();
    cfg["process"]["terminal"] = Value::Bool(false);
    std::fs::write(&cfg_path, serde_json::to_vec(&cfg).unwrap()).unwrap();
    let root = dir.join("runc-root");
    stdout(
        Command::new("runc")
            .arg("--root")
            .arg(&root)
            .args(["run", "--bundle"])
            .arg(&bundle)
            .arg(format!("bbsdk-test-{id}-{}", std::process::id()))
            .stdin(Stdio::null()),
    )
}

fn manifest_digest(layout: &Path, tag: &str) -> String {
    let idx: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    idx["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .map(|m| m["digest"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no tag {tag} in {idx}"))
}

#[test]
fn oci_layout_runs_under_runc_and_is_reproducible() {
    let t = tempfile::tempdir().unwrap();
    let exe = program(t.path(), "gcc");
    let ov = overlay(t.path(), &exe, &[]);
    let config = x86_config(
        &ov,
        "oci",
        "BBSDK_IMAGE_EXPOSE=\"80 53/udp\"\nBBSDK_IMAGE_LABELS=\"org.example.k=v\"\n",
    );
    let a = build(t.path(), "a", &config);
    let b = build(t.path(), "b", &config);
    let (la, lb) = (a.join("images/oci"), b.join("images/oci"));
    // Two builds, same configuration and overlay: same manifest digest.
    assert_eq!(manifest_digest(&la, "oci"), manifest_digest(&lb, "oci"));

    let out = umoci_runc(t.path(), &format!("{}:oci", la.display()), "oci");
    assert_eq!(out, "hello from bbsdk big world a b c\n");

    let inspect =
        json(Command::new("skopeo").args(["inspect", &format!("oci:{}:oci", la.display())]));
    assert_eq!(inspect["Architecture"], "amd64");
    assert_eq!(inspect["Os"], "linux");
    assert_eq!(inspect["Created"], "2023-11-14T22:13:20Z");
    assert_eq!(inspect["Labels"]["org.example.k"], "v");
    let config = json(Command::new("skopeo").args([
        "inspect",
        "--config",
        &format!("oci:{}:oci", la.display()),
    ]));
    assert_eq!(config["config"]["Entrypoint"][0], "/usr/bin/hello");
    assert_eq!(config["config"]["Cmd"], serde_json::json!(["a b", "c"]));
    assert!(config["config"]["ExposedPorts"]["53/udp"].is_object());
    let diff_ids = config["rootfs"]["diff_ids"].clone();

    // skopeo copy to a docker-archive and back: same layer content.
    let da = t.path().join("copy.docker.tar");
    run(Command::new("skopeo").args([
        "copy",
        &format!("oci:{}:oci", la.display()),
        &format!("docker-archive:{}:bbsdk-test/copy:x", da.display()),
    ]));
    let back = t.path().join("back");
    run(Command::new("skopeo").args([
        "copy",
        &format!("docker-archive:{}", da.display()),
        &format!("oci:{}:back", back.display()),
    ]));
    let back_config = json(Command::new("skopeo").args([
        "inspect",
        "--config",
        &format!("oci:{}:back", back.display()),
    ]));
    assert_eq!(back_config["rootfs"]["diff_ids"], diff_ids);
    let out = umoci_runc(t.path(), &format!("{}:back", back.display()), "back");
    assert_eq!(out, "hello from bbsdk big world a b c\n");
}

#[test]
fn docker_loads_runs_and_builds_our_images() {
    let t = tempfile::tempdir().unwrap();
    let exe = program(t.path(), "gcc");
    let ov = overlay(t.path(), &exe, &[]);
    let tag = unique("docker");
    let out = build(t.path(), "out", &x86_config(&ov, &tag, ""));
    let archive = out.join(format!("images/bbsdk-test-hello-{tag}.docker.tar"));
    let inspect = json(
        Command::new("skopeo").args(["inspect", &format!("docker-archive:{}", archive.display())]),
    );
    assert_eq!(inspect["Architecture"], "amd64");
    assert_eq!(inspect["Env"][1], "GREETING=big world");

    let reference = format!("bbsdk-test/hello:{tag}");
    let loaded = stdout(docker().arg("load").arg("-i").arg(&archive));
    assert!(loaded.contains(&reference), "{loaded}");
    let ran = stdout(docker().args(["run", "--rm", &reference, "x"]));
    assert_eq!(ran, "hello from bbsdk big world x\n");

    // The Dockerfile and its context, built by the engine.
    let built = format!("bbsdk-test/built:{tag}");
    let ctx = out.join("images/docker");
    let dockerfile = std::fs::read_to_string(ctx.join("Dockerfile")).unwrap();
    assert!(
        dockerfile.contains("FROM scratch\nADD rootfs.tar /\n"),
        "{dockerfile}"
    );
    run(docker().args(["build", "-q", "-t", &built]).arg(&ctx));
    let ran = stdout(docker().args(["run", "--rm", &built]));
    assert_eq!(ran, "hello from bbsdk big world a b c\n");
    let _ = docker().args(["rmi", &reference, &built]).output();
}

#[test]
fn armv7_image_and_a_multi_arch_layout() {
    let t = tempfile::tempdir().unwrap();
    let arm = program(t.path(), "arm-linux-gnueabihf-gcc");
    let x86 = program(t.path(), "gcc");
    let arm_dir = t.path().join("arm");
    let x86_dir = t.path().join("x86");
    std::fs::create_dir_all(&arm_dir).unwrap();
    std::fs::create_dir_all(&x86_dir).unwrap();
    let shared = t.path().join("shared-oci");
    let shared_opt = format!("BBSDK_IMAGE_OCI_LAYOUT_DIR=\"{}\"\n", shared.display());
    let tag = unique("multi");
    let arm_out = build(
        t.path(),
        "arm-out",
        &arm_config(&overlay(&arm_dir, &arm, &[]), &tag, &shared_opt),
    );
    let inspect = json(Command::new("skopeo").args([
        "inspect",
        "--config",
        &format!("oci:{}:{tag}", shared.display()),
    ]));
    assert_eq!(inspect["architecture"], "arm");
    assert_eq!(inspect["variant"], "v7");

    // The ARM image runs (qemu through binfmt_misc).
    let archive = arm_out.join(format!("images/bbsdk-test-hello-{tag}.docker.tar"));
    run(docker().arg("load").arg("-i").arg(&archive));
    let reference = format!("bbsdk-test/hello:{tag}");
    let ran = stdout(docker().args(["run", "--rm", "--platform", "linux/arm/v7", &reference]));
    assert_eq!(ran, "hello from bbsdk armv7\n");
    let _ = docker().args(["rmi", &reference]).output();

    // x86_64 into the same layout and tag: one index, two platforms.
    build(
        t.path(),
        "x86-out",
        &x86_config(&overlay(&x86_dir, &x86, &[]), &tag, &shared_opt),
    );
    let index = json(Command::new("skopeo").args([
        "inspect",
        "--raw",
        &format!("oci:{}:{tag}", shared.display()),
    ]));
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let platforms: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{}/{}",
                m["platform"]["architecture"].as_str().unwrap(),
                m["platform"]["variant"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(platforms, ["amd64/", "arm/v7"]);
    let amd = json(Command::new("skopeo").args([
        "inspect",
        "--override-arch",
        "amd64",
        &format!("oci:{}:{tag}", shared.display()),
    ]));
    assert_eq!(amd["Architecture"], "amd64");

    // Rebuilding ARM replaces its own entry: still two platforms, and no
    // blob is left that the index does not reach.
    build(
        t.path(),
        "arm-out2",
        &arm_config(
            &overlay(&arm_dir, &arm, &[("etc/app.conf", "v2\n")]),
            &tag,
            &shared_opt,
        ),
    );
    let index = json(Command::new("skopeo").args([
        "inspect",
        "--raw",
        &format!("oci:{}:{tag}", shared.display()),
    ]));
    assert_eq!(index["manifests"].as_array().unwrap().len(), 2);
    let blobs = std::fs::read_dir(shared.join("blobs/sha256"))
        .unwrap()
        .count();
    // index + 2 × (manifest, config, layer)
    assert_eq!(blobs, 7, "unreachable blobs were left behind");

    // Pushing the multi-arch tag sends both images and the index.
    let reg = Registry::start();
    let dest = format!("127.0.0.1:{}/bbsdk-test/multi:{tag}", reg.port);
    let arm_out2 = t.path().join("arm-out2");
    let r = bbsdk(&arm_out2, &["push", &dest]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let remote_index = json(Command::new("skopeo").args([
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{dest}"),
    ]));
    assert_eq!(remote_index, index, "the registry serves our index bytes");
    let remote_arm = json(Command::new("skopeo").args([
        "inspect",
        "--tls-verify=false",
        "--override-arch",
        "arm",
        "--override-variant",
        "v7",
        &format!("docker://{dest}"),
    ]));
    assert_eq!(remote_arm["Architecture"], "arm");
    let local_arm = json(Command::new("skopeo").args([
        "inspect",
        "--override-arch",
        "arm",
        "--override-variant",
        "v7",
        &format!("oci:{}:{tag}", shared.display()),
    ]));
    assert_eq!(remote_arm["Layers"], local_arm["Layers"]);
    assert_ne!(remote_arm["Layers"], amd["Layers"]);
}

#[test]
fn cpio_and_aci_carry_modes_owners_and_devices() {
    let t = tempfile::tempdir().unwrap();
    let exe = program(t.path(), "gcc");
    let ov = overlay(t.path(), &exe, &[("etc/secret", "s\n")]);
    let table = t.path().join("devices.txt");
    std::fs::write(
        &table,
        "/tmp d 1777 0 0 - - - - -\n/dev/console c 600 0 0 5 1 - - -\n/dev/null c 666 0 0 1 3 - - -\n/etc/secret f 640 1000 1000 - - - - -\n/usr/bin/hello f 4755 0 0 - - - - -\n",
    )
    .unwrap();
    let out = build(
        t.path(),
        "out",
        &x86_config(
            &ov,
            "cpio",
            &format!(
                "BBSDK_ROOTFS_DEVICE_TABLE=\"{}\"\nBBSDK_IMAGE_CPIO=y\nBBSDK_IMAGE_ACI=y\nBBSDK_IMAGE_EXPOSE=\"8080\"\n",
                table.display()
            ),
        ),
    );
    let gz = std::fs::read(out.join("images/rootfs.cpio.gz")).unwrap();
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut raw).unwrap();
    let mut child = Command::new("cpio")
        .args(["-t", "-v", "--numeric-uid-gid", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("cpio (scripts/setup-host.sh installs it)");
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), &raw).unwrap();
    drop(child.stdin.take());
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    let list = String::from_utf8_lossy(&o.stdout);
    let line = |name: &str| {
        list.lines()
            .find(|l| l.ends_with(&format!(" {name}")) || l.contains(&format!(" {name} -> ")))
            .unwrap_or_else(|| panic!("{name} missing from:\n{list}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    let console = line("dev/console");
    assert_eq!(
        (console[0], console[2], console[3], console[4]),
        ("crw-------", "0", "0", "5,")
    );
    assert_eq!(line("dev/null")[0], "crw-rw-rw-");
    let secret = line("etc/secret");
    assert_eq!(
        (secret[0], secret[2], secret[3]),
        ("-rw-r-----", "1000", "1000")
    );
    assert_eq!(line("usr/bin/hello")[0], "-rwsr-xr-x");
    assert_eq!(line("tmp")[0], "drwxrwxrwt");
    assert_eq!(line("var/run")[0], "lrwxrwxrwx");

    // The ACI: manifest first, the root filesystem under rootfs/.
    let aci = out.join("images/bbsdk-test-hello-cpio.aci");
    let list = stdout(
        Command::new("tar")
            .args(["-tvf"])
            .arg(&aci)
            .arg("--numeric-owner"),
    );
    let first = list.lines().next().unwrap();
    assert!(first.ends_with(" manifest"), "{list}");
    assert!(
        list.contains("crw------- 0/0") && list.contains("rootfs/dev/console"),
        "{list}"
    );
    assert!(list.contains("-rw-r----- 1000/1000") && list.contains("rootfs/etc/secret"));
    let m: Value = serde_json::from_slice(
        &run(Command::new("tar").args(["-xOf"]).arg(&aci).arg("manifest")).stdout,
    )
    .unwrap();
    assert_eq!(m["acKind"], "ImageManifest");
    assert_eq!(m["acVersion"], "0.8.11");
    assert_eq!(m["name"], "bbsdk-test/hello");
    assert_eq!(
        m["app"]["exec"],
        serde_json::json!(["/usr/bin/hello", "a b", "c"])
    );
    assert_eq!(m["app"]["ports"][0]["port"], 8080);
    assert!(m["labels"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!({"name": "arch", "value": "amd64"})));
}

#[test]
fn layered_image_adds_only_its_own_files() {
    let t = tempfile::tempdir().unwrap();
    let exe = program(t.path(), "gcc");
    let base_dir = t.path().join("base");
    std::fs::create_dir_all(&base_dir).unwrap();
    let tag = unique("app");
    let base = build(
        t.path(),
        "output-hellobase",
        &x86_config(&overlay(&base_dir, &exe, &[]), "base", ""),
    );
    // The app: same program (unchanged, so not in its layer) plus a file.
    let app_dir = t.path().join("app");
    std::fs::create_dir_all(&app_dir).unwrap();
    let app = build(
        t.path(),
        "output-app",
        &x86_config(
            &overlay(&app_dir, &exe, &[("etc/app.conf", "layered\n")]),
            &tag,
            "BBSDK_IMAGE_BASE=\"hellobase\"\n",
        ),
    );
    let base_layout = base.join("images/oci");
    let app_layout = app.join("images/oci");
    let base_m = json(
        Command::new("skopeo").args(["inspect", &format!("oci:{}:base", base_layout.display())]),
    );
    let app_m = json(
        Command::new("skopeo").args(["inspect", &format!("oci:{}:{tag}", app_layout.display())]),
    );
    let layers = app_m["Layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2);
    assert_eq!(
        layers[0], base_m["Layers"][0],
        "the base's layer is shared as is"
    );
    // The second layer holds the new file and its parents, nothing else.
    let blob = app_layout
        .join("blobs/sha256")
        .join(layers[1].as_str().unwrap().trim_start_matches("sha256:"));
    let list = stdout(Command::new("tar").arg("-tzf").arg(&blob));
    let names: Vec<&str> = list.lines().collect();
    assert_eq!(names, ["./", "etc/", "etc/app.conf"], "{list}");
    let out = umoci_runc(
        t.path(),
        &format!("{}:{tag}", app_layout.display()),
        "layered",
    );
    assert_eq!(out, "hello from bbsdk big world a b c conf=layered\n");
    // The Dockerfile starts from the base.
    let df = std::fs::read_to_string(app.join("images/docker/Dockerfile")).unwrap();
    assert!(df.contains("FROM bbsdk-test/hello:base\n"), "{df}");
    // docker-archive carries both layers and runs.
    let archive = app.join(format!("images/bbsdk-test-hello-{tag}.docker.tar"));
    run(docker().arg("load").arg("-i").arg(&archive));
    let reference = format!("bbsdk-test/hello:{tag}");
    let ran = stdout(docker().args(["run", "--rm", &reference]));
    assert_eq!(ran, "hello from bbsdk big world a b c conf=layered\n");
    let _ = docker().args(["rmi", &reference]).output();
}

/// Debian's docker-registry on a free port of 127.0.0.1, stopped on drop.
struct Registry {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Registry {
    fn start() -> Registry {
        Registry::with_auth("")
    }

    /// With `auth` (YAML lines of the `auth:` section, indented by 2).
    fn with_auth(auth: &str) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cfg = dir.path().join("config.yml");
        std::fs::write(
            &cfg,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n{}",
                dir.path().join("data").display(),
                if auth.is_empty() { String::new() } else { format!("auth:\n{auth}") }
            ),
        )
        .unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry (Debian package docker-registry, scripts/setup-host.sh)");
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "docker-registry did not listen on 127.0.0.1:{port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Registry {
            child,
            port,
            _dir: dir,
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn push_to_a_local_registry() {
    let t = tempfile::tempdir().unwrap();
    let exe = program(t.path(), "gcc");
    let ov = overlay(t.path(), &exe, &[]);
    let out = build(t.path(), "out", &x86_config(&ov, "pushed", ""));
    let reg = Registry::start();
    let dest = format!("127.0.0.1:{}/bbsdk-test/hello:v1", reg.port);
    let r = bbsdk(&out, &["push", &dest]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let printed = String::from_utf8_lossy(&r.stdout).trim().to_string();
    let local = manifest_digest(&out.join("images/oci"), "pushed");
    assert_eq!(printed, format!("{dest}@{local}"));
    assert!(String::from_utf8_lossy(&r.stderr).contains("2 blobs uploaded, 0 already there"));

    let remote = json(Command::new("skopeo").args([
        "inspect",
        "--tls-verify=false",
        &format!("docker://{dest}"),
    ]));
    assert_eq!(remote["Digest"], local.as_str());
    let ours = json(Command::new("skopeo").args([
        "inspect",
        &format!("oci:{}:pushed", out.join("images/oci").display()),
    ]));
    assert_eq!(remote["Layers"], ours["Layers"]);

    // Pull it back: same layer digests, and it runs.
    let back = t.path().join("pulled");
    run(Command::new("skopeo").args([
        "copy",
        "--src-tls-verify=false",
        &format!("docker://{dest}"),
        &format!("oci:{}:pulled", back.display()),
    ]));
    let pulled =
        json(Command::new("skopeo").args(["inspect", &format!("oci:{}:pulled", back.display())]));
    assert_eq!(pulled["Layers"], ours["Layers"]);
    assert_eq!(
        umoci_runc(t.path(), &format!("{}:pulled", back.display()), "pulled"),
        "hello from bbsdk big world a b c\n"
    );

    // A second push finds every blob there already.
    let r = bbsdk(&out, &["push", &dest]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(String::from_utf8_lossy(&r.stderr).contains("0 blobs uploaded, 2 already there"));
}

#[test]
fn bad_image_settings_name_the_symbol() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("out");
    let def = t.path().join("bad_defconfig");
    std::fs::write(
        &def,
        "BBSDK_ARCH_X86_64=y\nBBSDK_LIBC_GLIBC=y\n# BBSDK_PACKAGE_BUSYBOX is not set\nBBSDK_IMAGE_CMD=\"echo 'unclosed\"\n",
    )
    .unwrap();
    assert!(bbsdk(&out, &["defconfig", def.to_str().unwrap()])
        .status
        .success());
    let r = bbsdk(&out, &["make"]);
    assert!(!r.status.success());
    let e = String::from_utf8_lossy(&r.stderr);
    assert!(
        e.contains("BBSDK_IMAGE_CMD") && e.contains("unbalanced quotes") && e.contains("hint:"),
        "{e}"
    );
}

fn base64(bytes: &[u8], url: bool) -> String {
    let table: &[u8] = if url {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    } else {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    };
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(table[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
        if !url {
            out.push_str(&"=".repeat(3 - chunk.len()));
        }
    }
    out
}

/// A token server for the registry: answers every request with one JWT
/// (RS256, signed by openssl with a key whose self-signed certificate is
/// the registry's root bundle) granting pull and push on `repo`, and
/// records the request lines.
struct TokenServer {
    port: u16,
    seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl TokenServer {
    fn start(dir: &Path, repo: &str, service: &str, issuer: &str) -> TokenServer {
        use std::io::{BufRead, Write};
        let key = dir.join("token.key");
        let cert = dir.join("token.pem");
        run(Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args(["-subj", "/CN=bbsdk-test-token", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert));
        let der = run(Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(&cert))
        .stdout;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let header =
            serde_json::json!({"alg": "RS256", "typ": "JWT", "x5c": [base64(&der, false)]});
        let claims = serde_json::json!({
            "iss": issuer, "sub": "tester", "aud": service,
            "exp": now + 3600, "nbf": now - 60, "iat": now - 60, "jti": "bbsdk-test-1",
            "access": [{"type": "repository", "name": repo, "actions": ["pull", "push"]}],
        });
        let input = format!(
            "{}.{}",
            base64(header.to_string().as_bytes(), true),
            base64(claims.to_string().as_bytes(), true)
        );
        let input_file = dir.join("jwt-input");
        std::fs::write(&input_file, &input).unwrap();
        let sig = run(Command::new("openssl")
            .args(["dgst", "-sha256", "-sign"])
            .arg(&key)
            .arg(&input_file))
        .stdout;
        let token = format!("{input}.{}", base64(&sig, true));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = std::io::BufReader::new(&stream);
                let mut first = String::new();
                if reader.read_line(&mut first).is_err() {
                    continue;
                }
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                log.lock().unwrap().push(first.trim().to_string());
                let body = serde_json::json!({"token": token, "expires_in": 3600}).to_string();
                let _ = write!(
                    &stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        TokenServer { port, seen }
    }
}

#[test]
fn push_with_basic_and_bearer_token_auth() {
    let t = tempfile::tempdir().unwrap();
    let exe = program(t.path(), "gcc");
    let ov = overlay(t.path(), &exe, &[]);
    let out = build(t.path(), "out", &x86_config(&ov, "auth", ""));
    let local = manifest_digest(&out.join("images/oci"), "auth");

    // Basic auth (htpasswd with bcrypt, as the registry requires).
    let htpasswd = t.path().join("htpasswd");
    let line = stdout(Command::new("htpasswd").args(["-Bbn", "tester", "s3cret"]));
    std::fs::write(&htpasswd, line).unwrap();
    let reg = Registry::with_auth(&format!(
        "  htpasswd:\n    realm: bbsdk-test\n    path: {}\n",
        htpasswd.display()
    ));
    let dest = format!("127.0.0.1:{}/bbsdk-test/hello:basic", reg.port);
    let r = bbsdk(&out, &["push", &dest]);
    assert!(!r.status.success(), "pushed without credentials");
    let e = String::from_utf8_lossy(&r.stderr);
    assert!(
        e.contains("401") && e.contains("BBSDK_REGISTRY_USER"),
        "{e}"
    );
    let r = Command::new(env!("CARGO_BIN_EXE_bbsdk"))
        .arg("-O")
        .arg(&out)
        .args(["push", &dest])
        .env("BBSDK_REGISTRY_USER", "tester")
        .env("BBSDK_REGISTRY_PASSWORD", "s3cret")
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let remote = json(Command::new("skopeo").args([
        "inspect",
        "--tls-verify=false",
        "--creds",
        "tester:s3cret",
        &format!("docker://{dest}"),
    ]));
    assert_eq!(remote["Digest"], local.as_str());
    drop(reg);

    // Bearer tokens from a token server, the registry checking their
    // signature against the server's certificate.
    let (service, issuer) = ("bbsdk-test-registry", "bbsdk-test-issuer");
    let tokens = TokenServer::start(t.path(), "bbsdk-test/hello", service, issuer);
    let reg = Registry::with_auth(&format!(
        "  token:\n    realm: http://127.0.0.1:{}/token\n    service: {service}\n    issuer: {issuer}\n    rootcertbundle: {}\n",
        tokens.port,
        t.path().join("token.pem").display()
    ));
    let dest = format!("127.0.0.1:{}/bbsdk-test/hello:bearer", reg.port);
    let r = bbsdk(&out, &["push", &dest]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let seen = tokens.seen.lock().unwrap().clone();
    assert!(
        seen.iter().any(|l| l.starts_with("GET /token?")
            && l.contains("scope=repository%3Abbsdk-test%2Fhello%3A")
            && l.contains(&format!("service={service}"))),
        "{seen:?}"
    );
    let remote = json(Command::new("skopeo").args([
        "inspect",
        "--tls-verify=false",
        &format!("docker://{dest}"),
    ]));
    assert_eq!(remote["Digest"], local.as_str());
}

/// vmlinuz from the Debian kernel package `scripts/setup-host.sh` downloads
/// into /var/cache/bbsdk/kernel (or `$BBSDK_TEST_KERNEL_DEB`), taken out
/// with dpkg-deb; the package is never installed.
fn debian_kernel(dir: &Path) -> PathBuf {
    let deb = match std::env::var_os("BBSDK_TEST_KERNEL_DEB") {
        Some(d) => PathBuf::from(d),
        None => std::fs::read_dir("/var/cache/bbsdk/kernel")
            .ok()
            .and_then(|rd| {
                rd.flatten()
                    .map(|e| e.path())
                    .find(|p| p.to_string_lossy().ends_with("_amd64.deb"))
            })
            .expect(
                "no Debian kernel package in /var/cache/bbsdk/kernel (scripts/setup-host.sh downloads it)",
            ),
    };
    let x = dir.join("kernel");
    std::fs::create_dir_all(&x).unwrap();
    let script = format!(
        "dpkg-deb --fsys-tarfile '{}' | tar -x -C '{}' --wildcards './boot/vmlinuz-*'",
        deb.display(),
        x.display()
    );
    run(Command::new("sh").arg("-c").arg(script));
    std::fs::read_dir(x.join("boot"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("vmlinuz-")
        })
        .expect("vmlinuz in the kernel package")
}

/// Boots `initrd` under qemu-system-x86_64 with a Debian kernel; returns
/// the serial console. Emulated (TCG): KVM inside this kind of nested VM
/// refuses qemu's CPU models, and the boot takes seconds anyway.
fn qemu_boot(dir: &Path, initrd: &Path, init: &str) -> String {
    let kernel = debian_kernel(dir);
    let accel = "tcg";
    let out = Command::new("timeout")
        .args(["240", "qemu-system-x86_64", "-accel", accel, "-m", "256"])
        .args([
            "-nographic",
            "-no-reboot",
            "-monitor",
            "none",
            "-serial",
            "stdio",
        ])
        .arg("-kernel")
        .arg(&kernel)
        .arg("-initrd")
        .arg(initrd)
        .arg("-append")
        .arg(format!("console=ttyS0 panic=-1 rdinit={init} quiet"))
        .stdin(Stdio::null())
        .output()
        .expect("qemu-system-x86_64 (Debian package qemu-system-x86, scripts/setup-host.sh)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn embedded_cpio_boots_under_qemu() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("init.c");
    std::fs::write(
        &src,
        r#"#include <stdio.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <unistd.h>
int main(void) {
    struct stat st;
    FILE *f = fopen("/etc/marker", "r");
    char line[64] = "no marker file\n";
    if (f) fgets(line, sizeof line, f);
    int dev_ok = stat("/dev/console", &st) == 0 && S_ISCHR(st.st_mode);
    printf("BBSDK-INIT pid=%d console=%s %s", (int)getpid(), dev_ok ? "chr" : "missing", line);
    fflush(stdout);
    sync();
    reboot(RB_POWER_OFF);
    return 0;
}
"#,
    )
    .unwrap();
    let init = t.path().join("init");
    run(Command::new("gcc")
        .args(["-static", "-O2", "-o"])
        .arg(&init)
        .arg(&src));
    let ov = t.path().join("overlay");
    std::fs::create_dir_all(ov.join("sbin")).unwrap();
    std::fs::create_dir_all(ov.join("etc")).unwrap();
    std::fs::copy(&init, ov.join("sbin/bbsdk-init")).unwrap();
    std::fs::write(ov.join("etc/marker"), "marker-from-the-cpio\n").unwrap();
    let table = t.path().join("devices.txt");
    std::fs::write(&table, "/dev/console c 600 0 0 5 1 - - -\n").unwrap();
    let out = build(
        t.path(),
        "out",
        &format!(
            "BBSDK_ARCH_X86_64=y\nBBSDK_LIBC_GLIBC=y\n# BBSDK_PACKAGE_BUSYBOX is not set\nBBSDK_ROOTFS_OVERLAY=\"{}\"\nBBSDK_ROOTFS_DEVICE_TABLE=\"{}\"\nBBSDK_IMAGE_CPIO=y\n# BBSDK_IMAGE_DOCKERFILE is not set\n# BBSDK_IMAGE_OCI is not set\n# BBSDK_IMAGE_DOCKER_ARCHIVE is not set\n",
            ov.display(),
            table.display()
        ),
    );
    let console = qemu_boot(
        t.path(),
        &out.join("images/rootfs.cpio.gz"),
        "/sbin/bbsdk-init",
    );
    assert!(
        console.contains("BBSDK-INIT pid=1 console=chr marker-from-the-cpio"),
        "the init of the cpio did not run as pid 1:\n{console}"
    );
}

/// bbsdk with the download directory and binary cache `tests/containers.rs`
/// uses, so BusyBox is compiled once per machine (per identity).
fn bbsdk_cached(out: &Path, args: &[&str]) -> Output {
    run::run(out, args)
}

fn make_cached(out: &Path, defconfig: &Path) -> String {
    let r = bbsdk_cached(out, &["defconfig", defconfig.to_str().unwrap()]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let r = bbsdk_cached(out, &["make"]);
    let err = String::from_utf8_lossy(&r.stderr).into_owned();
    assert!(r.status.success(), "bbsdk make failed:\n{err}");
    err
}

#[test]
fn busybox_container_image_runs_sh_c_and_layers_on_it() {
    let t = tempfile::tempdir().unwrap();
    let defconfig =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/container_x86_64_musl_defconfig");
    let base = t.path().join("base");
    make_cached(&base, &defconfig);
    let layout = base.join("images/oci");
    let script = "x=$(echo sh | tr a-z A-Z); echo got-$x uid=$(id -u); busybox | head -1";

    // runc, from the OCI layout, with `sh -c` as the process.
    let bundle = t.path().join("bundle");
    run(Command::new("umoci")
        .args([
            "unpack",
            "--image",
            &format!("{}:x86_64-musl", layout.display()),
        ])
        .arg(&bundle));
    let cfg_path = bundle.join("config.json");
    let mut cfg: Value = serde_json::from_slice(&std::fs::read(&cfg_path).unwrap()).unwrap();
    assert_eq!(
        cfg["process"]["args"],
        serde_json::json!(["/bin/sh"]),
        "CMD of the defconfig"
    );
    cfg["process"]["terminal"] = Value::Bool(false);
    cfg["process"]["args"] = serde_json::json!(["/bin/sh", "-c", script]);
    std::fs::write(&cfg_path, serde_json::to_vec(&cfg).unwrap()).unwrap();
    let out = stdout(
        Command::new("runc")
            .arg("--root")
            .arg(t.path().join("runc-root"))
            .args(["run", "--bundle"])
            .arg(&bundle)
            .arg(format!("bbsdk-bb-{}", std::process::id()))
            .stdin(Stdio::null()),
    );
    assert!(out.starts_with("got-SH uid=0\nBusyBox v"), "{out}");

    // docker, from the docker-archive.
    let archive = base.join("images/bbsdk-rootfs-x86_64-musl.docker.tar");
    run(docker().arg("load").arg("-i").arg(&archive));
    let reference = "bbsdk/rootfs:x86_64-musl";
    let out = stdout(docker().args(["run", "--rm", reference, "sh", "-c", script]));
    assert!(out.starts_with("got-SH uid=0\nBusyBox v"), "{out}");
    let _ = docker().args(["rmi", reference]).output();

    // An app on top of it: busybox comes from the base (not built again,
    // not in the app's layer), the app's layer holds its own file.
    let ov = t.path().join("app-overlay");
    std::fs::create_dir_all(ov.join("etc")).unwrap();
    std::fs::write(ov.join("etc/app.conf"), "from the app layer\n").unwrap();
    let app_def = t.path().join("app_defconfig");
    std::fs::write(
        &app_def,
        format!(
            "{}BBSDK_ROOTFS_OVERLAY=\"{}\"\nBBSDK_IMAGE_NAME=\"bbsdk-test/app\"\nBBSDK_IMAGE_TAG=\"app\"\nBBSDK_IMAGE_CMD=\"sh -c 'cat /etc/app.conf; ls /bin/sh'\"\nBBSDK_IMAGE_BASE=\"{}\"\n",
            std::fs::read_to_string(&defconfig).unwrap(),
            ov.display(),
            layout.display()
        ),
    )
    .unwrap();
    let app = t.path().join("app");
    let err = make_cached(&app, &app_def);
    assert!(
        err.contains("provided by the base image, not built: busybox"),
        "{err}"
    );
    let app_layout = app.join("images/oci");
    let m = json(
        Command::new("skopeo").args(["inspect", &format!("oci:{}:app", app_layout.display())]),
    );
    let layers = m["Layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2);
    let blob = app_layout
        .join("blobs/sha256")
        .join(layers[1].as_str().unwrap().trim_start_matches("sha256:"));
    let list = stdout(Command::new("tar").arg("-tzf").arg(&blob));
    assert!(list.lines().any(|l| l == "etc/app.conf"), "{list}");
    assert!(
        !list.contains("busybox"),
        "busybox is in the app's layer:\n{list}"
    );
    let out = umoci_runc(t.path(), &format!("{}:app", app_layout.display()), "app");
    assert_eq!(out, "from the app layer\n/bin/sh\n");
}

/// The embedded defconfig (BusyBox init) as an initramfs under qemu: init
/// runs `/etc/init.d/rcS` from an overlay, which prints a marker (a
/// BusyBox build of its own the first time).
#[test]
fn embedded_defconfig_boots_to_busybox_init_under_qemu() {
    use std::os::unix::fs::PermissionsExt;
    let t = tempfile::tempdir().unwrap();
    let ov = t.path().join("overlay");
    std::fs::create_dir_all(ov.join("etc/init.d")).unwrap();
    let rcs = ov.join("etc/init.d/rcS");
    std::fs::write(
        &rcs,
        "#!/bin/sh\necho \"BBSDK-RCS-MARKER pid1=$(cat /proc/1/comm) console=$(ls -l /dev/console | cut -c1)\"\npoweroff -f\n",
    )
    .unwrap();
    std::fs::set_permissions(&rcs, std::fs::Permissions::from_mode(0o755)).unwrap();
    let def = t.path().join("embedded_defconfig");
    std::fs::write(
        &def,
        // glibc (the host's gcc as external toolchain): the musl build of
        // the embedded BusyBox configuration does not compile yet (crypt.h
        // is missing from the bbsdk-built musl sysroot).
        format!(
            "{}BBSDK_LIBC_GLIBC=y\nBBSDK_ROOTFS_OVERLAY=\"{}\"\n",
            std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("configs/embedded_x86_64_musl_defconfig")
            )
            .unwrap(),
            ov.display()
        ),
    )
    .unwrap();
    let out = t.path().join("out");
    make_cached(&out, &def);
    let console = qemu_boot(t.path(), &out.join("images/rootfs.cpio.gz"), "/sbin/init");
    assert!(
        console.contains("BBSDK-RCS-MARKER pid1=init console=c"),
        "busybox init did not run the init script:\n{console}"
    );
}

//! The package set of `package/`: every recipe parses and plans for the six
//! targets, and together they use every build infrastructure (fast, always
//! run). With `BBSDK_TEST_PACKAGES=1`, real builds: the nginx images of
//! `configs/` serve a page from runc (aarch64 through qemu-user and
//! binfmt_misc) and stop on SIGTERM; an image with every other package runs
//! figlet, curl (against a local server), lua, jq, sqlite, dropbear and the
//! time zone data under bubblewrap.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

#[path = "support/http.rs"]
mod http;

const TARGETS: [&str; 6] = [
    "container_x86_64_glibc",
    "container_x86_64_musl",
    "container_aarch64_glibc",
    "container_aarch64_musl",
    "container_armv7_glibc",
    "container_armv7_musl",
];

/// The package set of issue 8; every one must have a recipe.
const PACKAGES: [&str; 16] = [
    "zlib",
    "figlet",
    "pcre2",
    "openssl",
    "nginx",
    "skalibs",
    "execline",
    "s6",
    "ca-certificates",
    "tzdata",
    "lua",
    "sqlite",
    "jq",
    "curl",
    "dropbear",
    "pkgconf",
];

fn top() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bbsdk(out: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bbsdk"))
        .arg("-O")
        .arg(out)
        .args(args)
        .current_dir(top())
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env_remove("CONFIG_")
        .env_remove("BR2_CONFIG")
        .env_remove("KCONFIG_CONFIG")
        .output()
        .expect("run bbsdk")
}

fn ok(o: &Output, what: &str) -> String {
    assert!(
        o.status.success(),
        "{what} failed ({}):\n{}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn symbol(pkg: &str) -> String {
    format!(
        "BBSDK_PACKAGE_{}",
        pkg.to_uppercase().replace(['-', '.'], "_")
    )
}

/// Loads `<target>_defconfig` plus `extra` lines into `out`.
fn configure(out: &Path, target: &str, extra: &str) {
    let base = std::fs::read_to_string(top().join(format!("configs/{target}_defconfig")))
        .expect("read defconfig");
    let file = out.join("test_defconfig");
    std::fs::create_dir_all(out).unwrap();
    std::fs::write(&file, format!("{base}\n{extra}\n")).unwrap();
    ok(
        &bbsdk(out, &["defconfig", file.to_str().unwrap()]),
        "bbsdk defconfig",
    );
}

#[test]
fn every_recipe_plans_for_the_six_targets_and_all_infrastructures_are_used() {
    for p in PACKAGES {
        assert!(
            top().join(format!("package/{p}/{p}.toml")).is_file(),
            "package/{p}/{p}.toml is missing"
        );
    }
    let all: String = PACKAGES
        .iter()
        .map(|p| format!("{}=y\n", symbol(p)))
        .collect();
    let mut systems = BTreeSet::new();
    for target in TARGETS {
        let dir = tempfile::tempdir().unwrap();
        configure(dir.path(), target, &all);
        let info: serde_json::Value = serde_json::from_str(&ok(
            &bbsdk(dir.path(), &["show-info"]),
            &format!("show-info for {target}"),
        ))
        .expect("show-info is JSON");
        for p in PACKAGES {
            let e = &info[p];
            assert!(e.is_object(), "{target}: {p} is not in the plan:\n{info:#}");
            assert!(
                !e["sources"].as_array().unwrap().is_empty(),
                "{target}: {p} has no source"
            );
            for s in e["sources"].as_array().unwrap() {
                let sha = s["sha256"].as_str().unwrap();
                assert!(sha.len() == 64, "{target}: {p}: {s}");
                assert!(
                    !s["urls"].as_array().unwrap().is_empty() || s["debian"].is_object(),
                    "{target}: {p}: no location for {s}"
                );
            }
            systems.insert(e["build_system"].as_str().unwrap().to_string());
        }
        // Build dependencies are planned too: curl's cross pkg-config.
        assert_eq!(info["host-pkgconf"]["variant"], "host", "{target}");
        assert!(info["curl"]["build_dependencies"]
            .as_array()
            .unwrap()
            .contains(&"host-pkgconf".into()));
        // Every package's symbol stayed enabled (no unmet dependency).
        let config = std::fs::read_to_string(dir.path().join(".config")).unwrap();
        for p in PACKAGES {
            assert!(
                config.lines().any(|l| l == format!("{}=y", symbol(p))),
                "{target}: {} is not set in .config",
                symbol(p)
            );
        }
    }
    let want: BTreeSet<String> = ["generic", "make", "autotools", "cmake", "meson"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert!(
        want.is_subset(&systems),
        "infrastructures used: {systems:?}, want all of {want:?}"
    );
}

#[test]
fn nginx_defconfigs_select_nginx_and_s6_as_entry_point() {
    for target in [
        "container_x86_64_musl_nginx",
        "container_aarch64_glibc_nginx",
    ] {
        let dir = tempfile::tempdir().unwrap();
        ok(
            &bbsdk(dir.path(), &[&format!("{target}_defconfig")]),
            "load defconfig",
        );
        let config = std::fs::read_to_string(dir.path().join(".config")).unwrap();
        for want in [
            "BBSDK_PACKAGE_NGINX=y",
            "BBSDK_PACKAGE_S6=y",
            "BBSDK_IMAGE_ENTRYPOINT=\"/usr/bin/s6-svscan /etc/s6/services\"",
            "BBSDK_ROOTFS_OVERLAY=\"board/nginx/rootfs-overlay\"",
        ] {
            assert!(config.lines().any(|l| l == want), "{target}: {want}");
        }
        let info: serde_json::Value =
            serde_json::from_str(&ok(&bbsdk(dir.path(), &["show-info"]), "show-info")).unwrap();
        let names: BTreeSet<&str> = info
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        for p in [
            "nginx", "openssl", "pcre2", "zlib", "s6", "execline", "skalibs",
        ] {
            assert!(names.contains(p), "{target}: {p} not planned: {names:?}");
        }
    }
    // The overlay's service script is executable, as s6-supervise needs.
    let run = top().join("board/nginx/rootfs-overlay/etc/s6/services/nginx/run");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&run).unwrap().permissions());
    assert!(mode & 0o111 != 0, "{} is not executable", run.display());
}

// ---------------------------------------------------------------------------
// Real builds (BBSDK_TEST_PACKAGES=1)
// ---------------------------------------------------------------------------

fn slow_tests_enabled() -> bool {
    std::env::var("BBSDK_TEST_PACKAGES").is_ok_and(|v| v == "1")
}

fn need_tool(tool: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "{tool} is not installed: run scripts/setup-host.sh (needed by BBSDK_TEST_PACKAGES tests)"
    );
}

/// A persistent output directory per configuration, so a second run is a
/// no-op build (the binary cache also serves other output directories).
fn output_dir(name: &str) -> PathBuf {
    let base = std::env::var_os("BBSDK_TEST_PACKAGES_OUTPUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("bbsdk-test-packages"));
    base.join(name)
}

fn build(out: &Path) -> PathBuf {
    ok(
        &bbsdk(out, &["make"]),
        &format!("bbsdk make in {}", out.display()),
    );
    let tar = out.join("images/rootfs.tar");
    assert!(tar.is_file(), "{} was not written", tar.display());
    tar
}

fn unpack(tar: &Path, dest: &Path) {
    if dest.exists() {
        std::fs::remove_dir_all(dest).unwrap();
    }
    std::fs::create_dir_all(dest).unwrap();
    let o = Command::new("tar")
        .arg("-xf")
        .arg(tar)
        .arg("-C")
        .arg(dest)
        .arg("--numeric-owner")
        .output()
        .unwrap();
    ok(&o, "tar -x");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.0 GET on 127.0.0.1; `None` while nothing answers.
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    Some(body)
}

/// The words of a BBSDK_IMAGE_* string value, as the OCI config gets them.
fn config_words(out: &Path, sym: &str) -> Vec<String> {
    let config = std::fs::read_to_string(out.join(".config")).unwrap();
    let line = config
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{sym}=\"")))
        .unwrap_or_else(|| panic!("{sym} not in .config"));
    line.trim_end_matches('"')
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

struct Container {
    id: String,
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("runc")
            .args(["delete", "--force", &self.id])
            .output();
    }
}

fn runc_status(id: &str) -> String {
    let o = Command::new("runc").args(["state", id]).output().unwrap();
    if !o.status.success() {
        return "gone".into();
    }
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    v["status"].as_str().unwrap_or("unknown").to_string()
}

/// Builds a nginx defconfig, runs the image with runc (the host's network
/// namespace, a port picked here), fetches the page, then stops the
/// container with SIGTERM as `docker stop` does.
fn nginx_image_serves_a_page(defconfig: &str, max_size: Option<u64>) {
    if !slow_tests_enabled() {
        eprintln!("skipped: set BBSDK_TEST_PACKAGES=1 to build the nginx image");
        return;
    }
    need_tool("runc");
    let out = output_dir(defconfig);
    ok(
        &bbsdk(&out, &[&format!("{defconfig}_defconfig")]),
        "defconfig",
    );
    let tar = build(&out);
    let size = std::fs::metadata(&tar).unwrap().len();
    eprintln!("{defconfig}: rootfs.tar is {size} bytes");
    if let Some(max) = max_size {
        assert!(
            size < max,
            "{defconfig}: rootfs.tar is {size} bytes, want < {max}"
        );
    }

    let bundle = out.join("runc-bundle");
    let rootfs = bundle.join("rootfs");
    unpack(&tar, &rootfs);
    let port = free_port();
    let conf = rootfs.join("etc/nginx/nginx.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(
        text.contains("listen 80;"),
        "overlay nginx.conf listens on 80"
    );
    std::fs::write(
        &conf,
        text.replace("listen 80;", &format!("listen 127.0.0.1:{port};")),
    )
    .unwrap();

    // An OCI runtime config from runc's own template: the entry point of the
    // image configuration, no terminal, a writable root, the host's network.
    let _ = std::fs::remove_file(bundle.join("config.json"));
    let o = Command::new("runc")
        .args(["spec", "--bundle"])
        .arg(&bundle)
        .output()
        .unwrap();
    ok(&o, "runc spec");
    let mut spec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bundle.join("config.json")).unwrap())
            .unwrap();
    let mut args = config_words(&out, "BBSDK_IMAGE_ENTRYPOINT");
    args.extend(config_words(&out, "BBSDK_IMAGE_CMD"));
    assert_eq!(args, ["/usr/bin/s6-svscan", "/etc/s6/services"]);
    spec["process"]["args"] = args.into();
    spec["process"]["terminal"] = false.into();
    spec["process"]["env"] = config_words(&out, "BBSDK_IMAGE_ENV").into();
    spec["root"]["readonly"] = false.into();
    // Docker's default capabilities: nginx's master switches its workers to
    // www-data (setuid/setgid) and owns its temp directories (chown).
    let caps: Vec<&str> = [
        "CHOWN",
        "DAC_OVERRIDE",
        "FSETID",
        "FOWNER",
        "MKNOD",
        "NET_RAW",
        "SETGID",
        "SETUID",
        "SETFCAP",
        "SETPCAP",
        "NET_BIND_SERVICE",
        "SYS_CHROOT",
        "KILL",
        "AUDIT_WRITE",
    ]
    .to_vec();
    let caps: Vec<String> = caps.iter().map(|c| format!("CAP_{c}")).collect();
    for set in ["bounding", "effective", "permitted"] {
        spec["process"]["capabilities"][set] = caps.clone().into();
    }
    let ns = spec["linux"]["namespaces"].as_array_mut().unwrap();
    ns.retain(|n| n["type"] != "network");
    // sysfs cannot be mounted without a network namespace of its own: bind
    // the host's, read-only, as engines do for host networking.
    for m in spec["mounts"].as_array_mut().unwrap() {
        if m["destination"] == "/sys" {
            *m = serde_json::json!({"destination": "/sys", "type": "bind", "source": "/sys",
                "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]});
        }
    }
    std::fs::write(
        bundle.join("config.json"),
        serde_json::to_string_pretty(&spec).unwrap(),
    )
    .unwrap();

    let id = format!(
        "bbsdk-test-{}-{}",
        defconfig.replace('_', "-"),
        std::process::id()
    );
    let log = std::fs::File::create(out.join("runc.log")).unwrap();
    let container = Container { id: id.clone() };
    let mut child = Command::new("runc")
        .args(["run", "--bundle"])
        .arg(&bundle)
        .arg(&id)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();

    // qemu-user makes the aarch64 image slow to start: wait up to 2 minutes.
    let deadline = Instant::now() + Duration::from_secs(120);
    let page = loop {
        if let Some(p) = http_get(port, "/").filter(|p| p.contains("200 OK")) {
            break p;
        }
        if let Some(st) = child.try_wait().unwrap() {
            panic!(
                "the container exited ({st}) before serving:\n{}",
                std::fs::read_to_string(out.join("runc.log")).unwrap_or_default()
            );
        }
        assert!(
            Instant::now() < deadline,
            "nothing served on 127.0.0.1:{port}:\n{}",
            std::fs::read_to_string(out.join("runc.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    assert!(
        page.contains("Served by nginx from a bbsdk image"),
        "unexpected page:\n{page}"
    );
    assert!(page.contains("Server: nginx/1.22.1"), "{page}");
    let missing = http_get(port, "/no-such-page").unwrap_or_default();
    assert!(missing.contains("404 Not Found"), "{missing}");

    // s6-svscan is process 1: on SIGTERM it stops nginx and exits.
    assert_eq!(runc_status(&id), "running");
    ok(
        &Command::new("runc")
            .args(["kill", &id, "TERM"])
            .output()
            .unwrap(),
        "runc kill TERM",
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(
            Instant::now() < deadline,
            "the container did not stop after SIGTERM:\n{}",
            std::fs::read_to_string(out.join("runc.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        http_get(port, "/").is_none(),
        "nginx still answers after the container stopped"
    );
    eprintln!("{defconfig}: container exited with {status} after SIGTERM");
    drop(container);
}

#[test]
fn nginx_image_x86_64_musl_serves_a_page_from_runc() {
    nginx_image_serves_a_page("container_x86_64_musl_nginx", Some(8 * 1024 * 1024));
}

#[test]
fn nginx_image_aarch64_glibc_serves_a_page_from_runc() {
    nginx_image_serves_a_page("container_aarch64_glibc_nginx", None);
}

/// Runs a program of an unpacked image under bubblewrap (the host's network).
fn in_image(rootfs: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new("bwrap");
    c.arg("--bind")
        .arg(rootfs)
        .arg("/")
        .args(["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"])
        .args([
            "--clearenv",
            "--setenv",
            "PATH",
            "/usr/sbin:/usr/bin:/sbin:/bin",
        ]);
    for (k, v) in env {
        c.args(["--setenv", k, v]);
    }
    c.args(args).output().unwrap()
}

/// The other packages, in one image per target: each program runs.
fn tools_image(target: &str) {
    if !slow_tests_enabled() {
        eprintln!("skipped: set BBSDK_TEST_PACKAGES=1 to build the tools image");
        return;
    }
    need_tool("bwrap");
    let out = output_dir(&format!("{target}_tools"));
    let extra: String = [
        "figlet",
        "curl",
        "ca-certificates",
        "lua",
        "jq",
        "sqlite",
        "dropbear",
        "tzdata",
        "pkgconf",
    ]
    .iter()
    .map(|p| format!("{}=y\n", symbol(p)))
    .collect();
    configure(
        &out,
        target,
        &format!("# BBSDK_PACKAGE_BUSYBOX is not set\n{extra}"),
    );
    let tar = build(&out);
    eprintln!(
        "{target} tools: rootfs.tar is {} bytes",
        std::fs::metadata(&tar).unwrap().len()
    );
    let rootfs = out.join("rootfs");
    unpack(&tar, &rootfs);

    // figlet prints a banner with its default font.
    let fig = ok(&in_image(&rootfs, &["figlet", "bbsdk"], &[]), "figlet");
    let expected = [
        r" _     _             _ _    ",
        r"| |__ | |__  ___  __| | | __",
        r"| '_ \| '_ \/ __|/ _` | |/ /",
        r"| |_) | |_) \__ \ (_| |   < ",
        r"|_.__/|_.__/|___/\__,_|_|\_\",
        r"                            ",
    ];
    assert_eq!(
        fig.lines().collect::<Vec<_>>(),
        expected,
        "figlet printed:\n{fig}"
    );

    // curl fetches from a server on the host's loopback.
    let server = http::TestServer::start();
    let body = format!("hello from the test server, pid {}\n", std::process::id());
    server.serve("/hello.txt", body.as_bytes());
    let got = ok(
        &in_image(&rootfs, &["curl", "-sSf", &server.url("/hello.txt")], &[]),
        "curl",
    );
    assert_eq!(got, body);
    assert_eq!(server.hits("/hello.txt"), 1);
    let v = ok(
        &in_image(&rootfs, &["curl", "--version"], &[]),
        "curl --version",
    );
    assert!(v.contains("OpenSSL/3.0.20") && v.contains("https"), "{v}");
    assert!(rootfs.join("etc/ssl/certs/ca-certificates.crt").is_file());

    let lua = ok(
        &in_image(
            &rootfs,
            &["lua", "-e", "print(string.format('%d', 6*7))"],
            &[],
        ),
        "lua",
    );
    assert_eq!(lua.trim(), "42");
    let jq = ok(
        &in_image(&rootfs, &["jq", "-n", "-c", "[1,2,3] | map(.*2)"], &[]),
        "jq",
    );
    assert_eq!(jq.trim(), "[2,4,6]");
    let sql = ok(
        &in_image(
            &rootfs,
            &[
                "sqlite3",
                ":memory:",
                "create table t(x); insert into t values (20),(22); select sum(x) from t;",
            ],
            &[],
        ),
        "sqlite3",
    );
    assert_eq!(sql.trim(), "42");
    let key = ok(
        &in_image(
            &rootfs,
            &["dropbearkey", "-t", "ed25519", "-f", "/tmp/k"],
            &[],
        ),
        "dropbearkey",
    );
    assert!(key.contains("ssh-ed25519 "), "{key}");
    // The time zone data: Paris is UTC+1 in winter.
    assert!(rootfs.join("usr/share/zoneinfo/Europe/Paris").is_file());
    let date = ok(
        &in_image(
            &rootfs,
            &["lua", "-e", "print(os.date('%H', 0))"],
            &[("TZ", "Europe/Paris")],
        ),
        "TZ",
    );
    assert_eq!(date.trim(), "01");
    let pc = ok(
        &in_image(&rootfs, &["pkgconf", "--version"], &[]),
        "pkgconf",
    );
    assert_eq!(pc.trim(), "1.8.1");
}

#[test]
fn tools_image_x86_64_musl() {
    tools_image("container_x86_64_musl");
}

#[test]
fn tools_image_aarch64_glibc() {
    tools_image("container_aarch64_glibc");
}

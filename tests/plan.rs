//! Recipes and the planner: validation errors with file:line, selection,
//! order, and identity hashes that change exactly where they must.

use std::collections::BTreeMap;
use std::path::Path;

use bbsdk::package::Registry;
use bbsdk::plan::{plan, PlanInput};
use bbsdk::target::Target;

const SUM: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn recipe(name: &str, deps: &[&str], extra: &str) -> String {
    let deps = deps
        .iter()
        .map(|d| format!("\"{d}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "name = \"{name}\"\nversion = \"1.0\"\nlicense = \"MIT\"\nvariants = [\"target\", \"host\"]\n\n[[source]]\nfile = \"{name}-1.0.tar.gz\"\nurls = [\"http://127.0.0.1/{name}-1.0.tar.gz\"]\nsha256 = \"{SUM}\"\n\n[dependencies]\nbuild = [{deps}]\n\n[build]\nsystem = \"make\"\n{extra}"
    )
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::create_dir_all(dir.join(name)).unwrap();
    std::fs::write(dir.join(name).join(format!("{name}.toml")), text).unwrap();
}

fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut v: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    v.insert("BBSDK_ARCH_AARCH64".into(), "y".into());
    v.insert("BBSDK_LIBC_MUSL".into(), "y".into());
    v
}

fn identities(
    reg: &Registry,
    vals: &BTreeMap<String, String>,
    top: &Path,
) -> BTreeMap<String, String> {
    let target = Target::from_values(vals).unwrap();
    let p = plan(PlanInput {
        registry: reg,
        values: vals,
        target: &target,
        toolchain_id: "gcc-12",
        host_toolchain_id: "host-gcc-12",
        top,
    })
    .unwrap();
    p.nodes
        .iter()
        .map(|n| (n.name.clone(), n.identity.clone()))
        .collect()
}

#[test]
fn selection_order_and_dependencies() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "zlib", &recipe("zlib", &["host-pkgconf"], ""));
    write(d.path(), "pkgconf", &recipe("pkgconf", &[], ""));
    write(
        d.path(),
        "curl",
        &recipe("curl", &["zlib", "host-pkgconf"], ""),
    );
    write(d.path(), "unused", &recipe("unused", &[], ""));
    let reg = Registry::scan(d.path()).unwrap();
    let vals = values(&[("BBSDK_PACKAGE_CURL", "y")]);
    let target = Target::from_values(&vals).unwrap();
    let p = plan(PlanInput {
        registry: &reg,
        values: &vals,
        target: &target,
        toolchain_id: "t",
        host_toolchain_id: "h",
        top: d.path(),
    })
    .unwrap();
    let names: Vec<&str> = p.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names.len(), 3, "{names:?}");
    let pos = |n: &str| names.iter().position(|x| *x == n).unwrap();
    assert!(
        pos("host-pkgconf") < pos("zlib") && pos("zlib") < pos("curl"),
        "{names:?}"
    );
    assert!(!names.contains(&"unused") && !names.contains(&"pkgconf"));
    let closure: Vec<&str> = p
        .closure("zlib")
        .iter()
        .map(|&i| p.nodes[i].name.as_str())
        .collect();
    assert_eq!(closure.len(), 2);
    assert!(p.to_dot().contains("\"curl\" -> \"zlib\";"));
}

#[test]
fn identity_changes_exactly_where_it_must() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "zlib", &recipe("zlib", &[], ""));
    write(d.path(), "curl", &recipe("curl", &["zlib"], ""));
    write(d.path(), "jq", &recipe("jq", &[], ""));
    let reg = Registry::scan(d.path()).unwrap();
    let base = values(&[
        ("BBSDK_PACKAGE_CURL", "y"),
        ("BBSDK_PACKAGE_JQ", "y"),
        ("BBSDK_PACKAGE_ZLIB_SMALL", "n"),
    ]);
    let a = identities(&reg, &base, d.path());
    assert_eq!(
        a,
        identities(&reg, &base, d.path()),
        "identities are deterministic"
    );

    // An option of zlib: zlib and curl (which builds against it) change, jq does not.
    let mut opt = base.clone();
    opt.insert("BBSDK_PACKAGE_ZLIB_SMALL".into(), "y".into());
    let b = identities(&reg, &opt, d.path());
    assert_ne!(a["zlib"], b["zlib"]);
    assert_ne!(a["curl"], b["curl"]);
    assert_eq!(a["jq"], b["jq"]);

    // A patch on jq changes jq only.
    std::fs::write(d.path().join("jq/0001-fix.patch"), "--- a\n+++ b\n").unwrap();
    let reg2 = Registry::scan(d.path()).unwrap();
    let c = identities(&reg2, &base, d.path());
    assert_ne!(a["jq"], c["jq"]);
    assert_eq!(a["zlib"], c["zlib"]);
    assert_eq!(a["curl"], c["curl"]);

    // Another target changes every target package.
    let mut arm = base.clone();
    arm.remove("BBSDK_ARCH_AARCH64");
    arm.insert("BBSDK_ARCH_ARMV7".into(), "y".into());
    let e = identities(&reg, &arm, d.path());
    assert!(a.iter().all(|(k, v)| e[k] != *v));
}

#[test]
fn recipe_errors_name_file_line_and_field() {
    let d = tempfile::tempdir().unwrap();
    // Unknown field.
    write(
        d.path(),
        "zz",
        &format!("{}\nfrob = 1\n", recipe("zz", &[], "")),
    );
    let e = Registry::scan(d.path()).unwrap_err().to_string();
    let line = recipe("zz", &[], "").lines().count() + 2;
    assert!(
        e.contains(&format!("zz.toml:{line}:"))
            && e.contains("unknown field `frob`")
            && e.contains("hint:"),
        "{e}"
    );

    // Bad checksum.
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "zz", &recipe("zz", &[], "").replace(SUM, "abc"));
    let e = Registry::scan(d.path()).unwrap_err().to_string();
    assert!(
        e.contains("zz.toml:9:") && e.contains("source.sha256") && e.contains("sha256sum"),
        "{e}"
    );

    // Missing checksum.
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "zz",
        &recipe("zz", &[], "").replace(&format!("sha256 = \"{SUM}\"\n"), ""),
    );
    let e = Registry::scan(d.path()).unwrap_err().to_string();
    assert!(
        e.contains("zz.toml:") && e.contains("missing field `sha256`"),
        "{e}"
    );

    // Unknown dependency, with the line of the dependency.
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "zz", &recipe("zz", &["nope"], ""));
    let e = Registry::scan(d.path()).unwrap_err().to_string();
    assert!(
        e.contains("zz.toml:12:") && e.contains("unknown package \"nope\""),
        "{e}"
    );

    // Name that does not match the directory.
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "zz",
        &recipe("zz", &[], "").replace("name = \"zz\"", "name = \"yy\""),
    );
    let e = Registry::scan(d.path()).unwrap_err().to_string();
    assert!(
        e.contains("zz.toml:1:") && e.contains("does not match the directory"),
        "{e}"
    );

    // Generic build without steps.
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "zz",
        &recipe("zz", &[], "").replace("system = \"make\"", "system = \"generic\""),
    );
    let e = Registry::scan(d.path()).unwrap_err().to_string();
    assert!(e.contains("build.steps") && e.contains("Generic"), "{e}");
}

#[test]
fn dependency_cycles_are_named() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "a", &recipe("a", &["b"], ""));
    write(d.path(), "b", &recipe("b", &["c"], ""));
    write(d.path(), "c", &recipe("c", &["a"], ""));
    let reg = Registry::scan(d.path()).unwrap();
    let vals = values(&[("BBSDK_PACKAGE_A", "y")]);
    let target = Target::from_values(&vals).unwrap();
    let e = plan(PlanInput {
        registry: &reg,
        values: &vals,
        target: &target,
        toolchain_id: "t",
        host_toolchain_id: "h",
        top: d.path(),
    })
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("dependency cycle: ")
            && e.contains('a')
            && e.contains('b')
            && e.contains('c')
            && e.contains("hint:"),
        "{e}"
    );
}

#[test]
fn host_tools_depend_on_host_tools() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "zlib", &recipe("zlib", &[], ""));
    write(d.path(), "tool", &recipe("tool", &["zlib"], ""));
    write(d.path(), "app", &recipe("app", &["host-tool"], ""));
    let reg = Registry::scan(d.path()).unwrap();
    let vals = values(&[("BBSDK_PACKAGE_APP", "y")]);
    let target = Target::from_values(&vals).unwrap();
    let p = plan(PlanInput {
        registry: &reg,
        values: &vals,
        target: &target,
        toolchain_id: "t",
        host_toolchain_id: "h",
        top: d.path(),
    })
    .unwrap();
    let names: Vec<&str> = p.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["host-zlib", "host-tool", "app"]);
    let tool = p.get("host-tool").unwrap();
    assert_eq!(
        tool.build_deps
            .iter()
            .map(|&i| p.nodes[i].name.as_str())
            .collect::<Vec<_>>(),
        ["host-zlib"]
    );
}

//! A no-op build of a 50-package plan (target: under 50 ms): generic packages
//! with trivial steps and a few dependencies each, built once before
//! measuring.
//!
//! - `build/noop-50-packages`: `Executor::new(..).build_all()` finds
//!   everything up to date (output lock, 50 identity stamps, the merge
//!   manifest);
//! - `build/bbsdk-make-noop-50-packages`: the whole command, `bbsdk make` as
//!   a user runs it (process start, Kconfig tree and `.config`, recipes,
//!   plan, toolchain, executor, root and images), in a copy of the bbsdk
//!   tree whose package menu holds the 50 packages.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use bbsdk::build::{BuildSettings, Executor, ToolchainEnv};
use bbsdk::fetch::{FetchOptions, Fetcher, Mirrors};
use bbsdk::package::Registry;
use bbsdk::plan::{plan, PlanInput};
use bbsdk::target::Target;
use criterion::{criterion_group, criterion_main, Criterion};

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let packages = dir.path().join("package");
    let n = 50;
    let mut values = BTreeMap::new();
    values.insert("BBSDK_ARCH_X86_64".to_string(), "y".to_string());
    values.insert("BBSDK_LIBC_GLIBC".to_string(), "y".to_string());
    for i in 0..n {
        let name = format!("p{i}");
        let deps: Vec<String> = [1, 7]
            .iter()
            .filter(|&&k| i >= k)
            .map(|k| format!("\"p{}\"", i - k))
            .collect();
        let mut t = String::new();
        let _ = write!(
            t,
            "name = \"{name}\"\nversion = \"1.0\"\nlicense = \"MIT\"\n\n[dependencies]\nbuild = [{}]\n\n[build]\nsystem = \"generic\"\n\n[build.steps]\ninstall_staging = \"mkdir -p \\\"$DESTDIR/usr/include\\\" && echo {i} > \\\"$DESTDIR/usr/include/{name}.h\\\"\"\ninstall_target = \"mkdir -p \\\"$TARGET_DIR/etc\\\" && echo {i} > \\\"$TARGET_DIR/etc/{name}\\\"\"\n",
            deps.join(", ")
        );
        std::fs::create_dir_all(packages.join(&name)).expect("mkdir");
        std::fs::write(packages.join(&name).join(format!("{name}.toml")), t).expect("write");
        let menu = format!("config BBSDK_PACKAGE_P{i}\n\tbool \"{name}\"\n\tdefault y\n");
        std::fs::write(packages.join(&name).join("Config.in"), menu).expect("write");
        values.insert(format!("BBSDK_PACKAGE_P{i}"), "y".to_string());
    }
    let reg = Registry::scan(&packages).expect("scan");
    let target = Target::from_values(&values).expect("target");
    let plan = plan(PlanInput {
        registry: &reg,
        values: &values,
        target: &target,
        toolchain_id: "gcc",
        host_toolchain_id: "gcc",
        top: dir.path(),
    })
    .expect("plan");
    assert_eq!(plan.nodes.len(), n);
    let fetcher = Fetcher::with_options(
        dir.path().join("dl"),
        Mirrors::default(),
        FetchOptions {
            progress: false,
            ..FetchOptions::default()
        },
    )
    .expect("fetcher");
    let mut settings = BuildSettings::new(
        dir.path().join("output"),
        ToolchainEnv::host_gcc().expect("gcc"),
    );
    settings.progress = false;
    settings.jobs = 2;
    settings.top = dir.path().to_path_buf();
    let first = Executor::new(settings.clone(), &reg, &plan, &fetcher)
        .build_all()
        .expect("first build");
    assert_eq!(first.built.len(), n);

    let mut g = c.benchmark_group("build");
    g.sample_size(50);
    g.bench_function("noop-50-packages", |b| {
        b.iter(|| {
            let r = Executor::new(settings.clone(), &reg, &plan, &fetcher)
                .build_all()
                .expect("no-op build");
            assert!(r.built.is_empty() && !r.merged);
            r
        })
    });

    // The whole command, in a bbsdk tree of its own.
    let top = dir.path();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for d in ["toolchains", "board", "configs"] {
        copy_tree(&repo.join(d), &top.join(d));
    }
    for f in ["Config.in", "package/Config.gentoo.in"] {
        std::fs::copy(repo.join(f), top.join(f)).expect("copy");
    }
    let mut menu = String::from("menu \"Target packages\"\n");
    for i in 0..n {
        let _ = writeln!(menu, "source \"package/p{i}/Config.in\"");
    }
    menu.push_str("endmenu\n");
    std::fs::write(top.join("package/Config.in"), menu).expect("write");
    let bbsdk = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_bbsdk"))
            .env("BBSDK_TOP", top)
            .env("XDG_CACHE_HOME", top.join("cache"))
            .arg("-O")
            .arg(top.join("out"))
            .args(args)
            .output()
            .expect("run bbsdk");
        assert!(out.status.success(), "bbsdk {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let first = bbsdk(&["make", "container_x86_64_glibc_defconfig", "all"]);
    assert!(first.contains(&format!(">>> {n} built")), "{first}");
    let again = bbsdk(&["make"]);
    assert!(again.contains("images up to date"), "{again}");
    g.bench_function("bbsdk-make-noop-50-packages", |b| {
        b.iter(|| bbsdk(&["make"]))
    });
    g.finish();
}

fn copy_tree(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.expect("walk");
        let dest = to.join(e.path().strip_prefix(from).expect("prefix"));
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest).expect("mkdir");
        } else if e.file_type().is_symlink() {
            let link = std::fs::read_link(e.path()).expect("readlink");
            std::os::unix::fs::symlink(link, &dest).expect("symlink");
        } else {
            std::fs::copy(e.path(), &dest).expect("copy");
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);

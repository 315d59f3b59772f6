//! Planning 1,000 synthetic packages (target: under 100 ms), from recipes on
//! disk already scanned, and the scan itself.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use bbsdk::package::Registry;
use bbsdk::plan::{plan, PlanInput};
use bbsdk::target::Target;
use criterion::{criterion_group, criterion_main, Criterion};

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let n = 1000;
    let mut values = BTreeMap::new();
    values.insert("BBSDK_ARCH_X86_64".to_string(), "y".to_string());
    values.insert("BBSDK_LIBC_MUSL".to_string(), "y".to_string());
    for i in 0..n {
        let name = format!("p{i}");
        let mut deps = Vec::new();
        for k in [1, 7, 31] {
            if i >= k {
                deps.push(format!("\"p{}\"", i - k));
            }
        }
        let mut t = String::new();
        let _ = write!(
            t,
            "name = \"{name}\"\nversion = \"1.{i}\"\nlicense = \"MIT\"\n\n[[source]]\nfile = \"{name}.tar.gz\"\nurls = [\"http://127.0.0.1/{name}.tar.gz\"]\nsha256 = \"{:064x}\"\n\n[dependencies]\nbuild = [{}]\n\n[build]\nsystem = \"autotools\"\nconfigure_args = [\"--disable-static\"]\n",
            i,
            deps.join(", ")
        );
        std::fs::create_dir_all(dir.path().join(&name)).expect("mkdir");
        std::fs::write(dir.path().join(&name).join(format!("{name}.toml")), t).expect("write");
        values.insert(format!("BBSDK_PACKAGE_P{i}"), "y".to_string());
        values.insert(format!("BBSDK_PACKAGE_P{i}_OPT"), "y".to_string());
    }
    let reg = Registry::scan(dir.path()).expect("scan");
    let target = Target::from_values(&values).expect("target");
    let input = PlanInput {
        registry: &reg,
        values: &values,
        target: &target,
        toolchain_id: "gcc",
        host_toolchain_id: "host-gcc",
        top: dir.path(),
    };
    let mut g = c.benchmark_group("plan");
    g.sample_size(20);
    g.bench_function("plan-1000-packages", |b| {
        b.iter(|| plan(input).expect("plan"))
    });
    g.bench_function("scan-1000-recipes", |b| {
        b.iter(|| Registry::scan(dir.path()).expect("scan"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! Kconfig engine benchmarks: load a tree, apply a defconfig, render .config.
//!
//! * `own-tree`: bbsdk's own Config.in with a shipped defconfig.
//! * `synthetic-9k`: a generated tree shaped like Buildroot's (about 9,000
//!   symbols in about 3,000 files: menus, `if` blocks, choices, selects,
//!   help texts), since Buildroot itself is not part of this repository.
//! * `buildroot`: only when `BBSDK_BENCH_BUILDROOT` names a Buildroot
//!   checkout prepared as in docs/kconfig.md (its `.br2-external.in.*` files
//!   in `$BASE_DIR`).
//!
//! Before the timings, each tree's peak memory (VmHWM) after one load is printed.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use bbsdk::kconfig::{self, Config, LoadOptions, NewMode};
use criterion::{criterion_group, criterion_main, Criterion};

fn generate_tree(dir: &Path, packages: usize) {
    let pkg = dir.join("package");
    std::fs::create_dir_all(&pkg).expect("mkdir");
    let mut top = String::from("mainmenu \"Synthetic tree\"\n\nmenu \"Target options\"\n");
    top.push_str("choice\n\tprompt \"Architecture\"\n\tdefault ARCH_X86_64\n");
    for a in ["X86_64", "AARCH64", "ARM", "RISCV64", "MIPS"] {
        let _ = write!(
            top,
            "config ARCH_{a}\n\tbool \"{a}\"\n\thelp\n\t  Build for {a}.\n"
        );
    }
    top.push_str("endchoice\n\nconfig ARCH\n\tstring\n");
    for a in ["X86_64", "AARCH64", "ARM", "RISCV64", "MIPS"] {
        let _ = writeln!(top, "\tdefault \"{}\" if ARCH_{a}", a.to_lowercase());
    }
    top.push_str("config USE_MMU\n\tbool \"MMU\"\n\tdefault y\n");
    top.push_str("config TOOLCHAIN_HAS_THREADS\n\tbool\n\tdefault y\n");
    top.push_str("config TOOLCHAIN_USES_MUSL\n\tbool\n\tdefault y if ARCH_X86_64\n");
    top.push_str("endmenu\n\nmenu \"Target packages\"\n");
    let groups = packages / 60 + 1;
    for g in 0..groups {
        let _ = writeln!(top, "menu \"Group {g}\"");
        for i in (g * 60)..((g + 1) * 60).min(packages) {
            let _ = writeln!(top, "\tsource \"package/p{i}/Config.in\"");
            let pdir = pkg.join(format!("p{i}"));
            std::fs::create_dir_all(&pdir).expect("mkdir");
            let mut c = String::new();
            let dep = if i > 3 {
                format!("\tselect PKG_{}\n", i / 3)
            } else {
                String::new()
            };
            let _ = write!(
                c,
                "config PKG_{i}\n\tbool \"package {i}\"\n\tdepends on USE_MMU\n\tdepends on TOOLCHAIN_HAS_THREADS\n{dep}\thelp\n\t  Package number {i}, with a help text\n\t  of two lines.\n\n\t  http://example.invalid/p{i}\n\nif PKG_{i}\n\nconfig PKG_{i}_FEATURE\n\tbool \"feature\"\n\tdefault y if TOOLCHAIN_USES_MUSL\n\nconfig PKG_{i}_PATH\n\tstring \"path\"\n\tdefault \"/usr/lib/p{i}\"\n\nchoice\n\tprompt \"flavour\"\nconfig PKG_{i}_A\n\tbool \"a\"\nconfig PKG_{i}_B\n\tbool \"b\"\n\tdepends on ARCH_X86_64 || ARCH_AARCH64\nendchoice\n\nendif\n\ncomment \"package {i} needs a toolchain w/ threads\"\n\tdepends on !TOOLCHAIN_HAS_THREADS\n"
            );
            std::fs::write(pdir.join("Config.in"), c).expect("write");
        }
        top.push_str("endmenu\n");
    }
    top.push_str("endmenu\n");
    std::fs::write(dir.join("Config.in"), top).expect("write");
    let mut def = String::from("ARCH_X86_64=y\n");
    for i in (0..packages).step_by(7) {
        let _ = writeln!(def, "PKG_{i}=y");
    }
    std::fs::write(dir.join("defconfig"), def).expect("write");
}

fn defconfig_cycle(top: &Path, kconfig: &Path, defconfig: &Path) -> String {
    let tree = kconfig::load(
        kconfig,
        &LoadOptions {
            base_dir: Some(top.to_path_buf()),
            ..LoadOptions::default()
        },
    )
    .expect("load");
    let mut cfg = Config::new(tree);
    cfg.read(defconfig).expect("read");
    cfg.set_all_new(NewMode::Default, &mut rand::rngs::mock::StepRng::new(0, 1));
    cfg.dotconfig()
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn bench(c: &mut Criterion) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let synth = tempfile::tempdir().expect("tempdir");
    generate_tree(synth.path(), 3000);
    let mut cases: Vec<(&str, PathBuf, PathBuf)> = vec![
        (
            "own-tree",
            root.clone(),
            root.join("configs/container_aarch64_musl_defconfig"),
        ),
        (
            "synthetic-9k",
            synth.path().to_path_buf(),
            synth.path().join("defconfig"),
        ),
    ];
    if let Some(br) = std::env::var_os("BBSDK_BENCH_BUILDROOT").map(PathBuf::from) {
        let def = br.join("configs/qemu_x86_64_defconfig");
        cases.push(("buildroot", br, def));
    }
    for (name, top, def) in &cases {
        let before = peak_rss_kib();
        let out = defconfig_cycle(top, Path::new("Config.in"), def);
        let tree = kconfig::load(
            &top.join("Config.in"),
            &LoadOptions {
                base_dir: Some(top.clone()),
                ..LoadOptions::default()
            },
        )
        .expect("load");
        eprintln!(
            "{name}: {} symbols, {} files, .config {} bytes, peak RSS {} KiB (was {} KiB before)",
            tree.symbol_count(),
            tree.files.len(),
            out.len(),
            peak_rss_kib(),
            before
        );
    }
    let mut g = c.benchmark_group("kconfig-defconfig");
    g.sample_size(20);
    for (name, top, def) in &cases {
        g.bench_function(*name, |b| {
            b.iter(|| defconfig_cycle(top, Path::new("Config.in"), def))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! menuconfig speed on a Buildroot-sized tree (~9,000 symbols, generated
//! here: menus, menuconfig blocks, choices, dependencies, selects, strings):
//! opening it (load + read .config + first screen), and one key press plus
//! the redraw into an 80x24 TestBackend (moving, toggling a value, typing
//! into the search).
//!
//! To measure a real tree as well, set BBSDK_BENCH_KCONFIG (top Kconfig
//! file, relative to the current directory) and BBSDK_BENCH_CONFIG (a
//! .config for it), with whatever environment that tree needs.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bbsdk::kconfig::{self, Config, LoadOptions, MenuKind, Tree};
use bbsdk::tui::app::App;
use bbsdk::tui::list::EntryKind;
use bbsdk::tui::render;
use criterion::{criterion_group, criterion_main, Criterion};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

const GROUPS: usize = 26;
const PACKAGES: usize = 290;
const LIBS: usize = 20;

/// Writes the synthetic tree and a .config for it; returns (Kconfig, .config).
fn synthetic(dir: &Path) -> (PathBuf, PathBuf) {
    let mut k = String::from(
        "mainmenu \"Synthetic appliance\"\n\nconfig MODULES\n\tbool \"Loadable modules\"\n\tdefault y\n\tmodules\n\n",
    );
    for g in 0..GROUPS {
        let _ = writeln!(k, "menu \"Group {g}\"\n");
        let _ = writeln!(
            k,
            "config G{g}_ENABLE\n\tbool \"Enable group {g}\"\n\tdefault y\n"
        );
        let _ = writeln!(
            k,
            "choice\n\tprompt \"Flavour of group {g}\"\n\tdefault G{g}_F0\n"
        );
        for f in 0..5 {
            let _ = writeln!(k, "config G{g}_F{f}\n\tbool \"flavour {f}\"\n");
        }
        let _ = writeln!(k, "endchoice\n");
        let _ = writeln!(
            k,
            "menuconfig G{g}_PKGS\n\tbool \"Packages of group {g}\"\n\tdefault y\n\nif G{g}_PKGS\n"
        );
        for p in 0..PACKAGES {
            let ty = if p % 7 == 0 { "tristate" } else { "bool" };
            let _ = writeln!(k, "config G{g}_P{p}\n\t{ty} \"package {g}-{p}\"");
            if p % 3 == 0 {
                let _ = writeln!(k, "\tdepends on G{g}_ENABLE");
            }
            if p % 5 == 1 && p > 0 {
                let _ = writeln!(k, "\tdepends on G{g}_P{}", p - 1);
            }
            if p % 4 == 0 {
                let _ = writeln!(k, "\tselect G{g}_LIB{}", p % LIBS);
            }
            if p % 11 == 0 {
                let _ = writeln!(k, "\tdefault y");
            }
            let _ = writeln!(
                k,
                "\thelp\n\t  Package {p} of group {g}. It does useful things.\n"
            );
            if p % 10 == 0 {
                let _ = writeln!(
                    k,
                    "config G{g}_P{p}_OPT\n\tstring \"options of package {g}-{p}\"\n\tdefault \"--fast\"\n\tdepends on G{g}_P{p}\n"
                );
            }
            if p % 50 == 0 {
                let _ = writeln!(k, "comment \"--- block {p} ---\"\n");
            }
        }
        let _ = writeln!(k, "endif\n");
        for l in 0..LIBS {
            let _ = writeln!(k, "config G{g}_LIB{l}\n\tbool\n");
        }
        let _ = writeln!(
            k,
            "config G{g}_JOBS\n\tint \"Parallel jobs of group {g}\"\n\trange 1 64\n\tdefault 4\n"
        );
        let _ = writeln!(k, "endmenu\n");
    }
    let kpath = dir.join("Kconfig");
    std::fs::write(&kpath, k).unwrap();
    let tree = kconfig::load(&kpath, &LoadOptions::default()).unwrap();
    let mut cfg = Config::new(tree);
    cfg.prefix = "CONFIG_".into();
    let cpath = dir.join(".config");
    cfg.write_config(&cpath).unwrap();
    (kpath, cpath)
}

fn draw(term: &mut Terminal<TestBackend>, app: &mut App) {
    term.draw(|f| render::draw(f, app)).unwrap();
}

fn key(app: &mut App, code: KeyCode) {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn open(tree: Arc<Tree>, config: &Path, prefix: &str) -> (App, Terminal<TestBackend>) {
    let mut app = App::new(tree, config, prefix).unwrap();
    let mut term = Terminal::new(TestBackend::new(80, 24)).unwrap();
    draw(&mut term, &mut app);
    (app, term)
}

/// Opens the menu level with the most entries.
fn enter_biggest(app: &mut App, term: &mut Terminal<TestBackend>) {
    let tree = app.tree().clone();
    let mut best = (None, 0usize);
    for m in tree.walk() {
        let n = &tree.menus[m];
        let level = matches!(n.kind, MenuKind::Menu)
            || (matches!(n.kind, MenuKind::Symbol(_)) && n.is_menuconfig);
        if let (true, Some(&c)) = (level, n.children.first()) {
            app.show_all = false;
            app.jump_to(c);
            if app.level().menu == m && app.entries.len() > best.1 {
                best = (Some(c), app.entries.len());
            }
        }
    }
    app.show_all = false;
    if let Some(c) = best.0 {
        app.jump_to(c);
    }
    key(app, KeyCode::Home);
    draw(term, app);
}

/// Selects the first visible bool the user can toggle.
fn select_toggle(app: &mut App) {
    let i = app
        .entries
        .iter()
        .position(|e| e.kind == EntryKind::Bool && e.visible && e.changeable && e.submenu.is_none())
        .unwrap_or(0);
    key(app, KeyCode::Home);
    for _ in 0..i {
        key(app, KeyCode::Down);
    }
}

fn bench_tree(c: &mut Criterion, label: &str, kfile: &Path, config: &Path, opts: &LoadOptions) {
    let prefix = {
        let t = kconfig::load(kfile, opts).unwrap();
        eprintln!(
            "{label}: {} symbols, {} menu nodes",
            t.symbol_count(),
            t.menus.len()
        );
        kconfig::default_prefix(&t)
    };
    let mut g = c.benchmark_group(label);
    g.sample_size(10);
    g.measurement_time(std::time::Duration::from_secs(4));
    g.bench_function("open: load tree + read .config + first screen", |b| {
        b.iter(|| {
            let tree = kconfig::load(kfile, opts).unwrap();
            open(tree, config, &prefix)
        })
    });
    let tree = kconfig::load(kfile, opts).unwrap();
    let (mut app, mut term) = open(tree.clone(), config, &prefix);
    enter_biggest(&mut app, &mut term);
    eprintln!(
        "{label}: biggest level \"{}\" has {} entries",
        app.level_title(),
        app.entries.len()
    );
    g.sample_size(50);
    g.bench_function("key: Down + redraw", |b| {
        let mut flip = false;
        b.iter(|| {
            flip = !flip;
            key(&mut app, if flip { KeyCode::Down } else { KeyCode::Up });
            draw(&mut term, &mut app);
        })
    });
    select_toggle(&mut app);
    eprintln!(
        "{label}: toggling \"{}\"",
        app.selected().map(|e| e.prompt.as_str()).unwrap_or("")
    );
    g.bench_function("key: Space (toggle a value) + redraw", |b| {
        b.iter(|| {
            key(&mut app, KeyCode::Char(' '));
            draw(&mut term, &mut app);
        })
    });
    g.bench_function("idle: count unsaved changes after a toggle + redraw", |b| {
        b.iter_custom(|iters| {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iters {
                key(&mut app, KeyCode::Char(' '));
                draw(&mut term, &mut app);
                let t = std::time::Instant::now();
                app.idle_work();
                draw(&mut term, &mut app);
                total += t.elapsed();
            }
            total
        })
    });
    g.bench_function("key: one letter typed in search + redraw", |b| {
        b.iter_custom(|iters| {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iters {
                key(&mut app, KeyCode::Char('/'));
                for ch in "pack".chars() {
                    key(&mut app, KeyCode::Char(ch));
                }
                let t = std::time::Instant::now();
                key(&mut app, KeyCode::Char('1'));
                draw(&mut term, &mut app);
                total += t.elapsed();
                key(&mut app, KeyCode::Esc);
            }
            total
        })
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let (k, cfg) = synthetic(dir.path());
    bench_tree(c, "menuconfig-synthetic", &k, &cfg, &LoadOptions::default());
    if let (Some(k), Some(cfg)) = (
        std::env::var_os("BBSDK_BENCH_KCONFIG"),
        std::env::var_os("BBSDK_BENCH_CONFIG"),
    ) {
        bench_tree(
            c,
            "menuconfig-real",
            Path::new(&k),
            Path::new(&cfg),
            &LoadOptions::default(),
        );
    }
}

criterion_group!(menuconfig, benches);
criterion_main!(menuconfig);

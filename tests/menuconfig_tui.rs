//! menuconfig without a terminal: key handling on the fixture tree, and
//! snapshots of every screen rendered into ratatui's TestBackend at 80x24.

use std::path::{Path, PathBuf};

use bbsdk::kconfig::{self, Config, LoadOptions, Tri};
use bbsdk::tui::app::{App, Dialog, Exit};
use bbsdk::tui::render;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tui")
}

/// A session on the fixture tree, editing a copy of its config in a temp dir.
fn app() -> (tempfile::TempDir, App) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join(".config");
    std::fs::copy(fixture().join("config"), &cfg).unwrap();
    let opts = LoadOptions {
        base_dir: Some(fixture()),
        ..LoadOptions::default()
    };
    let tree = kconfig::load(Path::new("Kconfig"), &opts).unwrap();
    let mut app = App::new(tree, &cfg, "CONFIG_").unwrap();
    app.message = None;
    // Paths in snapshots must not depend on the temp dir.
    app.config_path = PathBuf::from(".config");
    (dir, app)
}

fn key(app: &mut App, code: KeyCode) {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn keys(app: &mut App, s: &str) {
    for c in s.chars() {
        key(app, KeyCode::Char(c));
    }
}

fn ctrl(app: &mut App, c: char) {
    app.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
}

fn screen_sized(app: &mut App, w: u16, h: u16) -> String {
    // What the screen shows once the event loop had an idle moment.
    app.idle_work();
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| render::draw(f, app)).unwrap();
    let buf = t.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..h {
        let mut line = String::new();
        for x in 0..w {
            line.push_str(buf.cell((x, y)).map(|c| c.symbol()).unwrap_or(" "));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn screen(app: &mut App) -> String {
    screen_sized(app, 80, 24)
}

fn select(app: &mut App, prompt_start: &str) {
    let i = app
        .entries
        .iter()
        .position(|e| e.prompt.starts_with(prompt_start))
        .unwrap_or_else(|| panic!("no entry {prompt_start}"));
    key(app, KeyCode::Home);
    for _ in 0..i {
        key(app, KeyCode::Down);
    }
}

fn sym(app: &App, name: &str) -> usize {
    app.tree().find(name).unwrap()
}

#[test]
fn main_menu_screen() {
    let (_d, mut app) = app();
    insta::assert_snapshot!("main_menu", screen(&mut app));
}

#[test]
fn submenu_with_dependent_entries() {
    let (_d, mut app) = app();
    select(&mut app, "Network");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.level_title(), "Network");
    insta::assert_snapshot!("network_menu", screen(&mut app));
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.level_title(), "Main Menu");
}

#[test]
fn menuconfig_submenu_and_show_all() {
    let (_d, mut app) = app();
    select(&mut app, "Device drivers");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.level_title(), "Device drivers");
    key(&mut app, KeyCode::Esc);
    select(&mut app, "Network");
    key(&mut app, KeyCode::Enter);
    keys(&mut app, "z");
    assert!(app.show_all);
    insta::assert_snapshot!("network_show_all", screen(&mut app));
}

#[test]
fn help_screen_explains_unmet_dependencies() {
    let (_d, mut app) = app();
    select(&mut app, "Network");
    key(&mut app, KeyCode::Enter);
    keys(&mut app, "z");
    select(&mut app, "Wireless");
    keys(&mut app, "?");
    assert!(matches!(app.dialog, Some(Dialog::Text(_))));
    let s = screen(&mut app);
    insta::assert_snapshot!("help_wireless", s);
    // Scroll to the explanation and follow the link to RADIO.
    let Some(Dialog::Text(v)) = &app.dialog else {
        unreachable!()
    };
    let text: Vec<String> = v.lines.iter().map(|l| l.text.clone()).collect();
    let all = text.join("\n");
    assert!(all.contains("Why can't it be enabled?"), "{all}");
    assert!(all.contains("-> set RADIO to y"), "{all}");
    let link = v
        .lines
        .iter()
        .filter(|l| l.sym.is_some())
        .position(|l| l.text.contains("-> set RADIO"))
        .unwrap();
    for _ in 0..=link {
        key(&mut app, KeyCode::Tab);
    }
    key(&mut app, KeyCode::Enter);
    assert!(app.dialog.is_none());
    assert_eq!(app.level_title(), "Device drivers");
    assert_eq!(app.selected().unwrap().prompt, "Radio driver");
}

#[test]
fn search_screen_and_jump() {
    let (_d, mut app) = app();
    keys(&mut app, "/");
    keys(&mut app, "baud");
    insta::assert_snapshot!("search_baud", screen(&mut app));
    key(&mut app, KeyCode::Enter);
    assert!(app.dialog.is_none());
    assert_eq!(app.level_title(), "Device drivers");
    assert_eq!(app.selected().unwrap().prompt, "Baud rate");
    // Regex mode, and a bad regex says so instead of failing.
    keys(&mut app, "/");
    keys(&mut app, "^net_");
    key(&mut app, KeyCode::Tab);
    let Some(Dialog::Search(s)) = &app.dialog else {
        panic!("search closed")
    };
    let names: Vec<&str> = s.hits.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["NET_IPV6", "NET_HOSTNAME"]);
    keys(&mut app, "(");
    // The search runs once per frame, not per key.
    app.before_frame();
    let Some(Dialog::Search(s)) = &app.dialog else {
        panic!("search closed")
    };
    assert!(s.error.is_some() && s.hits.is_empty());
    insta::assert_snapshot!("search_bad_regex", screen(&mut app));
}

#[test]
fn choice_dialog() {
    let (_d, mut app) = app();
    select(&mut app, "Init system");
    key(&mut app, KeyCode::Enter);
    assert!(matches!(app.dialog, Some(Dialog::Choice(_))));
    insta::assert_snapshot!("choice_init", screen(&mut app));
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Char(' '));
    assert!(app.dialog.is_none());
    let bb = sym(&app, "INIT_BUSYBOX");
    assert_eq!(app.cfg.tri(bb), Tri::Yes);
    // BusyBox init selects the shell.
    let sh = sym(&app, "SHELL");
    assert_eq!(app.cfg.tri(sh), Tri::Yes);
    assert_eq!(app.selected().unwrap().prompt, "Init system (BusyBox init)");
}

#[test]
fn input_dialog_validates() {
    let (_d, mut app) = app();
    select(&mut app, "Log level");
    key(&mut app, KeyCode::Enter);
    assert!(matches!(app.dialog, Some(Dialog::Input(_))));
    ctrl(&mut app, 'u');
    keys(&mut app, "9");
    key(&mut app, KeyCode::Enter);
    insta::assert_snapshot!("input_out_of_range", screen(&mut app));
    key(&mut app, KeyCode::Backspace);
    keys(&mut app, "x");
    key(&mut app, KeyCode::Enter);
    let Some(Dialog::Input(i)) = &app.dialog else {
        panic!("input closed")
    };
    assert_eq!(i.error.as_deref(), Some("'x' is not a decimal number"));
    key(&mut app, KeyCode::Backspace);
    keys(&mut app, "6");
    key(&mut app, KeyCode::Enter);
    assert!(app.dialog.is_none());
    let ll = sym(&app, "LOG_LEVEL");
    assert_eq!(app.cfg.string_value(ll), "6");
    // Hex gets its 0x, bad hex is refused.
    select(&mut app, "Device drivers");
    key(&mut app, KeyCode::Enter);
    select(&mut app, "Disk controller");
    key(&mut app, KeyCode::Enter);
    ctrl(&mut app, 'u');
    keys(&mut app, "3f6");
    key(&mut app, KeyCode::Enter);
    let db = sym(&app, "DISK_BASE");
    assert_eq!(app.cfg.string_value(db), "0x3f6");
}

#[test]
fn save_prompt_on_exit() {
    let (d, mut app) = app();
    app.config_path = d.path().join(".config");
    select(&mut app, "Shell");
    keys(&mut app, "y");
    key(&mut app, KeyCode::Esc);
    assert!(matches!(app.dialog, Some(Dialog::Confirm(_))));
    app.config_path = PathBuf::from(".config");
    insta::assert_snapshot!("save_prompt", screen(&mut app));
    app.config_path = d.path().join(".config");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.exit, Some(Exit::Saved(d.path().join(".config"))));
    let text = std::fs::read_to_string(d.path().join(".config")).unwrap();
    assert!(text.contains("CONFIG_SHELL=y"), "{text}");
}

#[test]
fn diff_view_marks_and_undo() {
    let (_d, mut app) = app();
    select(&mut app, "Shell");
    keys(&mut app, "y");
    select(&mut app, "Network");
    key(&mut app, KeyCode::Enter);
    select(&mut app, "IPv6");
    key(&mut app, KeyCode::Char(' '));
    let v6 = sym(&app, "NET_IPV6");
    assert_eq!(app.cfg.tri(v6), Tri::Yes);
    assert!(app.selected().unwrap().changed);
    assert_eq!(
        app.change_count(),
        3,
        "SHELL, NET_IPV6 and CRYPTO (default follows IPv6)"
    );
    key(&mut app, KeyCode::F(3));
    insta::assert_snapshot!("diff_view", screen(&mut app));
    key(&mut app, KeyCode::Esc);
    ctrl(&mut app, 'z');
    assert_eq!(app.cfg.tri(v6), Tri::No);
    assert_eq!(app.change_count(), 1);
    ctrl(&mut app, 'z');
    assert_eq!(app.change_count(), 0);
    ctrl(&mut app, 'z');
    assert_eq!(app.message.as_deref(), Some("nothing to undo"));
}

#[test]
fn refused_values_say_why() {
    let (_d, mut app) = app();
    select(&mut app, "Network");
    key(&mut app, KeyCode::Enter);
    keys(&mut app, "z");
    select(&mut app, "Wireless");
    keys(&mut app, "y");
    let w = sym(&app, "WIFI");
    assert_eq!(app.cfg.tri(w), Tri::No);
    let m = app.message.clone().unwrap();
    assert!(
        m.contains("can't set WIFI to y") && m.contains("RADIO"),
        "{m}"
    );
    insta::assert_snapshot!("refused_message", screen(&mut app));
}

#[test]
fn hotkeys_tristate_and_modules() {
    let (_d, mut app) = app();
    select(&mut app, "Device drivers");
    key(&mut app, KeyCode::Enter);
    keys(&mut app, "s");
    assert_eq!(app.selected().unwrap().prompt, "Serial port");
    let s = sym(&app, "SERIAL");
    assert_eq!(app.cfg.tri(s), Tri::Mod);
    keys(&mut app, " ");
    assert_eq!(app.cfg.tri(s), Tri::Yes);
    keys(&mut app, "n");
    assert_eq!(app.cfg.tri(s), Tri::No);
    keys(&mut app, "m");
    assert_eq!(app.cfg.tri(s), Tri::Mod);
    assert_eq!(app.selected().unwrap().marker, "<M>");
}

#[test]
fn tiny_and_huge_terminals_do_not_panic() {
    let (_d, mut app) = app();
    for (w, h) in [
        (0, 0),
        (1, 1),
        (20, 5),
        (39, 30),
        (80, 11),
        (40, 12),
        (300, 100),
    ] {
        let _ = screen_sized(&mut app, w, h);
        keys(&mut app, "/");
        keys(&mut app, "e");
        let _ = screen_sized(&mut app, w, h);
        key(&mut app, KeyCode::Esc);
        keys(&mut app, "?");
        let _ = screen_sized(&mut app, w, h);
        key(&mut app, KeyCode::Esc);
    }
    insta::assert_snapshot!("too_small", screen_sized(&mut app, 30, 8));
}

#[test]
fn mouse_click_and_wheel() {
    let (_d, mut app) = app();
    let _ = screen(&mut app);
    let list = app.geometry.list;
    let i = app
        .entries
        .iter()
        .position(|e| e.prompt == "Network")
        .unwrap();
    let click = |row: u16| MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: list.x + 5,
        row,
        modifiers: KeyModifiers::NONE,
    };
    app.handle_mouse(click(list.y + i as u16));
    assert_eq!(app.selected().unwrap().prompt, "Network");
    app.handle_mouse(click(list.y + i as u16));
    assert_eq!(app.level_title(), "Network");
    app.handle_mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Right),
        column: 0,
        row: 0,
        modifiers: KeyModifiers::NONE,
    });
    assert_eq!(app.level_title(), "Main Menu");
    let before = app.level().sel;
    app.handle_mouse(MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: 0,
        row: 0,
        modifiers: KeyModifiers::NONE,
    });
    assert_eq!(app.level().sel, before + 3);
}

#[test]
fn save_as_and_load() {
    let (d, mut app) = app();
    select(&mut app, "Shell");
    keys(&mut app, "y");
    let other = d.path().join("other.config");
    key(&mut app, KeyCode::F(6));
    ctrl(&mut app, 'u');
    keys(&mut app, other.to_str().unwrap());
    key(&mut app, KeyCode::Enter);
    assert!(app.dialog.is_none(), "{:?}", app.message);
    assert_eq!(app.config_path, other);
    assert_eq!(app.change_count(), 0);
    // The saved file reads back to the same values.
    let tree = app.tree().clone();
    let mut c = Config::new(tree.clone());
    c.prefix = "CONFIG_".into();
    c.read(&other).unwrap();
    assert_eq!(c.tri(tree.find("SHELL").unwrap()), Tri::Yes);
    // Load the original back, then undo the load.
    key(&mut app, KeyCode::F(7));
    ctrl(&mut app, 'u');
    keys(&mut app, fixture().join("config").to_str().unwrap());
    key(&mut app, KeyCode::Enter);
    let sh = sym(&app, "SHELL");
    assert_eq!(app.cfg.tri(sh), Tri::No);
    ctrl(&mut app, 'z');
    assert_eq!(app.cfg.tri(sh), Tri::Yes);
    assert_eq!(app.config_path, other);
    // Nothing unsaved: Esc leaves at once, reporting the file saved earlier.
    assert_eq!(app.change_count(), 0);
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.exit, Some(Exit::Saved(other)));
}

#[test]
fn help_from_search_returns_to_search() {
    let (_d, mut app) = app();
    keys(&mut app, "/");
    keys(&mut app, "baud");
    key(&mut app, KeyCode::F(1));
    assert!(matches!(app.dialog, Some(Dialog::Text(_))));
    key(&mut app, KeyCode::Esc);
    let Some(Dialog::Search(s)) = &app.dialog else {
        panic!("search not back: {:?}", app.dialog.is_some())
    };
    assert_eq!(s.query, "baud");
    // Help from the choice list, too.
    key(&mut app, KeyCode::Esc);
    select(&mut app, "Init system");
    key(&mut app, KeyCode::Enter);
    keys(&mut app, "?");
    key(&mut app, KeyCode::Esc);
    assert!(matches!(app.dialog, Some(Dialog::Choice(_))));
}

#[test]
fn ctrl_c_asks_then_quits() {
    let (_d, mut app) = app();
    select(&mut app, "Shell");
    keys(&mut app, "y");
    let _ = screen(&mut app);
    ctrl(&mut app, 'c');
    assert!(matches!(app.dialog, Some(Dialog::Confirm(_))));
    let _ = screen(&mut app);
    assert!(matches!(app.dialog, Some(Dialog::Confirm(_))));
    ctrl(&mut app, 'c');
    assert_eq!(app.exit, Some(Exit::Discarded));
}

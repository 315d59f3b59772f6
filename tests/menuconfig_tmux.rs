//! End to end: the real `bbsdk` binary in a real tmux at 80x24. Keys go in
//! with `send-keys`, the screen comes back with `capture-pane`, and the
//! `.config` written at the end is read back with the kconfig engine.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use bbsdk::kconfig::{self, Config, LoadOptions, Tri};

#[path = "support/tmux.rs"]
mod tmux;
use tmux::Tmux;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tui")
}

fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}

#[test]
fn menuconfig_in_tmux() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join(".config");
    std::fs::copy(fixture().join("config"), &config).unwrap();
    let bin = env!("CARGO_BIN_EXE_bbsdk");
    let cmd = format!(
        "cd {} && env -u BR2_CONFIG -u CONFIG_ -u KCONFIG_CONFIG TERM=xterm-256color {} kconfig --config {} Kconfig menuconfig; echo EXITED:$?; sleep 60",
        shell_quote(&fixture()),
        shell_quote(Path::new(bin)),
        shell_quote(&config)
    );
    let t = Tmux::start("main", &cmd, 80, 24);

    // The main menu, as the user sees it.
    let main = t.wait_for("Main Menu ─");
    assert!(main.contains("Demo appliance"), "{main}");
    assert!(main.contains("[*] Device drivers  --->"), "{main}");
    assert!(main.contains("Init system (tiny-init)  --->"), "{main}");
    assert!(
        main.contains("<Select>  < Exit >  < Help >  < Save >  < Load >"),
        "{main}"
    );

    // Search, and jump to the result.
    t.send(&["/"]);
    t.wait_for("fuzzy >");
    t.type_text("baud");
    let s = t.wait_for("SERIAL_BAUD");
    assert!(s.contains("Baud rate [=9600]"), "{s}");
    assert!(
        s.contains("Location: Device drivers > Serial port > Baud rate"),
        "{s}"
    );
    t.send(&["Enter"]);
    let s = t.wait_for("> Device drivers");
    assert!(s.contains("(9600) Baud rate"), "{s}");

    // Back, and toggle "Shell" with its hotkey and y.
    t.send(&["Escape"]);
    t.wait_for("> Main Menu");
    t.send(&["s"]);
    t.send(&["y"]);
    t.wait_for("* [*] Shell");
    // The count of changes follows in the next idle moment.
    t.wait_for("1 unsaved");

    // Change a string: Network > Host name.
    t.send(&["e"]);
    t.send(&["Enter"]);
    t.wait_for("> Network");
    t.send(&["Down", "Down", "Enter"]);
    t.wait_for("Please enter a string value.");
    t.send(&["C-u"]);
    t.type_text("e2e-box");
    t.send(&["Enter"]);
    t.wait_for("(e2e-box) Host name");
    t.wait_for("2 unsaved");

    // Resize: too small, then back.
    t.resize(30, 8);
    t.wait_for("Terminal too small");
    t.resize(80, 24);
    t.wait_for("(e2e-box) Host name");

    // Leave: Esc to the main menu, Esc again asks to save.
    t.send(&["Escape"]);
    t.wait_for("> Main Menu");
    // Two Esc within 300 ms are one "Esc Esc" (mconf's way back): pause.
    std::thread::sleep(Duration::from_millis(400));
    t.send(&["Escape"]);
    let s = t.wait_for("Do you wish to save your new configuration?");
    assert!(s.contains("< Yes >"), "{s}");
    t.send(&["Enter"]);
    let s = t.wait_for("EXITED:");
    assert!(s.contains("EXITED:0"), "{s}");
    assert!(s.contains("Configuration written to"), "{s}");
    // The terminal is back to the shell: no menu left on screen.
    assert!(!s.contains("<Select>"), "{s}");

    // The saved file, read back by the engine.
    let opts = LoadOptions {
        base_dir: Some(fixture()),
        ..LoadOptions::default()
    };
    let tree = kconfig::load(Path::new("Kconfig"), &opts).unwrap();
    let mut cfg = Config::new(tree.clone());
    cfg.prefix = "CONFIG_".into();
    let rep = cfg.read(&config).unwrap();
    assert_eq!(rep.unsaved, 0);
    let get = |cfg: &mut Config, n: &str| cfg.string_value(tree.find(n).unwrap());
    assert_eq!(cfg.tri(tree.find("SHELL").unwrap()), Tri::Yes);
    assert_eq!(get(&mut cfg, "NET_HOSTNAME"), "e2e-box");
    assert_eq!(get(&mut cfg, "SERIAL_BAUD"), "9600");
    assert_eq!(get(&mut cfg, "SERIAL"), "m");
    let text = std::fs::read_to_string(&config).unwrap();
    assert_eq!(
        text,
        cfg.dotconfig(),
        "the file is what kconfig would write"
    );
    assert!(dir.path().join(".config.old").exists());
}

#[test]
fn ctrl_c_and_signals_restore_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join(".config");
    std::fs::copy(fixture().join("config"), &config).unwrap();
    let before = std::fs::read(&config).unwrap();
    let bin = env!("CARGO_BIN_EXE_bbsdk");
    let cmd = format!(
        "cd {} && env -u BR2_CONFIG -u CONFIG_ {} kconfig --config {} Kconfig menuconfig; echo EXITED:$?; stty -a | grep -o ' icanon' ; sleep 60",
        shell_quote(&fixture()),
        shell_quote(Path::new(bin)),
        shell_quote(&config)
    );
    let t = Tmux::start("ctrlc", &cmd, 80, 24);
    t.wait_for("Main Menu ─");
    t.send(&["s", "y"]);
    t.wait_for("* [*] Shell");
    // Ctrl-C asks; a second Ctrl-C leaves without saving.
    t.send(&["C-c"]);
    t.wait_for("Ctrl-C: quit without saving");
    t.send(&["C-c"]);
    let s = t.wait_for("EXITED:");
    assert!(s.contains("NOT saved"), "{s}");
    // Canonical mode is back on: the terminal was restored.
    t.wait_for(" icanon");
    assert_eq!(std::fs::read(&config).unwrap(), before);
}

/// The pid of the bbsdk process running in the pane (a child of its shell).
fn menu_pid(t: &Tmux) -> u32 {
    let o = t
        .cmd()
        .args(["display-message", "-p", "-t", "e2e", "#{pane_pid}"])
        .output()
        .expect("tmux display-message");
    let shell: u32 = String::from_utf8_lossy(&o.stdout).trim().parse().unwrap();
    let kids = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).unwrap();
    kids.split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no child process under the pane's shell {shell}"))
}

fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // A zombie has ended; it only waits for its parent.
        Ok(s) => s
            .rsplit(')')
            .next()
            .is_some_and(|r| r.trim_start().starts_with('Z')),
    }
}

fn wait_gone(pid: u32) {
    let start = Instant::now();
    while !gone(pid) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "process {pid} is still running"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigterm_and_a_closed_terminal_end_the_menu() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join(".config");
    std::fs::copy(fixture().join("config"), &config).unwrap();
    let cmd = format!(
        "cd {} && env -u BR2_CONFIG -u CONFIG_ {} kconfig --config {} Kconfig menuconfig; echo EXITED:$?; stty -a | grep -o ' icanon' ; sleep 60",
        shell_quote(&fixture()),
        shell_quote(Path::new(env!("CARGO_BIN_EXE_bbsdk"))),
        shell_quote(&config)
    );
    // SIGTERM: the terminal is restored and the exit status says so.
    let t = Tmux::start("term", &cmd, 80, 24);
    t.wait_for("Main Menu ─");
    let pid = menu_pid(&t);
    let st = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let s = t.wait_for("EXITED:");
    assert!(s.contains("interrupted by signal 15"), "{s}");
    assert!(s.contains("EXITED:143"), "{s}");
    t.wait_for(" icanon");
    drop(t);
    // The terminal goes away under it (tmux killed, ssh dropped): it must
    // end, not spin on a dead tty.
    let t = Tmux::start("hup", &cmd, 80, 24);
    t.wait_for("Main Menu ─");
    let pid = menu_pid(&t);
    drop(t);
    wait_gone(pid);
}

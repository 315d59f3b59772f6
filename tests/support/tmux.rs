//! A private tmux server for end-to-end tests of terminal programs: keys go
//! in with `send-keys`, the screen comes back with `capture-pane`.
#![allow(dead_code)]

use std::process::Command;
use std::time::{Duration, Instant};

/// A tmux server on its own socket running one command in session `e2e`,
/// killed when dropped.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts `cmd` (a shell command line) in a `width`x`height` window.
    pub fn start(name: &str, cmd: &str, width: u16, height: u16) -> Tmux {
        match Command::new("tmux").arg("-V").output() {
            Ok(o) if o.status.success() => {}
            _ => panic!(
                "tmux is required for this test but was not found\n  hint: apt-get install tmux"
            ),
        }
        let t = Tmux {
            socket: format!("bbsdk-e2e-{name}-{}", std::process::id()),
        };
        let st = t
            .cmd()
            .args(["new-session", "-d", "-s", "e2e", "-x"])
            .arg(width.to_string())
            .arg("-y")
            .arg(height.to_string())
            .arg(cmd)
            .status()
            .expect("run tmux");
        assert!(st.success(), "tmux new-session failed");
        t
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket, "-f", "/dev/null"]);
        c
    }

    /// Sends keys by tmux name (`Enter`, `C-c`, `/`...).
    pub fn send(&self, keys: &[&str]) {
        let st = self
            .cmd()
            .args(["send-keys", "-t", "e2e"])
            .args(keys)
            .status()
            .expect("tmux send-keys");
        assert!(st.success());
    }

    /// Types text literally.
    pub fn type_text(&self, text: &str) {
        let st = self
            .cmd()
            .args(["send-keys", "-t", "e2e", "-l", text])
            .status()
            .expect("tmux send-keys");
        assert!(st.success());
    }

    pub fn capture(&self) -> String {
        let o = self
            .cmd()
            .args(["capture-pane", "-p", "-t", "e2e"])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Waits (up to 20 s) until the screen shows `what`; fails with the
    /// screen otherwise.
    pub fn wait_for(&self, what: &str) -> String {
        self.wait_for_secs(what, 20)
    }

    pub fn wait_for_secs(&self, what: &str, secs: u64) -> String {
        let start = Instant::now();
        loop {
            let s = self.capture();
            if s.contains(what) {
                return s;
            }
            if start.elapsed() > Duration::from_secs(secs) {
                panic!("timed out waiting for {what:?}; the screen shows:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn resize(&self, w: u16, h: u16) {
        let st = self
            .cmd()
            .args(["resize-window", "-t", "e2e", "-x"])
            .arg(w.to_string())
            .arg("-y")
            .arg(h.to_string())
            .status()
            .expect("tmux resize-window");
        assert!(st.success());
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").status();
    }
}

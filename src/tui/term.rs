//! The real terminal: raw mode, the alternate screen and mouse reporting
//! on the way in; all of it undone on the way out, whether the session ends
//! normally, with an error, a panic, or a signal (SIGINT, SIGTERM, SIGHUP).
//! Only common escape sequences are used, so it works over ssh and in tmux.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use crossterm::event::{self, Event, KeyCode, KeyEventKind};
use crossterm::{cursor, execute, terminal};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

use super::app::App;
use super::render;

/// Puts the terminal back as it was. Safe to call more than once.
pub fn restore() {
    let mut out = std::io::stdout();
    let _ = execute!(
        out,
        event::DisableMouseCapture,
        terminal::LeaveAlternateScreen,
        cursor::Show
    );
    let _ = terminal::disable_raw_mode();
    let _ = out.flush();
}

/// Restores the terminal when dropped.
struct Guard;

impl Guard {
    fn enter() -> Result<Guard> {
        terminal::enable_raw_mode().context("cannot switch the terminal to raw mode")?;
        let g = Guard;
        execute!(
            std::io::stdout(),
            terminal::EnterAlternateScreen,
            event::EnableMouseCapture,
            cursor::Hide
        )
        .context("cannot set up the terminal")?;
        Ok(g)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}

/// Watches for signals (SIGINT, SIGTERM, SIGHUP, SIGQUIT) and for the
/// terminal going away (a closed ssh connection or tmux pane): the terminal
/// is restored and the process ends, without saving. A thread does it
/// because the main thread may be blocked reading a terminal that is gone.
struct Watchdog {
    done: Arc<AtomicBool>,
    handle: Option<signal_hook::iterator::Handle>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
    fn start() -> Watchdog {
        let done = Arc::new(AtomicBool::new(false));
        let d2 = done.clone();
        let mut signals = signal_hook::iterator::Signals::new([
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGHUP,
            signal_hook::consts::SIGQUIT,
        ])
        .ok();
        let handle = signals.as_ref().map(|s| s.handle());
        let thread = std::thread::Builder::new()
            .name("menuconfig-watchdog".into())
            .spawn(move || loop {
                if let Some(sigs) = signals.as_mut() {
                    if let Some(sig) = sigs.pending().next() {
                        restore();
                        // Not eprintln!: it panics when the terminal is gone.
                        let _ = writeln!(
                            std::io::stderr(),
                            "\nmenuconfig: interrupted by signal {sig}; configuration not saved"
                        );
                        std::process::exit(128 + sig);
                    }
                }
                if d2.load(Ordering::Relaxed) {
                    return;
                }
                if !std::io::stdin().is_terminal() {
                    // The terminal hung up: nobody to talk to any more.
                    std::process::exit(129);
                }
                std::thread::sleep(Duration::from_millis(100));
            })
            .ok();
        Watchdog {
            done,
            handle,
            thread,
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(h) = &self.handle {
            h.close();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[allow(deprecated)] // PanicHookInfo needs Rust 1.81; the crate supports 1.80.
type Hook = Box<dyn Fn(&std::panic::PanicInfo<'_>) + Sync + Send + 'static>;

/// Runs the event loop until the user leaves.
pub fn run(app: &mut App) -> Result<()> {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        bail!("menuconfig needs a terminal (stdin and stdout must be a tty)\n  hint: run it in a terminal, or use `olddefconfig`/`defconfig` in scripts");
    }
    // Panics restore the terminal before the message is printed.
    let prev: Arc<Hook> = Arc::new(std::panic::take_hook());
    let p2 = prev.clone();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        p2(info);
    }));
    let watchdog = Watchdog::start();
    let result = (|| -> Result<()> {
        let _guard = Guard::enter()?;
        let mut terminal = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
        terminal.clear()?;
        let mut last_esc: Option<Instant> = None;
        let mut redraw = true;
        loop {
            if redraw {
                terminal.draw(|f| render::draw(f, app))?;
                redraw = false;
            }
            if app.exit.is_some() {
                break;
            }
            let wait = if app.has_idle_work() { 20 } else { 200 };
            if !event::poll(Duration::from_millis(wait))? {
                if app.idle_work() {
                    redraw = true;
                }
                continue;
            }
            // Handle every event already waiting before drawing again, so
            // a burst of keys (key repeat, a paste) costs one frame.
            let mut events = vec![event::read()?];
            while events.len() < 256 && event::poll(Duration::ZERO)? {
                events.push(event::read()?);
            }
            for ev in events {
                match ev {
                    Event::Key(k) if k.kind != KeyEventKind::Release => {
                        // mconf is left with Esc Esc: a second Esc right after
                        // the first one belongs to the same gesture.
                        if k.code == KeyCode::Esc {
                            let now = Instant::now();
                            let dup =
                                last_esc.is_some_and(|t| now - t < Duration::from_millis(300));
                            if dup {
                                last_esc = None;
                                continue;
                            }
                            last_esc = Some(now);
                        } else {
                            last_esc = None;
                        }
                        app.handle_key(k);
                        redraw = true;
                    }
                    Event::Mouse(m) => {
                        app.handle_mouse(m);
                        redraw = true;
                    }
                    Event::Resize(..) => {
                        terminal.autoresize()?;
                        redraw = true;
                    }
                    _ => {}
                }
                if app.exit.is_some() {
                    break;
                }
            }
        }
        Ok(())
    })();
    drop(watchdog);
    let _ = std::panic::take_hook();
    if let Ok(p) = Arc::try_unwrap(prev) {
        std::panic::set_hook(p);
    }
    result
}

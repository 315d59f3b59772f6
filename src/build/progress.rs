//! What the user sees: a spinner per running package (only when stderr is a
//! terminal) and, always, one summary line per package on stderr.

use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub(crate) struct Progress {
    multi: MultiProgress,
    visible: bool,
}

impl Progress {
    pub(crate) fn new(visible: bool) -> Progress {
        let target = if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Progress {
            multi: MultiProgress::with_draw_target(target),
            visible,
        }
    }

    /// A spinner for one package.
    pub(crate) fn start(&self, label: &str) -> ProgressBar {
        if !self.visible {
            return ProgressBar::hidden();
        }
        let bar = self.multi.add(ProgressBar::new_spinner());
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} {prefix:.bold} {wide_msg} {elapsed}")
        {
            bar.set_style(style);
        }
        bar.set_prefix(label.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }

    pub(crate) fn finish(&self, bar: &ProgressBar) {
        bar.finish_and_clear();
        if self.visible {
            self.multi.remove(bar);
        }
    }

    /// A line on stderr, above the spinners.
    pub(crate) fn line(&self, msg: &str) {
        if self.visible && self.multi.println(msg).is_ok() {
            return;
        }
        eprintln!("{msg}");
    }
}

/// `3.2 s`, `1 min 04 s`.
pub(crate) fn human(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 {
        format!("{s:.1} s")
    } else {
        let m = (s / 60.0).floor();
        format!("{m:.0} min {:02.0} s", s - m * 60.0)
    }
}

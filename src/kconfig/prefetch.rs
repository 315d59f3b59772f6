//! Reads sourced files ahead of the parser on a second thread. Parsing is
//! sequential (a `source` is read where it appears), but the paths of most
//! `source` lines are plain text known as soon as their file is read; a
//! worker opens and reads those files while the parser works, which takes
//! the file system off the parser's path (Buildroot's tree is 3,400 files).

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

use rustc_hash::FxHashMap;

/// A file's text and its (device, inode) identity.
pub(crate) type FileData = (String, (u64, u64));

/// Reads a file as text (invalid UTF-8 replaced) with its identity.
pub(crate) fn read_file(path: &Path) -> std::io::Result<FileData> {
    let mut f = std::fs::File::open(path)?;
    let meta = f.metadata()?;
    let mut bytes = Vec::with_capacity(meta.len() as usize + 1);
    f.read_to_end(&mut bytes)?;
    let text = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    };
    Ok((text, (meta.dev(), meta.ino())))
}

enum Slot {
    Queued,
    Reading,
    Ready(std::io::Result<FileData>),
    /// The parser has this file (from here or by reading it itself).
    Done,
}

#[derive(Default)]
struct State {
    queue: VecDeque<PathBuf>,
    /// Keyed by the path's bytes: hashing a `Path` walks its components.
    slots: FxHashMap<OsString, Slot>,
    closed: bool,
    /// The worker is blocked waiting for work: only then is a wake-up needed.
    worker_idle: bool,
}

/// The read-ahead queue shared by the parser and the worker.
pub(crate) struct Prefetcher {
    state: Mutex<State>,
    cond: Condvar,
    /// Where `source` paths are relative to (`rsource`: the file's directory).
    base_dir: PathBuf,
}

impl Prefetcher {
    pub fn new(base_dir: PathBuf) -> Prefetcher {
        Prefetcher {
            state: Mutex::default(),
            cond: Condvar::new(),
            base_dir,
        }
    }

    /// Queues the files `text` (the content of `path`) sources, ahead of
    /// everything queued before: the parser reads them next, depth first.
    pub fn submit_sources_of(&self, path: &Path, text: &str) {
        let dir = path.parent().unwrap_or(Path::new(""));
        let paths: Vec<PathBuf> = source_lines(text)
            .into_iter()
            .map(|(rel, p)| {
                if rel {
                    dir.join(p)
                } else {
                    self.base_dir.join(p)
                }
            })
            .collect();
        if paths.is_empty() {
            return;
        }
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        for p in paths.into_iter().rev() {
            if let std::collections::hash_map::Entry::Vacant(e) =
                st.slots.entry(p.clone().into_os_string())
            {
                e.insert(Slot::Queued);
                st.queue.push_front(p);
            }
        }
        if st.worker_idle {
            self.cond.notify_all();
        }
    }

    /// The prefetched content of `path`, if the worker has finished it.
    /// Never waits: a file not read yet (or being read) is left to the
    /// caller, since a hand-over between threads costs more than a small read.
    pub fn take(&self, path: &Path) -> Option<std::io::Result<FileData>> {
        let mut st = self.state.lock().ok()?;
        let slot = st.slots.get_mut(path.as_os_str())?;
        match std::mem::replace(slot, Slot::Done) {
            Slot::Ready(r) => Some(r),
            _ => None,
        }
    }

    /// The worker loop: reads queued files until [`Prefetcher::close`].
    pub fn work(&self) {
        loop {
            let path = {
                let Ok(mut st) = self.state.lock() else {
                    return;
                };
                loop {
                    if st.closed {
                        return;
                    }
                    if let Some(p) = st.queue.pop_front() {
                        if let Some(slot @ Slot::Queued) = st.slots.get_mut(p.as_os_str()) {
                            *slot = Slot::Reading;
                            break p;
                        }
                        continue;
                    }
                    st.worker_idle = true;
                    st = match self.cond.wait(st) {
                        Ok(s) => s,
                        Err(_) => return,
                    };
                    st.worker_idle = false;
                }
            };
            let r = read_file(&path);
            if let Ok((text, _)) = &r {
                self.submit_sources_of(&path, text);
            }
            let Ok(mut st) = self.state.lock() else {
                return;
            };
            if let Some(slot @ Slot::Reading) = st.slots.get_mut(path.as_os_str()) {
                *slot = Slot::Ready(r);
            }
        }
    }

    /// Stops the worker.
    pub fn close(&self) {
        if let Ok(mut st) = self.state.lock() {
            st.closed = true;
        }
        self.cond.notify_all();
    }
}

/// The plain paths of the `source`-family lines of a file: `(relative to
/// the file's directory, path)`. Paths with `$` or glob characters are left
/// to the parser.
pub(crate) fn source_lines(text: &str) -> Vec<(bool, &str)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let t = line.trim_start();
        let Some(first) = t.as_bytes().first() else {
            continue;
        };
        if *first != b's' && *first != b'r' && *first != b'o' {
            continue;
        }
        let (rel, rest) = if let Some(r) = t.strip_prefix("source") {
            (false, r)
        } else if let Some(r) = t.strip_prefix("rsource") {
            (true, r)
        } else if let Some(r) = t.strip_prefix("osource") {
            (false, r)
        } else if let Some(r) = t.strip_prefix("orsource") {
            (true, r)
        } else {
            continue;
        };
        let rest = rest.trim_start();
        let Some(body) = rest.strip_prefix('"') else {
            continue;
        };
        let Some(end) = body.find('"') else { continue };
        let p = &body[..end];
        if p.is_empty() || p.contains(['$', '\\', '*', '?', '[']) {
            continue;
        }
        out.push((rel, p));
    }
    out
}
